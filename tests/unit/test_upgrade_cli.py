"""The ``upgrade`` verb's output after a finished and after a failed run.

``plan_upgrade`` is replaced by a fixed plan and the server actions by a
stand-in that only records calls, so these tests check what the command
prints and its exit status, not what SQL Server does.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ontime_db.cli import main
from ontime_db.errors import BatchError
from ontime_db.upgrade.plan import ServerFacts, UpgradePlan, build_plan
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
        return SchemaVersion(26, 4)


def install(monkeypatch: pytest.MonkeyPatch, version: str, operations: Operations) -> None:
    import ontime_db.upgrade

    real_upgrade = ontime_db.upgrade.upgrade
    monkeypatch.setattr(ontime_db.upgrade, "plan_upgrade", lambda target, **o: plan_for(version))
    monkeypatch.setattr(
        ontime_db.upgrade,
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
        "migration 26.4 failed: Invalid column name 'x'.\n"
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
