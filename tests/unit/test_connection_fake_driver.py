"""Engines built by ontime_db on a fake DB-API module: open sessions and password leaks.

The fake module stands in for pyodbc behind SQLAlchemy's real mssql+pyodbc
dialect. It records the ODBC connection string each ``connect`` receives
and whether each connection was closed, and its ``connect`` can fail with
a message that echoes the whole connection string, password included.
These tests check what ontime_db hands to the driver and what it shows
afterwards; they prove nothing about SQL Server itself.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.mssql.pyodbc import MSDialect_pyodbc
from sqlalchemy.exc import DBAPIError

from ontime_db.cli import main
from ontime_db.connection import (
    ConnectionSettings,
    check_connection,
    connect,
    connection_error,
    engine_for,
    engine_scope,
)
from ontime_db.errors import ConnectionFailedError

SECRET = "S3cr;et}=pw{"
# The same password as it appears in an ODBC connection string.
SECRET_IN_ODBC = "{S3cr;et}}=pw{}"


class FakeError(Exception):
    """The fake driver's error class, shaped like pyodbc's: (SQLSTATE, message)."""


class FakeCursor:
    description: Any = None
    rowcount = -1

    def execute(self, sql: str, *parameters: Any) -> None:
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
    Cursor = FakeCursor

    def __init__(self) -> None:
        self.connections: list[FakeConnection] = []
        self.fail = False
        # pyodbc's default: the driver manager pools connections.
        self.pooling = True

    def connect(self, connection_string: str, **options: Any) -> FakeConnection:
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
    # The real dialect asks the server for its version and sets pyodbc
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
    assert isinstance(raised.value.__cause__, DBAPIError)


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
    assert captured.err.startswith(
        "error: connecting to db1/ontimems as OnTimeApp failed (server not found)"
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
