"""Session listing, own-process detection and connection handling shared by the operations.

The pool and reconnect tests use a real SQLAlchemy engine on SQLite: they
check SQLAlchemy's pool and invalidation behaviour, which does not depend on
the database behind it. What SQL Server does with the SQL is left to
tests/live.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from ontime_db.backups import shared
from ontime_db.backups.server import ConnectionSession
from ontime_db.errors import BatchError


@pytest.fixture
def this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared.os, "getpid", lambda: 4242)
    monkeypatch.setattr(shared.socket, "gethostname", lambda: "AppServer01.corp.example")


def _row(host: str | None, pid: int | None) -> dict[str, object]:
    return {
        "session_id": 60,
        "login_name": "sa",
        "host_name": host,
        "host_process_id": pid,
        "program_name": "python",
    }


@pytest.mark.parametrize(
    ("host", "pid", "own"),
    [
        ("AppServer01", 4242, True),
        ("APPSERVER01", 4242, True),
        ("appserver01.corp.example", 4242, True),
        ("AppServer01", 4243, False),
        ("Other", 4242, False),
        (None, 4242, False),
        ("AppServer01", None, False),
    ],
    ids=["same", "case", "fqdn", "other-pid", "other-host", "no-host", "no-pid"],
)
def test_own_process(this_process: None, host: str | None, pid: int | None, own: bool) -> None:
    assert shared.session_info(_row(host, pid)).own_process is own


def test_own_process_netbios_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows sends the 15-character NetBIOS name of a longer computer name."""
    monkeypatch.setattr(shared.os, "getpid", lambda: 7)
    monkeypatch.setattr(shared.socket, "gethostname", lambda: "ontime-app-server-01")

    assert shared.session_info(_row("ONTIME-APP-SERV", 7)).own_process is True


def test_session_describe(this_process: None) -> None:
    info = shared.session_info(_row("AppServer01", 4242))

    assert info.describe() == (
        "session 60: login 'sa' on host 'AppServer01', program 'python' (this process, id 4242)"
    )


def test_in_use_message_other_only() -> None:
    info = shared.SessionInfo(61, "OnTimeApp", "APP1", "OnTime", 9, own_process=False)

    text = shared.in_use_message("ontimems", [info], action="restore it")

    assert text == (
        "database 'ontimems' is in use by 1 other session(s): session 61: login 'OnTimeApp' "
        "on host 'APP1', program 'OnTime'. Close them, or pass --force (force=True) to end "
        "them with ROLLBACK IMMEDIATE"
    )


def test_release_pool_same_database(tmp_path: Path) -> None:
    path = str(tmp_path / "ontimems")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect():
        pass
    assert engine.pool.checkedin() == 1

    shared.release_pooled_connections(engine, path)

    assert engine.pool.checkedin() == 0
    engine.dispose()


def test_release_pool_other_database(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'master'}")
    with engine.connect():
        pass

    shared.release_pooled_connections(engine, str(tmp_path / "ontimems"))

    assert engine.pool.checkedin() == 1
    engine.dispose()


def test_release_pool_url_target() -> None:
    """A URL or settings target has no pool of the caller's to close."""
    shared.release_pooled_connections("mssql+pyodbc://sa:x@h/ontimems", "ontimems")


def test_session_reconnects_after_abort(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db'}", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        session = ConnectionSession(connection)
        assert session.query("SELECT 1 AS a") == [{"a": 1}]

        session.abort()

        assert connection.invalidated
        assert session.query("SELECT :v AS b", {"v": 2}) == [{"b": 2}]
        assert not connection.invalidated
    engine.dispose()


class _PyodbcLikeError(Exception):
    """An error shaped like pyodbc's: SQLSTATE, then every diagnostic record joined by "; "."""


class _FailingConnection:
    """A connection whose every query fails with ``error``; it checks only the error handling."""

    invalidated = False

    def __init__(self, error: Exception) -> None:
        self._error = error

    def exec_driver_sql(self, sql: str) -> None:
        raise self._error


def test_session_query_error_number() -> None:
    """The first record that is not a warning gives the number and the text, without prefixes."""
    from sqlalchemy.exc import DBAPIError

    text = (
        "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Cannot open backup "
        "device 'C:\\b.bak'. Operating system error 2. (3201) (SQLExecDirectW); "
        "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]RESTORE HEADERONLY "
        "is terminating abnormally. (3013)"
    )
    sql = "RESTORE HEADERONLY FROM DISK = N'C:\\b.bak'"
    failure = DBAPIError(sql, None, _PyodbcLikeError("42000", text))
    session = ConnectionSession(_FailingConnection(failure))  # type: ignore[arg-type]

    with pytest.raises(BatchError) as caught:
        session.query(sql)

    assert caught.value.number == 3201
    assert caught.value.server_message == (
        "Cannot open backup device 'C:\\b.bak'. Operating system error 2."
    )
    assert str(caught.value) == (
        f"SQL Server rejected {sql!r}: SQL Server error 3201: Cannot open backup device "
        "'C:\\b.bak'. Operating system error 2."
    )


def test_session_query_error_other_driver(tmp_path: Path) -> None:
    """An error text without SQL Server's records keeps its text and has no number."""
    engine = create_engine(f"sqlite:///{tmp_path / 'db'}")
    with engine.connect() as connection:
        session = ConnectionSession(connection)

        with pytest.raises(BatchError) as caught:
            session.query("SELECT * FROM missing_table")

    assert caught.value.number is None
    assert caught.value.server_message == "no such table: missing_table"
    assert str(caught.value) == (
        "SQL Server rejected 'SELECT * FROM missing_table': no such table: missing_table"
    )
    engine.dispose()
