"""The code Alembic runs for a migration set: ``env.py`` and each revision's ``upgrade()``.

``env.py`` of every shipped set calls :func:`run_environment`; a revision's
``upgrade()`` calls :func:`run_script` with its revision id. Both find the
run's :class:`RunState` in the Alembic configuration's ``attributes``, put
there by :mod:`ontime_db.migration.engine` (online) or
:mod:`ontime_db.migration.offline` (``--sql``). Each migration runs in its own
transaction (``transaction_per_migration``). Alembic's ``on_version_apply``
callback writes the schema-version extended properties and the audit row
inside that same transaction, right after Alembic updates ``alembic_version``.
"""

from __future__ import annotations

import functools
import io
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ScriptError
from ..version import SchemaVersion
from .chain import Migration, MigrationSet

if TYPE_CHECKING:
    from alembic.runtime.migration import MigrationContext, MigrationInfo
    from sqlalchemy import Connection

__all__ = [
    "RUN_STATE",
    "AppliedStep",
    "RunState",
    "ScriptBuffer",
    "StepEvent",
    "run_environment",
    "run_script",
    "run_upgrade",
]

log = logging.getLogger(__name__)

# Key of the RunState in alembic.config.Config.attributes.
RUN_STATE = "ontime_db.run_state"


@dataclass(frozen=True)
class StepEvent:
    """Progress of one migration, passed to ``on_step`` callbacks."""

    phase: Literal["start", "done", "failed"]
    version: SchemaVersion
    description: str
    script: str
    transactional: bool
    number: int
    total: int
    duration_ms: int | None = None


@dataclass(frozen=True)
class AppliedStep:
    """A migration applied in this run."""

    version: SchemaVersion
    description: str
    script: str
    duration_ms: int | None


class ScriptBuffer(io.StringIO):
    """Output buffer of an offline run that tracks whether the last output ended a batch."""

    def __init__(self) -> None:
        super().__init__()
        self.batch_ended = True

    def write(self, text: str, /) -> int:
        stripped = text.lstrip()
        # Comment lines, such as Alembic's "-- Running upgrade", neither end
        # a batch nor start one.
        if stripped and not stripped.startswith("--"):
            self.batch_ended = stripped[:2].upper() == "GO"
        return super().write(text)


@dataclass
class RunState:
    """Settings and progress of one Alembic run, beyond Alembic's own configuration."""

    migrations: MigrationSet
    database: str | None
    total: int
    start: SchemaVersion | None = None
    connection: Connection | None = None
    output: ScriptBuffer | None = None
    on_step: Callable[[StepEvent], None] | None = None
    on_message: Callable[[Any], None] | None = None
    applied: list[AppliedStep] = field(default_factory=list)
    running: Migration | None = None
    # Flyway checksums of the script bytes each migration ran, by version.
    checksums: dict[SchemaVersion, int] = field(default_factory=dict)
    step_started: float = field(default_factory=time.monotonic)

    def event(self, phase: Literal["start", "done", "failed"], migration: Migration,
              duration_ms: int | None = None) -> None:
        if self.on_step is None:
            return
        self.on_step(
            StepEvent(
                phase=phase,
                version=migration.version,
                description=migration.description,
                script=migration.script_name,
                transactional=migration.transactional,
                number=len(self.applied) + 1,
                total=self.total,
                duration_ms=duration_ms,
            )
        )


def run_upgrade(state: RunState, target: SchemaVersion, *, as_sql: bool) -> None:
    """Run Alembic's upgrade to ``target`` on the set already loaded in ``state``.

    This is what ``alembic.command.upgrade`` does, minus loading every
    revision module a second time.
    """
    from alembic.runtime.environment import EnvironmentContext

    from .chain import alembic_config

    chain = state.migrations
    config = alembic_config(chain.directory)
    config.attributes[RUN_STATE] = state
    script_directory = chain.script_directory
    destination = str(target)

    def upgrade_steps(revision: Any, context: Any) -> Any:
        return script_directory._upgrade_revs(destination, revision)

    starting = str(state.start) if as_sql and state.start is not None else None
    with EnvironmentContext(
        config,
        script_directory,
        fn=upgrade_steps,
        as_sql=as_sql,
        starting_rev=starting,
        destination_rev=destination,
    ):
        script_directory.run_env()


def run_environment() -> None:
    """Configure Alembic's context and run the migrations; the body of every ``env.py``."""
    from alembic import context

    state = _state(context.config.attributes)
    if context.is_offline_mode():
        context.configure(
            dialect_name="mssql",
            literal_binds=True,
            transaction_per_migration=True,
            output_buffer=state.output,
            # Alembic iterates this option as a list of callbacks called with
            # keyword arguments, although its annotation names one callable.
            on_version_apply=[_record_version],  # type: ignore[arg-type]
        )
        _write_offline_preamble(context.get_context(), state)
    else:
        context.configure(
            connection=state.connection,
            transaction_per_migration=True,
            on_version_apply=[_record_version],  # type: ignore[arg-type]
        )
    with context.begin_transaction():
        context.run_migrations()


def run_script(revision: str) -> None:
    """Run the T-SQL script of ``revision``; the body of every revision's ``upgrade()``.

    Raises :class:`~ontime_db.errors.ScriptError` when the script's batches
    do not match the revision's ``transactional`` setting, and whatever the
    script engine raises for a failed batch (``BatchError``).
    """
    from alembic import op

    context = op.get_context()
    state = _state(context.config.attributes if context.config else {})
    migration = state.migrations.get(SchemaVersion.parse(revision))
    state.running = migration
    state.event("start", migration)
    log.info("migrating to %s: %s (%s)", migration.version, migration.description,
             migration.script_name)

    loaded = _load_script(state, migration)
    _check_transaction_mode(migration, loaded)

    if migration.transactional:
        _run_loaded(context, state, loaded)
    else:
        # SQL Server refuses these statements in a user transaction: Alembic
        # commits the migration transaction, runs the block in autocommit
        # mode and opens a new transaction for the version bookkeeping.
        with context.autocommit_block():
            _run_loaded(context, state, loaded)


def _load_script(state: RunState, migration: Migration) -> Any:
    """Read the script of ``migration`` once: split it, and keep its checksum for the audit row."""
    from ..flyway import flyway_checksum
    from ..script import decode, parse
    from ..script.splitter import is_flyway_script

    name = str(migration.script)
    try:
        data = migration.script.read_bytes()
    except OSError as err:
        raise ScriptError(
            f"cannot read script {name!r} of revision {migration.revision!r}: "
            f"{err.strerror or err}; check the path and its permissions",
            version=migration.version,
            file=name,
        ) from err
    state.checksums[migration.version] = flyway_checksum(data)
    return parse(
        decode(data, file=name),
        file=name,
        flyway_placeholders=is_flyway_script(name),
        database=state.database,
        use="retarget" if state.database else "keep",
    )


def _run_loaded(context: MigrationContext, state: RunState, loaded: Any) -> None:
    from .. import script as script_engine

    if state.output is None:
        assert context.connection is not None
        script_engine.run(context.connection, loaded, on_message=state.on_message)
        return

    from .guards import previous_version_guard, transaction_guard

    migration = state.running
    assert migration is not None
    if not state.output.batch_ended:
        # Alembic writes BEGIN TRANSACTION without a separator, and a batch
        # such as CREATE PROCEDURE must be the first statement of its batch.
        context.impl.static_output("GO")
    if migration.previous is not None:
        context.impl.static_output(previous_version_guard(migration.previous, migration.version))
        context.impl.static_output("GO")
    for batch in loaded.batches:
        context.impl.static_output(batch.text.strip())
        context.impl.static_output("GO" if batch.repeat == 1 else f"GO {batch.repeat}")
        if migration.transactional:
            # A failed batch leaves the later ones to run in autocommit mode
            # under SSMS; this check stops them.
            context.impl.static_output(transaction_guard(migration.previous, migration.version))
            context.impl.static_output("GO")


def _check_transaction_mode(migration: Migration, loaded: Any) -> None:
    if migration.transactional == loaded.transactional:
        return
    wrong = next(
        (batch for batch in loaded.batches if batch.transactional != migration.transactional),
        None,
    )
    where = f" (batch {wrong.number}, line {wrong.line})" if wrong is not None else ""
    if migration.transactional:
        advice = (
            f"it contains a statement SQL Server refuses inside a transaction{where}; set "
            "`transactional = False` in the revision file or move the statement to its own "
            "migration"
        )
    else:
        advice = (
            f"it mixes statements that need autocommit with transactional ones{where}; "
            "split them into separate migrations"
        )
    raise ScriptError(
        f"script {migration.script_name!r} of revision {migration.revision!r} cannot run as "
        f"declared: {advice}",
        version=migration.version,
        file=str(migration.script),
        batch=wrong.number if wrong is not None else None,
        line=wrong.line if wrong is not None else None,
    )


def _record_version(
    *, ctx: MigrationContext, step: MigrationInfo, heads: set[str], run_args: dict[str, Any]
) -> None:
    """Write the version properties and the audit row inside the migration's transaction."""
    del heads, run_args
    state = _state(ctx.config.attributes if ctx.config else {})
    assert step.up_revision_id is not None
    migration = state.migrations.get(SchemaVersion.parse(step.up_revision_id))
    checksum = state.checksums[migration.version]
    if state.output is not None:
        _record_offline(ctx, migration, checksum)
        duration_ms = None
    else:
        duration_ms = round((time.monotonic() - state.step_started) * 1000)
        _record_online(ctx, migration, checksum, duration_ms)

    state.applied.append(
        AppliedStep(migration.version, migration.description, migration.script_name, duration_ms)
    )
    state.running = None
    state.event("done", migration, duration_ms)
    if state.output is None:
        log.info("migrated to %s: %s in %d ms", migration.version, migration.description,
                 duration_ms or 0)
    state.step_started = time.monotonic()


def _record_online(
    ctx: MigrationContext, migration: Migration, checksum: int, duration_ms: int
) -> None:
    from ..catalog import schema_version_statements
    from .audit import insert_row

    assert ctx.connection is not None
    ctx.connection.exec_driver_sql("\n".join(schema_version_statements(migration.version)))
    ctx.execute(
        insert_row(
            version=migration.version,
            description=migration.description,
            type="SQL",
            script=migration.script_name,
            checksum=checksum,
            execution_time=duration_ms,
            success=True,
        )
    )


def _record_offline(ctx: MigrationContext, migration: Migration, checksum: int) -> None:
    from .audit import insert_row_sql

    ctx.impl.static_output(_version_properties_sql(migration.version))
    ctx.impl.static_output("GO")
    # NOTE: no transaction check follows this batch. When it fails in SSMS
    # without `sqlcmd -b`, the audit row below is still inserted, in
    # autocommit mode; the next migration's alembic_version check then stops.
    row = insert_row_sql(
        version=migration.version,
        description=migration.description,
        type="SQL",
        script=migration.script_name,
        checksum=checksum,
        execution_time=None,
        success=True,
    )
    ctx.impl.static_output(row + ctx.impl.command_terminator)
    ctx.impl.static_output("GO")


def _version_properties_sql(version: SchemaVersion) -> str:
    """Return the text of ``catalog.schema_version_statements(version)`` joined into one batch.

    Each statement is built once per property value, because a long chain
    repeats the same major and minor numbers many times.
    """
    from ..catalog import MAJOR_PROPERTY, MINOR_PROPERTY

    return "\n".join(
        (_property_sql(MAJOR_PROPERTY, version.major), _property_sql(MINOR_PROPERTY, version.minor))
    )


@functools.lru_cache(maxsize=1024)
def _property_sql(name: str, value: int) -> str:
    from ..catalog import schema_property_statement

    return schema_property_statement(name, value, keep_string_type=True)


def _write_offline_preamble(context: MigrationContext, state: RunState) -> None:
    from sqlalchemy.schema import CreateTable

    from ..quoting import quote_string
    from .audit import create_table_sql, insert_row_sql

    context.impl.static_output("SET XACT_ABORT ON;")
    context.impl.static_output("GO")
    context.impl.static_output(create_table_sql(context.dialect))
    context.impl.static_output("GO")

    if state.start is None:
        return
    # A database at the starting version made by the create script or the
    # legacy route has no alembic_version table yet: create and stamp it, as
    # the online run's baseline does.
    version_table = context.impl.version_table_impl(
        version_table="alembic_version", version_table_schema=None, version_table_pk=True
    )
    create = str(CreateTable(version_table).compile(dialect=context.dialect)).strip()
    create = "\n".join("    " + line.replace("\t", "    ").rstrip() for line in create.splitlines())
    baseline = insert_row_sql(
        version=state.start,
        description="baseline",
        type="BASELINE",
        script="",
        checksum=None,
        execution_time=None,
        success=True,
    )
    start = quote_string(str(state.start))
    context.impl.static_output(
        "IF OBJECT_ID(N'alembic_version', N'U') IS NULL\nBEGIN\n"
        f"{create};\n"
        f"    INSERT INTO alembic_version (version_num) VALUES ({start});\n"
        f"    {baseline};\n"
        "END"
    )
    context.impl.static_output("GO")


def _state(attributes: dict[str, Any]) -> RunState:
    state = attributes.get(RUN_STATE)
    if not isinstance(state, RunState):
        raise ScriptError(
            "this migration set runs only through ontime_db (`python -m ontime_db migrate` or "
            "ontime_db.migration.migrate), not through the alembic command"
        )
    return state
