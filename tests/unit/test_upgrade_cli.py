"""The ``upgrade`` verb's output after a finished and after a failed run.

``plan_upgrade`` is replaced by a fixed plan and the server actions by a
stand-in that only records calls, so these tests check what the command
prints and its exit status, not what SQL Server does.
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from ontime_db.cli import main
from ontime_db.errors import BatchError
from ontime_db.upgrades.plan import ServerFacts, UpgradePlan, build_plan
from ontime_db.version import SchemaVersion


def plan_for(version: str) -> UpgradePlan:
    facts = ServerFacts(
        server="db1/ontimems as OnTimeApp",
        database="ontimems",
        version=SchemaVersion.parse(version),
        migration_versions=(SchemaVersion(25, 8), SchemaVersion(26, 4)),
        upgrade_procedures=("UPGRADE_9_3",),
        exists=lambda name: False,
        create_scripts=(Path("ontimems.sql"), Path("upgrade_procedures.sql")),
        today=date(2026, 12, 4),
    )
    return build_plan(facts)


class Operations:
    def __init__(self, fail_migrate: bool = False) -> None:
        self.fail_migrate = fail_migrate

    def backup(self, database: str, *, folder: str | None, purpose: str) -> str:
        return "/backups/OnTime(2026-12-04-130509).bak"

    def execute(self, database: str, sql: str, *, on_message: Any) -> None:
        pass

    def run_scripts(self, database: str, scripts: Any, *, on_message: Any) -> None:
        pass

    def upgrade_procedures(self, database: str) -> tuple[str, ...]:
        return ("UPGRADE_9_3",)

    def rename(self, old: str, new: str, *, force: bool = False) -> None:
        pass

    def migrate(self, database: str, *, to: SchemaVersion, migrations: Path | None) -> None:
        if self.fail_migrate:
            raise BatchError("migration 26.4 failed: Invalid column name 'x'.")

    def schema_version(self, database: str) -> SchemaVersion | None:
        # A failed migration leaves the database where the last applied one took it.
        return SchemaVersion(26, 0) if self.fail_migrate else SchemaVersion(26, 4)


def install(monkeypatch: pytest.MonkeyPatch, version: str, operations: Operations) -> None:
    import ontime_db.upgrades

    real_upgrade = ontime_db.upgrades.upgrade
    monkeypatch.setattr(ontime_db.upgrades, "plan_upgrade", lambda target, **o: plan_for(version))
    monkeypatch.setattr(
        ontime_db.upgrades,
        "upgrade",
        lambda target, **options: real_upgrade(target, operations=operations, **options),
    )


ARGUMENTS = ["upgrade", "--server", "db1", "--database", "ontimems", "--user", "OnTimeApp"]


def test_success_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")
    install(monkeypatch, "26.0", Operations())
    log_file = tmp_path / "u.log"

    status = main([*ARGUMENTS, "--yes", "--log-file", str(log_file)])

    output = capsys.readouterr()
    assert status == 0
    assert output.err == ""
    tail = output.out.splitlines()[-6:]
    assert tail == [
        "",
        "Upgrade finished.",
        "  ontimems: schema version 26.4",
        "  backup of ontimems taken before the upgrade: /backups/OnTime(2026-12-04-130509).bak",
        "To return to the state before the upgrade: python -m ontime_db rollback --server db1 "
        "--user OnTimeApp --database ontimems",
        f"Log: {log_file}",
    ]
    assert "S3cret" not in output.out
    assert "S3cret" not in log_file.read_text(encoding="utf-8")


def test_failure_output(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")
    install(monkeypatch, "26.0", Operations(fail_migrate=True))

    status = main([*ARGUMENTS, "--yes", "--log-file", str(tmp_path / "u.log")])

    output = capsys.readouterr()
    assert status == 1
    assert output.err == (
        'error: upgrade of [ontimems] stopped at "Migrate [ontimems] from 26.0 to 26.4": '
        "migration 26.4 failed: Invalid column name 'x'.; [ontimems] is at schema version "
        "26.0\n"
    )
    assert output.out.splitlines()[-5:] == [
        "Done:",
        "  Back up [ontimems] to the server's default backup folder and verify the backup",
        "Not done:",
        "  Migrate [ontimems] from 26.0 to 26.4",
        "To restore the starting state: python -m ontime_db rollback --server db1 "
        "--user OnTimeApp --database ontimems",
    ]


def test_failure_before_change(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")

    class FailingCopy(Operations):
        def execute(self, database: str, sql: str, *, on_message: Any) -> None:
            if sql.startswith("SET NOCOUNT ON"):
                raise BatchError("dbo.UPGRADE_9_3 returned 1; 0 means success")

    install(monkeypatch, "9.3", FailingCopy())
    status = main([*ARGUMENTS, "--yes", "--log-file", str(tmp_path / "u.log")])

    output = capsys.readouterr()
    assert status == 1
    assert output.out.splitlines()[-1] == (
        "Nothing needs restoring: no database that existed before was changed."
    )
    assert "was renamed to [ontimems.26.4_failed_" in output.err


def _fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import ontime_db.upgrades

    real_run_plan = ontime_db.upgrades.run_plan
    monkeypatch.setattr(
        ontime_db.upgrades,
        "run_plan",
        functools.partial(real_run_plan, now=lambda: datetime(2026, 12, 4, 13, 5, 9)),
    )


def test_legacy_script_failure_report(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed create script: file, batch, line, error number and text, version, no rollback."""
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")

    class FailingScript(Operations):
        def run_scripts(self, database: str, scripts: Any, *, on_message: Any) -> None:
            raise BatchError(
                "ontimems.sql, line 120: batch 3 failed with SQL Server error 2714: There is "
                "already an object named 'users' in the database.",
                number=2714,
                server_message="There is already an object named 'users' in the database.",
                file="ontimems.sql",
                batch=3,
                line=120,
            )

        def schema_version(self, database: str) -> SchemaVersion | None:
            return SchemaVersion(9, 3)

    install(monkeypatch, "9.3", FailingScript())
    _fixed_clock(monkeypatch)
    status = main([*ARGUMENTS, "--yes", "--log-file", str(tmp_path / "u.log")])

    output = capsys.readouterr()
    assert status == 1
    assert output.err == (
        'error: upgrade of [ontimems] stopped at "Run ontimems.sql, upgrade_procedures.sql in '
        '[ontimems.26.4] (schema 25.8)": ontimems.sql, line 120: batch 3 failed with SQL '
        "Server error 2714: There is already an object named 'users' in the database.; the new "
        "database [ontimems.26.4] was renamed to [ontimems.26.4_failed_20261204130509]; drop "
        "it once the cause is understood; no database that existed before the upgrade was "
        "changed; [ontimems] is at schema version 9.3\n"
    )
    assert output.out.splitlines()[-11:] == [
        "Done:",
        "  Back up [ontimems] to the server's default backup folder and verify the backup",
        "  Create the new database [ontimems.26.4]",
        "Not done:",
        "  Run ontimems.sql, upgrade_procedures.sql in [ontimems.26.4] (schema 25.8)",
        "  Create the user [NT AUTHORITY\\SYSTEM] in [ontimems.26.4] if missing and add it to "
        "role api_role",
        "  Copy the data of [ontimems] (schema 9.3) into [ontimems.26.4] with dbo.UPGRADE_9_3; "
        "return value 0 means success",
        "  Rename [ontimems] to [ontimems_before_26.4_20261204]",
        "  Rename [ontimems.26.4] to [ontimems]",
        "  Migrate [ontimems] from 25.8 to 26.4",
        "Nothing needs restoring: no database that existed before was changed.",
    ]
    assert "S3cret" not in output.out + output.err


def test_legacy_migrate_failure_report(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failure after the renames gives the exact rollback command, without the password."""
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")

    class FailingMigrate(Operations):
        def schema_version(self, database: str) -> SchemaVersion | None:
            return SchemaVersion(26, 0)

    install(monkeypatch, "9.3", FailingMigrate(fail_migrate=True))
    _fixed_clock(monkeypatch)
    status = main([*ARGUMENTS, "--yes", "--log-file", str(tmp_path / "u.log")])

    output = capsys.readouterr()
    assert status == 1
    assert output.err == (
        'error: upgrade of [ontimems] stopped at "Migrate [ontimems] from 25.8 to 26.4": '
        "migration 26.4 failed: Invalid column name 'x'.; [ontimems] is at schema version "
        "26.0\n"
    )
    assert output.out.splitlines()[-4:] == [
        "  Rename [ontimems.26.4] to [ontimems]",
        "Not done:",
        "  Migrate [ontimems] from 25.8 to 26.4",
        "To restore the starting state: python -m ontime_db rollback --server db1 "
        "--user OnTimeApp --database ontimems",
    ]
    assert "S3cret" not in output.out + output.err


# -- values checked before connecting -------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the verb reaches the point of building a connection."""
    from ontime_db.cli import upgrade_cmd

    def connection_settings(args: Any) -> Any:
        raise AssertionError("the input is checked before connecting")

    monkeypatch.setattr(upgrade_cmd, "connection_settings", connection_settings)


def _usage_error(err: str, message: str) -> None:
    assert err.startswith("usage: ontime-db upgrade [-h] ")
    assert err.endswith(f"\nontime-db upgrade: error: {message}\n")


POINTS = (
    "the vendor's starting points are 1.1, 1.2.0.4, 1.2.2.0, 1.3+, 1.5+, 2.0.0, 2.0.1+, 2.5.0, "
    "2.5.0a+, 2.6.0, 2.6.2+, 2.7.0+, 2.8.0+"
)


def test_product_between_points(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    """2.6.1 lies between 2.6.0 and 2.6.2+: the error lists the points and what to do."""
    status = main([*ARGUMENTS, "--from-product", "2.6.1", "--yes"])

    output = capsys.readouterr()
    assert status == 2
    assert output.out == ""
    _usage_error(
        output.err,
        "argument --from-product: product version '2.6.1' matches no starting point: 2.6.0 "
        "covers only release 2.6.0 and 2.6.2+ starts at 2.6.2, and the vendor lists no upgrade "
        "script for the releases between them. Leave the product version out (--from-product) "
        "so that the database's schema version chooses the route, or give the listed release "
        f"the About box shows (2.6.0 or 2.6.2); {POINTS}",
    )


def test_product_malformed(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGUMENTS, "--from-product", "abc"]) == 2
    _usage_error(
        capsys.readouterr().err,
        "argument --from-product: invalid product version 'abc': expected numbers separated by "
        f"dots with an optional letter, as in '2.6.2' or '2.5.0a'; {POINTS}",
    )


def test_target_malformed(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGUMENTS, "--target", "abc"]) == 2
    _usage_error(
        capsys.readouterr().err,
        "argument --target: invalid schema version 'abc': expected MAJOR or MAJOR.MINOR, for "
        "example '15' or '25.8'",
    )


def test_target_not_in_set(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    from ontime_db.resources import migrations_dir

    assert main([*ARGUMENTS, "--target", "99.0"]) == 2
    assert capsys.readouterr().err == (
        f"error: argument --target: schema version '99.0' is not in the migration set "
        f"{migrations_dir()} (known versions: 25.8, 26.0, 26.1, 26.2, 26.3, 26.4); choose one "
        "of them, or leave --target out for the newest, 26.4\n"
    )


def test_log_folder_missing(offline: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGUMENTS, "--log-file", "/nonexistent/dir/x.log"]) == 2
    _usage_error(
        capsys.readouterr().err,
        "argument --log-file: invalid file path '/nonexistent/dir/x.log': the folder "
        "'/nonexistent/dir' does not exist; create it or choose another folder",
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--new-database", "", "invalid database name '': a name must not be empty"),
        ("--pollarity", " p", "invalid database name ' p': remove the leading or trailing white "
         "space"),
        ("--app-user", "a\tb", "invalid login name 'a\\tb': it contains the control character "
         "'\\t' (U+0009); use a name without tabs, line breaks or other control characters"),
    ],
    ids=["new-database", "pollarity", "app-user"],
)
def test_name_options_invalid(
    option: str, value: str, message: str, offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*ARGUMENTS, option, value]) == 2
    _usage_error(capsys.readouterr().err, f"argument {option}: {message}")


# -- the question before the upgrade -------------------------------------------


@pytest.mark.parametrize(
    ("stdin", "stdout", "reason"),
    [
        (False, True, "standard input is not a terminal, so the question cannot be answered"),
        (True, False, "standard output is not a terminal, so the question cannot be shown"),
        (
            False,
            False,
            "neither standard input nor standard output is a terminal, so the question cannot "
            "be shown or answered",
        ),
    ],
    ids=["stdin", "stdout", "both"],
)
def test_refusal_names_stream(
    stdin: bool,
    stdout: bool,
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")
    install(monkeypatch, "26.0", Operations())
    monkeypatch.setattr("sys.stdin.isatty", lambda: stdin)
    monkeypatch.setattr("sys.stdout.isatty", lambda: stdout)

    assert main(ARGUMENTS) == 2
    assert capsys.readouterr().err == (
        f"error: not upgrading without confirmation: {reason}; run again with --yes to carry "
        "out the plan above\n"
    )


def _terminal_answer(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)

    def fake_input(prompt: str) -> str:
        assert prompt == "Carry out this plan? [y/N] "
        raise error

    monkeypatch.setattr("builtins.input", fake_input)


class NoChanges(Operations):
    def backup(self, database: str, *, folder: str | None, purpose: str) -> str:
        raise AssertionError("no step runs without a yes")


def test_prompt_end_of_input(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install(monkeypatch, "26.0", NoChanges())
    _terminal_answer(monkeypatch, EOFError())

    assert main([*ARGUMENTS, "--log-file", str(tmp_path / "u.log")]) == 1
    output = capsys.readouterr()
    assert output.out.endswith(
        "\n\n\nupgrade cancelled before the first step; nothing was changed\n"
    )
    assert output.err == ""
    assert not (tmp_path / "u.log").exists()


def test_prompt_ctrl_c(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    install(monkeypatch, "26.0", NoChanges())
    _terminal_answer(monkeypatch, KeyboardInterrupt())

    assert main([*ARGUMENTS, "--log-file", str(tmp_path / "u.log")]) == 130
    assert capsys.readouterr().err == "error: interrupted; nothing was changed\n"
    assert not (tmp_path / "u.log").exists()


def test_plan_failure_no_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failure while planning reports that no log was written, and writes none."""
    import ontime_db.upgrades
    from ontime_db.errors import ConnectionFailedError

    def plan_upgrade(target: Any, **options: Any) -> Any:
        raise ConnectionFailedError("connecting to db1/ontimems as OnTimeApp failed (timeout)")

    monkeypatch.setattr(ontime_db.upgrades, "plan_upgrade", plan_upgrade)
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")
    monkeypatch.chdir(tmp_path)

    assert main([*ARGUMENTS, "--from-product", "2.6.2"]) == 1
    output = capsys.readouterr()
    assert output.out == ""
    assert output.err == (
        "error: connecting to db1/ontimems as OnTimeApp failed (timeout); no log file was "
        "written because no upgrade step started\n"
    )
    assert list(tmp_path.iterdir()) == []
