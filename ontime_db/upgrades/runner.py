"""Carry out an upgrade plan step by step, with a log file and a report of what was done.

The runner reaches the server only through an :class:`Operations` object:
:class:`ServerOperations` is the real one, built on ontime_db.connection,
script, backup, migrate and catalog. When a step fails, the runner renames a
database that this run created and that nothing uses yet to
``<name>_failed_<timestamp>``, then raises
:class:`~ontime_db.errors.UpgradeError` listing the steps done and not done
and the ``rollback`` command when a database that existed before has changed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

from ..errors import OnTimeDbError, UpgradeError
from ..quoting import quote_identifier
from ..version import SchemaVersion
from . import legacy
from .plan import Step, StepKind, UpgradePlan

if TYPE_CHECKING:
    from ..connection import Target

__all__ = [
    "Operations",
    "ServerOperations",
    "StepResult",
    "UpgradeEvent",
    "UpgradeLog",
    "UpgradeReport",
    "run_plan",
]

log = logging.getLogger(__name__)

EventKind = Literal["plan", "step-started", "step-done", "step-failed", "message", "cleanup"]
MessageSink = Callable[[Any], None]


@dataclass(frozen=True)
class UpgradeEvent:
    """Progress of an upgrade, passed to the ``on_event`` callback; ``text`` is ready to print."""

    kind: EventKind
    text: str
    step: Step | None = None


@dataclass(frozen=True)
class StepResult:
    """A step that finished, its duration in seconds and what it produced (a backup path)."""

    step: Step
    seconds: float
    detail: str | None = None


@dataclass(frozen=True)
class UpgradeReport:
    """The outcome of :func:`ontime_db.upgrades.upgrade`.

    ``performed`` is empty for a dry run. ``backups`` maps each database to
    the backup file taken before it changed, the one ``rollback`` restores.
    ``final_versions`` maps each database to its schema version afterwards.
    """

    plan: UpgradePlan
    performed: tuple[StepResult, ...] = ()
    backups: dict[str, str] = field(default_factory=dict)
    final_versions: dict[str, SchemaVersion | None] = field(default_factory=dict)
    log_file: Path | None = None
    rollback_command: str | None = None
    dry_run: bool = False


class Operations(Protocol):
    """The server actions an upgrade needs, one call per plan step."""

    def backup(self, database: str, *, folder: str | None, purpose: str) -> str: ...

    def execute(self, database: str, sql: str, *, on_message: MessageSink) -> None: ...

    def run_scripts(
        self, database: str, scripts: Sequence[Path], *, on_message: MessageSink
    ) -> None: ...

    def upgrade_procedures(self, database: str) -> tuple[str, ...]: ...

    def rename(self, old: str, new: str, *, force: bool = False) -> None: ...

    def migrate(self, database: str, *, to: SchemaVersion, migrations: Path | None) -> None: ...

    def schema_version(self, database: str) -> SchemaVersion | None: ...


class ServerOperations:
    """:class:`Operations` on a live server, through the other ontime_db layers.

    Every call opens its own engine and disposes of it, so no pooled
    connection keeps a database in use when the next step renames it.

    NOTE: pyodbc and mssql-python also pool connections in the driver
    (``pyodbc.pooling``, ``mssql_python.pooling()``, both on by default), and
    a closed connection kept there still counts as a session in its
    database. Only turning driver pooling off before the first connection
    closes those; ``ontime_db.connection`` creates the engines and does not.
    """

    def __init__(self, target: Target) -> None:
        self.target = target

    def backup(self, database: str, *, folder: str | None, purpose: str) -> str:
        from ..backups import backup

        record = backup(self.target, database, folder=folder, purpose=purpose, verify=True)
        return str(record.path)

    def execute(self, database: str, sql: str, *, on_message: MessageSink) -> None:
        from ..connection import engine_for
        from ..script import execute

        engine = engine_for(self.target, database=database, autocommit=True)
        try:
            with engine.connect() as connection:
                execute(connection, sql, on_message=on_message)
        finally:
            engine.dispose()

    def run_scripts(
        self, database: str, scripts: Sequence[Path], *, on_message: MessageSink
    ) -> None:
        from ..connection import engine_for
        from ..script import load, run

        # The scripts' leading USE names the vendor's database; retargeting
        # makes it name the new one.
        loaded = [load(path, database=database, use="retarget") for path in scripts]
        engine = engine_for(self.target, database=database)
        try:
            with engine.begin() as connection:
                for script in loaded:
                    run(connection, script, on_message=on_message)
        finally:
            engine.dispose()

    def upgrade_procedures(self, database: str) -> tuple[str, ...]:
        from sqlalchemy import text

        from ..connection import engine_for

        engine = engine_for(self.target, database=database, autocommit=True)
        try:
            with engine.connect() as connection:
                rows = connection.execute(text(legacy.LIST_UPGRADE_PROCEDURES)).scalars()
                return tuple(str(name) for name in rows)
        finally:
            engine.dispose()

    def rename(self, old: str, new: str, *, force: bool = False) -> None:
        from ..backups import rename

        self.close_pooled_connections()
        rename(self.target, old, new, force=force)

    def close_pooled_connections(self) -> None:
        """Close the connections that the caller's Engine keeps in its pool.

        SQLAlchemy's QueuePool keeps a connection open after use, in the
        database it last used. Planning reads the database through the
        caller's Engine, so without this a rename of that database would
        find this process's own session in it and fail as "in use".
        """
        from sqlalchemy.engine import Engine

        if isinstance(self.target, Engine):
            self.target.dispose()

    def migrate(self, database: str, *, to: SchemaVersion, migrations: Path | None) -> None:
        from ..connection import engine_for
        from ..migration import migrate

        engine = engine_for(self.target, database=database)
        try:
            migrate(engine, to=str(to), migrations=migrations, backup=False)
        finally:
            engine.dispose()

    def schema_version(self, database: str) -> SchemaVersion | None:
        from ..catalog import read_schema_version
        from ..connection import engine_for

        engine = engine_for(self.target, database=database, autocommit=True)
        try:
            with engine.connect() as connection:
                return read_schema_version(connection)
        finally:
            engine.dispose()


class UpgradeLog:
    """The upgrade log file: each step, its duration and the server's messages, with timestamps.

    It writes only what it is given; callers pass ``describe(target)``,
    never a connection string, so no password reaches the file.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        self._stream = stream

    @classmethod
    def open(cls, path: Path) -> UpgradeLog:
        """Open ``path`` for appending, so a second attempt keeps the first one's record."""
        return cls(path.open("a", encoding="utf-8"))

    def write(self, text: str) -> None:
        """Append ``text``, each line prefixed with the local time."""
        if self._stream is None:
            return
        stamp = datetime.now().isoformat(sep=" ", timespec="seconds")
        for line in text.splitlines() or [""]:
            self._stream.write(f"{stamp} {line}\n")
        self._stream.flush()

    def close(self) -> None:
        """Close the file."""
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def run_plan(
    plan: UpgradePlan,
    operations: Operations,
    *,
    upgrade_log: UpgradeLog,
    on_event: Callable[[UpgradeEvent], None] | None = None,
    rollback: Callable[[str], str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = datetime.now,
) -> UpgradeReport:
    """Carry out ``plan`` step by step and return what was done.

    ``rollback`` builds the ``rollback`` command line for a database name.
    Raises :class:`~ontime_db.errors.UpgradeError` when a step fails, with
    the steps done and not done and, when a database that existed before
    has changed, the rollback command. Its ``__cause__`` is the step's error.
    """
    emit = on_event or (lambda event: None)
    done: list[StepResult] = []
    backups: dict[str, str] = {}
    total = len(plan.steps)

    for number, step in enumerate(plan.steps, start=1):
        heading = f"step {number}/{total}: {step.description}"
        upgrade_log.write(f"{heading}: started")
        emit(UpgradeEvent("step-started", heading, step))
        log.info("upgrade %s", heading)
        started = clock()

        def on_message(message: Any, step: Step = step) -> None:
            upgrade_log.write(f"  server: {message}")
            emit(UpgradeEvent("message", f"  {message}", step))

        try:
            detail = _perform(step, plan, operations, on_message)
        except OnTimeDbError as error:
            seconds = clock() - started
            upgrade_log.write(f"{heading}: failed after {seconds:.1f} s: {error}")
            emit(UpgradeEvent("step-failed", f"{heading}: failed: {error}", step))
            failure = _failure(
                plan, step, done, error, operations, upgrade_log, emit, rollback, now
            )
            raise failure from error
        except KeyboardInterrupt as interrupt:
            # Ctrl-C stays a KeyboardInterrupt; the state it left is printed
            # through on_event, written to the log and attached as a note.
            seconds = clock() - started
            upgrade_log.write(f"{heading}: interrupted after {seconds:.1f} s")
            failure = _failure(
                plan, step, done, None, operations, upgrade_log, emit, rollback, now
            )
            emit(UpgradeEvent("step-failed", f"{heading}: interrupted: {failure}", step))
            from ..backups.shared import add_note

            add_note(interrupt, str(failure))
            raise

        seconds = clock() - started
        if step.kind is StepKind.BACKUP and detail is not None:
            backups[step.database] = detail
        done.append(StepResult(step, seconds, detail))
        suffix = f" ({detail})" if detail else ""
        upgrade_log.write(f"{heading}: done in {seconds:.1f} s{suffix}")
        emit(UpgradeEvent("step-done", f"{heading}: done in {seconds:.1f} s{suffix}", step))

    databases = [plan.database, *(addon.database for addon in plan.addons)]
    finals = {name: operations.schema_version(name) for name in databases}
    for name, version in finals.items():
        upgrade_log.write(f"final schema version of {quote_identifier(name)}: {version}")
    command = rollback(plan.database) if rollback and plan.database in backups else None
    return UpgradeReport(
        plan=plan,
        performed=tuple(done),
        backups=backups,
        final_versions=finals,
        rollback_command=command,
    )


def _perform(
    step: Step, plan: UpgradePlan, operations: Operations, on_message: MessageSink
) -> str | None:
    if step.kind is StepKind.BACKUP:
        return operations.backup(
            step.database, folder=plan.backup_folder, purpose=step.purpose or "before upgrade"
        )
    if step.kind is StepKind.CREATE_DATABASE:
        operations.execute("master", _sql(step), on_message=on_message)
    elif step.kind is StepKind.CREATE_SCRIPT:
        operations.run_scripts(step.database, step.scripts, on_message=on_message)
    elif step.kind is StepKind.APP_USER:
        operations.execute(step.database, _sql(step), on_message=on_message)
    elif step.kind is StepKind.UPGRADE_PROCEDURE:
        _check_procedure(step, plan, operations)
        operations.execute(step.database, _sql(step), on_message=on_message)
    elif step.kind is StepKind.RENAME:
        assert step.new_name is not None
        operations.rename(step.database, step.new_name)
    elif step.kind is StepKind.MIGRATE:
        assert step.to_version is not None
        operations.migrate(step.database, to=step.to_version, migrations=step.migrations)
    return None


def _sql(step: Step) -> str:
    assert step.sql is not None, step
    return step.sql


def _check_procedure(step: Step, plan: UpgradePlan, operations: Operations) -> None:
    from ..errors import UpgradeProcedureNotFoundError

    procedure = plan.from_version.upgrade_procedure
    present = operations.upgrade_procedures(step.database)
    if procedure not in present:
        raise UpgradeProcedureNotFoundError(
            f"the create scripts defined no procedure dbo.{procedure} in "
            f"{quote_identifier(step.database)} to copy data from schema version "
            f"{plan.from_version}; the database has {', '.join(present) or 'no UPGRADE procedure'}",
            database=step.database,
            version=plan.from_version,
            procedures=present,
        )


def _failure(
    plan: UpgradePlan,
    failed: Step,
    done: Sequence[StepResult],
    error: OnTimeDbError | None,
    operations: Operations,
    upgrade_log: UpgradeLog,
    emit: Callable[[UpgradeEvent], None],
    rollback: Callable[[str], str] | None,
    now: Callable[[], datetime],
) -> UpgradeError:
    steps_done = [result.step for result in done]
    not_done = list(plan.steps[len(done) :])
    notes = []

    for name in _unused_new_databases(steps_done):
        renamed = legacy.failed_name(name, now())
        try:
            operations.rename(name, renamed, force=True)
        except OnTimeDbError as cleanup_error:
            note = (
                f"the new database {quote_identifier(name)} is left as it is, because renaming "
                f"it failed: {cleanup_error}; drop it before the next attempt"
            )
        else:
            note = (
                f"the new database {quote_identifier(name)} was renamed to "
                f"{quote_identifier(renamed)}; drop it once the cause is understood"
            )
        notes.append(note)
        upgrade_log.write(note)
        emit(UpgradeEvent("cleanup", note))

    original = _changed_original(plan, steps_done, failed, interrupted=error is None)
    command = rollback(original) if rollback and original is not None else None

    aside = _aside_note(plan, steps_done)
    if aside is not None:
        notes.append(aside)
    if command is None:
        notes.append("no database that existed before the upgrade was changed")
    elif error is None:
        # No UpgradeError carries the command to the caller after Ctrl-C.
        notes.append(f"to restore the starting state: {command}")
    notes.append(_version_note(plan.database, operations))
    if error is None:
        stop = (
            f"upgrade of {quote_identifier(plan.database)} was interrupted at "
            f'"{failed.description}", which may be partly done'
        )
    else:
        stop = (
            f"upgrade of {quote_identifier(plan.database)} stopped at "
            f'"{failed.description}": {error}'
        )
    message = "; ".join([stop, *notes])
    upgrade_log.write(message)
    return UpgradeError(
        message,
        database=plan.database,
        version=plan.from_version,
        done=steps_done,
        not_done=not_done,
        rollback_command=command,
    )


def _version_note(database: str, operations: Operations) -> str:
    name = quote_identifier(database)
    try:
        version = operations.schema_version(database)
    except OnTimeDbError as error:
        return f"the schema version of {name} could not be read: {error}"
    if version is None:
        return f"{name} records no schema version"
    return f"{name} is at schema version {version}"


def _changed_original(
    plan: UpgradePlan, steps_done: Sequence[Step], failed: Step, *, interrupted: bool
) -> str | None:
    touched = [step.database for step in steps_done if step.changes_original]
    # A failed migration may have applied part of its revisions; a failed
    # rename changes nothing, because ALTER DATABASE ... MODIFY NAME is one statement.
    # Ctrl-C may arrive after any step's last statement, before it counts as done.
    if failed.changes_original and (interrupted or failed.kind is StepKind.MIGRATE):
        touched.append(failed.database)
    if plan.database in touched or (plan.new_database and plan.new_database in touched):
        return plan.database
    return touched[0] if touched else None


def _aside_note(plan: UpgradePlan, steps_done: Sequence[Step]) -> str | None:
    """Name the renamed original database while the new one does not have its name yet."""
    renamed = {
        (step.database, step.new_name) for step in steps_done if step.kind is StepKind.RENAME
    }
    aside = plan.aside_database
    if aside is None or (plan.database, aside) not in renamed:
        return None
    if (plan.new_database, plan.database) in renamed:
        return None
    return (
        f"the original database is unchanged under the name {quote_identifier(aside)}; "
        f"renaming it back to {quote_identifier(plan.database)} (`python -m ontime_db rename`) "
        "restores the starting state without the backup"
    )


def _unused_new_databases(steps_done: Sequence[Step]) -> list[str]:
    created = [step.database for step in steps_done if step.kind is StepKind.CREATE_DATABASE]
    for step in steps_done:
        # A new database renamed to an existing database's name is in use now.
        if step.kind is StepKind.RENAME and step.database in created:
            created.remove(step.database)
    return created
