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
from ontime_db.version import SchemaVersion

KNOWN = "25.8, 26.0, 26.1, 26.2, 26.3, 26.4"
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
    assert args.target == SchemaVersion(26, 2)  # type: ignore[attr-defined]
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
    assert main(["migrate", "--sql", "--from", "15.0"]) == 2
    assert capsys.readouterr().err == (
        f"error: argument --from: schema version '15.0' is not in the migration set "
        f"{migrations_dir()} (known versions: {KNOWN}): it is older than the first migration "
        "25.8; upgrade it with `python -m ontime_db upgrade`, which copies the data into a new "
        "database at 25.8 (the legacy route)\n"
    )


# -- values checked before connecting -------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the verb reaches the point of building a connection."""
    from ontime_db.cli import migrate_cmd

    def connection_settings(args: Any) -> Any:
        raise AssertionError("the input is checked before connecting")

    monkeypatch.setattr(migrate_cmd, "connection_settings", connection_settings)


def _usage_error(err: str, message: str) -> None:
    assert err.startswith("usage: ontime-db migrate [-h] ")
    assert err.endswith(f"\nontime-db migrate: error: {message}\n")


BAD_VERSIONS = ["25.8.1", "abc", "", "v25.8"]
BAD_VERSION_IDS = ["three-parts", "word", "empty", "prefix"]


@pytest.mark.parametrize("text", BAD_VERSIONS, ids=BAD_VERSION_IDS)
def test_sql_from_invalid(text: str, offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--sql", "--from", text]) == 2
    _usage_error(
        capsys.readouterr().err,
        f"argument --from: invalid schema version {text!r}: expected MAJOR or MAJOR.MINOR, "
        "for example '15' or '25.8'",
    )


@pytest.mark.parametrize("text", BAD_VERSIONS, ids=BAD_VERSION_IDS)
def test_target_invalid(text: str, offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--server", "db1", "--target", text]) == 2
    _usage_error(
        capsys.readouterr().err,
        f"argument --target/--to: invalid schema version {text!r}: expected MAJOR or "
        "MAJOR.MINOR, for example '15' or '25.8'",
    )


@pytest.mark.parametrize("sql", [False, True], ids=["online", "sql"])
def test_target_not_in_set(sql: bool, offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    arguments = ["migrate", "--server", "db1", "--target", "99.0"]
    assert main([*arguments, "--sql"] if sql else arguments) == 2
    assert capsys.readouterr().err == (
        f"error: argument --target: schema version '99.0' is not in the migration set "
        f"{migrations_dir()} (known versions: {KNOWN}); choose one of them, or leave --target "
        "out for the newest, 26.4\n"
    )


def test_sql_from_not_in_set(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--sql", "--from", "25"]) == 2
    assert capsys.readouterr().err == (
        f"error: argument --from: schema version '25' is not in the migration set "
        f"{migrations_dir()} (known versions: {KNOWN}): it is older than the first migration "
        "25.8; upgrade it with `python -m ontime_db upgrade`, which copies the data into a new "
        "database at 25.8 (the legacy route)\n"
    )


def test_sql_from_after_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--sql", "--from", "26.2", "--target", "26.0"]) == 2
    assert capsys.readouterr().err == (
        "error: argument --from: schema version '26.2' is newer than --target 26.0: migrate "
        "does not downgrade; give a --from at or below --target\n"
    )


@pytest.mark.parametrize("text", ["-5", "abc", "nan"], ids=["negative", "word", "nan"])
def test_lock_timeout_invalid(
    text: str, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--server", "db1", "--lock-timeout", text]) == 2
    _usage_error(
        capsys.readouterr().err,
        f"argument --lock-timeout: invalid number of seconds {text!r}: expected a number >= 0, "
        "for example 60 or 2.5",
    )


def test_lock_timeout_zero() -> None:
    assert _parse(["migrate", "--lock-timeout", "0"]).lock_timeout == 0.0  # type: ignore[attr-defined]


def test_migrations_folder_missing(
    offline: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["migrate", "--server", "db1", "--migrations", "nosuchdir"]) == 2
    assert capsys.readouterr().err == (
        "error: migration set folder 'nosuchdir' does not exist; check the path given to "
        "--migrations\n"
    )


def test_validate_folder_missing(
    offline: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--server", "db1", "--migrations", "nosuchdir"]) == 2
    assert capsys.readouterr().err == (
        "error: migration set folder 'nosuchdir' does not exist; check the path given to "
        "--migrations\n"
    )


def test_backup_folder_empty(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--server", "db1", "--backup-folder", " "]) == 2
    _usage_error(
        capsys.readouterr().err,
        "argument --backup-folder: invalid path ' ': expected a file or folder path on the SQL "
        "Server's machine",
    )


def test_yes_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--help"]) == 0
    assert (
        "--yes, -y on a terminal migrate asks before changing the database; --yes skips the "
        "question; without a terminal it does not ask"
    ) in " ".join(capsys.readouterr().out.split())


# -- the question before migrating ---------------------------------------------


def _plan(current: str) -> Any:
    from ontime_db.migration import build_plan, load_set

    chain = load_set()
    return build_plan(
        chain, current=SchemaVersion.parse(current), target=chain.newest, database="ontimems"
    )


@pytest.fixture
def asking(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """A terminal on standard input, a plan from 26.2 and a migrate that must not run.

    The plan is built from the shipped set as if the database were read at
    26.2, so no server is contacted; the returned list records the plan calls.
    """
    import ontime_db.migration

    planned: list[Any] = []

    def migrate(*args: Any, **options: Any) -> Any:
        raise AssertionError("the database is not migrated without a yes")

    def plan_migration(target: Any, **options: Any) -> Any:
        planned.append((target, options))
        return _plan("26.2")

    monkeypatch.setattr(ontime_db.migration, "migrate", migrate)
    monkeypatch.setattr(ontime_db.migration, "plan_migration", plan_migration)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")
    return planned


def _answer_with(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> list[str]:
    prompts: list[str] = []

    def fake_input(prompt: str) -> str:
        prompts.append(prompt)
        raise error

    monkeypatch.setattr("builtins.input", fake_input)
    return prompts


MIGRATE_ARGUMENTS = ["migrate", "--server", "db1", "--database", "ontimems", "--user", "OnTimeApp"]


def test_prompt_end_of_input(
    asking: list[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = _answer_with(monkeypatch, EOFError())

    assert main(MIGRATE_ARGUMENTS) == 1
    output = capsys.readouterr()
    assert prompts == ["Migrate db1/ontimems as OnTimeApp? [y/N] "]
    assert output.out == PLAN_26_2 + "\nnothing was changed\n"
    assert output.err == ""


PLAN_26_2 = (
    "ontimems: from schema version 26.2 to 26.4, 2 migration(s)\n"
    "  1. 26.3  replace api.list_users  (ontimems/V26_3__replace_list_users.sql; "
    "transactional)\n"
    "  2. 26.4  allow snapshot isolation  (ontimems/V26_4__allow_snapshot_isolation.sql; "
    "autocommit, not rollback-safe)\n"
)


def test_plan_before_question(
    asking: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan is read from the database (here: recorded) before the question."""
    _answer_with(monkeypatch, EOFError())

    assert main([*MIGRATE_ARGUMENTS, "--target", "26.4"]) == 1
    assert len(asking) == 1
    settings, options = asking[0]
    assert settings.describe() == "db1/ontimems as OnTimeApp"
    assert options == {"to": SchemaVersion(26, 4), "migrations": None}


def test_up_to_date_no_question(
    asking: list[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ontime_db.migration

    prompts = _answer_with(monkeypatch, AssertionError("no question when up to date"))
    monkeypatch.setattr(ontime_db.migration, "plan_migration", lambda *a, **k: _plan("26.4"))

    assert main(MIGRATE_ARGUMENTS) == 0
    output = capsys.readouterr()
    assert prompts == []
    assert output.out == "ontimems is up to date at 26.4\n"
    assert output.err == ""


def test_prompt_ctrl_c(
    asking: list[Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _answer_with(monkeypatch, KeyboardInterrupt())

    assert main(MIGRATE_ARGUMENTS) == 130
    assert capsys.readouterr().err == "error: interrupted; nothing was changed\n"


# -- the --sql script without a database ---------------------------------------

NO_USE = "the script has no USE line: run it in the database to migrate, or give --database"
NO_USE_COMMENT = (
    "-- The script has no USE line: run it in the database to migrate, or give --database."
)


def test_sql_without_database_warns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--sql", "--from", "25.8"]) == 0
    output = capsys.readouterr()
    assert output.err == f"warning: {NO_USE}\n"
    assert f"\n{NO_USE_COMMENT}\n" in output.out
    assert "\nUSE " not in output.out.split("-- Running upgrade", 1)[0]


def test_sql_with_database_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--sql", "--from", "25.8", "--database", "ontimems"]) == 0
    output = capsys.readouterr()
    assert output.err == ""
    assert "no USE line" not in output.out


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


def test_interrupted_migration_report(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ctrl-C inside a migration logs the state and the rollback, and releases the lock.

    A recording fake DB-API replaces the server and raises KeyboardInterrupt
    while the second batch of 26.1 runs. This checks the report and the
    statements sent afterwards, not SQL Server.
    """
    bench = _bench_fake()
    bench.DATABASE_STATE.version = "26.0"
    bench.DATABASE_STATE.tables = {"alembic_version", "ontime_db_history"}
    answer = bench.FakeCursor._answer
    sent: list[str] = []

    def interrupted_answer(self: Any, sql: str, parameters: Any) -> Any:
        sent.append(sql)
        if "dbo.no_such_table" in sql:
            raise KeyboardInterrupt
        return answer(self, sql, parameters)

    monkeypatch.setattr(bench.FakeCursor, "_answer", interrupted_answer)
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

    with caplog.at_level("WARNING", logger="ontime_db.migration.engine"):
        status = main(
            ["migrate", "--server", "db1", "--database", "ontimems", "--user", "OnTimeApp",
             "--migrations", str(folder), "--yes"]
        )

    script = folder / "sql" / "ontimems" / "V26_1__split_calendar_display.sql"
    assert status == 130
    assert capsys.readouterr().err.endswith(
        "error: interrupted; see the log above for the state the operation left\n"
    )
    assert [record.getMessage() for record in caplog.records] == [
        f"migration of 'ontimems' was interrupted in migration 26.1 ({script}). Applied in "
        "this run: none. The database is at schema version 26.0. Run migrate again, or "
        "restore the backup taken before this run with: python -m ontime_db rollback "
        "--server db1 --user OnTimeApp --database ontimems"
    ]
    interrupted_at = next(i for i, sql in enumerate(sent) if "dbo.no_such_table" in sql)
    assert any("sp_releaseapplock" in sql for sql in sent[interrupted_at:])
    assert any("INSERT INTO dbo.ontime_db_history" in sql for sql in sent[interrupted_at:])


# -- options --sql ignores or excludes -------------------------------------------


def test_sql_and_json(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--sql", "--json"]) == 2
    assert capsys.readouterr().err == (
        "error: --sql and --json exclude each other: --json reports a migration that ran, "
        "--sql prints a script and runs nothing; choose one\n"
    )


def test_sql_warns_connection_options(
    offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["migrate", "--sql", "--from", "26.3", "--database", "ontimems"]

    assert main([*arguments, "--server", "db1", "--user", "sa", "--password", "S3cret"]) == 0
    output = capsys.readouterr()
    assert output.err == (
        "warning: --sql connects to no server, so it ignores --server, --user, --password\n"
    )
    assert "S3cret" not in output.out


def test_sql_without_from_header(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--sql", "--target", "25.8"]) == 0
    output = capsys.readouterr()
    assert output.out.splitlines()[0] == (
        "-- ontime_db migration script: from an empty database to 25.8."
    )
    assert output.err == ""


def test_broken_env_at_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """env.py that fails only when Alembic runs it is reported as a usage error, no traceback."""
    folder = tmp_path / "set"
    shutil.copytree(
        migrations_dir(),
        folder,
        ignore=shutil.ignore_patterns("pollarity", "catering", "__pycache__"),
    )
    shutil.copytree(sql_dir() / "ontimems", folder / "sql" / "ontimems")
    (folder / "env.py").write_text(
        "import importlib\n\nimportlib.import_module('ontime_db_helpers_missing')\n",
        encoding="utf-8",
    )

    assert main(["migrate", "--sql", "--migrations", str(folder), "--target", "25.8"]) == 2
    assert capsys.readouterr().err == (
        f"error: invalid migration set {folder}: ModuleNotFoundError in {folder / 'env.py'}, "
        "line 3: No module named 'ontime_db_helpers_missing'; correct the file, or install the "
        "module it imports\n"
    )
