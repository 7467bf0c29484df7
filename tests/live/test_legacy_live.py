"""The legacy route's data copy on a live SQL Server: dbo.UPGRADE_9_3 and dbo.UPGRADE_15_0.

Each test builds an old database from the 9.3 or 15.0 reference schema
under an awkward name. It builds a new database from the 25.8 create script
plus sql/legacy/upgrade_procedures.sql, runs the procedure in the new
database and reads the outcome back with queries and sys.* catalog views.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ontime_db.quoting import quote_identifier, quote_string
from ontime_db.resources import sql_dir
from ontime_db.testing import drop_database

if TYPE_CHECKING:
    from sqlalchemy import URL, Connection, Engine

pytestmark = pytest.mark.mssql

LEGACY = sql_dir() / "legacy"
SCHEMAS = {"9.3": LEGACY / "ontimems_9_3.sql", "15.0": LEGACY / "ontimems_15_0.sql"}
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

OLD_TABLES = {
    "9.3": ["OT_USER", "OT_GROUP", "OT_GROUP_MEMBER", "OT_CALENDAR", "OT_CONFIG"],
    "15.0": ["users", "groups", "group_members", "calendars", "settings"],
}
NEW_TABLES = ["users", "groups", "group_members", "calendars", "settings"]
COUNTS = {
    "9.3": {"users": 25, "groups": 4, "group_members": 18, "calendars": 30, "settings": 6},
    "15.0": {"users": 25, "groups": 4, "group_members": 16, "calendars": 30, "settings": 6},
}

OldDatabase = Callable[[str, str], str]


@pytest.fixture(scope="module")
def server(mssql_url: URL) -> Iterator[Engine]:
    """Engine on master without a pool, so no connection outlives a dropped database."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(mssql_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    yield engine
    engine.dispose()


def run_file(connection: Connection, path: Path, *, database: str | None = None) -> None:
    from ontime_db.script import load, run

    if database is None:
        run(connection, load(path))
    else:
        run(connection, load(path, database=database, use="retarget"))


def run_sql(engine: Engine, sql: str) -> list[list[tuple[Any, ...]]]:
    """Run one batch with the script engine and return the rows of each result set."""
    from ontime_db.script import execute

    with engine.connect() as connection:
        return execute(connection, sql)


@pytest.fixture
def old_database(server: Engine) -> Iterator[OldDatabase]:
    """Create an old database at a reference schema version and drop it after the test.

    The database is named ``base`` plus a random suffix, which keeps the
    awkward characters but lets runs share a server. The full name is returned.
    """
    with ExitStack() as cleanup:

        def create(version: str, base: str) -> str:
            name = f"{base}_{uuid.uuid4().hex[:8]}"
            run_sql(server, f"CREATE DATABASE {quote_identifier(name)};")
            cleanup.callback(drop_database, server, name)
            with server.connect() as connection:
                run_file(connection, SCHEMAS[version], database=name)
            return name

        yield create


@pytest.fixture
def new_database(server: Engine, fresh_database: str) -> str:
    """A fresh database with the 25.8 schema and the UPGRADE procedures."""
    if not CREATE_SCRIPT.exists():
        pytest.skip(f"the 25.8 create script {CREATE_SCRIPT} does not exist yet")
    with server.connect() as connection:
        run_file(connection, CREATE_SCRIPT, database=fresh_database)
        run_file(connection, PROCEDURES)
    return fresh_database


def call_upgrade(
    engine: Engine, database: str, procedure: str, olddb: str, *, prefix: str = ""
) -> tuple[int | None, list[tuple[int, str]]]:
    """Run ``procedure`` in ``database`` and return its return value and its messages.

    Messages are (number, text): 0 for PRINT, 50000 for RAISERROR with a text.
    """
    from ontime_db.script import execute

    messages: list[tuple[int, str]] = []
    sql = (
        "SET NOCOUNT ON;\n"
        f"{prefix}"
        "DECLARE @rc int;\n"
        f"EXEC @rc = dbo.{procedure} @olddb = {quote_string(olddb)};\n"
        "SELECT @rc AS rc;"
    )
    with engine.connect() as connection:
        # A batch of its own, so that message 5701 "Changed database context"
        # stays out of the messages returned.
        execute(connection, f"USE {quote_identifier(database)};")
        results = execute(connection, sql, on_message=lambda m: messages.append((m.number, m.text)))
    return results[-1][0][0], messages


def query(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    from sqlalchemy import text

    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql)).all()]


def table(database: str, name: str) -> str:
    return f"{quote_identifier(database)}.dbo.{quote_identifier(name, kind='table name')}"


def counts(engine: Engine, database: str, tables: list[str]) -> dict[str, int]:
    return {
        name: query(engine, f"SELECT COUNT(*) FROM {table(database, name)}")[0][0]
        for name in tables
    }


def snapshot(engine: Engine, database: str, tables: list[str]) -> dict[str, Any]:
    """Every row of ``tables``, the api properties and the user objects' modify dates."""
    state: dict[str, Any] = {
        name: query(engine, f"SELECT * FROM {table(database, name)} ORDER BY 1, 2")
        for name in tables
    }
    catalog = quote_identifier(database)
    state["properties"] = query(
        engine,
        f"SELECT name, CAST(value AS nvarchar(128)) FROM {catalog}.sys.extended_properties "
        "WHERE class = 3 ORDER BY name",
    )
    state["objects"] = query(
        engine,
        f"SELECT name, modify_date FROM {catalog}.sys.objects "
        "WHERE is_ms_shipped = 0 ORDER BY name",
    )
    return state


def progress(procedure: str, version: str) -> list[tuple[int, str]]:
    """The messages of a successful run: one PRINT (message number 0) per table."""
    return [
        (0, f"{procedure}: copied {COUNTS[version][new]} rows from dbo.{old} to dbo.{new}")
        for old, new in zip(OLD_TABLES[version], NEW_TABLES, strict=True)
    ]


# -- the procedures themselves ------------------------------------------------


def test_procedures_created(server: Engine, new_database: str) -> None:
    catalog = quote_identifier(new_database)
    rows = query(
        server,
        "SELECT p.name, m.uses_ansi_nulls, m.uses_quoted_identifier "
        f"FROM {catalog}.sys.procedures AS p "
        f"JOIN {catalog}.sys.sql_modules AS m ON m.object_id = p.object_id "
        f"JOIN {catalog}.sys.schemas AS s ON s.schema_id = p.schema_id "
        "WHERE s.name = N'dbo' AND p.name LIKE N'UPGRADE[_]%' ORDER BY p.name",
    )
    assert rows == [("UPGRADE_15_0", True, True), ("UPGRADE_9_3", True, True)]


def test_procedures_rerun_keep_grants(server: Engine, new_database: str) -> None:
    """Running the script again alters the procedures in place: same object, grant kept.

    The script creates a stub and then runs ALTER PROCEDURE, because CREATE OR
    ALTER needs SQL Server 2016 SP1; ALTER keeps permissions that DROP and
    CREATE would lose.
    """
    catalog = quote_identifier(new_database)
    run_sql(
        server,
        f"USE {catalog}; CREATE ROLE [ontime_upgrade_runner]; "
        "GRANT EXECUTE ON OBJECT::dbo.UPGRADE_9_3 TO [ontime_upgrade_runner];",
    )
    procedure_id = (
        f"SELECT p.object_id FROM {catalog}.sys.procedures AS p "
        f"JOIN {catalog}.sys.schemas AS s ON s.schema_id = p.schema_id "
        "WHERE s.name = N'dbo' AND p.name = N'UPGRADE_9_3'"
    )
    before = query(server, procedure_id)

    with server.connect() as connection:
        connection.exec_driver_sql(f"USE {catalog}")
        run_file(connection, PROCEDURES)

    after = query(server, procedure_id)
    assert len(before) == 1
    assert after == before
    grants = query(
        server,
        "SELECT o.name, dp.permission_name, dp.state_desc, r.name "
        f"FROM {catalog}.sys.database_permissions AS dp "
        f"JOIN {catalog}.sys.objects AS o ON o.object_id = dp.major_id "
        f"JOIN {catalog}.sys.database_principals AS r ON r.principal_id = dp.grantee_principal_id "
        "WHERE dp.class = 1 AND r.name = N'ontime_upgrade_runner'",
    )
    assert grants == [("UPGRADE_9_3", "EXECUTE", "GRANT", "ontime_upgrade_runner")]
    parameters = query(
        server,
        f"SELECT p.name, TYPE_NAME(p.user_type_id) FROM {catalog}.sys.parameters AS p "
        f"WHERE p.object_id = ({procedure_id})",
    )
    assert parameters == [("@olddb", "sysname")]


# -- successful copies ----------------------------------------------------------


@pytest.mark.parametrize("name", HARD_NAMES, ids=HARD_NAMES)
def test_upgrade_9_3_copies(
    server: Engine, old_database: OldDatabase, new_database: str, name: str
) -> None:
    old = old_database("9.3", name)
    before = snapshot(server, old, OLD_TABLES["9.3"])

    rc, messages = call_upgrade(server, new_database, "UPGRADE_9_3", old)

    assert rc == 0
    assert messages == progress("UPGRADE_9_3", "9.3")
    assert counts(server, new_database, NEW_TABLES) == COUNTS["9.3"]
    assert snapshot(server, old, OLD_TABLES["9.3"]) == before

    users = {
        row[0]: row[1:]
        for row in query(
            server,
            "SELECT user_id, login, display_name, email, is_active, created_at "
            f"FROM {table(new_database, 'users')}",
        )
    }
    assert sorted(users) == [*range(1, 21), *range(22, 27)]
    assert users[1] == (
        "admin",
        "OnTime Administrator",
        "admin@example.com",
        True,
        datetime.datetime(2009, 3, 2, 8, 0, 0),
    )
    assert users[2][1] == "Jürgen Größe"
    assert users[3][1] == "王小明"
    assert users[4][1] == "Siobhan O'Hare"
    assert users[15][1] == "Ирина Петрова"
    assert users[26][1] == "svc.scanner"
    assert sorted(uid for uid, row in users.items() if not row[3]) == [5, 14]
    assert sorted(uid for uid, row in users.items() if row[2] is None) == [5, 8, 13, 18, 22, 25, 26]

    colors = dict(
        query(server, f"SELECT calendar_id, color FROM {table(new_database, 'calendars')}")
    )
    assert 17 not in colors
    assert colors[1] == "#FF0000"
    assert colors[4] == "#000000"
    assert colors[5] is None
    assert colors[6] == "#FFFFFF"
    assert colors[8] == "#ABCDEF"
    assert colors[31] == "#000046"

    groups = dict(query(server, f"SELECT group_id, name FROM {table(new_database, 'groups')}"))
    assert groups[4] == "Team O'Hare"
    settings = dict(
        query(server, f"SELECT setting_name, setting_value FROM {table(new_database, 'settings')}")
    )
    assert settings["CompanyName"] == "Größe & O'Hare GmbH"
    assert settings["LicenseKey"] is None


def test_upgrade_9_3_identity_continues(
    server: Engine, old_database: OldDatabase, new_database: str
) -> None:
    """Explicit ids move the identity on, so the next new user gets id 27."""
    old = old_database("9.3", "ontimems.9.3")
    assert call_upgrade(server, new_database, "UPGRADE_9_3", old)[0] == 0

    results = run_sql(
        server,
        f"USE {quote_identifier(new_database)};\n"
        "SELECT IDENT_CURRENT(N'dbo.users');\n"
        "INSERT INTO dbo.users (login, display_name) OUTPUT inserted.user_id "
        "VALUES (N'new.user', N'New User');",
    )
    assert results == [[(26,)], [(27,)]]


NAMES_15_0 = ["ontimems.15.0", "we]ird", "O'Hare", "Größe_版本"]


@pytest.mark.parametrize("name", NAMES_15_0, ids=NAMES_15_0)
def test_upgrade_15_0_copies(
    server: Engine, old_database: OldDatabase, new_database: str, name: str
) -> None:
    old = old_database("15.0", name)
    before = snapshot(server, old, OLD_TABLES["15.0"])

    rc, messages = call_upgrade(server, new_database, "UPGRADE_15_0", old)

    assert rc == 0
    assert messages == progress("UPGRADE_15_0", "15.0")
    assert counts(server, new_database, NEW_TABLES) == COUNTS["15.0"]
    assert snapshot(server, old, OLD_TABLES["15.0"]) == before

    users = {
        row[0]: row[1:]
        for row in query(
            server,
            f"SELECT user_id, display_name, email, is_active FROM {table(new_database, 'users')}",
        )
    }
    assert sorted(users) == [*range(1, 13), *range(14, 27)]
    assert users[2][0] == "Jürgen Größe"
    assert users[3][0] == "王小明"
    assert users[4][0] == "Siobhan O'Hare"
    assert users[25][0] == "svc.scanner"
    assert users[26][0] == "svc.backup"
    assert sorted(uid for uid, row in users.items() if not row[2]) == [5, 14]
    assert sorted(uid for uid, row in users.items() if row[1] is None) == [5, 8, 18, 21, 24, 25, 26]

    colors = dict(
        query(server, f"SELECT calendar_id, color FROM {table(new_database, 'calendars')}")
    )
    assert 10 not in colors
    assert colors[1] == "#FF0000"
    assert colors[8] == "#ABCDEF"
    assert colors[29] is None
    settings = dict(
        query(server, f"SELECT setting_name, setting_value FROM {table(new_database, 'settings')}")
    )
    assert settings["company.name"] == "Größe & O'Hare GmbH"


def test_upgrade_replaces_default_setting(
    server: Engine, old_database: OldDatabase, new_database: str
) -> None:
    """A setting the new database already has takes the old database's value."""
    old = old_database("9.3", "ontimems.9.3")
    run_sql(
        server,
        f"INSERT INTO {table(new_database, 'settings')} (setting_name, setting_value) "
        "VALUES (N'DefaultLanguage', N'en');",
    )

    rc, _ = call_upgrade(server, new_database, "UPGRADE_9_3", old)

    assert rc == 0
    rows = query(
        server,
        f"SELECT setting_value FROM {table(new_database, 'settings')} "
        "WHERE setting_name = N'DefaultLanguage'",
    )
    assert rows == [("de",)]
    assert counts(server, new_database, ["settings"]) == {"settings": 6}


def test_upgrade_manual_commit_connection(
    mssql_url: URL, old_database: OldDatabase, new_database: str, server: Engine
) -> None:
    """In ODBC's manual-commit mode the copy still commits, and no transaction stays open.

    The connection is closed without a commit, which rolls back anything
    still open, so the rows counted afterwards were committed by the procedure.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    old = old_database("9.3", "my db")
    sql = (
        f"USE {quote_identifier(new_database)};\n"
        "SET NOCOUNT ON;\n"
        "DECLARE @rc int;\n"
        f"EXEC @rc = dbo.UPGRADE_9_3 @olddb = {quote_string(old)};\n"
        "SELECT @rc AS rc, @@TRANCOUNT AS open_transactions;"
    )
    engine = create_engine(mssql_url, poolclass=NullPool)
    try:
        results = run_sql(engine, sql)
    finally:
        engine.dispose()

    assert results[-1] == [(0, 0)]
    assert counts(server, new_database, ["users"]) == {"users": 25}


# -- failures -------------------------------------------------------------------


def test_upgrade_missing_database(server: Engine, new_database: str) -> None:
    rc, messages = call_upgrade(server, new_database, "UPGRADE_9_3", "no such db]'")

    assert rc == 1
    assert messages == [
        (
            50000,
            "UPGRADE_9_3: database 'no such db]'' was not found. "
            "Pass the name of the old OnTime database as @olddb.",
        )
    ]
    assert counts(server, new_database, NEW_TABLES) == dict.fromkeys(NEW_TABLES, 0)


@pytest.mark.parametrize(
    ("version", "procedure", "expected"),
    [("15.0", "UPGRADE_9_3", "9.3"), ("9.3", "UPGRADE_15_0", "15.0")],
    ids=["15.0-to-9.3", "9.3-to-15.0"],
)
def test_upgrade_wrong_version(
    server: Engine,
    old_database: OldDatabase,
    new_database: str,
    version: str,
    procedure: str,
    expected: str,
) -> None:
    old = old_database(version, "O'Hare")

    rc, messages = call_upgrade(server, new_database, procedure, old)

    assert rc == 2
    assert messages == [
        (
            50000,
            f"{procedure}: database '{old}' is at schema version {version}, expected "
            f"{expected}. Run the UPGRADE procedure of that version instead.",
        )
    ]
    assert counts(server, new_database, NEW_TABLES) == dict.fromkeys(NEW_TABLES, 0)


def test_upgrade_no_version(server: Engine, new_database: str, fresh_database: str) -> None:
    """An empty database has no api schema, so it has no schema version."""
    empty = f"{fresh_database}_empty"
    try:
        run_sql(server, f"CREATE DATABASE {quote_identifier(empty)};")
        rc, messages = call_upgrade(server, new_database, "UPGRADE_9_3", empty)
    finally:
        drop_database(server, empty)

    assert rc == 2
    assert messages == [
        (
            50000,
            f"UPGRADE_9_3: database '{empty}' has no schema version, because schema api lacks "
            "the extended properties compatibility_major and compatibility_minor. "
            "Check that it is an OnTime database.",
        )
    ]


def test_upgrade_rolls_back_on_failure(
    server: Engine, old_database: OldDatabase, new_database: str
) -> None:
    """The last table fails, so the four copied before it are rolled back too."""
    old = old_database("9.3", "we]ird")
    run_sql(server, f"DROP TABLE {table(old, 'OT_CONFIG')};")

    rc, messages = call_upgrade(server, new_database, "UPGRADE_9_3", old)

    assert rc == 3
    assert messages[:4] == progress("UPGRADE_9_3", "9.3")[:4]
    assert messages[4][0] == 50000
    assert messages[4][1].startswith(
        f"UPGRADE_9_3: copying from database '{old}' failed with error 208 and was rolled "
        "back: Invalid object name "
    )
    assert "OT_CONFIG" in messages[4][1]
    assert len(messages) == 5
    assert counts(server, new_database, NEW_TABLES) == dict.fromkeys(NEW_TABLES, 0)


def test_upgrade_twice_fails(server: Engine, old_database: OldDatabase, new_database: str) -> None:
    """A second run hits the copied users' primary keys and changes nothing."""
    old = old_database("9.3", "ontimems.9.3")
    assert call_upgrade(server, new_database, "UPGRADE_9_3", old)[0] == 0

    rc, messages = call_upgrade(server, new_database, "UPGRADE_9_3", old)

    assert rc == 3
    assert len(messages) == 1
    assert messages[0][1].startswith(
        f"UPGRADE_9_3: copying from database '{old}' failed with error 2627 "
        "and was rolled back: Violation of PRIMARY KEY constraint 'PK_users'."
    )
    assert counts(server, new_database, NEW_TABLES) == COUNTS["9.3"]


def test_upgrade_in_open_transaction(
    server: Engine, old_database: OldDatabase, new_database: str
) -> None:
    old = old_database("9.3", "ontimems.9.3")

    rc, messages = call_upgrade(
        server, new_database, "UPGRADE_9_3", old, prefix="BEGIN TRANSACTION;\n"
    )

    assert rc == 4
    assert messages == [
        (
            50000,
            "UPGRADE_9_3: a transaction is open. Commit or roll it back first, because the "
            "procedure runs the copy in its own transaction.",
        )
    ]
    assert counts(server, new_database, NEW_TABLES) == dict.fromkeys(NEW_TABLES, 0)
