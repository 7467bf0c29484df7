"""The upgrade plan: the ordered steps, built from facts read beforehand. Nothing here connects.

:func:`build_plan` turns what :func:`ontime_db.upgrades.plan_upgrade` read from
the server (:class:`ServerFacts`) and the administrator's choices into an
:class:`UpgradePlan`. A step is *reversible* when the starting state can be
restored without the backup. Steps that only touch the new database are
reversible, and so are renames. Migrating a database that existed before is
not, because only restoring the backup undoes it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ..errors import (
    ConfigurationError,
    DatabaseExistsError,
    ProductVersionMismatchError,
    UnknownVersionError,
    UpgradeProcedureNotFoundError,
)
from ..products import Route, StartingPoint, starting_point
from ..quoting import quote_identifier
from ..version import SchemaVersion
from . import legacy

__all__ = ["AddOn", "ServerFacts", "Step", "StepKind", "UpgradePlan", "build_plan"]


class StepKind(str, enum.Enum):
    """The action of a plan step."""

    BACKUP = "backup"
    CREATE_DATABASE = "create-database"
    CREATE_SCRIPT = "create-script"
    APP_USER = "app-user"
    UPGRADE_PROCEDURE = "upgrade-procedure"
    RENAME = "rename"
    MIGRATE = "migrate"


@dataclass(frozen=True)
class Step:
    """One step of an upgrade plan.

    ``sql`` is the batch the step sends itself; steps carried out by
    :mod:`ontime_db.backups` or :mod:`ontime_db.migration` have none.
    ``changes_original`` marks steps that change a database that existed
    before the upgrade, after which only ``rollback`` restores it.
    """

    kind: StepKind
    description: str
    database: str
    reversible: bool
    changes_original: bool = False
    sql: str | None = None
    scripts: tuple[Path, ...] = ()
    new_name: str | None = None
    to_version: SchemaVersion | None = None
    migrations: Path | None = None
    purpose: str | None = None


@dataclass(frozen=True)
class AddOn:
    """An add-on database (Pollarity or Catering) to create or bring up to date."""

    kind: str
    database: str
    migrations: Path
    newest: SchemaVersion
    exists: bool
    required: bool = False


@dataclass(frozen=True)
class ServerFacts:
    """Facts about the server that the planner needs, read before planning.

    ``migration_versions`` are the versions of the main migration set in
    ascending order. ``upgrade_procedures`` are the UPGRADE procedures that
    the legacy route's scripts create. ``exists`` returns whether a database
    name is taken on the server.
    """

    server: str
    database: str
    version: SchemaVersion
    migration_versions: tuple[SchemaVersion, ...]
    upgrade_procedures: tuple[str, ...]
    exists: Callable[[str], bool]
    create_scripts: tuple[Path, ...] = ()
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class UpgradePlan:
    """The ordered steps of one upgrade and the names and versions they use."""

    server: str
    database: str
    route: Route
    from_version: SchemaVersion
    to_version: SchemaVersion
    product: StartingPoint | None
    steps: tuple[Step, ...]
    new_database: str | None = None
    aside_database: str | None = None
    backup_folder: str | None = None
    app_user: str | None = None
    addons: tuple[AddOn, ...] = ()

    @property
    def log_name(self) -> str:
        """File name of the upgrade log: ``upgrade-from-<product or schema version>.log``."""
        source = self.product.product if self.product and self.product.product else None
        return f"upgrade-from-{source or self.from_version}.log"

    def render(self) -> str:
        """Describe the plan for a person: route, versions, and each step with its SQL."""
        lines = [f"Upgrade plan for database {quote_identifier(self.database)} on {self.server}"]
        route = f"Route: {self.route}"
        if self.product is not None:
            route += f", for product {self.product.product} (starting point {self.product.label})"
        lines.append(route)
        lines.append(f"Schema version: {self.from_version} -> {self.to_version}")
        if not self.steps:
            lines.append("Nothing to do: the database is at the target version.")
            return "\n".join(lines)

        lines.append("Steps:")
        for number, step in enumerate(self.steps, start=1):
            marker = "reversible" if step.reversible else "not reversible: undo with rollback"
            lines.append(f"{number:>3}. {step.description} ({marker})")
            if step.sql is not None:
                lines.extend(f"       {line}" for line in step.sql.splitlines())
        return "\n".join(lines)


def build_plan(
    facts: ServerFacts,
    *,
    product: str | None = None,
    to: SchemaVersion | None = None,
    app_user: str = legacy.INTEGRATED_SECURITY_USER,
    backup_folder: str | None = None,
    new_database: str | None = None,
    addons: Sequence[AddOn] = (),
) -> UpgradePlan:
    """Build the plan for upgrading ``facts.database`` from the facts read from the server.

    Raises :class:`~ontime_db.errors.InvalidProductVersion` for a product
    version with no starting point,
    :class:`~ontime_db.errors.ProductVersionMismatchError` when the database
    is not at the schema version that starting point expects,
    :class:`~ontime_db.errors.UnknownVersionError` for a target outside the
    migration set, :class:`~ontime_db.errors.UpgradeProcedureNotFoundError`
    when no UPGRADE procedure copies from the database's version, and
    :class:`~ontime_db.errors.DatabaseExistsError` when a name the plan
    needs is taken.
    """
    point = None if product is None else starting_point(product)
    if point is not None and not point.expects(facts.version):
        raise ProductVersionMismatchError(
            f"database {facts.database!r} is at schema version {facts.version}, but product "
            f"{point.product} (starting point {point.label}) expects schema "
            f"{point.expected_schema}; check the product version in the About box, or "
            "leave it out so that the schema version chooses the route",
            database=facts.database,
            version=facts.version,
        )

    chain_start = facts.migration_versions[0] if facts.migration_versions else None
    if point is not None:
        route: Route = point.route
    elif facts.version < (chain_start or legacy.CREATE_SCRIPT_VERSION):
        route = "legacy"
    else:
        route = "incremental"

    target = _target_version(facts, to)
    new_name: str | None = None
    aside: str | None = None
    if route == "legacy":
        steps, new_name, aside = _legacy_steps(facts, target, app_user, backup_folder, new_database)
    elif target < facts.version:
        raise ConfigurationError(
            f"database {facts.database!r} is at schema version {facts.version}, newer than "
            f"the target {target}; ontime_db does not downgrade, use rollback to restore a backup"
        )
    else:
        steps = _incremental_steps(facts, target, backup_folder)
    steps += _addon_steps(addons, backup_folder)

    return UpgradePlan(
        server=facts.server,
        database=facts.database,
        route=route,
        from_version=facts.version,
        to_version=target,
        product=point,
        steps=tuple(steps),
        new_database=new_name,
        aside_database=aside,
        backup_folder=backup_folder,
        app_user=app_user if route == "legacy" else None,
        addons=tuple(addons),
    )


def _target_version(facts: ServerFacts, to: SchemaVersion | None) -> SchemaVersion:
    known = facts.migration_versions or (legacy.CREATE_SCRIPT_VERSION,)
    if to is None:
        return known[-1]
    if to not in known:
        raise UnknownVersionError(
            f"target schema version {to} is not part of the migration set; "
            f"known versions: {', '.join(str(v) for v in known)}",
            version=to,
            known=known,
        )
    return to


def _legacy_steps(
    facts: ServerFacts,
    target: SchemaVersion,
    app_user: str,
    backup_folder: str | None,
    new_database: str | None,
) -> tuple[list[Step], str, str]:
    if target < legacy.CREATE_SCRIPT_VERSION:
        raise ConfigurationError(
            f"target schema version {target} is older than {legacy.CREATE_SCRIPT_VERSION}, the "
            "version the create script of the legacy route produces; choose a later target"
        )
    procedure = facts.version.upgrade_procedure
    if procedure not in facts.upgrade_procedures:
        raise UpgradeProcedureNotFoundError(
            f"no procedure dbo.{procedure} copies data from schema version {facts.version} of "
            f"database {facts.database!r}; the upgrade scripts define "
            f"{', '.join(facts.upgrade_procedures) or 'no UPGRADE procedure'}",
            database=facts.database,
            version=facts.version,
            procedures=facts.upgrade_procedures,
        )

    new_name = new_database or legacy.new_database_name(facts.database, target)
    aside = legacy.aside_name(facts.database, target, facts.today)
    for name in (new_name, aside):
        if facts.exists(name):
            raise DatabaseExistsError(
                f"database {name!r} already exists on {facts.server}; the upgrade needs that "
                "name, so drop or rename that database, or choose another with --new-database",
                database=name,
            )

    old, new = quote_identifier(facts.database), quote_identifier(new_name)
    scripts = tuple(facts.create_scripts)
    steps = [
        _backup_step(facts.database, facts.version, backup_folder),
        Step(
            StepKind.CREATE_DATABASE,
            f"Create the new database {new}",
            new_name,
            reversible=True,
            sql=legacy.create_database_sql(new_name),
        ),
        Step(
            StepKind.CREATE_SCRIPT,
            f"Run {', '.join(path.name for path in scripts)} in {new} "
            f"(schema {legacy.CREATE_SCRIPT_VERSION})",
            new_name,
            reversible=True,
            scripts=scripts,
        ),
        Step(
            StepKind.APP_USER,
            f"Create the user {quote_identifier(app_user, kind='login name')} in {new} "
            f"if missing and add it to role {legacy.API_ROLE}",
            new_name,
            reversible=True,
            sql=legacy.app_user_sql(app_user),
        ),
        Step(
            StepKind.UPGRADE_PROCEDURE,
            f"Copy the data of {old} (schema {facts.version}) into {new} with dbo.{procedure}; "
            "return value 0 means success",
            new_name,
            reversible=True,
            sql=legacy.upgrade_procedure_sql(facts.version, facts.database),
        ),
        Step(
            StepKind.RENAME,
            f"Rename {old} to {quote_identifier(aside)}",
            facts.database,
            reversible=True,
            changes_original=True,
            new_name=aside,
        ),
        Step(
            StepKind.RENAME,
            f"Rename {new} to {old}",
            new_name,
            reversible=True,
            changes_original=True,
            new_name=facts.database,
        ),
    ]
    if target > legacy.CREATE_SCRIPT_VERSION:
        steps.append(
            Step(
                StepKind.MIGRATE,
                f"Migrate {old} from {legacy.CREATE_SCRIPT_VERSION} to {target}",
                facts.database,
                reversible=True,
                changes_original=True,
                to_version=target,
            )
        )
    return steps, new_name, aside


def _incremental_steps(
    facts: ServerFacts, target: SchemaVersion, backup_folder: str | None
) -> list[Step]:
    if target == facts.version:
        return []
    return [
        _backup_step(facts.database, facts.version, backup_folder),
        Step(
            StepKind.MIGRATE,
            f"Migrate {quote_identifier(facts.database)} from {facts.version} to {target}",
            facts.database,
            reversible=False,
            changes_original=True,
            to_version=target,
        ),
    ]


def _addon_steps(addons: Sequence[AddOn], backup_folder: str | None) -> list[Step]:
    steps: list[Step] = []
    for addon in addons:
        name = quote_identifier(addon.database)
        if addon.exists:
            steps.append(_backup_step(addon.database, None, backup_folder))
        else:
            steps.append(
                Step(
                    StepKind.CREATE_DATABASE,
                    f"Create the {addon.kind} database {name}",
                    addon.database,
                    reversible=True,
                    sql=legacy.create_database_sql(addon.database),
                )
            )
        steps.append(
            Step(
                StepKind.MIGRATE,
                f"Migrate the {addon.kind} database {name} to {addon.newest}",
                addon.database,
                reversible=not addon.exists,
                changes_original=addon.exists,
                to_version=addon.newest,
                migrations=addon.migrations,
            )
        )
    return steps


def _backup_step(database: str, version: SchemaVersion | None, folder: str | None) -> Step:
    where = f"to {folder}" if folder else "to the server's default backup folder"
    purpose = "before upgrade" if version is None else f"before upgrade from {version}"
    return Step(
        StepKind.BACKUP,
        f"Back up {quote_identifier(database)} {where} and verify the backup",
        database,
        reversible=True,
        purpose=purpose,
    )
