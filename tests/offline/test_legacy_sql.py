"""The legacy reference scripts (schemas 9.3 and 15.0, UPGRADE procedures), checked offline.

Each file is split by the project's script engine and each batch is parsed
with sqlglot's T-SQL dialect. sqlglot cannot parse a procedure body
with IF/BEGIN blocks and TRY/CATCH. For the procedures, the key statements
are therefore asserted as exact text. The dynamic SQL each procedure builds
is rendered with an awkward database name and parsed on its own. Whether SQL
Server runs all this is the live tests' job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from ontime_db.quoting import quote_identifier
from ontime_db.resources import sql_dir
from ontime_db.script import load

LEGACY = sql_dir() / "legacy"
SCHEMA_9_3 = LEGACY / "ontimems_9_3.sql"
SCHEMA_15_0 = LEGACY / "ontimems_15_0.sql"
PROCEDURES = LEGACY / "upgrade_procedures.sql"
CREATE_SCRIPT = sql_dir() / "ontimems" / "ontimems.sql"

HARD_NAMES = [
    "ontimems.9.3",
    "my-db",
    "my db",
    "we]ird",
    "O'Hare",
    "Größe_版本",
    "x]; DROP DATABASE [y",
]

# Schema 25.8, fixed by the create script's contract: the tables the procedures write.
NEW_COLUMNS = {
    "users": {"user_id", "login", "display_name", "email", "is_active", "created_at"},
    "groups": {"group_id", "name", "description"},
    "group_members": {"group_id", "user_id"},
    "calendars": {"calendar_id", "owner_user_id", "name", "color"},
    "settings": {"setting_name", "setting_value"},
}


@dataclass(frozen=True)
class Version:
    major: str
    minor: str
    schema: Path
    procedure: str
    tables: dict[str, int]


VERSIONS = [
    Version(
        "9",
        "3",
        SCHEMA_9_3,
        "UPGRADE_9_3",
        {"OT_USER": 25, "OT_GROUP": 4, "OT_GROUP_MEMBER": 18, "OT_CALENDAR": 30, "OT_CONFIG": 6},
    ),
    Version(
        "15",
        "0",
        SCHEMA_15_0,
        "UPGRADE_15_0",
        {"users": 25, "groups": 4, "group_members": 16, "calendars": 30, "settings": 6},
    ),
]
VERSION_IDS = ["9.3", "15.0"]


def batches(path: Path, **options: Any) -> list[str]:
    """Return the batch texts of ``path`` as the script engine splits them."""
    return [batch.text for batch in load(path, **options).batches]


def parse_all(path: Path) -> list[exp.Expression]:
    statements: list[exp.Expression] = []
    for text in batches(path):
        statements.extend(node for node in sqlglot.parse(text, read="tsql") if node is not None)
    return statements


def created_tables(statements: list[exp.Expression]) -> dict[str, set[str]]:
    """Map each CREATE TABLE's name to its column names, both lower case."""
    tables: dict[str, set[str]] = {}
    for create in (s for s in statements if isinstance(s, exp.Create)):
        if create.args.get("kind") != "TABLE":
            continue
        schema = create.this
        columns = {col.name.lower() for col in schema.expressions if isinstance(col, exp.ColumnDef)}
        tables[schema.this.name.lower()] = columns
    return tables


def inserted_rows(statements: list[exp.Expression], table: str) -> list[dict[str, Any]]:
    """Return the rows of every INSERT ... VALUES into ``table`` as column -> Python value."""
    rows: list[dict[str, Any]] = []
    for insert in (s for s in statements if isinstance(s, exp.Insert)):
        target = insert.this
        if target.this.name != table:
            continue
        columns = [identifier.name for identifier in target.expressions]
        for values in insert.expression.expressions:
            rows.append(dict(zip(columns, (value_of(v) for v in values.expressions), strict=True)))
    return rows


def value_of(node: exp.Expression) -> Any:
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.National):
        return ("N", node.this)
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else int(node.this)
    raise AssertionError(f"unexpected value in sample data: {node.sql('tsql')}")


def text_of(value: Any) -> Any:
    """Drop the N-prefix marker that :func:`value_of` keeps."""
    return value[1] if isinstance(value, tuple) else value


# -- schema scripts -----------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_schema_first_batch_is_use(version: Version) -> None:
    first = batches(version.schema)[0]
    assert first == f"USE [ontimems.{version.major}.{version.minor}]"


@pytest.mark.parametrize("name", HARD_NAMES, ids=HARD_NAMES)
@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_schema_use_retargets(version: Version, name: str) -> None:
    first = batches(version.schema, database=name, use="retarget")[0]
    assert first == f"USE {quote_identifier(name)}"
    (statement,) = sqlglot.parse(first, read="tsql")
    assert isinstance(statement, exp.Use)
    assert statement.this.name == name


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_schema_batches_parse(version: Version) -> None:
    texts = batches(version.schema)
    assert len(texts) == 5
    for text in texts:
        statements = sqlglot.parse(text, read="tsql")
        assert all(statement is not None for statement in statements)
    assert texts[1].endswith("CREATE SCHEMA api;")


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_schema_version_properties(version: Version) -> None:
    calls = [s for s in parse_all(version.schema) if isinstance(s, exp.Execute)]
    written = []
    for call in calls:
        assert call.this.sql("tsql") == "sys.sp_addextendedproperty"
        arguments = {arg.this.this.name: arg.expression for arg in call.expressions}
        # The values must be nvarchar, like the vendor's, so they are N'' literals.
        assert isinstance(arguments["value"], exp.National)
        written.append(
            (
                arguments["name"].this,
                arguments["value"].this,
                arguments["level0type"].this,
                arguments["level0name"].this,
            )
        )
    assert written == [
        ("compatibility_major", version.major, "SCHEMA", "api"),
        ("compatibility_minor", version.minor, "SCHEMA", "api"),
    ]


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_schema_sample_row_counts(version: Version) -> None:
    statements = parse_all(version.schema)
    counts = {table: len(inserted_rows(statements, table)) for table in version.tables}
    assert counts == version.tables


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_schema_non_ascii_literals_are_national(version: Version) -> None:
    for statement in parse_all(version.schema):
        for literal in statement.find_all(exp.Literal):
            if literal.is_string:
                assert literal.this.isascii(), f"{literal.this!r} needs an N'' literal"


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_schema_identity_insert_pairs(version: Version) -> None:
    for text in batches(version.schema):
        switched_on = re.findall(r"SET IDENTITY_INSERT (\S+) ON;", text)
        switched_off = re.findall(r"SET IDENTITY_INSERT (\S+) OFF;", text)
        assert switched_on == switched_off


def test_schema_9_3_tables() -> None:
    assert created_tables(parse_all(SCHEMA_9_3)) == {
        "ot_user": {
            "user_id",
            "login_name",
            "first_name",
            "last_name",
            "email",
            "active",
            "created",
        },
        "ot_group": {"group_id", "group_name", "description"},
        "ot_group_member": {"group_id", "user_id"},
        "ot_calendar": {"cal_id", "owner_id", "title", "color"},
        "ot_config": {"config_key", "config_value"},
    }


def test_schema_15_0_tables() -> None:
    assert created_tables(parse_all(SCHEMA_15_0)) == {
        "users": {"id", "login", "full_name", "mail", "active", "created"},
        "groups": {"id", "name", "description"},
        "group_members": {"group_id", "user_id"},
        "calendars": {"id", "owner_id", "name", "color"},
        "settings": {"key", "value"},
    }


def test_sample_9_3_hard_values() -> None:
    users = {row["USER_ID"]: row for row in inserted_rows(parse_all(SCHEMA_9_3), "OT_USER")}
    assert 21 not in users
    assert (text_of(users[2]["FIRST_NAME"]), text_of(users[2]["LAST_NAME"])) == ("Jürgen", "Größe")
    assert (text_of(users[3]["FIRST_NAME"]), users[3]["LAST_NAME"]) == ("王小明", None)
    assert text_of(users[4]["LAST_NAME"]) == "O'Hare"
    assert sorted(uid for uid, row in users.items() if row["ACTIVE"] == "N") == [5, 14]
    assert sum(1 for row in users.values() if row["EMAIL"] is None) == 7
    assert (users[26]["FIRST_NAME"], users[26]["LAST_NAME"]) == (None, None)


def test_sample_15_0_hard_values() -> None:
    users = {row["id"]: row for row in inserted_rows(parse_all(SCHEMA_15_0), "users")}
    assert 13 not in users
    assert text_of(users[2]["full_name"]) == "Jürgen Größe"
    assert text_of(users[3]["full_name"]) == "王小明"
    assert text_of(users[4]["full_name"]) == "Siobhan O'Hare"
    assert sorted(uid for uid, row in users.items() if row["active"] == 0) == [5, 14]
    assert sum(1 for row in users.values() if row["mail"] is None) == 7
    assert users[25]["full_name"] is None
    assert text_of(users[26]["full_name"]) == "   "


@pytest.mark.parametrize(
    ("path", "users", "members", "calendars"),
    [
        (SCHEMA_9_3, ("OT_USER", "USER_ID"), ("OT_GROUP_MEMBER", "USER_ID"), "OT_CALENDAR"),
        (SCHEMA_15_0, ("users", "id"), ("group_members", "user_id"), "calendars"),
    ],
    ids=VERSION_IDS,
)
def test_sample_references_exist(
    path: Path, users: tuple[str, str], members: tuple[str, str], calendars: str
) -> None:
    """Every member and calendar owner is a sample user, so the FOREIGN KEYs hold."""
    statements = parse_all(path)
    known = {row[users[1]] for row in inserted_rows(statements, users[0])}
    member_ids = {row[members[1]] for row in inserted_rows(statements, members[0])}
    owner = "OWNER_ID" if calendars == "OT_CALENDAR" else "owner_id"
    owner_ids = {row[owner] for row in inserted_rows(statements, calendars)}
    assert member_ids <= known
    assert owner_ids <= known


def test_sample_9_3_colors_in_range() -> None:
    calendars = inserted_rows(parse_all(SCHEMA_9_3), "OT_CALENDAR")
    colors = [row["COLOR"] for row in calendars]
    assert all(color is None or 0 <= color <= 0xFFFFFF for color in colors)
    assert {0, 0xFFFFFF, 0x000046, None} <= set(colors)


# -- the UPGRADE procedures ---------------------------------------------------


def procedure_batch(name: str) -> str:
    (text,) = [
        b for b in batches(PROCEDURES) if b.startswith(f"ALTER PROCEDURE dbo.{name}\n")
    ]
    return text


def dynamic_sql(body: str) -> list[tuple[str, ...]]:
    """Return each ``SET @sql = ...;`` expression as its terms: literal texts and variable names."""
    expressions = re.findall(r"SET @sql = ((?:N'(?:[^']|'')*'|\s*\+\s*|@\w+)+);", body)
    terms = []
    for expression in expressions:
        parts = re.findall(r"N'((?:[^']|'')*)'|(@\w+)", expression)
        terms.append(tuple(var or "N'" + literal for literal, var in parts))
    return terms


def render(terms: tuple[str, ...], source: str) -> str:
    """Build the text that the dynamic SQL becomes when ``@source`` is ``source``."""
    pieces = []
    for term in terms:
        if term == "@source":
            pieces.append(source)
        else:
            assert term.startswith("N'"), f"dynamic SQL uses {term}; only @source is allowed"
            pieces.append(term[2:].replace("''", "'"))
    return "".join(pieces)


def stub_batch(name: str) -> str:
    """The batch that creates procedure ``name`` as a stub when it is missing."""
    return (
        f"IF OBJECT_ID(N'dbo.{name}', N'P') IS NULL\n"
        f"    EXEC (N'CREATE PROCEDURE dbo.{name} AS RETURN 0;');"
    )


def test_procedures_batches() -> None:
    """Each procedure is a stub batch, then ALTER PROCEDURE: no CREATE OR ALTER (2016 SP1)."""
    texts = batches(PROCEDURES)
    assert len(texts) == 5
    assert texts[0].endswith("SET ANSI_NULLS ON;\nSET QUOTED_IDENTIFIER ON;")
    statements = sqlglot.parse(texts[0], read="tsql")
    assert [type(s) for s in statements] == [exp.Set, exp.Set]
    assert texts[1] == stub_batch("UPGRADE_9_3")
    assert texts[2].startswith("ALTER PROCEDURE dbo.UPGRADE_9_3\n    @olddb sysname\nAS\n")
    assert texts[3] == stub_batch("UPGRADE_15_0")
    assert texts[4].startswith("ALTER PROCEDURE dbo.UPGRADE_15_0\n    @olddb sysname\nAS\n")


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_procedure_stub_parses(version: Version) -> None:
    """The stub checks OBJECT_ID for a procedure, and its EXEC text creates one without parameters.

    sqlglot reads the IF but mistakes EXEC for an alias, so the dynamic text
    is found as the one N'' string that is not an OBJECT_ID argument.
    """
    (statement,) = sqlglot.parse(stub_batch(version.procedure), read="tsql")
    (check,) = statement.find_all(exp.ObjectId)
    assert (check.this.this, check.expression.this) == (f"dbo.{version.procedure}", "P")
    texts = [
        node.this for node in statement.find_all(exp.National) if node.parent is not check
    ]
    assert texts == [f"CREATE PROCEDURE dbo.{version.procedure} AS RETURN 0;"]
    (created,) = sqlglot.parse(texts[0], read="tsql")
    assert isinstance(created, exp.Create)
    assert created.args["kind"] == "PROCEDURE"
    assert created.this.sql("tsql") == f"dbo.{version.procedure}"


def test_procedures_found_by_upgrade_planning() -> None:
    """The upgrade planner reads the procedure names from the stub batches."""
    from ontime_db.upgrades.legacy import procedures_in_script

    text = PROCEDURES.read_text("utf-8")
    assert procedures_in_script(text) == ("UPGRADE_9_3", "UPGRADE_15_0")


def test_procedure_body_needs_text_checks() -> None:
    """sqlglot rejects these bodies, which is why the tests below check their text."""
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse(procedure_batch("UPGRADE_9_3"), read="tsql")


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_procedure_key_statements_in_order(version: Version) -> None:
    body = procedure_batch(version.procedure)
    expected = [
        "SET XACT_ABORT ON;",
        "SET NOCOUNT ON;",
        "SET IMPLICIT_TRANSACTIONS OFF;",
        "DECLARE @source nvarchar(258) = QUOTENAME(@olddb);",
        "IF @@TRANCOUNT > 0",
        "RETURN 4;",
        "IF DB_ID(@olddb) IS NULL",
        "RETURN 1;",
        "EXEC sys.sp_executesql @sql,\n"
        "        N'@major nvarchar(128) OUTPUT, @minor nvarchar(128) OUTPUT',\n"
        "        @major = @major OUTPUT, @minor = @minor OUTPUT;",
        "IF @major IS NULL OR @minor IS NULL",
        "RETURN 2;",
        f"IF @major <> N'{version.major}' OR @minor <> N'{version.minor}'",
        "RETURN 2;",
        "BEGIN TRY",
        "BEGIN TRANSACTION;",
        "COMMIT TRANSACTION;",
        "END TRY",
        "BEGIN CATCH",
        "IF @@TRANCOUNT > 0\n            ROLLBACK TRANSACTION;",
        "RETURN 3;",
        "END CATCH;",
        "RETURN 0;",
    ]
    position = 0
    for statement in expected:
        found = body.find(statement, position)
        assert found >= 0, f"{statement!r} missing after offset {position}"
        position = found + len(statement)


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_procedure_messages(version: Version) -> None:
    body = procedure_batch(version.procedure)
    name = version.procedure
    assert re.findall(r"RAISERROR\((N'(?:[^']|'')*'), 10, 1(?:, [@\w, ]+)?\);", body) == [
        f"N'{name}: a transaction is open. Commit or roll it back first, because the "
        "procedure runs the copy in its own transaction.'",
        f"N'{name}: database ''%s'' was not found. Pass the name of the old OnTime "
        "database as @olddb.'",
        f"N'{name}: database ''%s'' has no schema version, because schema api lacks the "
        "extended properties compatibility_major and compatibility_minor. Check that it "
        "is an OnTime database.'",
        f"N'{name}: database ''%s'' is at schema version %s.%s, expected "
        f"{version.major}.{version.minor}. Run the UPGRADE procedure of that version instead.'",
        f"N'{name}: copying from database ''%s'' failed with error %d and was rolled back: %s'",
    ]
    progress = re.findall(
        r"PRINT CONCAT\(N'(\w+): copied ', @rows, N' rows from (\S+) to (\S+)'\);", body
    )
    assert [source for _, source, _ in progress] == [f"dbo.{table}" for table in version.tables]
    assert [target for _, _, target in progress] == [f"dbo.{table}" for table in NEW_COLUMNS]
    assert {procedure for procedure, _, _ in progress} == {name}


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_procedure_olddb_only_quoted(version: Version) -> None:
    """@olddb reaches SQL text only through QUOTENAME. Elsewhere it is a value."""
    body = procedure_batch(version.procedure)
    uses = re.findall(r"[^\n]*@olddb[^\n]*", body)
    for line in uses:
        stripped = line.strip()
        allowed = (
            stripped == "@olddb sysname"
            or stripped == "DECLARE @source nvarchar(258) = QUOTENAME(@olddb);"
            or stripped == "IF DB_ID(@olddb) IS NULL"
            or (stripped.startswith("RAISERROR(") and ", 10, 1, @olddb" in stripped)
        )
        assert allowed, f"@olddb used outside QUOTENAME, DB_ID and messages: {stripped!r}"
    assert "@olddb +" not in body
    assert "+ @olddb" not in body


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_procedure_dynamic_sql_terms(version: Version) -> None:
    """Every dynamic SQL text is literals joined with @source, the QUOTENAME of @olddb."""
    body = procedure_batch(version.procedure)
    assert body.count("SET @sql = ") == 6
    terms = dynamic_sql(body)
    assert len(terms) == 6
    for expression in terms:
        variables = {term for term in expression if not term.startswith("N'")}
        assert variables == {"@source"}


@pytest.mark.parametrize("name", HARD_NAMES, ids=HARD_NAMES)
@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_dynamic_sql_reads_old_writes_new(version: Version, name: str) -> None:
    """Each text, rendered with a hard name, parses and writes only to the current database."""
    old_tables = created_tables(parse_all(version.schema))
    for terms in dynamic_sql(procedure_batch(version.procedure)):
        text = render(terms, quote_identifier(name))
        statements = [s for s in sqlglot.parse(text, read="tsql") if s is not None]

        for statement in statements:
            if isinstance(statement, (exp.Command, exp.Set)):
                # SET IDENTITY_INSERT and SET @rows: sqlglot misreads the OFF form
                # as an alias, and neither names the old database.
                assert name not in statement.sql("tsql")
                continue
            aliases = {}
            for table in statement.find_all(exp.Table):
                if table.catalog:
                    assert table.catalog == name
                    assert table.db in ("dbo", "sys")
                if table.db:
                    aliases[table.alias_or_name] = table

            for column in statement.find_all(exp.Column):
                if not column.table:
                    continue
                table = aliases[column.table]
                if table.catalog and table.db == "dbo":
                    assert column.name.lower() in old_tables[table.name.lower()]
                elif not table.catalog:
                    assert column.name in NEW_COLUMNS[table.name]

            if isinstance(statement, exp.Insert):
                target = statement.this
                assert not target.this.catalog
                assert {c.name for c in target.expressions} <= NEW_COLUMNS[target.this.name]
            if isinstance(statement, exp.Update):
                assert not aliases[statement.this.name].catalog


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_dynamic_sql_identity_insert(version: Version) -> None:
    """IDENTITY_INSERT is switched on and off inside the same dynamic batch."""
    texts = [render(terms, "[old]") for terms in dynamic_sql(procedure_batch(version.procedure))]
    switched = [re.findall(r"SET IDENTITY_INSERT (dbo\.\w+) (ON|OFF);", text) for text in texts]
    assert switched == [
        [],
        [("dbo.users", "ON"), ("dbo.users", "OFF")],
        [("dbo.groups", "ON"), ("dbo.groups", "OFF")],
        [],
        [("dbo.calendars", "ON"), ("dbo.calendars", "OFF")],
        [],
    ]


def test_dynamic_sql_9_3_mappings() -> None:
    texts = [render(t, "[old]") for t in dynamic_sql(procedure_batch("UPGRADE_9_3"))]
    assert (
        "COALESCE(NULLIF(LTRIM(RTRIM(CONCAT(u.FIRST_NAME, N' ', u.LAST_NAME))), N''), "
        "u.LOGIN_NAME)" in texts[1]
    )
    assert "CASE WHEN u.ACTIVE = 'Y' THEN 1 ELSE 0 END" in texts[1]
    assert (
        "CASE WHEN c.COLOR BETWEEN 0 AND 16777215\n"
        "            THEN '#' + RIGHT(CONVERT(char(8), CAST(c.COLOR AS binary(4)), 2), 6)\n"
        "       END" in texts[4]
    )


def test_dynamic_sql_15_0_mappings() -> None:
    texts = [render(t, "[old]") for t in dynamic_sql(procedure_batch("UPGRADE_15_0"))]
    assert "COALESCE(NULLIF(LTRIM(RTRIM(u.full_name)), N''), u.login)" in texts[1]
    assert "SELECT c.id, c.owner_id, c.name, UPPER(c.color)" in texts[4]
    assert "ON o.[key] COLLATE DATABASE_DEFAULT = s.setting_name;" in texts[5]


def test_version_check_sql() -> None:
    terms = dynamic_sql(procedure_batch("UPGRADE_9_3"))[0]
    assert render(terms, "[we]]ird]") == (
        "\nSELECT @major = MAX(CASE WHEN p.name = N'compatibility_major' "
        "THEN CAST(p.value AS nvarchar(128)) END),\n"
        "       @minor = MAX(CASE WHEN p.name = N'compatibility_minor' "
        "THEN CAST(p.value AS nvarchar(128)) END)\n"
        "FROM [we]]ird].sys.extended_properties AS p\n"
        "JOIN [we]]ird].sys.schemas AS s ON s.schema_id = p.major_id\n"
        "WHERE p.class = 3 AND s.name = N'api';"
    )
    assert dynamic_sql(procedure_batch("UPGRADE_15_0"))[0] == terms


def test_create_script_matches_new_columns() -> None:
    """The 25.8 create script has the columns the procedures write."""
    if not CREATE_SCRIPT.exists():
        pytest.skip(f"{CREATE_SCRIPT} does not exist yet")
    statements = []
    for text in batches(CREATE_SCRIPT):
        try:
            statements.extend(s for s in sqlglot.parse(text, read="tsql") if s is not None)
        except sqlglot.errors.ParseError:
            continue  # procedure bodies, which create no tables
    tables = created_tables(statements)
    for table, columns in NEW_COLUMNS.items():
        assert tables[table] == columns
