"""Arguments and reports of the migrate, history and validate verbs; no server is contacted."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine

from ontime_db.cli import build_parser, main
from ontime_db.cli._common import rearrange_vendor_arguments
from ontime_db.resources import migrations_dir, sql_dir

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


# -- the report of a failed migration ------------------------------------------


def _bench_fake() -> Any:
    """Load the recording fake DB-API of bench/bench_migrate.py, which replies as a database."""
    path = Path(__file__).resolve().parents[2] / "bench" / "bench_migrate.py"
    spec = importlib.util.spec_from_file_location("bench_migrate_fake", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _broken_set(tmp_path: Path) -> Path:
    """The main set with 26.1's script replaced by one that fails in its second batch."""
    folder = tmp_path / "broken"
    shutil.copytree(
        migrations_dir(),
        folder,
        ignore=shutil.ignore_patterns("pollarity", "catering", "__pycache__"),
    )
    shutil.copytree(sql_dir() / "ontimems", folder / "sql" / "ontimems")
    (folder / "sql" / "ontimems" / "V26_1__split_calendar_display.sql").write_text(
        "CREATE TABLE dbo.half_done (i int NOT NULL);\nGO\n"
        "INSERT INTO dbo.no_such_table (i) VALUES (1);\nGO\n",
        "utf-8",
    )
    return folder


def test_failed_migration_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI names what was applied, what failed and where, the version, and the rollback.

    A recording fake DB-API replaces the server. It raises SQL Server's error
    208 for the failing batch in pyodbc's format, and the backup is replaced
    by a record. This checks the report, not SQL Server.
    """
    bench = _bench_fake()
    bench.DATABASE_STATE.version = "26.0"
    bench.DATABASE_STATE.tables = {"alembic_version", "ontime_db_history"}
    answer = bench.FakeCursor._answer

    def failing_answer(self: Any, sql: str, parameters: Any) -> Any:
        if "dbo.no_such_table" in sql:
            raise bench.FakeError(
                "42S02",
                "[42S02] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Invalid object "
                "name 'dbo.no_such_table'. (208) (SQLExecDirectW)",
            )
        return answer(self, sql, parameters)

    monkeypatch.setattr(bench.FakeCursor, "_answer", failing_answer)
    engine = create_engine(
        "mssql+pyodbc://db1/ontimems?driver=fake", module=bench.FakeDbApi, pool_pre_ping=False
    )

    @contextmanager
    def engine_scope(target: Any, **options: Any) -> Iterator[Any]:
        yield engine

    def backup(target: Any, database: str, **options: Any) -> Any:
        return SimpleNamespace(path="/backups/OnTime(2026-12-04-130509).bak")

    monkeypatch.setattr(importlib.import_module("ontime_db.connection"), "engine_scope",
                        engine_scope)
    monkeypatch.setattr(importlib.import_module("ontime_db.backups"), "backup", backup)
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")
    folder = _broken_set(tmp_path)

    status = main(
        ["migrate", "--server", "db1", "--database", "ontimems", "--user", "OnTimeApp",
         "--migrations", str(folder), "--yes"]
    )

    output = capsys.readouterr()
    script = folder / "sql" / "ontimems" / "V26_1__split_calendar_display.sql"
    assert status == 1
    assert output.err == (
        f"error: migration of 'ontimems' failed in migration 26.1 ({script}, batch 2, line 3): "
        "error 208: Invalid object name 'dbo.no_such_table'. Applied in this run: none. The "
        "database is at schema version 26.0. Fix the cause and run migrate again, or restore "
        "the backup taken before this run with: python -m ontime_db rollback --server db1 "
        "--user OnTimeApp --database ontimems\n"
    )
    assert "S3cret" not in output.out + output.err
