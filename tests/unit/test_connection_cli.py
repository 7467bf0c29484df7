"""The ``check-connection`` verb: what it prints and its exit codes.

``check_connection`` is replaced with set results, so these tests check the
command line's wording and exit codes; the live tests reach a server.
"""

from __future__ import annotations

from typing import Any

import pytest

import ontime_db.connection
from ontime_db.catalog import ServerInfo
from ontime_db.cli import main
from ontime_db.connection import ConnectionCheck
from ontime_db.errors import ConnectionFailedError

SERVER = ServerInfo("16.0.4135.4", "Developer Edition (64-bit)", "RTM", "SQL1", "OnTimeApp")
ARGUMENTS = [
    "check-connection",
    "--server",
    "db1",
    "--database",
    "ontimems",
    "--user",
    "OnTimeApp",
    "--password",
    "pw",
]


class FakeCheck:
    """Stands in for check_connection: returns or raises ``result`` and records the targets."""

    def __init__(self) -> None:
        self.result: Any = None
        self.targets: list[Any] = []

    def __call__(self, target: Any, *, database: str | None = None) -> ConnectionCheck:
        self.targets.append(target)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result  # type: ignore[no-any-return]


@pytest.fixture
def check(monkeypatch: pytest.MonkeyPatch) -> FakeCheck:
    fake = FakeCheck()
    monkeypatch.setattr(ontime_db.connection, "check_connection", fake)
    monkeypatch.delenv("ONTIME_DB_PASSWORD", raising=False)
    return fake


def test_check_ok(check: FakeCheck, capsys: pytest.CaptureFixture[str]) -> None:
    check.result = ConnectionCheck("db1/ontimems as OnTimeApp", SERVER, "ontimems", True)
    assert main(ARGUMENTS) == 0
    assert capsys.readouterr().out.splitlines() == [
        "server:   SQL1",
        "version:  SQL Server 16.0.4135.4 RTM",
        "edition:  Developer Edition (64-bit)",
        "login:    OnTimeApp",
        "database: ontimems (exists)",
        "OK: the connection to the database works",
    ]
    assert check.targets[0].password == "pw"


def test_check_database_missing(check: FakeCheck, capsys: pytest.CaptureFixture[str]) -> None:
    check.result = ConnectionCheck("db1/nope as OnTimeApp", SERVER, "nope", False)
    assert main(ARGUMENTS) == 1
    captured = capsys.readouterr()
    assert "database: nope (does not exist)\n" in captured.out
    assert "OK" not in captured.out
    assert captured.err == (
        "error: database 'nope' does not exist on db1; `ontime-db discover` lists the "
        "server's OnTime databases\n"
    )


def test_check_no_database(check: FakeCheck, capsys: pytest.CaptureFixture[str]) -> None:
    check.result = ConnectionCheck("db1 as OnTimeApp", SERVER, None, None)
    assert main(["check-connection", "--server", "db1", "--user", "u", "--password", "p"]) == 0
    assert "database: (none given)\n" in capsys.readouterr().out


def test_check_login_failed(check: FakeCheck, capsys: pytest.CaptureFixture[str]) -> None:
    check.result = ConnectionFailedError(
        "connecting to db1/ontimems as OnTimeApp failed (login failed): check the login "
        "name and password",
        reason="login failed",
    )
    assert main(ARGUMENTS) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(
        "error: connecting to db1/ontimems as OnTimeApp failed (login failed)"
    )
    assert "pw" not in captured.err


def test_check_password_from_environment(check: FakeCheck, monkeypatch: pytest.MonkeyPatch) -> None:
    check.result = ConnectionCheck("x", SERVER, "ontimems", True)
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "from-env")
    assert main(["check-connection", "--server", "db1", "--user", "u"]) == 0
    assert check.targets[0].password == "from-env"


def test_check_bad_extra(check: FakeCheck, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-connection", "--server", "db1", "--extra", "integratedSecurity=maybe"]) == 2
    assert capsys.readouterr().err == (
        "error: invalid value 'maybe' for integratedSecurity: expected true or false\n"
    )
