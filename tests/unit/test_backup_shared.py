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
