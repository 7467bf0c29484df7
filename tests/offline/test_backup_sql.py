"""The exact T-SQL of backup, restore and rename for every hard database name.

sqlglot (T-SQL dialect) cannot parse BACKUP or RESTORE at all and parses
ALTER DATABASE ... MODIFY NAME / SET only as an opaque ``Command``. For those
statements the tests assert the exact text and use sqlglot's T-SQL tokenizer
to check that each name is one identifier token (or one string token) that
reads back as the original name, and that no ``;`` token appears, so no name
can start a second statement. The catalog queries parse fully.
"""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from ontime_db.backups import statements

# (name, bracket-quoted identifier, N'' string) written out by hand.
NAMES = [
    ("ontimems.25.8", "[ontimems.25.8]", "N'ontimems.25.8'"),
    ("my-db", "[my-db]", "N'my-db'"),
    ("my db", "[my db]", "N'my db'"),
    ("we]ird", "[we]]ird]", "N'we]ird'"),
    ("O'Hare", "[O'Hare]", "N'O''Hare'"),
    ("Größe_版本", "[Größe_版本]", "N'Größe_版本'"),
    ("x]; DROP DATABASE [y", "[x]]; DROP DATABASE [y]", "N'x]; DROP DATABASE [y'"),
]
IDS = ["dot", "hyphen", "space", "bracket", "quote", "unicode", "smuggle"]


def _tokens(sql: str) -> list[Token]:
    return list(sqlglot.tokenize(sql, read="tsql"))


def _identifiers(sql: str) -> list[str]:
    return [token.text for token in _tokens(sql) if token.token_type == TokenType.IDENTIFIER]


def _strings(sql: str) -> list[str]:
    return [token.text for token in _tokens(sql) if token.token_type == TokenType.NATIONAL_STRING]


def _assert_one_statement(sql: str) -> None:
    assert all(token.token_type != TokenType.SEMICOLON for token in _tokens(sql))


@pytest.mark.parametrize(("name", "ident", "string"), NAMES, ids=IDS)
def test_backup_statement(name: str, ident: str, string: str) -> None:
    path = f"C:\\SqlServerBackups\\OnTime-{name}(2026-12-04-193000).bak"
    path_literal = f"N'C:\\SqlServerBackups\\OnTime-{string[2:-1]}(2026-12-04-193000).bak'"

    sql = statements.backup_database(
        name,
        path,
        name="ontime_db",
        description=f"purpose={name}",
        copy_only=True,
        compression=True,
    )

    assert sql == (
        f"BACKUP DATABASE {ident} TO DISK = {path_literal} WITH NAME = N'ontime_db', "
        f"DESCRIPTION = N'purpose={string[2:-1]}', CHECKSUM, NOINIT, COPY_ONLY, COMPRESSION, "
        "STATS = 10"
    )
    assert sql.count(ident) == 1
    assert _identifiers(sql) == [name]
    assert _strings(sql) == [path, "ontime_db", f"purpose={name}"]
    _assert_one_statement(sql)


def test_backup_statement_defaults() -> None:
    sql = statements.backup_database(
        "ontimems",
        "/var/opt/mssql/backups/OnTime(2026-12-04-193000).bak",
        name="ontime_db",
        description="d",
    )

    assert sql == (
        "BACKUP DATABASE [ontimems] TO DISK = "
        "N'/var/opt/mssql/backups/OnTime(2026-12-04-193000).bak' "
        "WITH NAME = N'ontime_db', DESCRIPTION = N'd', CHECKSUM, NOINIT, STATS = 10"
    )


def test_backup_statement_no_compression() -> None:
    sql = statements.backup_database("a", "/b/a.bak", name="n", description="d", compression=False)

    assert sql.endswith(
        "WITH NAME = N'n', DESCRIPTION = N'd', CHECKSUM, NOINIT, NO_COMPRESSION, STATS = 10"
    )


@pytest.mark.parametrize(
    ("field", "limit"), [("name", 128), ("description", 255)], ids=["name", "description"]
)
def test_backup_option_limits(field: str, limit: int) -> None:
    from ontime_db.errors import ConfigurationError

    options = {"name": "n", "description": "d"}
    statements.backup_database("a", "/b.bak", **{**options, field: "x" * limit})
    options[field] = "x" * (limit + 1)

    with pytest.raises(ConfigurationError) as caught:
        statements.backup_database("a", "/b.bak", **options)

    assert str(caught.value).endswith(
        f"{limit + 1} UTF-16 code units, BACKUP allows at most {limit}"
    )


def test_verify_without_checksum() -> None:
    sql = statements.verify_only("/b.bak", position=3, checksum=False)

    assert sql == "RESTORE VERIFYONLY FROM DISK = N'/b.bak' WITH FILE = 3, STATS = 10"


def _batch_parts(sql: str) -> list[str]:
    """Split a batch at ``;`` tokens, which sqlglot's tokenizer never finds inside names."""
    parts: list[str] = []
    start = 0
    for token in _tokens(sql):
        if token.token_type == TokenType.SEMICOLON:
            parts.append(sql[start : token.start].strip())
            start = token.end + 1
    parts.append(sql[start:].strip())
    return parts


@pytest.mark.parametrize(("name", "ident", "string"), NAMES, ids=IDS)
def test_exclusive_restore_batch(name: str, ident: str, string: str) -> None:
    restore = statements.restore_database(name, "/b.bak", moves=[], replace=True)

    sql = statements.exclusive_restore(name, restore)

    assert _batch_parts(sql) == [
        f"ALTER DATABASE {ident} SET SINGLE_USER WITH ROLLBACK IMMEDIATE",
        restore,
        "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = "
        f"{string} AND state_desc = N'ONLINE' AND user_access_desc = N'SINGLE_USER') "
        f"ALTER DATABASE {ident} SET MULTI_USER WITH ROLLBACK IMMEDIATE",
    ]
    assert _identifiers(sql) == [name, name, name]
    assert _strings(sql).count(name) == 1


@pytest.mark.parametrize(("name", "ident", "string"), NAMES, ids=IDS)
def test_exclusive_rename_batch(name: str, ident: str, string: str) -> None:
    sql = statements.exclusive_rename(name, "ontimems")

    assert _batch_parts(sql) == [
        f"ALTER DATABASE {ident} SET SINGLE_USER WITH ROLLBACK IMMEDIATE",
        f"ALTER DATABASE {ident} MODIFY NAME = [ontimems]",
        "IF DB_ID(N'ontimems') IS NOT NULL ALTER DATABASE [ontimems] SET MULTI_USER WITH "
        f"ROLLBACK IMMEDIATE ELSE ALTER DATABASE {ident} SET MULTI_USER WITH ROLLBACK IMMEDIATE",
    ]
    assert _identifiers(sql) == [name, name, "ontimems", "ontimems", name]


def test_exclusive_rename_into_hard_name() -> None:
    sql = statements.exclusive_rename("ontimems.25.8", "x]; DROP DATABASE [y")

    assert len(_batch_parts(sql)) == 3
    assert _identifiers(sql) == [
        "ontimems.25.8",
        "ontimems.25.8",
        "x]; DROP DATABASE [y",
        "x]; DROP DATABASE [y",
        "ontimems.25.8",
    ]
    assert _strings(sql) == ["x]; DROP DATABASE [y"]


def test_backup_statement_does_not_parse() -> None:
    """sqlglot has no grammar for BACKUP; the exact-text checks above stand in for a parse."""
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse(statements.backup_database("a", "/b", name="n", description="d"), read="tsql")


@pytest.mark.parametrize(("name", "ident", "string"), NAMES, ids=IDS)
def test_verify_header_filelist(name: str, ident: str, string: str) -> None:
    path = f"/var/opt/mssql/backups/{name}.bak"
    literal = f"N'/var/opt/mssql/backups/{string[2:-1]}.bak'"

    verify = statements.verify_only(path, position=2)
    header = statements.header_only(path)
    filelist = statements.filelist_only(path, position=3)

    assert verify == f"RESTORE VERIFYONLY FROM DISK = {literal} WITH FILE = 2, CHECKSUM, STATS = 10"
    assert header == f"RESTORE HEADERONLY FROM DISK = {literal}"
    assert filelist == f"RESTORE FILELISTONLY FROM DISK = {literal} WITH FILE = 3"
    for sql in (verify, header, filelist):
        assert _strings(sql) == [path]
        _assert_one_statement(sql)


@pytest.mark.parametrize(("name", "ident", "string"), NAMES, ids=IDS)
def test_restore_statement(name: str, ident: str, string: str) -> None:
    quoted = string[2:-1]
    sql = statements.restore_database(
        name,
        "C:\\B\\x.bak",
        moves=[(name, f"C:\\Data\\{name}.mdf"), (f"{name}_log", f"C:\\Logs\\{name}_log.ldf")],
        position=1,
        replace=True,
    )

    assert sql == (
        f"RESTORE DATABASE {ident} FROM DISK = N'C:\\B\\x.bak' WITH FILE = 1, "
        f"MOVE {string} TO N'C:\\Data\\{quoted}.mdf', "
        f"MOVE N'{quoted}_log' TO N'C:\\Logs\\{quoted}_log.ldf', "
        "CHECKSUM, REPLACE, RECOVERY, STATS = 10"
    )
    assert _identifiers(sql) == [name]
    assert _strings(sql) == [
        "C:\\B\\x.bak",
        name,
        f"C:\\Data\\{name}.mdf",
        f"{name}_log",
        f"C:\\Logs\\{name}_log.ldf",
    ]
    _assert_one_statement(sql)


def test_restore_statement_without_checksum() -> None:
    sql = statements.restore_database("a", "/b.bak", moves=[], checksum=False)

    assert sql == "RESTORE DATABASE [a] FROM DISK = N'/b.bak' WITH FILE = 1, RECOVERY, STATS = 10"


@pytest.mark.parametrize("position", [0, -1, True, "1"], ids=["zero", "negative", "bool", "text"])
def test_invalid_position(position: object) -> None:
    from ontime_db.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="invalid backup set position"):
        statements.verify_only("/b.bak", position=position)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "ident", "string"), NAMES, ids=IDS)
def test_user_access_statements(name: str, ident: str, string: str) -> None:
    single = statements.set_single_user(name)
    multi = statements.set_multi_user(name)

    assert single == f"ALTER DATABASE {ident} SET SINGLE_USER WITH ROLLBACK IMMEDIATE"
    assert multi == f"ALTER DATABASE {ident} SET MULTI_USER WITH ROLLBACK IMMEDIATE"
    for sql in (single, multi):
        assert _identifiers(sql) == [name]
        _assert_one_statement(sql)
        parsed = sqlglot.parse(sql, read="tsql")
        assert len(parsed) == 1


@pytest.mark.parametrize(("name", "ident", "string"), NAMES, ids=IDS)
def test_modify_name_statement(name: str, ident: str, string: str) -> None:
    to_name = statements.modify_name("ontimems.25.8", name)
    from_name = statements.modify_name(name, "ontimems")

    assert to_name == f"ALTER DATABASE [ontimems.25.8] MODIFY NAME = {ident}"
    assert from_name == f"ALTER DATABASE {ident} MODIFY NAME = [ontimems]"
    assert _identifiers(to_name) == ["ontimems.25.8", name]
    assert _identifiers(from_name) == [name, "ontimems"]
    _assert_one_statement(to_name)
    _assert_one_statement(from_name)
    assert len(sqlglot.parse(to_name, read="tsql")) == 1


@pytest.mark.parametrize(("name", "ident", "string"), NAMES, ids=IDS)
def test_modify_file_statement(name: str, ident: str, string: str) -> None:
    sql = statements.modify_file_name(name, f"{name}_log", "ontimems_log")

    assert sql == (
        f"ALTER DATABASE {ident} MODIFY FILE "
        f"(NAME = N'{string[2:-1]}_log', NEWNAME = N'ontimems_log')"
    )
    assert _identifiers(sql) == [name]
    assert _strings(sql) == [f"{name}_log", "ontimems_log"]
    _assert_one_statement(sql)


@pytest.mark.parametrize(
    "query",
    [
        statements.SERVER_FACTS,
        statements.FILE_EXISTS,
        statements.SERVICE_ACCOUNT,
        statements.DATABASE_ID,
        statements.DATABASE_STATE,
        statements.SESSIONS,
        statements.DATABASE_FILES,
        statements.HISTORY,
        statements.HISTORY_FOR_DATABASE,
    ],
    ids=[
        "facts",
        "file-exists",
        "account",
        "db-id",
        "state",
        "sessions",
        "files",
        "history",
        "history-db",
    ],
)
def test_catalog_query_parses(query: str) -> None:
    parsed = sqlglot.parse(query, read="tsql")

    assert len(parsed) == 1
    assert isinstance(parsed[0], exp.Select)


def test_sessions_query_excludes_own() -> None:
    parsed = sqlglot.parse_one(statements.SESSIONS, read="tsql")

    assert [column.alias_or_name for column in parsed.selects] == [
        "session_id",
        "login_name",
        "host_name",
        "host_process_id",
        "program_name",
    ]
    assert "session_id <> @@SPID" in parsed.args["where"].sql(dialect="tsql")


def test_history_query_binds() -> None:
    parsed = sqlglot.parse_one(statements.HISTORY_FOR_DATABASE, read="tsql")

    placeholders = [node.name for node in parsed.find_all(exp.Placeholder)]
    assert placeholders == ["database"]
    assert {table.name for table in parsed.find_all(exp.Table)} == {
        "backupset",
        "backupmediafamily",
    }


def test_history_query_all_databases() -> None:
    narrowed = statements.HISTORY_FOR_DATABASE
    assert narrowed.replace(" AND bs.database_name = :database", "") == statements.HISTORY
    assert list(sqlglot.parse_one(statements.HISTORY, read="tsql").find_all(exp.Placeholder)) == []


def test_registry_query_parses() -> None:
    parsed = sqlglot.parse(statements.REGISTRY_BACKUP_DIRECTORY, read="tsql")

    assert len(parsed) == 1
    assert _strings(statements.REGISTRY_BACKUP_DIRECTORY) == [
        "HKEY_LOCAL_MACHINE",
        "Software\\Microsoft\\MSSQLServer\\MSSQLServer",
        "BackupDirectory",
    ]
