"""The audit table of applied migrations, ``dbo.ontime_db_history``.

One row per applied migration (type ``SQL``), per baseline (type
``BASELINE``) and per failed attempt (``success`` 0), with Flyway's columns:
version, description, script, checksum (Flyway's CRC32), installed_by,
installed_on, execution_time in milliseconds and success.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import (
    Boolean,
    Column,
    Identity,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects.mssql import DATETIME2, NVARCHAR
from sqlalchemy.schema import CreateTable

from ..quoting import quote_string
from ..version import SchemaVersion

if TYPE_CHECKING:
    from sqlalchemy import Connection, Dialect, Insert

    from .chain import MigrationSet

__all__ = [
    "AUDIT_TABLE",
    "AppliedMigration",
    "ValidationProblem",
    "ValidationReport",
    "compare",
    "create_table_sql",
    "history",
    "insert_row",
    "insert_row_sql",
    "read_rows",
    "validate",
]

AUDIT_SCHEMA = "dbo"
AUDIT_TABLE = "ontime_db_history"

# SQLAlchemy's mssql DATETIME2 constructor carries no annotations.
_DATETIME2_SECONDS = DATETIME2(precision=0)  # type: ignore[no-untyped-call]

_metadata = MetaData()
history_table = Table(
    AUDIT_TABLE,
    _metadata,
    Column("installed_rank", Integer, Identity(start=1, increment=1), nullable=False),
    Column("version", NVARCHAR(50), nullable=False),
    Column("description", NVARCHAR(200), nullable=False),
    Column("type", NVARCHAR(20), nullable=False),
    Column("script", NVARCHAR(1000), nullable=False),
    Column("checksum", Integer, nullable=True),
    Column("installed_by", NVARCHAR(128), nullable=False, server_default=text("SUSER_SNAME()")),
    Column(
        "installed_on",
        _DATETIME2_SECONDS,
        nullable=False,
        server_default=text("SYSUTCDATETIME()"),
    ),
    # NULL in offline scripts, whose run time is not known when they are rendered.
    Column("execution_time", Integer, nullable=True),
    Column("success", Boolean, nullable=False),
    PrimaryKeyConstraint("installed_rank", name="PK_ontime_db_history"),
    schema=AUDIT_SCHEMA,
    # No OUTPUT clause on inserts: nothing reads the new rank back.
    implicit_returning=False,
)


@dataclass(frozen=True)
class AppliedMigration:
    """One row of the audit table."""

    installed_rank: int
    version: SchemaVersion
    description: str
    type: str
    script: str
    checksum: int | None
    installed_by: str
    installed_on: datetime
    execution_time: int | None
    success: bool


def create_table_sql(dialect: Dialect) -> str:
    """Return the T-SQL batch that creates the audit table when it is missing."""
    compiled = str(CreateTable(history_table).compile(dialect=dialect)).strip()
    create = "\n".join(line.replace("\t", "    ").rstrip() for line in compiled.splitlines())
    qualified = quote_string(f"{AUDIT_SCHEMA}.{AUDIT_TABLE}")
    return f"IF OBJECT_ID({qualified}, N'U') IS NULL\n{create}"


def insert_row(
    *,
    version: SchemaVersion,
    description: str,
    type: str,
    script: str,
    checksum: int | None,
    execution_time: int | None,
    success: bool,
) -> Insert:
    """Build the INSERT of one audit row; installed_by and installed_on take server defaults."""
    return insert(history_table).values(
        version=str(version),
        description=description[:200],
        type=type,
        script=script,
        checksum=checksum,
        execution_time=execution_time,
        success=success,
    )


_INSERT_COLUMNS = (
    "version", "description", "type", "script", "checksum", "execution_time", "success",
)


def insert_row_sql(
    *,
    version: SchemaVersion,
    description: str,
    type: str,
    script: str,
    checksum: int | None,
    execution_time: int | None,
    success: bool,
) -> str:
    """Return the T-SQL text of :func:`insert_row` with the values written as literals.

    SQLAlchemy compiles the statement once per process, with ``pyformat``
    placeholders; the values are then filled in through
    :func:`~ontime_db.quoting.quote_string`. Offline scripts write one such
    row per migration, and compiling each anew dominated long chains.
    """
    values = {
        "version": quote_string(str(version)),
        "description": quote_string(description[:200]),
        "type": quote_string(type),
        "script": quote_string(script),
        "checksum": _integer_literal(checksum),
        "execution_time": _integer_literal(execution_time),
        "success": "1" if success else "0",
    }
    return _insert_template() % values


@functools.cache
def _insert_template() -> str:
    from sqlalchemy.dialects import mssql

    statement = insert(history_table).values(
        {column: bindparam(column) for column in _INSERT_COLUMNS}
    )
    # SQLAlchemy's mssql dialect class carries no annotations.
    dialect = mssql.dialect(paramstyle="pyformat")  # type: ignore[no-untyped-call]
    return str(statement.compile(dialect=dialect))


def _integer_literal(value: int | None) -> str:
    return "NULL" if value is None else str(int(value))


def read_rows(connection: Connection) -> list[AppliedMigration]:
    """Read every audit row in installation order; an empty list when the table is missing."""
    exists = connection.execute(
        select(func.object_id(f"{AUDIT_SCHEMA}.{AUDIT_TABLE}", "U"))
    ).scalar()
    if exists is None:
        return []
    rows = connection.execute(select(history_table).order_by(history_table.c.installed_rank))
    return [
        AppliedMigration(
            installed_rank=row.installed_rank,
            version=SchemaVersion.parse(row.version),
            description=row.description,
            type=row.type,
            script=row.script,
            checksum=row.checksum,
            installed_by=row.installed_by,
            installed_on=row.installed_on,
            execution_time=row.execution_time,
            success=bool(row.success),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ValidationProblem:
    """One difference between the audit table and the migration set."""

    kind: Literal["checksum changed", "missing from the set", "failed", "pending"]
    version: SchemaVersion
    detail: str

    def __str__(self) -> str:
        return f"{self.version}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class ValidationReport:
    """The result of :func:`validate`; ``ok`` is false when any problem was found."""

    database: str | None
    problems: tuple[ValidationProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def pending(self) -> tuple[SchemaVersion, ...]:
        return tuple(problem.version for problem in self.problems if problem.kind == "pending")


def compare(
    rows: list[AppliedMigration], chain: MigrationSet, *, database: str | None = None
) -> ValidationReport:
    """Compare audit rows with a migration set. Pure: the caller reads the rows.

    A migration is pending when it is newer than every successful row and
    every baseline; a failed row counts only when no later row for the same
    version succeeded.
    """
    from ..flyway import flyway_checksum

    problems: list[ValidationProblem] = []
    known = {migration.version: migration for migration in chain.migrations}
    succeeded: set[SchemaVersion] = set()
    for row in rows:
        if row.type == "BASELINE":
            succeeded.add(row.version)
            continue
        migration = known.get(row.version)
        if migration is None:
            problems.append(ValidationProblem(
                "missing from the set", row.version,
                f"applied from {row.script!r} on {row.installed_on:%Y-%m-%d %H:%M}, but the "
                f"migration set {chain.directory} has no revision {str(row.version)!r}",
            ))
            continue
        if not row.success:
            continue
        succeeded.add(row.version)
        checksum = flyway_checksum(migration.script.read_bytes())
        if row.checksum is not None and row.checksum != checksum:
            problems.append(ValidationProblem(
                "checksum changed", row.version,
                f"{migration.script_name} has checksum {checksum} now, {row.checksum} when it "
                "was applied; restore the applied text, or add a new migration for the change",
            ))

    for row in rows:
        if not row.success and row.version not in succeeded:
            problems.append(ValidationProblem(
                "failed", row.version,
                f"the attempt of {row.installed_on:%Y-%m-%d %H:%M} failed and none succeeded "
                "since; run migrate again after fixing the cause",
            ))

    reached = max(succeeded, default=None)
    for migration in chain.migrations:
        if reached is None or migration.version > reached:
            problems.append(ValidationProblem(
                "pending", migration.version, f"{migration.script_name} is not applied yet",
            ))
    return ValidationReport(database, tuple(problems))


def history(target: Any) -> list[AppliedMigration]:
    """Return the audit rows of the database of ``target``, oldest first.

    An empty list when the database has no audit table. Raises the
    connection errors of :func:`ontime_db.connection.engine_for`.

    >>> rows = history("mssql+pyodbc://...")  # doctest: +SKIP
    """
    from ..connection import engine_scope

    with engine_scope(target) as engine, engine.connect() as connection:
        return read_rows(connection)


def validate(target: Any, *, migrations: str | os.PathLike[str] | None = None) -> ValidationReport:
    """Compare the database's audit rows with the migration set.

    Reports changed checksums, applied migrations missing from the set,
    failed attempts and pending migrations; ``report.ok`` is false for any.
    """
    from ..connection import engine_scope
    from .chain import load_set

    chain = load_set(migrations)
    with engine_scope(target) as engine, engine.connect() as connection:
        database = connection.exec_driver_sql("SELECT DB_NAME()").scalar_one()
        rows = read_rows(connection)
    return compare(rows, chain, database=database)
