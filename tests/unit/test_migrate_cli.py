"""Argument handling of the migrate, history and validate verbs (no server is contacted)."""

from __future__ import annotations

import pytest

from ontime_db.cli import build_parser, main
from ontime_db.cli._common import rearrange_vendor_arguments

VENDOR_INTEGRATED = [
    "-skipDefaultCallbacks=true",
    "-url=jdbc:sqlserver://localhost:1433;databaseName=customname;integratedSecurity=true",
    "migrate",
]
VENDOR_LOGIN = [
    "-skipDefaultCallbacks=true",
    "-url=jdbc:sqlserver://localhost:1433;databaseName=customname;",
    "-user=OnTimeApp",
    "-password=xxxx",
    "migrate",
]


def _parse(arguments: list[str]) -> object:
    parser = build_parser()
    verbs = {"migrate", "history", "validate", "upgrade", "info"}
    return parser.parse_args(rearrange_vendor_arguments(arguments, verbs))


def test_vendor_line_integrated() -> None:
    args = _parse(VENDOR_INTEGRATED)
    assert args.command == "migrate"  # type: ignore[attr-defined]
    assert args.url == (  # type: ignore[attr-defined]
        "jdbc:sqlserver://localhost:1433;databaseName=customname;integratedSecurity=true"
    )
    assert args.skip_default_callbacks == "true"  # type: ignore[attr-defined]


def test_vendor_line_with_login() -> None:
    args = _parse(VENDOR_LOGIN)
    assert args.user == "OnTimeApp"  # type: ignore[attr-defined]
    assert args.password == "xxxx"  # type: ignore[attr-defined]
    assert args.skip_default_callbacks == "true"  # type: ignore[attr-defined]


def test_migrate_defaults() -> None:
    args = _parse(["migrate", "--database", "ontimems"])
    assert args.lock_timeout == 60.0  # type: ignore[attr-defined]
    assert args.target is None  # type: ignore[attr-defined]
    assert args.no_backup is False  # type: ignore[attr-defined]
    assert args.dry_run is False  # type: ignore[attr-defined]


def test_target_and_lock_timeout() -> None:
    args = _parse(["migrate", "--target", "26.2", "--lock-timeout", "2.5", "--no-backup"])
    assert args.target == "26.2"  # type: ignore[attr-defined]
    assert args.lock_timeout == 2.5  # type: ignore[attr-defined]
    assert args.no_backup is True  # type: ignore[attr-defined]


def test_skip_callbacks_bad_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "-skipDefaultCallbacks=maybe"]) == 2
    assert "invalid choice: 'maybe'" in capsys.readouterr().err


def test_from_needs_sql(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--from", "26.0"]) == 2
    assert capsys.readouterr().err == (
        "error: --from VERSION applies only with --sql; remove it or add --sql\n"
    )


def test_sql_excludes_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--sql", "--dry-run"]) == 2
    assert capsys.readouterr().err == "error: --sql and --dry-run exclude each other; choose one\n"


def test_sql_prints_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--sql", "--from", "26.3", "--database", "my db"]) == 0
    output = capsys.readouterr().out
    assert output.startswith("-- ontime_db migration script: from schema version 26.3 to 26.4.\n")
    assert "\nUSE [my db];\nGO\n" in output
    assert "ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON;" in output


def test_sql_database_from_vendor_url(capsys: pytest.CaptureFixture[str]) -> None:
    arguments = [*VENDOR_INTEGRATED, "--sql", "--from", "26.3"]
    assert main(arguments) == 0
    assert "\nUSE [customname];\nGO\n" in capsys.readouterr().out


def test_sql_unknown_version_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--sql", "--from", "15.0"]) == 1
    assert "python -m ontime_db upgrade" in capsys.readouterr().err


def test_validate_ignore_pending_flag() -> None:
    args = _parse(["validate", "--ignore-pending", "--migrations", "x"])
    assert args.ignore_pending is True  # type: ignore[attr-defined]
    assert args.migrations == "x"  # type: ignore[attr-defined]
