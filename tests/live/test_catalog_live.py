"""Extended properties, history tables and version detection against a live SQL Server.

Each test works in a fresh database and checks the result through the
``sys.*`` catalog views, not only through the functions under test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, Engine

from ontime_db.catalog import (
    current_database,
    database_exists,
    read_schema_properties,
    read_schema_version,
    schema_property_statement,
    schema_version_statements,
    use_database_sql,
    write_schema_property,
    write_schema_version,
)
from ontime_db.connection import engine_for
from ontime_db.detect import detect_version, discover
from ontime_db.errors import (
    DatabaseNotFoundError,
    NotOnTimeDatabaseError,
    VersionConflictError,
)
from ontime_db.flyway import flyway_checksum, read_flyway_history
from ontime_db.quoting import quote_identifier, utf16_length
from ontime_db.testing import drop_database
from ontime_db.version import SchemaVersion

pytestmark = pytest.mark.mssql

# Flyway's own DDL for its SQL Server history table (SQLServerDatabase's
# create script in Flyway 6 to 10; createMetaDataTable.sql before that), with
# the table name filled in as Flyway does for the default schema dbo.
FLYWAY_DDL = [
    """CREATE TABLE [dbo].[flyway_schema_history] (
    [installed_rank] INT NOT NULL,
    [version] NVARCHAR(50),
    [description] NVARCHAR(200),
    [type] NVARCHAR(20) NOT NULL,
    [script] NVARCHAR(1000) NOT NULL,
    [checksum] INT,
    [installed_by] NVARCHAR(100) NOT NULL,
    [installed_on] DATETIME NOT NULL DEFAULT GETDATE(),
    [execution_time] INT NOT NULL,
    [success] BIT NOT NULL
)""",
    "ALTER TABLE [dbo].[flyway_schema_history] ADD CONSTRAINT [flyway_schema_history_pk] "
    "PRIMARY KEY ([installed_rank])",
    "CREATE INDEX [flyway_schema_history_s_idx] ON [dbo].[flyway_schema_history] ([success])",
]

# The table Alembic creates for its default version_table on SQL Server.
ALEMBIC_DDL = (
    "CREATE TABLE [dbo].[alembic_version] (version_num VARCHAR(32) NOT NULL, "
    "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
)

PROPERTY_SQL = (
    "SELECT CAST(ep.value AS nvarchar(4000)) AS value, "
    "CAST(SQL_VARIANT_PROPERTY(ep.value, 'BaseType') AS nvarchar(128)) AS base_type "
    "FROM sys.extended_properties AS ep "
    "WHERE ep.class = 3 AND ep.major_id = SCHEMA_ID(:schema) AND ep.name = :name"
)


@pytest.fixture
def database_engine(fresh_database_url: URL) -> Iterator[Engine]:
    engine = engine_for(fresh_database_url, autocommit=True)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(database_engine: Engine) -> Iterator[Connection]:
    with database_engine.connect() as opened:
        yield opened


def stored(connection: Connection, name: str, schema: str = "api") -> tuple[Any, ...] | None:
    row = connection.execute(text(PROPERTY_SQL), {"schema": schema, "name": name}).first()
    return None if row is None else (row.value, row.base_type)


def create_api_schema(connection: Connection) -> None:
    connection.execute(text("CREATE SCHEMA [api]"))


def add_flyway_history(connection: Connection, versions: list[tuple[str, bool]]) -> None:
    for statement in FLYWAY_DDL:
        connection.execute(text(statement))
    connection.execute(
        text(
            "INSERT [dbo].[flyway_schema_history] (installed_rank, version, description, type, "
            "script, checksum, installed_by, execution_time, success) VALUES "
            "(1, NULL, N'<< Flyway Schema Creation >>', N'SCHEMA', N'[dbo]', NULL, N'sa', 0, 1)"
        )
    )
    for rank, (version, success) in enumerate(versions, start=2):
        script = f"V{version.replace('.', '_')}__step.sql"
        connection.execute(
            text(
                "INSERT [dbo].[flyway_schema_history] (installed_rank, version, description, "
                "type, script, checksum, installed_by, execution_time, success) VALUES "
                "(:rank, :version, N'step', N'SQL', :script, :checksum, N'sa', 12, :success)"
            ),
            {
                "rank": rank,
                "version": version,
                "script": script,
                "checksum": flyway_checksum(f"-- {version}\n"),
                "success": success,
            },
        )


# -- extended properties ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("15", ("15", "nvarchar")), (15, ("15", "int")),
     ("Größe ✓ 版本", ("Größe ✓ 版本", "nvarchar"))],
    ids=["string", "int", "non-ascii"],
)
def test_property_round_trip(
    connection: Connection, value: str | int, expected: tuple[str, str]
) -> None:
    create_api_schema(connection)
    write_schema_property(connection, "compatibility_minor", value)
    assert stored(connection, "compatibility_minor") == expected
    assert read_schema_properties(connection)["compatibility_minor"].value == expected[0]


def test_property_overwrite_each_value(connection: Connection) -> None:
    create_api_schema(connection)
    for value, expected in (("15", ("15", "nvarchar")), (15, ("15", "int")),
                            ("Größe ✓ 版本", ("Größe ✓ 版本", "nvarchar"))):
        write_schema_property(connection, "compatibility_major", value)
        assert stored(connection, "compatibility_major") == expected
    count = connection.execute(
        text("SELECT COUNT(*) FROM sys.extended_properties WHERE class = 3 "
             "AND major_id = SCHEMA_ID(N'api')")
    ).scalar_one()
    assert count == 1


def test_property_odd_names(connection: Connection) -> None:
    connection.execute(text(f"CREATE SCHEMA {quote_identifier('we]ird', kind='schema name')}"))
    for name in ("O'Hare", "Größe_版本", "x]; DROP DATABASE [y"):
        connection.execute(text(schema_property_statement(name, name, schema="we]ird")))
        assert stored(connection, name, schema="we]ird") == (name, "nvarchar")


def test_version_write_and_read(connection: Connection) -> None:
    create_api_schema(connection)
    assert read_schema_version(connection) is None
    write_schema_version(connection, "25.8")
    assert read_schema_version(connection) == SchemaVersion(25, 8)
    assert stored(connection, "compatibility_major") == ("25", "int")
    assert stored(connection, "compatibility_minor") == ("8", "int")

    write_schema_version(connection, SchemaVersion(26, 0))
    assert read_schema_version(connection) == SchemaVersion(26, 0)


def test_version_keeps_string_type(connection: Connection) -> None:
    create_api_schema(connection)
    write_schema_property(connection, "compatibility_major", "25")
    write_schema_property(connection, "compatibility_minor", "8")
    write_schema_version(connection, "26.1")
    assert stored(connection, "compatibility_major") == ("26", "nvarchar")
    assert stored(connection, "compatibility_minor") == ("1", "nvarchar")


def test_version_one_batch(connection: Connection) -> None:
    create_api_schema(connection)
    connection.exec_driver_sql("\n".join(schema_version_statements("25.8")))
    assert read_schema_version(connection) == SchemaVersion(25, 8)


def test_version_rolls_back(fresh_database_url: URL) -> None:
    engine = engine_for(fresh_database_url)
    try:
        with engine.begin() as connection:
            create_api_schema(connection)
        with engine.connect() as connection:
            transaction = connection.begin()
            write_schema_version(connection, "25.8")
            assert read_schema_version(connection) == SchemaVersion(25, 8)
            transaction.rollback()
            assert read_schema_version(connection) is None
    finally:
        engine.dispose()


def test_version_without_api_schema(connection: Connection) -> None:
    with pytest.raises(NotOnTimeDatabaseError, match="has no 'api' schema"):
        write_schema_version(connection, "25.8")


def test_version_incomplete(connection: Connection) -> None:
    create_api_schema(connection)
    write_schema_property(connection, "compatibility_major", 25)
    with pytest.raises(ValueError, match="found only compatibility_major = '25'"):
        read_schema_version(connection)


# -- databases ----------------------------------------------------------------------

ODD_NAMES = {
    "dot": "ontimems.25.8",
    "hyphen": "my-db",
    "space": "my db",
    "bracket": "we]ird",
    "quote": "O'Hare",
    "non-ascii": "Größe_版本",
    "injection": "x]; DROP DATABASE [y",
    "bracketed": "[x]",
    "double-bracket": "]]",
    "comment": "--x /*x",
    "n-prefix": "N'x;GO",
    "emoji": "😀db",
    "right-to-left-mark": "\u200fdb",
}


@pytest.mark.parametrize("stem", list(ODD_NAMES.values()), ids=list(ODD_NAMES))
def test_database_exists_odd_names(mssql_engine: Engine, stem: str) -> None:
    name = f"{stem}_{uuid.uuid4().hex[:8]}"
    with mssql_engine.connect() as connection:
        assert database_exists(connection, name) is False
        connection.execute(text(f"CREATE DATABASE {quote_identifier(name)}"))
    try:
        with mssql_engine.connect() as connection:
            assert database_exists(connection, name) is True
            found = connection.execute(
                text("SELECT name FROM sys.databases WHERE name = :name"), {"name": name}
            ).scalar_one()
            assert found == name
            connection.exec_driver_sql(use_database_sql(name))
            assert current_database(connection) == name
            connection.exec_driver_sql(use_database_sql("master"))
    finally:
        drop_database(mssql_engine, name)


@pytest.mark.parametrize(
    ("unit", "units"), [("a", 128), ("😀", 127)], ids=["ascii", "emoji"]
)
def test_database_longest_name(mssql_engine: Engine, unit: str, units: int) -> None:
    """A name as long as a sysname allows (128 UTF-16 code units; an emoji takes two) survives."""
    suffix = f"_{uuid.uuid4().hex[:8]}"
    width = utf16_length(unit)
    name = unit * ((128 - len(suffix)) // width) + suffix
    assert utf16_length(name) == units
    with mssql_engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {quote_identifier(name)}"))
    try:
        with mssql_engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT name, DATALENGTH(name) / 2 AS units FROM sys.databases "
                    "WHERE database_id = DB_ID(:name)"
                ),
                {"name": name},
            ).one()
    finally:
        drop_database(mssql_engine, name)
    assert row.name == name
    assert row.units == units


# -- history tables -------------------------------------------------------------------


def test_flyway_history_as_flyway_creates_it(connection: Connection) -> None:
    add_flyway_history(connection, [("25.8", True), ("25.9", True), ("26.0", False)])
    history = read_flyway_history(connection)
    assert history is not None
    assert (history.schema, history.table, history.rows) == ("dbo", "flyway_schema_history", 4)
    assert history.successes == 2
    assert [entry.version for entry in history.failures] == ["26.0"]
    assert history.highest_version == "25.9"
    assert history.entries[1].checksum == flyway_checksum("-- 25.8\r\n")
    assert history.entries[0].installed_on is not None
    indexes = connection.execute(
        text(
            "SELECT name FROM sys.indexes "
            "WHERE object_id = OBJECT_ID(N'dbo.flyway_schema_history') "
            "AND name IS NOT NULL ORDER BY name"
        )
    ).scalars().all()
    assert indexes == ["flyway_schema_history_pk", "flyway_schema_history_s_idx"]


def test_flyway_history_absent(connection: Connection) -> None:
    assert read_flyway_history(connection) is None


# -- detection ----------------------------------------------------------------------------


def test_detect_properties(connection: Connection, fresh_database_url: URL) -> None:
    create_api_schema(connection)
    write_schema_version(connection, "25.8")
    detected = detect_version(fresh_database_url)
    assert (detected.version, detected.source) == (SchemaVersion(25, 8), "extended properties")
    assert [item.source for item in detected.evidence] == ["extended properties"]


def test_detect_flyway(connection: Connection, fresh_database_url: URL) -> None:
    add_flyway_history(connection, [("25.8", True), ("26.0", False)])
    detected = detect_version(fresh_database_url)
    assert (detected.version, detected.source) == (SchemaVersion(25, 8), "flyway history")
    assert "failed migrations: 26.0" in detected.evidence[0].detail


def test_detect_alembic(connection: Connection, fresh_database_url: URL) -> None:
    connection.execute(text(ALEMBIC_DDL))
    connection.execute(text("INSERT [dbo].[alembic_version] (version_num) VALUES ('26.0')"))
    detected = detect_version(fresh_database_url)
    assert (detected.version, detected.source) == (SchemaVersion(26, 0), "alembic")


def test_detect_agreeing_sources(connection: Connection, fresh_database_url: URL) -> None:
    create_api_schema(connection)
    write_schema_version(connection, "25.8")
    add_flyway_history(connection, [("25.8", True)])
    connection.execute(text(ALEMBIC_DDL))
    connection.execute(text("INSERT [dbo].[alembic_version] (version_num) VALUES ('25.8')"))
    detected = detect_version(fresh_database_url)
    assert detected.source == "extended properties"
    assert [item.source for item in detected.evidence] == [
        "extended properties", "flyway history", "alembic"
    ]


def test_detect_database_name(mssql_engine: Engine, mssql_url: URL) -> None:
    name = f"ontime_test_{uuid.uuid4().hex[:8]}.25.8"
    with mssql_engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {quote_identifier(name)}"))
    try:
        detected = detect_version(mssql_url, database=name)
        assert (detected.version, detected.source, detected.weak) == (
            SchemaVersion(25, 8), "database name", True
        )
    finally:
        drop_database(mssql_engine, name)


def test_detect_conflict(connection: Connection, fresh_database_url: URL) -> None:
    create_api_schema(connection)
    write_schema_version(connection, "25.8")
    add_flyway_history(connection, [("25.8", True), ("26.0", True)])
    with pytest.raises(VersionConflictError) as raised:
        detect_version(fresh_database_url)
    sources = [(item.source, str(item.version)) for item in raised.value.evidence]
    assert sources == [("extended properties", "25.8"), ("flyway history", "26.0")]


def test_detect_missing_database(mssql_url: URL) -> None:
    name = f"ontime_missing_{uuid.uuid4().hex[:8]}"
    with pytest.raises(DatabaseNotFoundError) as raised:
        detect_version(mssql_url, database=name)
    assert raised.value.database == name


def test_detect_not_ontime(fresh_database_url: URL, fresh_database: str) -> None:
    with pytest.raises(NotOnTimeDatabaseError) as raised:
        detect_version(fresh_database_url)
    assert raised.value.database == fresh_database


def test_detect_on_connection(connection: Connection, fresh_database: str) -> None:
    create_api_schema(connection)
    write_schema_version(connection, "25.8")
    detected = detect_version(connection)
    assert (detected.database, detected.version) == (fresh_database, SchemaVersion(25, 8))


def test_discover_lists_database(
    connection: Connection, fresh_database: str, mssql_url: URL
) -> None:
    create_api_schema(connection)
    write_schema_version(connection, "25.8")
    found = {entry.name: entry for entry in discover(mssql_url)}
    assert found[fresh_database].version == SchemaVersion(25, 8)
    assert found[fresh_database].kind == "main"
    assert "master" not in found


def test_discover_addon_kinds(mssql_engine: Engine, fresh_database: str, mssql_url: URL) -> None:
    name = f"ontime_test_{uuid.uuid4().hex[:8]}_pollarity"
    with mssql_engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {quote_identifier(name)}"))
    try:
        found = {entry.name: entry for entry in discover(mssql_url, kinds=("pollarity",))}
    finally:
        drop_database(mssql_engine, name)
    assert found[name].kind == "pollarity"
    assert found[name].version is None
    assert fresh_database not in found
