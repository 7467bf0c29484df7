"""No connection of this process stays open in a database when the upgrade renames it.

A fake DB-API module counts the connections SQLAlchemy opens and closes. The
rename itself is replaced by a function that records how many are still open
when it is called. This checks what the library does with its own
connections. It proves nothing about SQL Server, which rejects a rename of a
database that any session uses; the live tests cover that.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from ontime_db.upgrades.runner import ServerOperations


class FakeError(Exception):
    pass


class FakeCursor:
    def __init__(self) -> None:
        self.description: list[tuple[Any, ...]] | None = None
        self.rows: list[tuple[Any, ...]] = []
        self.rowcount = -1

    def execute(self, sql: str, *parameters: Any) -> FakeCursor:
        lowered = sql.lower()
        if "productversion" in lowered:
            self.rows = [("16.0.1000.6",)]
        elif "schema_name()" in lowered:
            self.rows = [("dbo",)]
        elif "transaction_isolation_level" in lowered or "dm_exec_sessions" in lowered:
            self.rows = [("READ COMMITTED",)]
        else:
            self.rows = [(1,)]
        self.description = [("c", None, None, None, None, None, None)]
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows.pop(0) if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self.rows = self.rows, []
        return rows

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        rows, self.rows = self.rows[:size], self.rows[size:]
        return rows

    def nextset(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def setinputsizes(self, *args: Any) -> None:
        pass


class FakeConnection:
    def __init__(self, module: type[FakeDbApi]) -> None:
        self.module = module
        self.autocommit = False
        module.open_connections += 1

    def cursor(self) -> FakeCursor:
        return FakeCursor()

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        self.module.open_connections -= 1

    def add_output_converter(self, *args: Any) -> None:
        pass

    def getinfo(self, code: int) -> str:
        return "16.00.1000" if code == FakeDbApi.SQL_DBMS_VER else "fake"


class FakeDbApi:
    """The names SQLAlchemy's mssql+pyodbc dialect reads from a DB-API module."""

    open_connections = 0
    paramstyle = "qmark"
    version = "5.0.0"
    version_info = (5, 0, 0)
    Error = DatabaseError = OperationalError = InterfaceError = ProgrammingError = FakeError
    IntegrityError = DataError = NotSupportedError = InternalError = FakeError
    Warning = Warning
    NUMBER = STRING = BINARY = DATETIME = ROWID = object()
    SQL_DBMS_VER = 18
    SQL_DRIVER_NAME = 6
    SQL_WVARCHAR = -9
    SQL_VARCHAR = 12
    SQL_VARBINARY = -3
    SQL_CHAR = 1
    SQL_WCHAR = -8
    SQL_TYPE_TIMESTAMP = 93
    Cursor = FakeCursor

    @classmethod
    def connect(cls, *args: Any, **kwargs: Any) -> FakeConnection:
        return FakeConnection(cls)


@pytest.fixture
def fake_engine() -> Any:
    FakeDbApi.open_connections = 0
    engine = create_engine(
        "mssql+pyodbc://db1/ontimems?driver=fake", module=FakeDbApi, pool_pre_ping=False
    )
    yield engine
    engine.dispose()


def _record_rename(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, int]]:
    renames: list[tuple[str, str, int]] = []

    def rename(target: Any, old: str, new: str, *, force: bool = False) -> None:
        renames.append((old, new, FakeDbApi.open_connections))

    # ontime_db.backups as an attribute path is the backup function, so the
    # package is looked up by module name.
    monkeypatch.setattr(importlib.import_module("ontime_db.backups"), "rename", rename)
    return renames


def test_rename_closes_pooled_connection(
    fake_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that planning returned to the caller's pool is closed before the rename."""
    renames = _record_rename(monkeypatch)
    with fake_engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert FakeDbApi.open_connections == 1  # QueuePool keeps it open after use

    ServerOperations(fake_engine).rename("ontimems", "ontimems_before_25.8_20261204")

    assert renames == [("ontimems", "ontimems_before_25.8_20261204", 0)]


def test_execute_leaves_no_connection(fake_engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step in another database disposes of the engine it created for that database."""
    renames = _record_rename(monkeypatch)

    def engine_for(target: Any, *, database: str | None = None, autocommit: bool = False) -> Any:
        url = target.url.set(database=database)
        level = "AUTOCOMMIT" if autocommit else "READ COMMITTED"
        return create_engine(url, module=FakeDbApi, pool_pre_ping=False, isolation_level=level)

    monkeypatch.setattr(importlib.import_module("ontime_db.connection"), "engine_for", engine_for)
    operations = ServerOperations(fake_engine)

    operations.execute("ontimems.25.8", "SELECT 1;", on_message=lambda message: None)
    assert FakeDbApi.open_connections == 0
    operations.rename("ontimems.25.8", "ontimems")

    assert renames == [("ontimems.25.8", "ontimems", 0)]


def test_execute_same_database_no_connection(
    fake_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step in the target's own database uses the caller's Engine and empties its pool."""
    renames = _record_rename(monkeypatch)
    operations = ServerOperations(fake_engine)

    operations.execute("ontimems", "SELECT 1;", on_message=lambda message: None)
    assert FakeDbApi.open_connections == 0
    operations.rename("ontimems", "ontimems_old")

    assert renames == [("ontimems", "ontimems_old", 0)]
