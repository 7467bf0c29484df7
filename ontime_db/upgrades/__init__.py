"""The whole vendor upgrade in one call: plan first, then carry out the plan.

:func:`plan_upgrade` reads the server (the database's schema version, which
names are taken, which UPGRADE procedures the legacy scripts define) and
returns an :class:`UpgradePlan`. :func:`upgrade` passes that plan to
``on_event``, calls ``confirm``, and carries it out step by step with a log
file. Before product 2.8 the legacy route copies the data into a new
database; from 2.8 on the incremental route backs up and migrates.

>>> plan = plan_upgrade("mssql+pyodbc://sa@localhost/ontimems?driver=...")  # doctest: +SKIP
>>> print(plan.render())  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ..backups import rollback_command
from ..errors import ConfigurationError, UpgradeCancelledError
from ..quoting import check_name
from ..version import SchemaVersion
from . import legacy
from .plan import AddOn, ServerFacts, Step, StepKind, UpgradePlan, build_plan
from .runner import (
    Operations,
    ServerOperations,
    StepResult,
    UpgradeEvent,
    UpgradeLog,
    UpgradeReport,
    run_plan,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ..connection import Target

__all__ = [
    "AddOn",
    "Step",
    "StepKind",
    "StepResult",
    "UpgradeEvent",
    "UpgradePlan",
    "UpgradeReport",
    "addon_database_name",
    "plan_upgrade",
    "upgrade",
]

log = logging.getLogger(__name__)

ADDON_KINDS = ("pollarity", "catering")


def addon_database_name(database: str, kind: str) -> str:
    """Name the add-on database of ``kind`` that belongs to the main database ``database``.

    >>> addon_database_name("ontimems", "pollarity")
    'ontimems_pollarity'
    >>> addon_database_name("ontimems.9.3", "catering")
    'ontimems_catering'
    """
    return check_name(f"{legacy.base_name(database)}_{kind}")


def plan_upgrade(
    target: Target,
    *,
    from_product: str | None = None,
    to: str | SchemaVersion | None = None,
    pollarity: bool | str = False,
    catering: bool | str = False,
    app_user: str | None = None,
    backup_folder: str | None = None,
    new_database: str | None = None,
    today: date | None = None,
) -> UpgradePlan:
    """Read the server and plan the upgrade of the target's database, changing nothing.

    ``from_product`` is the product version from the About box. Without it
    the database's schema version chooses the route: legacy below the first
    version of the migration set, incremental from there on. ``to`` defaults to the newest
    version of the migration set. ``pollarity`` and ``catering`` enable an
    add-on: ``True`` uses ``<database>_pollarity`` / ``<database>_catering``,
    a string names the add-on database. ``app_user`` defaults to the login
    of the connection, or ``NT AUTHORITY\\SYSTEM`` under integrated security.

    Raises :class:`~ontime_db.errors.ConfigurationError` when the target
    names no database, the errors of
    :func:`ontime_db.detect.detect_version`, and those of
    :func:`ontime_db.upgrades.plan.build_plan`.
    """
    from ..connection import database_of, describe, engine_for
    from ..detect import detect_version
    from ..migration import known_versions
    from ..resources import migrations_dir, sql_dir

    if from_product is not None:
        from ..products import starting_point

        # A product version with no starting point fails before any connection.
        starting_point(from_product)
    database = database_of(target)
    if not database:
        raise ConfigurationError(
            "the connection names no database to upgrade; give --database or a URL with one"
        )
    version = detect_version(target, database=database).version
    migration_versions = tuple(known_versions())
    scripts = legacy.create_scripts(sql_dir())

    engine = engine_for(target, database="master", autocommit=True)
    try:
        login = engine.url.username
        with engine.connect() as connection:
            facts = ServerFacts(
                server=describe(target),
                database=database,
                version=version,
                migration_versions=migration_versions,
                upgrade_procedures=_procedures_defined(scripts[1]),
                exists=_database_lookup(connection),
                create_scripts=scripts,
                today=today or date.today(),
            )
            choices = {"pollarity": pollarity, "catering": catering}
            addons = _addons(facts, choices, from_product, migrations_dir())
            plan = build_plan(
                facts,
                product=from_product,
                to=None if to is None else SchemaVersion.parse(to),
                app_user=app_user or login or legacy.INTEGRATED_SECURITY_USER,
                backup_folder=backup_folder,
                new_database=new_database,
                addons=addons,
            )
    finally:
        engine.dispose()
    log.info("planned %s upgrade of %s: %d steps", plan.route, database, len(plan.steps))
    return plan


def upgrade(
    target: Target,
    *,
    plan: UpgradePlan | None = None,
    from_product: str | None = None,
    to: str | SchemaVersion | None = None,
    pollarity: bool | str = False,
    catering: bool | str = False,
    app_user: str | None = None,
    backup_folder: str | None = None,
    new_database: str | None = None,
    dry_run: bool = False,
    log_file: str | Path | None = None,
    on_event: Callable[[UpgradeEvent], None] | None = None,
    confirm: Callable[[UpgradePlan], bool] | None = None,
    operations: Operations | None = None,
) -> UpgradeReport:
    """Plan (unless ``plan`` is given), show the plan, confirm, and carry it out.

    The plan goes to ``on_event`` as one ``"plan"`` event. With ``dry_run``
    nothing else happens. ``confirm`` returning ``False`` raises
    :class:`~ontime_db.errors.UpgradeCancelledError` before any step. The
    log goes to ``log_file``, by default ``upgrade-from-<version>.log`` in
    the current folder. ``operations`` replaces the server actions, for
    tests that check the order of the calls.

    Raises the errors of :func:`plan_upgrade`, and
    :class:`~ontime_db.errors.UpgradeError` with ``done``, ``not_done`` and
    ``rollback_command`` when a step fails.
    """
    if plan is None:
        plan = plan_upgrade(
            target,
            from_product=from_product,
            to=to,
            pollarity=pollarity,
            catering=catering,
            app_user=app_user,
            backup_folder=backup_folder,
            new_database=new_database,
        )
    emit = on_event or (lambda event: None)
    emit(UpgradeEvent("plan", plan.render()))
    if dry_run:
        return UpgradeReport(plan=plan, dry_run=True)
    if confirm is not None and not confirm(plan):
        raise UpgradeCancelledError(
            "upgrade cancelled before the first step; nothing was changed",
            database=plan.database,
            not_done=plan.steps,
        )

    path = Path(log_file) if log_file is not None else Path.cwd() / plan.log_name
    upgrade_log = UpgradeLog.open(path)
    try:
        upgrade_log.write(plan.render())
        report = run_plan(
            plan,
            operations or ServerOperations(target),
            upgrade_log=upgrade_log,
            on_event=on_event,
            rollback=lambda database: rollback_command(target, database),
        )
        upgrade_log.write("upgrade finished")
    finally:
        upgrade_log.close()
    return replace(report, log_file=path)


def _procedures_defined(path: Path) -> tuple[str, ...]:
    from ..script import decode

    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigurationError(
            f"the UPGRADE procedures script {str(path)!r} cannot be read ({error}); "
            "reinstall ontime_db"
        ) from error
    return legacy.procedures_in_script(decode(data, file=str(path)))


def _database_lookup(connection: Connection) -> Callable[[str], bool]:
    from ..catalog import database_exists

    def exists(name: str) -> bool:
        return bool(database_exists(connection, name))

    return exists


def _addons(
    facts: ServerFacts,
    choices: dict[str, bool | str],
    from_product: str | None,
    migrations_root: Path,
) -> tuple[AddOn, ...]:
    from ..migration import newest_version
    from ..products import starting_point

    point = starting_point(from_product) if from_product else None
    addons = []
    for kind in ADDON_KINDS:
        choice = choices[kind]
        if choice is False:
            continue
        name = choice if isinstance(choice, str) and choice else None
        database = check_name(name or addon_database_name(facts.database, kind))
        migrations = migrations_root / kind
        required = bool(point and getattr(point, f"requires_{kind}"))
        addons.append(
            AddOn(
                kind=kind,
                database=database,
                migrations=migrations,
                newest=newest_version(migrations=migrations),
                exists=facts.exists(database),
                required=required,
            )
        )
    return tuple(addons)
