"""Run migrations on a live database through Alembic (``python -m ontime_db migrate``).

One session does everything: it takes the migration lock, reads the
database's schema version, stamps an unstamped database (baseline), then lets Alembic
run each migration in its own transaction with ``SET XACT_ABORT ON``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import text

from ..errors import MigrationFailedError, NotOnTimeDatabaseError
from ..quoting import quote_string
from ..version import SchemaVersion
from . import lock
from .audit import create_table_sql, insert_row
from .chain import Migration, MigrationSet, load_set
from .plan import MigrationPlan, build_plan, resolve_target
from .runtime import AppliedStep, RunState, StepEvent, run_upgrade

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["FailedStep", "MigrationReport", "migrate", "read_state"]

log = logging.getLogger(__name__)

# The schema version after a failed run: "unknown" when it could not be read back.
CurrentVersion = SchemaVersion | None | Literal["unknown"]

# Tables an empty database may already contain: the migration's own, left
# by an earlier run that failed in the create script.
_OWN_TABLES = ("alembic_version", "ontime_db_history")


@dataclass(frozen=True)
class FailedStep:
    """The migration that failed, and where in its script."""

    version: SchemaVersion
    description: str
    script: str
    batch: int | None
    line: int | None
    number: int | None
    message: str


@dataclass(frozen=True)
class MigrationReport:
    """Outcome of a ``migrate`` run.

    ``start`` is ``None`` for an empty database. ``reached`` is the version
    the database is at when the run ends. ``baseline`` names the record an
    unstamped database's version was read from, or ``None``.
    """

    database: str
    start: SchemaVersion | None
    target: SchemaVersion
    reached: SchemaVersion | None
    plan: MigrationPlan
    applied: tuple[AppliedStep, ...]
    baseline: str | None
    backup: Any = None
    dry_run: bool = False

    def describe(self) -> list[str]:
        """Return the report as lines of text."""
        if self.dry_run:
            return ["dry run: nothing was changed", *self.plan.describe()]
        lines = []
        if self.baseline is not None:
            lines.append(
                f"baselined {self.database} at {self.start} (version read from the "
                f"{self.baseline})"
            )
        for step in self.applied:
            duration = "" if step.duration_ms is None else f" in {step.duration_ms} ms"
            lines.append(f"applied {step.version}: {step.description}{duration}")
        if not self.applied:
            lines.append(f"{self.database} is up to date at {self.reached}")
        else:
            lines.append(f"{self.database} is now at schema version {self.reached}")
        return lines


def migrate(
    target: Any,
    *,
    to: str | SchemaVersion | None = None,
    migrations: str | os.PathLike[str] | None = None,
    lock_timeout: float = 60.0,
    dry_run: bool = False,
    backup: bool = True,
    backup_folder: str | None = None,
    on_step: Callable[[StepEvent], None] | None = None,
) -> MigrationReport:
    """Bring the database of ``target`` to schema version ``to`` (default: the newest).

    ``target`` is anything :func:`ontime_db.connection.engine_for` accepts.
    A database without Alembic's version table is first stamped at the
    version that its extended properties or Flyway history record (baseline).
    An empty database starts with the create script. Unless ``backup`` is
    false, a copy-only backup is taken before the first change.

    Raises :class:`~ontime_db.errors.LockError` when another migration holds
    the lock longer than ``lock_timeout`` seconds,
    :class:`~ontime_db.errors.UnknownVersionError` for a version the set
    does not contain, and :class:`~ontime_db.errors.MigrationFailedError`
    (with the applied steps, the failed one and the current version) when a
    migration fails.

    >>> report = migrate("mssql+pyodbc://...", to="26.2")  # doctest: +SKIP
    """
    from ..connection import engine_scope

    chain = load_set(migrations)
    target_version = resolve_target(chain, to)
    with engine_scope(target) as engine, engine.connect() as connection:
        return _migrate_on(
            connection,
            chain,
            target_version,
            target=target,
            lock_timeout=lock_timeout,
            dry_run=dry_run,
            backup=backup,
            backup_folder=backup_folder,
            on_step=on_step,
        )


def read_state(
    connection: Connection, chain: MigrationSet
) -> tuple[SchemaVersion | None, str | None]:
    """Return the database's version and, for an unstamped database, where it was read.

    The version is ``None`` for an empty database. Raises
    :class:`~ontime_db.errors.UnknownVersionError` for a version the set
    does not contain and :class:`~ontime_db.errors.NotOnTimeDatabaseError`
    for a database with tables but no version record.
    """
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(connection).get_current_heads()
    if heads:
        version = SchemaVersion.parse(heads[0])
        chain.get(version)
        return version, None

    from ..detect import detect_version

    try:
        detected = detect_version(connection)
    except NotOnTimeDatabaseError:
        if _is_empty(connection):
            return None, None
        raise
    chain.get(detected.version)
    return detected.version, detected.source


def _migrate_on(
    connection: Connection,
    chain: MigrationSet,
    target_version: SchemaVersion,
    *,
    target: Any,
    lock_timeout: float,
    dry_run: bool,
    backup: bool,
    backup_folder: str | None,
    on_step: Callable[[StepEvent], None] | None,
) -> MigrationReport:
    # The lock and the state queries run in autocommit mode, so a session
    # waiting for the lock holds no transaction that could block the
    # migration it waits for (ALTER DATABASE waits for open transactions).
    connection.execution_options(isolation_level="AUTOCOMMIT")
    database = connection.exec_driver_sql("SET XACT_ABORT ON; SELECT DB_NAME();").scalar_one()

    if dry_run:
        start, baseline = read_state(connection, chain)
        plan = build_plan(chain, current=start, target=target_version, database=database,
                          baseline=baseline)
        return MigrationReport(database, start, target_version, start, plan, (), baseline,
                               dry_run=True)

    lock.acquire(connection, database, timeout=lock_timeout)
    try:
        start, baseline = read_state(connection, chain)
        plan = build_plan(chain, current=start, target=target_version, database=database,
                          baseline=baseline)
        for line in plan.describe():
            log.info("%s", line)
        backup_record = _backup(target, database, plan, enabled=backup, folder=backup_folder)
        connection.exec_driver_sql(create_table_sql(connection.dialect))

        # From here on Alembic and the baseline manage transactions, so the
        # connection goes back to the driver's transactional mode.
        _set_isolation(connection, connection.default_isolation_level or "READ COMMITTED")
        if baseline is not None and start is not None:
            _stamp_baseline(connection, chain, start, baseline)
        rollback = None
        if backup_record is not None:
            from ..backups import rollback_command

            rollback = rollback_command(target, database)
        applied = _run_alembic(connection, chain, plan, database, on_step=on_step,
                               rollback=rollback)
        return MigrationReport(database, start, target_version, plan.target, plan, applied,
                               baseline, backup=backup_record)
    finally:
        try:
            _set_isolation(connection, "AUTOCOMMIT")
        finally:
            # A pooled connection of the caller's Engine keeps its session, and
            # a session-owned lock with it, so the release must not be skipped.
            lock.release(connection, database)


def _run_alembic(
    connection: Connection,
    chain: MigrationSet,
    plan: MigrationPlan,
    database: str,
    *,
    on_step: Callable[[StepEvent], None] | None,
    rollback: str | None = None,
) -> tuple[AppliedStep, ...]:
    if plan.up_to_date:
        log.info("%s is up to date at %s", database, plan.target)
        return ()

    state = RunState(
        migrations=chain,
        database=database,
        total=len(plan.steps),
        start=plan.current,
        connection=connection,
        on_step=on_step,
    )
    try:
        run_upgrade(state, plan.target, as_sql=False)
    except KeyboardInterrupt as interrupt:
        # The CLI reports Ctrl-C as "see the log above", so the state goes to
        # the log, and to the exception's notes for library callers.
        report = _failure(connection, state, plan, database, interrupt, rollback=rollback)
        log.warning("%s", report)
        from ..backups.shared import add_note

        add_note(interrupt, str(report))
        raise
    except Exception as err:
        # Any error, a bug included, is reported with the applied steps and
        # the version, because earlier migrations of this run stay committed.
        raise _failure(connection, state, plan, database, err, rollback=rollback) from err
    return tuple(state.applied)


def _failure(
    connection: Connection,
    state: RunState,
    plan: MigrationPlan,
    database: str,
    err: BaseException,
    *,
    rollback: str | None,
) -> MigrationFailedError:
    """Record the failed migration and build the error that reports the run.

    ``err`` is the error that stopped the run, or the ``KeyboardInterrupt``
    of Ctrl-C. ``rollback`` is the command line that restores the backup
    taken before the run, or ``None`` when no backup was taken.
    """
    migration = state.running
    current = _current_version(connection, plan)

    failed = None
    if migration is not None:
        failed = FailedStep(
            version=migration.version,
            description=migration.description,
            script=str(migration.script),
            batch=getattr(err, "batch", None),
            line=getattr(err, "line", None),
            number=getattr(err, "number", None),
            message=getattr(err, "server_message", "") or str(err),
        )
        _record_failure(connection, state, migration)
        state.event("failed", migration)

    message = _failure_message(
        database, state, migration, failed, current, err, rollback=rollback
    )
    return MigrationFailedError(
        message,
        applied=state.applied,
        failed=failed,
        current=None if current == "unknown" else current,
        database=database,
        version=failed.version if failed else None,
        file=failed.script if failed else None,
        batch=failed.batch if failed else None,
        line=failed.line if failed else None,
    )


def _failure_message(
    database: str,
    state: RunState,
    migration: Migration | None,
    failed: FailedStep | None,
    current: CurrentVersion,
    err: BaseException,
    *,
    rollback: str | None,
) -> str:
    interrupted = isinstance(err, KeyboardInterrupt)
    applied = ", ".join(str(step.version) for step in state.applied) or "none"
    if failed is None:
        where = "before a migration started" + ("" if interrupted else f": {err}")
    else:
        position = "".join(
            f", {label} {value}"
            for label, value in (("batch", failed.batch), ("line", failed.line))
            if value is not None
        )
        where = f"in migration {failed.version} ({failed.script}{position})"
        if not interrupted:
            number = f"error {failed.number}: " if failed.number is not None else ""
            where += f": {number}{failed.message}"

    if current == "unknown":
        at = "at a schema version that could not be read; check it with `python -m ontime_db info`"
    elif current is None:
        at = "empty (no schema version)"
    else:
        at = f"at schema version {current}"
    if migration is None or migration.transactional:
        now = f"The database is {at}."
    else:
        now = (
            "That migration ran in autocommit mode, so part of it may be applied; the "
            f"database is recorded {at}."
        )

    advice = "Run migrate again" if interrupted else "Fix the cause and run migrate again"
    if rollback is not None:
        advice += f", or restore the backup taken before this run with: {rollback}"
    outcome = "was interrupted" if interrupted else "failed"
    return (
        f"migration of {database!r} {outcome} {where.rstrip('.')}. Applied in this run: "
        f"{applied}. {now} {advice}"
    )


def _current_version(connection: Connection, plan: MigrationPlan) -> CurrentVersion:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import SQLAlchemyError

    try:
        _set_isolation(connection, "AUTOCOMMIT")
        heads = MigrationContext.configure(connection).get_current_heads()
    except SQLAlchemyError as error:
        log.warning("could not read the schema version of %s after the failure: %s",
                    plan.database, error)
        return "unknown"
    return SchemaVersion.parse(heads[0]) if heads else plan.current


def _record_failure(connection: Connection, state: RunState, migration: Migration) -> None:
    # The migration's transaction rolled back, so the failure row is written
    # on its own afterwards; history then shows the failed attempt.
    from sqlalchemy.exc import SQLAlchemyError

    try:
        connection.execute(
            insert_row(
                version=migration.version,
                description=migration.description,
                type="SQL",
                script=migration.script_name,
                # None when the script could not be read.
                checksum=state.checksums.get(migration.version),
                execution_time=None,
                success=False,
            )
        )
    except SQLAlchemyError as record_error:  # the original failure matters more
        log.warning("could not record the failure of %s in the audit table: %s",
                    migration.version, record_error)


def _stamp_baseline(
    connection: Connection, chain: MigrationSet, version: SchemaVersion, source: str
) -> None:
    from alembic.runtime.migration import MigrationContext

    with connection.begin():
        context = MigrationContext.configure(connection)
        context.stamp(chain.script_directory, str(version))
        connection.execute(
            insert_row(
                version=version,
                description=f"baseline from the {source}",
                type="BASELINE",
                script="",
                checksum=None,
                execution_time=0,
                success=True,
            )
        )
    log.info("baselined at %s: the version comes from the %s", version, source)


def _backup(
    target: Any, database: str, plan: MigrationPlan, *, enabled: bool, folder: str | None
) -> Any:
    if not enabled or plan.up_to_date or plan.current is None:
        return None
    from ..backups import backup

    return backup(
        target,
        database,
        purpose=f"before migrate {plan.current} -> {plan.target}",
        folder=folder,
        copy_only=True,
    )


def _set_isolation(connection: Connection, level: str) -> None:
    # SQLAlchemy begins a Transaction object even in autocommit mode, and
    # refuses a new isolation level while one is open. Ending it here rolls
    # back whatever a failed step left; after success nothing is pending.
    if connection.in_transaction():
        connection.rollback()
    connection.execution_options(isolation_level=level)


def _is_empty(connection: Connection) -> bool:
    own = ", ".join(quote_string(name) for name in _OWN_TABLES)
    query = text(
        "SELECT COUNT(*) FROM sys.objects WHERE is_ms_shipped = 0 AND type = 'U' "
        f"AND name NOT IN ({own})"
    )
    return connection.execute(query).scalar_one() == 0 and connection.execute(
        text("SELECT SCHEMA_ID(N'api')")
    ).scalar() is None
