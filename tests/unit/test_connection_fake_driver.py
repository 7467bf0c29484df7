"""Engines built by ontime_db on a fake DB-API module: open sessions and password leaks.

The fake module replaces pyodbc behind SQLAlchemy's real mssql+pyodbc
dialect. It records the ODBC connection string each ``connect`` receives
and whether each connection was closed, and its ``connect`` can fail with
a message that echoes the whole connection string, password included, or
with a driver manager's error. Its cursor fails for SQL that names
``nope``. These tests check what ontime_db hands to the driver and which
error a caller sees afterwards; they prove nothing about SQL Server itself.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import URL, create_engine, text
from sqlalchemy.dialects.mssql.pyodbc import MSDialect_pyodbc
from sqlalchemy.exc import DBAPIError

from ontime_db.cli import main
from ontime_db.connection import (
    INSTALL_HINT,
    ConnectionSettings,
    check_connection,
    connect,
    connection_error,
    engine_for,
    engine_scope,
)
from ontime_db.errors import (
    ConnectionFailedError,
    DriverNotFoundError,
    DriverNotLoadedError,
    OnTimeDbError,
)

SECRET = "S3cr;et}=pw{"
# The same password as it appears in an ODBC connection string.
SECRET_IN_ODBC = "{S3cr;et}}=pw{}"


class FakeError(Exception):
    """The fake driver's error class, shaped like pyodbc's: (SQLSTATE, message)."""


class FakeCursor:
    description: Any = None
    rowcount = -1

    def execute(self, sql: str, *parameters: Any) -> None:
        if "nope" in sql:
            raise FakeError("42S02", "[42S02] Invalid object name 'nope'. (208)")
        self.description = [("x", None, None, None, None, None, None)]
        self.rows = [(1,)]

    def fetchone(self) -> Any:
        return self.rows.pop(0) if self.rows else None

    def fetchall(self) -> list[Any]:
        rows, self.rows = self.rows, []
        return rows

    def close(self) -> None:
        return None


class FakeConnection:
    def __init__(self, driver: FakeDriver, connection_string: str) -> None:
        self.driver = driver
        self.connection_string = connection_string
        self.closed = False

    def cursor(self) -> FakeCursor:
        return FakeCursor()

    def close(self) -> None:
        self.closed = True

    def rollback(self) -> None:
        return None

    def commit(self) -> None:
        return None


class FakeDriver:
    """A DB-API module: ``connect`` opens a FakeConnection or raises an echoing error."""

    paramstyle = "qmark"
    version = "5.0"
    Error = FakeError
    # The mssql dialect checks errors against these DB-API classes.
    ProgrammingError = FakeError
    InterfaceError = FakeError
    Cursor = FakeCursor

    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []
        self.fail = False
        # When set, connect raises this error instead of the echoing one.
        self.error: FakeError | None = None
        # pyodbc's default: the driver manager pools connections.
        self.pooling = True

    def connect(self, connection_string: str, **options: Any) -> FakeConnection:
        if self.error is not None:
            raise self.error
        if self.fail:
            raise FakeError(
                "08001",
                f"[08001] cannot open a connection with '{connection_string}' (10061)",
            )
        opened = FakeConnection(self, connection_string)
        self.connections.append(opened)
        return opened

    @property
    def open_sessions(self) -> int:
        return sum(1 for item in self.connections if not item.closed)


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch) -> FakeDriver:
    fake = FakeDriver()
    monkeypatch.setattr(MSDialect_pyodbc, "import_dbapi", classmethod(lambda cls: fake))
    # The real dialect queries the server for its version and sets pyodbc
    # converters on first connect; the fake has neither.
    monkeypatch.setattr(MSDialect_pyodbc, "on_connect", lambda self: None)
    monkeypatch.setattr(MSDialect_pyodbc, "initialize", lambda self, connection: None)
    monkeypatch.delenv("ONTIME_DB_PASSWORD", raising=False)
    return fake


def settings() -> ConnectionSettings:
    return ConnectionSettings.from_options(
        server="db1", database="ontimems", user="OnTimeApp", password=SECRET, odbc_driver="X"
    )


# -- open sessions -------------------------------------------------------------------


def test_scope_leaves_no_session(driver: FakeDriver) -> None:
    with engine_scope(settings(), database="ontimems.25.8", autocommit=True) as engine:
        for _ in range(3):
            with engine.connect() as connection:
                assert connection.execute(text("SELECT 1")).scalar() == 1
        # Still inside the scope: every closed connection ended its session.
        assert driver.open_sessions == 0
    assert len(driver.connections) == 3
    assert driver.open_sessions == 0


def test_driver_pooling_turned_off(driver: FakeDriver) -> None:
    engine_for(settings(), database="master")
    assert driver.pooling is False


def test_engine_for_not_pooled(driver: FakeDriver) -> None:
    engine = engine_for(settings(), database="master")
    with engine.connect():
        assert driver.open_sessions == 1
    assert driver.open_sessions == 0


def test_connect_not_pooled(driver: FakeDriver) -> None:
    engine = connect(settings())
    with engine.connect():
        pass
    with engine.connect():
        pass
    assert [item.closed for item in driver.connections] == [True, True]


def test_connection_string_escaped(driver: FakeDriver) -> None:
    with engine_scope(settings()) as engine, engine.connect():
        pass
    assert driver.connections[0].connection_string == (
        f"DRIVER={{X}};Server=db1;Database=ontimems;UID=OnTimeApp;PWD={SECRET_IN_ODBC}"
    )


# -- passwords ------------------------------------------------------------------------


def test_failed_connect_masked(driver: FakeDriver) -> None:
    driver.fail = True
    with pytest.raises(ConnectionFailedError) as raised:
        check_connection(settings())
    message = str(raised.value)
    assert raised.value.reason == "server not found"
    assert "S3cr" not in message
    assert "pw{" not in message
    # SQLAlchemy chains the replacement to the driver's own error.
    assert isinstance(raised.value.__cause__, FakeError)


def test_failed_connect_logs_masked(
    driver: FakeDriver, caplog: pytest.LogCaptureFixture
) -> None:
    driver.fail = True
    with caplog.at_level(logging.DEBUG), pytest.raises(ConnectionFailedError):
        check_connection(settings())
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert "S3cr" not in logged


def test_success_logs_masked(driver: FakeDriver, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        engine = connect(settings())
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    assert caplog.records
    assert "S3cr" not in caplog.text
    assert "S3cr" not in repr(engine)


def test_cli_output_masked(
    driver: FakeDriver, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    driver.fail = True
    url = (
        "jdbc:sqlserver://db1;databaseName=ontimems;user=OnTimeApp;"
        f"password={SECRET_IN_ODBC}"
    )
    with caplog.at_level(logging.DEBUG):
        status = main(["check-connection", "--url", url, "--odbc-driver", "X"])
    captured = capsys.readouterr()
    assert status == 1
    # check-connection connects to master and reports the database afterwards.
    assert captured.err.startswith(
        "error: connecting to db1/master as OnTimeApp failed (server not found)"
    )
    assert "S3cr" not in captured.out + captured.err
    assert "S3cr" not in caplog.text


@pytest.mark.parametrize(
    ("echoed", "shown"),
    [(SECRET, "***"), (SECRET_IN_ODBC, "{***}"), ("S3cr%3Bet%7D%3Dpw%7B", "***")],
    ids=["raw", "odbc-escaped", "percent-encoded"],
)
def test_echo_forms_masked(echoed: str, shown: str) -> None:
    error = DBAPIError(None, None, FakeError("08001", f"bad login {echoed} (10061)"))
    message = str(connection_error(error, settings()))
    assert "S3cr" not in message
    assert f"bad login {shown} (10061)" in message


def test_fake_module_is_used(driver: FakeDriver) -> None:
    engine = connect(settings())
    assert engine.dialect.dbapi is driver


# -- errors while connecting -------------------------------------------------------------

SERVER_NOT_FOUND = (
    "connecting to db1/master as OnTimeApp failed (server not found): check the server name, "
    "the instance name or port, that SQL Server accepts TCP/IP connections and that no "
    "firewall blocks the port. Driver message: ('08001', \"[08001] cannot open a connection "
    "with 'DRIVER={X};Server=db1;Database=master;UID=OnTimeApp;PWD=***' (10061)\")"
)


def test_connect_failure_replaced(driver: FakeDriver) -> None:
    driver.fail = True
    engine = engine_for(settings(), database="master")
    with pytest.raises(ConnectionFailedError) as raised:
        engine.connect()
    assert str(raised.value) == SERVER_NOT_FOUND
    assert raised.value.reason == "server not found"
    assert raised.value.database == "master"
    assert "S3cr" not in str(raised.value)
    assert "pw{" not in str(raised.value)


def test_begin_failure_replaced(driver: FakeDriver) -> None:
    driver.fail = True
    engine = connect(settings(), database="master", autocommit=True)
    with pytest.raises(ConnectionFailedError) as raised, engine.begin():
        pass
    assert str(raised.value) == SERVER_NOT_FOUND


def test_connect_failure_is_library_error(driver: FakeDriver) -> None:
    """A caller that catches OnTimeDbError, as the README promises, catches a failed connect."""
    driver.fail = True
    engine = connect(settings())
    with pytest.raises(OnTimeDbError):
        engine.connect()


def test_environment_password_masked(
    driver: FakeDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", SECRET)
    driver.fail = True
    engine = connect(server="db1", database="ontimems", user="OnTimeApp", odbc_driver="X")
    with pytest.raises(ConnectionFailedError) as raised:
        engine.connect()
    assert "S3cr" not in str(raised.value)
    assert "UID=OnTimeApp;PWD=***'" in str(raised.value)


def test_integrated_failure_described(driver: FakeDriver) -> None:
    driver.fail = True
    engine = connect(
        "jdbc:sqlserver://db1;databaseName=ontimems;integratedSecurity=true", odbc_driver="X"
    )
    with pytest.raises(ConnectionFailedError) as raised:
        engine.connect()
    assert str(raised.value).startswith(
        "connecting to db1/ontimems as integrated security failed (server not found)"
    )


def test_statement_error_unchanged(driver: FakeDriver) -> None:
    engine = connect(settings())
    with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
        connection.execute(text("SELECT * FROM nope"))
    assert not isinstance(raised.value, OnTimeDbError)
    assert isinstance(raised.value.orig, FakeError)
    assert raised.value.orig.args == ("42S02", "[42S02] Invalid object name 'nope'. (208)")


def test_callers_engine_unchanged(driver: FakeDriver) -> None:
    """An Engine the caller built keeps SQLAlchemy's errors; engine_for returns it as it is."""
    engine = create_engine("mssql+pyodbc://u:p@db1/ontimems?driver=X")
    assert engine_for(engine) is engine
    driver.fail = True
    with pytest.raises(DBAPIError) as raised:
        engine_for(engine).connect()
    assert not isinstance(raised.value, OnTimeDbError)


def test_engine_for_callers_engine_other_database(driver: FakeDriver) -> None:
    """A new engine for another database of the caller's Engine is the library's own."""
    engine = create_engine("mssql+pyodbc://u:p@db1/ontimems?driver=X")
    driver.fail = True
    with pytest.raises(ConnectionFailedError) as raised:
        engine_for(engine, database="master").connect()
    assert str(raised.value).startswith(
        "connecting to db1/master as u failed (server not found)"
    )
    with pytest.raises(DBAPIError):
        engine.connect()


def test_engine_for_odbc_connect_engine(driver: FakeDriver) -> None:
    """Another database of an Engine built on odbc_connect reaches the driver as Database=."""
    odbc = "Driver={X};Server=db1;Database=ontimems;UID=u;PWD=p"
    engine = create_engine(URL.create("mssql+pyodbc", query={"odbc_connect": odbc}))
    with engine_for(engine, database="master").connect():
        pass
    assert driver.connections[0].connection_string == (
        "DRIVER={X};Server=db1;Database=master;UID=u;PWD=p"
    )


# -- a driver the driver manager cannot load --------------------------------------------

UNIX_ODBC_MISSING = (
    "[01000] [unixODBC][Driver Manager]Can't open lib 'ODBC Driver 18 for SQL Server' : "
    "file not found (0) (SQLDriverConnect)"
)
WINDOWS_MISSING = (
    "[IM002] [Microsoft][ODBC Driver Manager] Data source name not found and no default "
    "driver specified (0) (SQLDriverConnect)"
)


@pytest.mark.parametrize(
    ("state", "message"),
    [("01000", UNIX_ODBC_MISSING), ("IM002", WINDOWS_MISSING)],
    ids=["unixodbc", "windows"],
)
def test_driver_missing_on_connect(driver: FakeDriver, state: str, message: str) -> None:
    driver.error = FakeError(state, message)
    engine = connect(
        "Driver={ODBC Driver 18 for SQL Server};Server=localhost;Database=x;UID=sa;PWD=Pa55-w0rd"
    )
    with pytest.raises(DriverNotLoadedError) as raised:
        engine.connect()
    assert str(raised.value) == (
        "connecting to localhost/x as sa failed (driver missing): the ODBC driver manager "
        f"cannot load 'ODBC Driver 18 for SQL Server'. {INSTALL_HINT.rstrip('.')}. Driver "
        f"message: {(state, message)!r}"
    )
    assert raised.value.reason == "driver missing"
    assert isinstance(raised.value, DriverNotFoundError)
    assert isinstance(raised.value, ConnectionFailedError)


def test_cli_driver_missing(
    driver: FakeDriver, capsys: pytest.CaptureFixture[str]
) -> None:
    driver.error = FakeError("01000", UNIX_ODBC_MISSING)
    url = "Driver={ODBC Driver 18 for SQL Server};Server=localhost;Database=x;UID=sa;PWD=p"
    status = main(["check-connection", "--url", url])
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.startswith(
        "error: connecting to localhost/master as sa failed (driver missing): the ODBC "
        "driver manager cannot load 'ODBC Driver 18 for SQL Server'. Install unixODBC"
    )
    assert "python -m pip install mssql-python" in captured.err


def test_driver_missing_names_chosen_driver(
    driver: FakeDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --odbc-driver the error names the driver that was looked up."""
    monkeypatch.setattr(
        "ontime_db.connection._settings.find_odbc_driver",
        lambda: "ODBC Driver 18 for SQL Server",
    )
    driver.error = FakeError("01000", UNIX_ODBC_MISSING)
    engine = connect(server="localhost", user="sa", password="Pa55-w0rd")
    with pytest.raises(DriverNotLoadedError) as raised:
        engine.connect()
    assert str(raised.value).startswith(
        "connecting to localhost/master as sa failed (driver missing): the ODBC driver "
        "manager cannot load 'ODBC Driver 18 for SQL Server'. Install unixODBC"
    )


def test_run_script_connect_failure(
    driver: FakeDriver, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """run-script reports a failed connect as the library's error, password masked."""
    driver.fail = True
    path = tmp_path / "one.sql"
    path.write_text("SELECT 1\n", encoding="utf-8")
    status = main(
        ["run-script", str(path), "--server", "db1", "--database", "ontimems",
         "--user", "OnTimeApp", "--password", SECRET, "--odbc-driver", "X"]
    )
    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.startswith(
        "error: connecting to db1/ontimems as OnTimeApp failed (server not found)"
    )
    assert "S3cr" not in captured.out + captured.err
