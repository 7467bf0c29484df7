"""The T-SQL text the catalog functions build and send, checked without a server.

Statements are asserted exactly and parsed with sqlglot's T-SQL dialect.
A recording stand-in for the connection shows which statements the
executors send; what SQL Server does with them is the live tests' job.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from ontime_db.catalog import (
    ExtendedProperty,
    api_schema_exists,
    current_database,
    database_exists,
    find_tables,
    read_schema_properties,
    read_schema_properties_sql,
    read_schema_version,
    schema_property_statement,
    schema_version_statements,
    server_info,
    use_database_sql,
    write_schema_property,
    write_schema_version,
)
from ontime_db.detect import revision_query_sql
from ontime_db.errors import InvalidNameError, InvalidSchemaVersion, NotOnTimeDatabaseError
from ontime_db.flyway import history_query_sql
from ontime_db.version import SchemaVersion

EXISTS_MAJOR = (
    "SELECT 1 FROM sys.extended_properties AS ep WHERE ep.class = 3 "
    "AND ep.major_id = SCHEMA_ID(N'api') AND ep.name = N'compatibility_major'"
)

MAJOR_25 = (
    f"DECLARE @ontime_db_compatibility_major_procedure nvarchar(128) = CASE WHEN EXISTS "
    f"({EXISTS_MAJOR}) THEN N'sys.sp_updateextendedproperty' "
    "ELSE N'sys.sp_addextendedproperty' END;\n"
    f"DECLARE @ontime_db_compatibility_major_value sql_variant = CASE WHEN EXISTS "
    f"({EXISTS_MAJOR} AND CAST(SQL_VARIANT_PROPERTY(ep.value, 'BaseType') AS nvarchar(128)) "
    "IN (N'nvarchar', N'varchar', N'nchar', N'char')) THEN CAST(N'25' AS sql_variant) "
    "ELSE CAST(25 AS sql_variant) END;\n"
    "EXEC @ontime_db_compatibility_major_procedure @name = N'compatibility_major', "
    "@value = @ontime_db_compatibility_major_value, @level0type = N'SCHEMA', "
    "@level0name = N'api';"
)

READ_VERSION = (
    "SELECT ep.name AS name, CAST(ep.value AS nvarchar(4000)) AS value,\n"
    "CAST(SQL_VARIANT_PROPERTY(ep.value, 'BaseType') AS nvarchar(128)) AS base_type\n"
    "FROM sys.extended_properties AS ep\n"
    "WHERE ep.class = 3 AND ep.major_id = SCHEMA_ID(N'api') "
    "AND ep.name IN (N'compatibility_major', N'compatibility_minor')\n"
    "ORDER BY ep.name"
)

NAMES = [
    "ontimems.25.8",
    "my-db",
    "my db",
    "we]ird",
    "O'Hare",
    "Größe_版本",
    "x]; DROP DATABASE [y",
]
NAME_IDS = ["dot", "hyphen", "space", "bracket", "quote", "non-ascii", "injection"]


def parse_tsql(sql: str) -> list[exp.Expression]:
    """Parse with sqlglot and fail when it had to fall back to an opaque command."""
    parsed = [statement for statement in sqlglot.parse(sql, read="tsql") if statement is not None]
    for statement in parsed:
        assert not isinstance(statement, exp.Command), f"sqlglot could not parse: {statement}"
    return parsed


# -- builders ------------------------------------------------------------------


def test_version_statements_exact() -> None:
    statements = schema_version_statements(SchemaVersion(25, 8))
    assert statements[0] == MAJOR_25
    assert statements[1] == (
        MAJOR_25.replace("compatibility_major", "compatibility_minor")
        .replace("N'25'", "N'8'")
        .replace("CAST(25 AS", "CAST(8 AS")
    )


def test_version_statements_parse() -> None:
    statements = schema_version_statements("15.0")
    kinds = [type(node).__name__ for node in parse_tsql("\n".join(statements))]
    assert kinds == ["Declare", "Declare", "Execute", "Declare", "Declare", "Execute"]


def test_version_statements_use_no_parameters() -> None:
    for statement in schema_version_statements("25.8"):
        assert "?" not in statement
        assert ":" not in statement.replace("sp_", "")


def test_version_statements_parse_string() -> None:
    assert schema_version_statements("25.8") == schema_version_statements(SchemaVersion(25, 8))


def test_version_statements_invalid() -> None:
    with pytest.raises(InvalidSchemaVersion, match=r"'25\.x'"):
        schema_version_statements("25.x")


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("15", "CAST(N'15' AS sql_variant)"),
        (15, "CAST(15 AS sql_variant)"),
        ("Größe ✓ 版本", "CAST(N'Größe ✓ 版本' AS sql_variant)"),
        ("O'Hare", "CAST(N'O''Hare' AS sql_variant)"),
    ],
    ids=["string", "int", "non-ascii", "quote"],
)
def test_property_value_literal(value: str | int, literal: str) -> None:
    statement = schema_property_statement("compatibility_minor", value)
    assert f"DECLARE @ontime_db_compatibility_minor_value sql_variant = {literal};\n" in statement
    parse_tsql(statement)


@pytest.mark.parametrize("name", NAMES, ids=NAME_IDS)
def test_property_name_quoted(name: str) -> None:
    statement = schema_property_statement(name, 1, schema=name)
    quoted = "N'" + name.replace("'", "''") + "'"
    assert f"@name = {quoted}, " in statement
    assert f"@level0name = {quoted};" in statement
    assert f"SCHEMA_ID({quoted})" in statement
    kinds = [type(node).__name__ for node in parse_tsql(statement)]
    assert kinds == ["Declare", "Declare", "Execute"]


def test_property_variable_ascii() -> None:
    statement = schema_property_statement("Größe_版本", 1)
    assert statement.startswith("DECLARE @ontime_db_Gr__e____procedure nvarchar(128) = ")


@pytest.mark.parametrize("value", [True, 1.5, None, b"15"], ids=["bool", "float", "none", "bytes"])
def test_property_value_type(value: Any) -> None:
    with pytest.raises(TypeError, match="expected str or int"):
        schema_property_statement("compatibility_major", value)


@pytest.mark.parametrize(
    "name", ["", " x", "a" * 129, "a\x00b"], ids=["empty", "space", "long", "nul"]
)
def test_property_name_invalid(name: str) -> None:
    with pytest.raises(InvalidNameError):
        schema_property_statement(name, 1)


def test_read_properties_sql_exact() -> None:
    assert read_schema_properties_sql() == READ_VERSION
    parse_tsql(READ_VERSION)


def test_read_properties_sql_quotes() -> None:
    sql = read_schema_properties_sql(("O'Hare",), schema="we]ird")
    assert "SCHEMA_ID(N'we]ird') AND ep.name IN (N'O''Hare')" in sql
    parse_tsql(sql)


def test_read_properties_sql_empty() -> None:
    with pytest.raises(ValueError, match="at least one property name") as raised:
        read_schema_properties_sql(())
    assert isinstance(raised.value, InvalidNameError)


# -- executors, with a recording connection -------------------------------------


class Answer:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def all(self) -> list[Any]:
        return self.rows

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def scalar_one(self) -> Any:
        assert len(self.rows) == 1
        return self.rows[0][0]

    def one(self) -> Any:
        assert len(self.rows) == 1
        return self.rows[0]


class RecordingConnection:
    """A stand-in for a SQLAlchemy Connection: it records the SQL sent and returns set rows.

    It checks which statements the executors send, not what SQL Server does.
    """

    def __init__(self, answers: dict[str, list[Any]]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, dict[str, Any] | None]] = []

    def execute(self, clause: Any, parameters: dict[str, Any] | None = None) -> Answer:
        sql = str(clause)
        self.sent.append((sql, parameters))
        for marker, rows in self.answers.items():
            if marker in sql:
                return Answer(rows)
        return Answer([])


def prop(name: str, value: str | None, base_type: str = "int") -> SimpleNamespace:
    return SimpleNamespace(name=name, value=value, base_type=base_type)


def test_read_version_sends_query() -> None:
    connection = RecordingConnection(
        {
            "sys.extended_properties": [
                prop("compatibility_major", "25"),
                prop("compatibility_minor", "8", "nvarchar"),
            ]
        }
    )
    assert read_schema_version(connection) == SchemaVersion(25, 8)  # type: ignore[arg-type]
    assert connection.sent == [(READ_VERSION, None)]


def test_read_version_absent() -> None:
    connection = RecordingConnection({})
    assert read_schema_version(connection) is None  # type: ignore[arg-type]


def test_read_version_incomplete() -> None:
    rows = [prop("compatibility_major", "25")]
    connection = RecordingConnection({"sys.extended_properties": rows})
    with pytest.raises(InvalidSchemaVersion) as raised:
        read_schema_version(connection)  # type: ignore[arg-type]
    assert str(raised.value) == (
        "incomplete schema version in the 'api' schema's extended properties: found only "
        "compatibility_major = '25'; both compatibility_major and compatibility_minor are "
        "expected. Set the missing one in SSMS (Security / Schemas / api / Properties) "
        "or with `ontime-db migrate`"
    )


def test_read_version_not_number() -> None:
    connection = RecordingConnection(
        {
            "sys.extended_properties": [
                prop("compatibility_major", "Größe ✓ 版本", "nvarchar"),
                prop("compatibility_minor", "0"),
            ]
        }
    )
    with pytest.raises(InvalidSchemaVersion) as raised:
        read_schema_version(connection)  # type: ignore[arg-type]
    assert str(raised.value) == (
        "invalid schema version: extended property compatibility_major of the 'api' schema "
        "is 'Größe ✓ 版本' (nvarchar); expected a whole number such as 25"
    )


def test_read_version_superscript_digit() -> None:
    connection = RecordingConnection(
        {
            "sys.extended_properties": [
                prop("compatibility_major", "25"),
                prop("compatibility_minor", "²", "nvarchar"),
            ]
        }
    )
    with pytest.raises(InvalidSchemaVersion) as raised:
        read_schema_version(connection)  # type: ignore[arg-type]
    assert str(raised.value) == (
        "invalid schema version: extended property compatibility_minor of the 'api' schema "
        "is '²' (nvarchar); expected a whole number such as 25"
    )


def test_read_properties_keeps_text() -> None:
    connection = RecordingConnection(
        {
            "sys.extended_properties": [
                prop("compatibility_minor", "Größe ✓ 版本", "nvarchar"),
            ]
        }
    )
    found = read_schema_properties(connection)  # type: ignore[arg-type]
    assert found == {
        "compatibility_minor": ExtendedProperty("compatibility_minor", "Größe ✓ 版本", "nvarchar")
    }


def test_write_version_sends_both() -> None:
    connection = RecordingConnection({"SCHEMA_ID(:schema)": [(5,)]})
    write_schema_version(connection, "25.8")  # type: ignore[arg-type]
    assert connection.sent == [
        ("SELECT SCHEMA_ID(:schema)", {"schema": "api"}),
        (schema_version_statements("25.8")[0], None),
        (schema_version_statements("25.8")[1], None),
    ]


def test_write_version_without_api_schema() -> None:
    connection = RecordingConnection({"SCHEMA_ID(:schema)": [(None,)], "DB_NAME()": [("x_db",)]})
    with pytest.raises(NotOnTimeDatabaseError) as raised:
        write_schema_version(connection, "25.8")  # type: ignore[arg-type]
    assert raised.value.database == "x_db"
    assert str(raised.value) == (
        "database 'x_db' has no 'api' schema, so its schema version cannot be recorded; "
        "run the OnTime create script in it first"
    )
    assert len(connection.sent) == 2


def test_write_property_exact_type() -> None:
    connection = RecordingConnection({"SCHEMA_ID(:schema)": [(5,)]})
    write_schema_property(connection, "compatibility_major", 15)  # type: ignore[arg-type]
    assert connection.sent[1] == (schema_property_statement("compatibility_major", 15), None)
    assert "CAST(15 AS sql_variant);" in connection.sent[1][0]


@pytest.mark.parametrize("name", NAMES, ids=NAME_IDS)
def test_database_exists_binds_name(name: str) -> None:
    connection = RecordingConnection({"DB_ID": [(7,)]})
    assert database_exists(connection, name) is True  # type: ignore[arg-type]
    assert connection.sent == [("SELECT DB_ID(:name)", {"name": name})]


def test_database_exists_missing() -> None:
    connection = RecordingConnection({"DB_ID": [(None,)]})
    assert database_exists(connection, "nope") is False  # type: ignore[arg-type]


def test_database_exists_invalid_name() -> None:
    connection = RecordingConnection({})
    with pytest.raises(InvalidNameError):
        database_exists(connection, "")  # type: ignore[arg-type]
    assert connection.sent == []


def test_current_database() -> None:
    connection = RecordingConnection({"DB_NAME()": [("ontimems.25.8",)]})
    assert current_database(connection) == "ontimems.25.8"  # type: ignore[arg-type]


def test_api_schema_exists() -> None:
    connection = RecordingConnection({"SCHEMA_ID": [(None,)]})
    assert api_schema_exists(connection) is False  # type: ignore[arg-type]


def test_find_tables() -> None:
    connection = RecordingConnection(
        {
            "sys.tables": [
                SimpleNamespace(schema_name="dbo", table_name="alembic_version"),
            ]
        }
    )
    assert find_tables(connection, "alembic_version") == [  # type: ignore[arg-type]
        ("dbo", "alembic_version")
    ]
    sql, parameters = connection.sent[0]
    assert parameters == {"name": "alembic_version"}
    assert sql == (
        "SELECT s.name AS schema_name, t.name AS table_name FROM sys.tables AS t "
        "JOIN sys.schemas AS s ON s.schema_id = t.schema_id WHERE t.name = :name "
        "ORDER BY CASE WHEN s.name = N'dbo' THEN 0 ELSE 1 END, s.name"
    )
    parse_tsql(sql.replace(":name", "N'x'"))


def test_server_info() -> None:
    row = SimpleNamespace(
        product_version="16.0.4135.4",
        edition="Developer Edition (64-bit)",
        product_level="RTM",
        server_name="sql1",
        login="sa",
    )
    connection = RecordingConnection({"SERVERPROPERTY": [row]})
    info = server_info(connection)  # type: ignore[arg-type]
    assert info.product_version == "16.0.4135.4"
    assert info.login == "sa"
    parse_tsql(connection.sent[0][0])


@pytest.mark.parametrize("name", NAMES, ids=NAME_IDS)
def test_use_database_quoted(name: str) -> None:
    statement = use_database_sql(name)
    assert statement == "USE [" + name.replace("]", "]]") + "]"
    parsed = parse_tsql(statement)
    assert len(parsed) == 1
    assert parsed[0].this.name == name


def test_revision_query_exact() -> None:
    sql = revision_query_sql("we]ird", "alembic_version")
    assert sql == "SELECT version_num FROM [we]]ird].[alembic_version]"
    table = parse_tsql(sql)[0].find(exp.Table)
    assert (table.db, table.name) == ("we]ird", "alembic_version")


def test_history_query_exact() -> None:
    sql = history_query_sql("dbo", "flyway_schema_history")
    assert sql == (
        "SELECT installed_rank, version, description, type, script, checksum, installed_by, "
        "installed_on, execution_time, success FROM [dbo].[flyway_schema_history] "
        "ORDER BY installed_rank"
    )
    parse_tsql(sql)
