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


def test_product_between_points(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """2.6.1 lies between 2.6.0 and 2.6.2+: the error lists the points and what to do."""
    import ontime_db.detect

    def detect_version(*args: Any, **options: Any) -> Any:
        raise AssertionError("the product version is checked before connecting")

    monkeypatch.setattr(ontime_db.detect, "detect_version", detect_version)
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")

    status = main([*ARGUMENTS, "--from-product", "2.6.1", "--yes"])

    output = capsys.readouterr()
    assert status == 1
    assert output.out == ""
    assert output.err == (
        "error: product version '2.6.1' matches no starting point: 2.6.0 covers only release "
        "2.6.0 and 2.6.2+ starts at 2.6.2, and the vendor lists no upgrade script for the "
        "releases between them. Leave the product version out (--from-product) so that the "
        "database's schema version chooses the route, or give the listed release the About "
        "box shows (2.6.0 or 2.6.2); the vendor's starting points are 1.1, 1.2.0.4, 1.2.2.0, "
        "1.3+, 1.5+, 2.0.0, 2.0.1+, 2.5.0, 2.5.0a+, 2.6.0, 2.6.2+, 2.7.0+, 2.8.0+\n"
    )
