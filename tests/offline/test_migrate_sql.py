"""The offline ``--sql`` script: the whole reference set, batch by batch, without a server.

The expected batches are built here from the script files themselves (split
on their ``GO`` lines), from Alembic's documented offline statements for the
version table, and from ``ontime_db.catalog.schema_version_statements`` and
``ontime_db.flyway.flyway_checksum``, whose own text is tested with their
modules. Every batch of the rendered output must also parse with sqlglot's
T-SQL dialect.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from ontime_db.catalog import schema_version_statements
from ontime_db.errors import UnknownVersionError
from ontime_db.flyway import flyway_checksum
from ontime_db.migration import load_set, render_sql
from ontime_db.migration.chain import Migration
from ontime_db.resources import migrations_dir
from ontime_db.script import parse
from ontime_db.version import SchemaVersion

DATABASE = "ontimems.25.8"
NEWEST = SchemaVersion(26, 4)

AUDIT_TABLE = """IF OBJECT_ID(N'dbo.ontime_db_history', N'U') IS NULL
CREATE TABLE dbo.ontime_db_history (
    installed_rank INTEGER NOT NULL IDENTITY(1,1),
    version NVARCHAR(50) NOT NULL,
    description NVARCHAR(200) NOT NULL,
    type NVARCHAR(20) NOT NULL,
    script NVARCHAR(1000) NOT NULL,
    checksum INTEGER NULL,
    installed_by NVARCHAR(128) NOT NULL DEFAULT SUSER_SNAME(),
    installed_on DATETIME2(0) NOT NULL DEFAULT SYSUTCDATETIME(),
    execution_time INTEGER NULL,
    success BIT NOT NULL,
    CONSTRAINT [PK_ontime_db_history] PRIMARY KEY (installed_rank)
)"""

# sqlglot 30 reads these valid T-SQL statements only as opaque commands, so
# their batches are asserted as exact text instead of by parsing. It also
# reads IF ... BEGIN ... END only in part, so the guard batches are asserted
# as exact text in the tests below.
UNPARSED_STATEMENTS = {
    "CREATE SCHEMA api AUTHORIZATION dbo",
    "CREATE ROLE api_role AUTHORIZATION dbo",
    "GRANT SELECT, EXECUTE ON SCHEMA::api TO api_role",
    "ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON",
    # sqlglot reads ALTER PROCEDURE only up to the first statement of its body.
    "ALTER PROCEDURE api.list_users\nAS\nBEGIN\n    SET NOCOUNT ON",
}


def _file_batches(path: Path, *, database: str | None) -> list[str]:
    """Split one reference script on its GO lines, retargeting its leading USE."""
    batches = [
        part.strip()
        for part in re.split(r"^GO[ \t]*$", path.read_text("utf-8"), flags=re.MULTILINE)
        if part.strip()
    ]
    if database is not None and batches[0].startswith("USE ["):
        batches[0] = "USE [" + database.replace("]", "]]") + "]"
    return batches


HEADER_NOTE = (
    "-- Review it, then run it in SSMS or with `sqlcmd -x -b -i FILE`; -x turns off\n"
    "-- sqlcmd variables, which would change names that contain their syntax. Each\n"
    "-- migration commits on its own. A failed check or migration raises an error and\n"
    "-- sets NOEXEC on, so the batches after it are compiled but not run."
)

NO_USE_NOTE = (
    "-- The script has no USE line: run it in the database to migrate, or give --database."
)

NOT_RUN = "The batches after this one are compiled but not run."

START_GUARD_26_2 = """-- Stop unless database [ontimems.25.8] is at schema version 26.2.
SET NOEXEC OFF;
DECLARE @ontime_db_found nvarchar(400) = NULL;
IF DB_NAME() <> N'ontimems.25.8'
    SET @ontime_db_found = N'the current database is ' + QUOTENAME(DB_NAME());
DECLARE @ontime_db_version nvarchar(32) = NULL, @ontime_db_rows int = 0;
DECLARE @ontime_db_major nvarchar(20) = NULL, @ontime_db_minor nvarchar(20) = NULL;
IF @ontime_db_found IS NULL AND OBJECT_ID(N'alembic_version', N'U') IS NOT NULL
BEGIN
    SELECT @ontime_db_version = MAX(version_num), @ontime_db_rows = COUNT(*) FROM alembic_version;
    IF @ontime_db_rows <> 1 OR @ontime_db_version <> N'26.2'
        SET @ontime_db_found = N'alembic_version contains ' + CASE @ontime_db_rows WHEN 0 \
THEN N'no row' ELSE @ontime_db_version END;
END
ELSE IF @ontime_db_found IS NULL
BEGIN
    SELECT @ontime_db_major = CAST(ep.value AS nvarchar(20)) FROM sys.extended_properties AS ep \
WHERE ep.class = 3 AND ep.major_id = SCHEMA_ID(N'api') AND ep.name = N'compatibility_major';
    SELECT @ontime_db_minor = CAST(ep.value AS nvarchar(20)) FROM sys.extended_properties AS ep \
WHERE ep.class = 3 AND ep.major_id = SCHEMA_ID(N'api') AND ep.name = N'compatibility_minor';
    IF CASE WHEN LTRIM(RTRIM(@ontime_db_major)) COLLATE Latin1_General_BIN2 NOT LIKE N'%[^0-9]%' \
AND LEN(LTRIM(RTRIM(@ontime_db_major))) BETWEEN 1 AND 18 THEN CAST(LTRIM(RTRIM(@ontime_db_major)) \
AS bigint) ELSE -1 END <> 26 OR CASE WHEN LTRIM(RTRIM(@ontime_db_minor)) \
COLLATE Latin1_General_BIN2 NOT LIKE N'%[^0-9]%' AND LEN(LTRIM(RTRIM(@ontime_db_minor))) \
BETWEEN 1 AND 18 THEN CAST(LTRIM(RTRIM(@ontime_db_minor)) AS bigint) ELSE -1 END <> 2
        SET @ontime_db_found = N'the api schema records version ' \
+ ISNULL(@ontime_db_major, N'(none)') + N'.' + ISNULL(@ontime_db_minor, N'(none)');
END
IF @ontime_db_found IS NOT NULL
BEGIN
    RAISERROR(N'ontime_db migration script stopped: it migrates a database at schema version \
26.2, but in database [ontimems.25.8] %s. Nothing was changed; render the script again with \
--from set to the database''s version. The batches after this one are compiled but not run.', \
16, 1, @ontime_db_found);
    SET NOEXEC ON;
END"""

START_GUARD_EMPTY = """-- Stop unless database [ontimems.25.8] is empty.
SET NOEXEC OFF;
DECLARE @ontime_db_found nvarchar(400) = NULL;
IF DB_NAME() <> N'ontimems.25.8'
    SET @ontime_db_found = N'the current database is ' + QUOTENAME(DB_NAME());
IF @ontime_db_found IS NULL AND DB_ID() <= 4
    SET @ontime_db_found = N'it is the system database ' + QUOTENAME(DB_NAME());
IF @ontime_db_found IS NULL AND OBJECT_ID(N'alembic_version', N'U') IS NOT NULL
    SET @ontime_db_found = N'it has an alembic_version table';
IF @ontime_db_found IS NULL AND (SCHEMA_ID(N'api') IS NOT NULL OR EXISTS (
    SELECT 1 FROM sys.objects WHERE is_ms_shipped = 0 AND type = 'U' \
AND name <> N'ontime_db_history'))
    SET @ontime_db_found = N'it is not empty';
IF @ontime_db_found IS NOT NULL
BEGIN
    RAISERROR(N'ontime_db migration script stopped: it migrates an empty database, but in \
database [ontimems.25.8] %s. Nothing was changed; render the script again with --from set to \
the database''s version. The batches after this one are compiled but not run.', 16, 1, \
@ontime_db_found);
    SET NOEXEC ON;
END"""


def _previous_guard(migration: Migration) -> str:
    previous, version = migration.previous, migration.version
    return (
        f"-- Stop unless the database is at schema version {previous}.\n"
        "DECLARE @ontime_db_version nvarchar(32) = NULL, @ontime_db_rows int = 0;\n"
        "IF OBJECT_ID(N'alembic_version', N'U') IS NOT NULL\n"
        "    SELECT @ontime_db_version = MAX(version_num), @ontime_db_rows = COUNT(*) "
        "FROM alembic_version;\n"
        "IF @ontime_db_rows = 0\n"
        "    SET @ontime_db_version = N'no row';\n"
        f"IF @ontime_db_rows <> 1 OR @ontime_db_version <> N'{previous}'\n"
        "BEGIN\n"
        "    RAISERROR(N'ontime_db migration script stopped before the migration to "
        f"{version}: alembic_version should contain {previous} but contains %s, so an earlier "
        f"batch failed or the database changed. {NOT_RUN}', 16, 1, @ontime_db_version);\n"
        "    SET NOEXEC ON;\n"
        "END"
    )


def _transaction_guard(migration: Migration) -> str:
    previous = migration.previous
    state = "empty" if previous is None else f"at schema version {previous}"
    return (
        f"-- Stop if the migration to {migration.version} was rolled back.\n"
        "IF @@TRANCOUNT = 0\n"
        "BEGIN\n"
        "    RAISERROR(N'ontime_db migration script stopped: the migration to "
        f"{migration.version} failed and SQL Server rolled back its transaction, so the "
        f"database is still {state}. {NOT_RUN}', 16, 1);\n"
        "    SET NOEXEC ON;\n"
        "END"
    )


def _guarded(migration: Migration, batches: list[str]) -> list[str]:
    if not migration.transactional:
        return batches
    return [item for batch in batches for item in (batch, _transaction_guard(migration))]


def _audit_insert(migration: Migration) -> str:
    description = migration.description.replace("'", "''")
    checksum = flyway_checksum(migration.script.read_bytes())
    return (
        "INSERT INTO dbo.ontime_db_history (version, description, type, script, checksum, "
        f"execution_time, success) VALUES (N'{migration.version}', N'{description}', N'SQL', "
        f"N'{migration.script_name}', {checksum}, NULL, 1);"
    )


def _bookkeeping(migration: Migration) -> list[str]:
    previous = migration.previous
    if previous is None:
        update = (
            "INSERT INTO alembic_version (version_num) OUTPUT inserted.version_num "
            f"VALUES ('{migration.version}');"
        )
    else:
        update = (
            f"UPDATE alembic_version SET version_num='{migration.version}' "
            f"WHERE alembic_version.version_num = '{previous}';"
        )
    return [
        update,
        "\n".join(schema_version_statements(migration.version)),
        _audit_insert(migration),
        "COMMIT;",
    ]


def _expected_batches(start: SchemaVersion | None, database: str | None) -> list[str]:
    chain = load_set()
    origin = "an empty database" if start is None else f"schema version {start}"
    header = f"-- ontime_db migration script: from {origin} to 26.4.\n{HEADER_NOTE}"
    assert database == DATABASE
    header += "\n\nUSE [" + database.replace("]", "]]") + "];"
    guard = START_GUARD_EMPTY if start is None else START_GUARD_26_2
    expected = [header, guard, "SET XACT_ABORT ON;", AUDIT_TABLE]
    if start is not None:
        expected.append(
            "IF OBJECT_ID(N'alembic_version', N'U') IS NULL\nBEGIN\n"
            "    CREATE TABLE alembic_version (\n"
            "        version_num VARCHAR(32) NOT NULL,\n"
            "        CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n"
            "    );\n"
            f"    INSERT INTO alembic_version (version_num) VALUES (N'{start}');\n"
            "    INSERT INTO dbo.ontime_db_history (version, description, type, script, "
            "checksum, execution_time, success) VALUES "
            f"(N'{start}', N'baseline', N'BASELINE', N'', NULL, NULL, 1);\n"
            "END"
        )

    for migration in chain.between(start, chain.newest):
        script = _file_batches(migration.script, database=database)
        running = f"-- Running upgrade {migration.previous or ''} -> {migration.version}"
        if migration.previous is None:
            expected.append(
                "BEGIN TRANSACTION;\n\nCREATE TABLE alembic_version (\n"
                "    version_num VARCHAR(32) NOT NULL, \n"
                "    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n);"
            )
            expected.extend(_guarded(migration, [f"{running}\n\n{script[0]}", *script[1:]]))
            expected.extend(_bookkeeping(migration))
        elif migration.transactional:
            expected.append(f"BEGIN TRANSACTION;\n\n{running}")
            expected.append(_previous_guard(migration))
            expected.extend(_guarded(migration, script))
            expected.extend(_bookkeeping(migration))
        else:
            expected.append(f"BEGIN TRANSACTION;\n\n{running}\n\nCOMMIT;")
            expected.append(_previous_guard(migration))
            expected.extend(script)
            update, *rest = _bookkeeping(migration)
            expected.append(f"BEGIN TRANSACTION;\n\n{update}")
            expected.extend(rest)
    return expected


def _rendered_batches(text: str) -> list[str]:
    return [batch.text.strip() for batch in parse(text).batches]


def test_render_from_empty_whole_script() -> None:
    rendered = render_sql(from_version=None, database=DATABASE)
    assert _rendered_batches(rendered) == _expected_batches(None, DATABASE)


def test_render_from_version_whole_script() -> None:
    rendered = render_sql(from_version="26.2", database=DATABASE)
    assert _rendered_batches(rendered) == _expected_batches(SchemaVersion(26, 2), DATABASE)


def test_render_keeps_script_comments() -> None:
    rendered = render_sql(from_version="25.8", to="26.0", database=DATABASE)
    assert "-- because the column is NOT NULL with a named default." in rendered


def test_render_without_database_keeps_use() -> None:
    rendered = render_sql(from_version=None, to="25.8")
    assert "-- Running upgrade  -> 25.8\n\nUSE [ontimems]" in _rendered_batches(rendered)
    assert "\nUSE [ontimems];\nGO\n" not in rendered


@pytest.mark.parametrize(
    ("database", "quoted"),
    [
        ("my-db", "[my-db]"),
        ("my db", "[my db]"),
        ("we]ird", "[we]]ird]"),
        ("O'Hare", "[O'Hare]"),
        ("Größe_版本", "[Größe_版本]"),
        ("x]; DROP DATABASE [y", "[x]]; DROP DATABASE [y]"),
    ],
    ids=["hyphen", "space", "bracket", "quote", "non-ascii", "injection"],
)
def test_render_database_names(database: str, quoted: str) -> None:
    batches = _rendered_batches(render_sql(from_version=None, to="25.8", database=database))
    assert batches[0].endswith(f"\n\nUSE {quoted};")
    assert batches[5] == f"-- Running upgrade  -> 25.8\n\nUSE {quoted}"


def test_render_up_to_date_is_header_only() -> None:
    assert render_sql(from_version="26.4") == (
        f"-- ontime_db migration script: from schema version 26.4 to 26.4.\n{HEADER_NOTE}\n"
        f"{NO_USE_NOTE}\n\n"
    )


def test_header_with_database_no_note() -> None:
    assert render_sql(from_version="26.4", database=DATABASE) == (
        f"-- ontime_db migration script: from schema version 26.4 to 26.4.\n{HEADER_NOTE}\n\n"
        "USE [ontimems.25.8];\nGO\n\n"
    )


def test_header_from_empty_no_note() -> None:
    """From an empty database the create script's own USE line picks the database."""
    rendered = render_sql(from_version=None, to="25.8")
    assert rendered.startswith(
        f"-- ontime_db migration script: from an empty database to 25.8.\n{HEADER_NOTE}\n\n"
    )
    assert NO_USE_NOTE not in rendered


def test_guard_is_first_batch() -> None:
    """Without --database the version check is the first batch the script sends."""
    batches = _rendered_batches(render_sql(from_version="26.2"))
    guard = START_GUARD_26_2.replace("database [ontimems.25.8]", "the current database")
    guard = guard.replace(
        "IF DB_NAME() <> N'ontimems.25.8'\n"
        "    SET @ontime_db_found = N'the current database is ' + QUOTENAME(DB_NAME());\n",
        "",
    )
    header = (
        f"-- ontime_db migration script: from schema version 26.2 to 26.4.\n{HEADER_NOTE}\n"
        f"{NO_USE_NOTE}"
    )
    assert batches[0] == f"{header}\n\n{guard}"
    assert batches[1] == "SET XACT_ABORT ON;"


def test_guard_follows_use() -> None:
    """With --database the check comes right after USE and also compares DB_NAME()."""
    batches = _rendered_batches(render_sql(from_version="26.2", database=DATABASE))
    assert batches[0].endswith("\n\nUSE [ontimems.25.8];")
    assert batches[1] == START_GUARD_26_2


def test_guard_empty_database() -> None:
    batches = _rendered_batches(render_sql(from_version=None, database=DATABASE))
    assert batches[1] == START_GUARD_EMPTY


def test_guard_percent_in_name() -> None:
    """RAISERROR reads its message as a format: a % in the name is doubled, %s stays."""
    guard = _rendered_batches(render_sql(from_version="26.2", database="50%off"))[1]
    assert "IF DB_NAME() <> N'50%off'\n" in guard
    assert "but in database [50%%off] %s. Nothing was changed;" in guard


def test_guard_before_each_migration() -> None:
    chain = load_set()
    batches = _rendered_batches(render_sql(from_version="25.8", database=DATABASE))
    guards = [batch for batch in batches if batch.startswith("-- Stop unless the database is at")]
    assert guards == [
        _previous_guard(migration) for migration in chain.between(SchemaVersion(25, 8), NEWEST)
    ]


def test_guard_after_each_transactional_batch() -> None:
    chain = load_set()
    migration = chain.get(SchemaVersion(26, 1))
    batches = _rendered_batches(render_sql(from_version="26.0", to="26.1", database=DATABASE))
    script = _file_batches(migration.script, database=DATABASE)
    first = batches.index(script[0])
    assert batches[first : first + 2 * len(script)] == _guarded(migration, script)


def test_render_unknown_start_rejected() -> None:
    with pytest.raises(UnknownVersionError):
        render_sql(from_version="15.0")


@pytest.mark.parametrize("folder", ["pollarity", "catering"])
def test_render_add_on_sets(folder: str) -> None:
    rendered = render_sql(
        from_version=None, migrations=migrations_dir() / folder, database=f"ontime_{folder}"
    )
    batches = _rendered_batches(rendered)
    assert f"-- Running upgrade  -> 1.0\n\nUSE [ontime_{folder}]" in batches
    assert (
        "UPDATE alembic_version SET version_num='1.1' WHERE alembic_version.version_num = '1.0';"
        in batches
    )
    assert batches[-1] == "COMMIT;"


@pytest.mark.parametrize(
    "start",
    [None, "25.8", "26.0", "26.1", "26.2", "26.3"],
    ids=["empty", "25.8", "26.0", "26.1", "26.2", "26.3"],
)
def test_rendered_batches_parse(start: str | None, caplog: pytest.LogCaptureFixture) -> None:
    rendered = render_sql(from_version=start, database=DATABASE)
    unparsed: set[str] = set()
    for batch in _rendered_batches(rendered):
        with caplog.at_level(logging.WARNING, logger="sqlglot"):
            statements = sqlglot.parse(batch, read="tsql")
        for statement in statements:
            if isinstance(statement, exp.Command):
                unparsed.add(statement.sql(dialect="tsql", comments=False))
    assert unparsed <= UNPARSED_STATEMENTS


def test_sqlglot_rejects_broken_batch() -> None:
    """The parse check above can fail: a syntax slip in a batch raises."""
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse("INSERT INTO dbo.users (login VALUES (N'x');", read="tsql")
