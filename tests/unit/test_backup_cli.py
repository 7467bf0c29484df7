"""The backup verbs of the command line: parsing, what they pass to the library, output.

The library functions are replaced by recorders here, so these tests check
only the command-line layer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

import ontime_db.backups as backup_api
from ontime_db.backups import BackupRecord, RenameResult, RestoreResult
from ontime_db.cli import backup_cmd, main
from ontime_db.errors import DatabaseInUseError

TARGET = object()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    recorded: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(backup_cmd, "connection_settings", lambda args: TARGET)

    def recorder(name: str, result: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            recorded.append((name, args, kwargs))
            if isinstance(result, BaseException):
                raise result
            return result

        return call

    record = BackupRecord(
        path="C:\\SqlServerBackups\\OnTime(2026-12-04-193000).bak",
        database="ontimems",
        started=datetime(2026, 12, 4, 19, 30),
        finished=datetime(2026, 12, 4, 19, 31),
        size=3_145_728,
        compressed_size=None,
        first_lsn=1,
        last_lsn=2,
        has_checksums=True,
        copy_only=False,
        verified=True,
    )
    restored = RestoreResult(
        database="copy",
        path="/b/x.bak",
        source_database="ontimems",
        backup_finished=None,
        replaced=False,
        schema_version="25.8",
        files=(("ontimems", "/d/copy.mdf"),),
    )
    monkeypatch.setattr(backup_api, "backup", recorder("backup", record))
    monkeypatch.setattr(backup_api, "restore", recorder("restore", restored))
    monkeypatch.setattr(
        backup_api, "rename", recorder("rename", RenameResult(old="ontimems.25.8", new="ontimems"))
    )
    monkeypatch.setattr(
        backup_api,
        "list_backups",
        recorder("list_backups", DatabaseInUseError("in use", sessions=("s1",))),
    )
    return recorded


def test_backup_verb(calls: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["backup", "--folder", "D:\\B", "--copy-only", "--no-compression", "--purpose", "x"]
    )

    assert status == 0
    name, args, kwargs = calls[0]
    assert (name, args) == ("backup", (TARGET,))
    assert kwargs["folder"] == "D:\\B"
    assert kwargs["copy_only"] is True
    assert kwargs["compression"] is False
    assert kwargs["verify"] is True
    assert kwargs["vendor_layout"] is False
    assert kwargs["purpose"] == "x"
    assert capsys.readouterr().out == (
        "backed up 'ontimems' to C:\\SqlServerBackups\\OnTime(2026-12-04-193000).bak "
        "(3.0 MB, verified)\n"
    )


def test_backup_verb_defaults(calls: list[Any]) -> None:
    assert main(["backup", "--vendor-layout", "--no-verify"]) == 0

    kwargs = calls[0][2]
    assert kwargs["compression"] is None
    assert kwargs["verify"] is False
    assert kwargs["vendor_layout"] is True
    assert kwargs["purpose"] == "manual backup"


def test_restore_verb(calls: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["restore", "/b/x.bak", "--as", "copy", "--replace"]) == 0

    name, args, kwargs = calls[0]
    assert (name, args) == ("restore", (TARGET, "/b/x.bak"))
    assert kwargs["as_name"] == "copy"
    assert kwargs["replace"] is True
    assert kwargs["force"] is False
    assert capsys.readouterr().out == (
        "restored /b/x.bak as 'copy'\n  ontimems -> /d/copy.mdf\nschema version: 25.8\n"
    )


def test_restore_needs_as(calls: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["restore", "/b/x.bak"]) == 2
    assert "the following arguments are required: --as" in capsys.readouterr().err
    assert calls == []


def test_rename_verb(calls: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rename", "ontimems.25.8", "ontimems", "--files", "--force"]) == 0

    assert calls[0] == (
        "rename",
        (TARGET, "ontimems.25.8", "ontimems"),
        {"files": True, "force": True},
    )
    assert capsys.readouterr().out == "renamed database 'ontimems.25.8' to 'ontimems'\n"


def test_failure_exit_status(calls: list[Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backups", "--database", "ontimems"]) == 1
    assert calls[0][1] == (TARGET, "ontimems")
    assert capsys.readouterr().err == "error: in use\n"


def test_backup_verbs_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0

    out = capsys.readouterr().out
    for verb in ("backup", "restore", "rename", "backups", "rollback"):
        assert f"    {verb} " in out
