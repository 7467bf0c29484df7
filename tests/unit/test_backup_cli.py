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


# -- values checked before connecting -------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the verb reaches the point of building a connection."""

    def connection_settings(args: Any) -> Any:
        raise AssertionError("the input is checked before connecting")

    monkeypatch.setattr(backup_cmd, "connection_settings", connection_settings)


def _usage_error(err: str, verb: str, message: str) -> None:
    assert err.startswith(f"usage: ontime-db {verb} [-h] ")
    assert err.endswith(f"\nontime-db {verb}: error: {message}\n")


def test_folder_excludes_vendor_layout(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backup", "--folder", "x", "--vendor-layout"]) == 2
    _usage_error(
        capsys.readouterr().err, "backup", "argument --vendor-layout: not allowed with argument "
        "--folder"
    )


def test_rename_same_name(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rename", "ontimems", "ontimems"]) == 2
    assert capsys.readouterr().err == (
        "error: the new name 'ontimems' is the current name; nothing to rename: give another "
        "NEW name\n"
    )


def test_rename_case_only(calls: list[Any]) -> None:
    """Under a case-insensitive collation a change of case is a rename the server accepts."""
    assert main(["rename", "OnTimeMS", "ontimems"]) == 0
    assert calls[0][1] == (TARGET, "OnTimeMS", "ontimems")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["rename", "", "x"], "argument OLD: invalid database name '': a name must not be empty"),
        (
            ["rename", "x", "y "],
            "argument NEW: invalid database name 'y ': remove the leading or trailing white space",
        ),
        (
            ["restore", "", "--as", ""],
            "argument SERVER_PATH: invalid path '': expected a file or folder path on the SQL "
            "Server's machine",
        ),
        (
            ["restore", "/b/x.bak", "--as", ""],
            "argument --as: invalid database name '': a name must not be empty",
        ),
        (
            ["restore", "/b/x.bak", "--as", "a\nb"],
            "argument --as: invalid database name 'a\\nb': it contains the control character "
            "'\\n' (U+000A); use a name without tabs, line breaks or other control characters",
        ),
        (
            ["backup", "--folder", ""],
            "argument --folder: invalid path '': expected a file or folder path on the SQL "
            "Server's machine",
        ),
        (
            ["backups", "--database", "x" * 129],
            f"argument --database/-database: invalid database name '{'x' * 129}': 129 "
            "characters, SQL Server allows at most 128",
        ),
    ],
    ids=["rename-empty", "rename-space", "restore-empty", "restore-as-empty", "restore-newline",
         "backup-folder-empty", "database-too-long"],
)
def test_invalid_names(
    arguments: list[str], message: str, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(arguments) == 2
    _usage_error(capsys.readouterr().err, arguments[0], message)


@pytest.mark.parametrize(
    "name",
    ["a]b", "ontimems.25.8", "my db", "O'Hare", "Größe_版本", "x]; DROP DATABASE [y"],
    ids=["bracket", "dot", "space", "quote", "non-ascii", "injection"],
)
def test_restore_valid_names(name: str, calls: list[Any]) -> None:
    """Names SQL Server stores are passed on as written; quoting is the library's job."""
    assert main(["restore", "/b/x.bak", "--as", name]) == 0
    assert calls[0][2]["as_name"] == name


@pytest.mark.parametrize("verb", ["backup", "rollback"])
def test_url_without_database(
    verb: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A JDBC URL cut at its first ';' by the shell names no database: the verb stops offline."""
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    assert main([verb, "-url=jdbc:sqlserver://localhost:1433", "--user", "sa"]) == 2
    output = capsys.readouterr()
    assert output.out == ""
    assert output.err == (
        "error: no database given: pass --database NAME (or a --url that names one; quote a "
        "JDBC URL that contains ';')\n"
    )
