"""Carrying out a plan: call order, failure handling, log file, rollback command.

A recording stand-in for the server actions (:class:`RecordingOperations`)
checks which actions the runner requests and in which order. It proves
nothing about what SQL Server does with them; the live tests do that.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from ontime_db.backups import rollback_command
from ontime_db.errors import BatchError, MigrationFailedError, UpgradeCancelledError, UpgradeError
from ontime_db.upgrades import AddOn, UpgradeEvent, upgrade
from ontime_db.upgrades.plan import ServerFacts, UpgradePlan, build_plan
from ontime_db.upgrades.runner import UpgradeLog, run_plan
from ontime_db.version import SchemaVersion

CHAIN = tuple(SchemaVersion.parse(v) for v in ("25.8", "26.0", "26.4"))
SCRIPTS = (Path("ontimems.sql"), Path("upgrade_procedures.sql"))
ROLLBACK = "python -m ontime_db rollback --server db1 --database {}"


def make_plan(version: str, **options: Any) -> UpgradePlan:
    facts = ServerFacts(
        server="db1/ontimems as integrated security",
        database="ontimems",
        version=SchemaVersion.parse(version),
        migration_versions=CHAIN,
        upgrade_procedures=("UPGRADE_9_3", "UPGRADE_15_0"),
        exists=lambda name: False,
        create_scripts=SCRIPTS,
        today=date(2026, 12, 4),
    )
    return build_plan(facts, **options)


class RecordingOperations:
    """Records each server action; ``fail`` maps an action name to the error it raises."""

    def __init__(self, fail: dict[str, BaseException] | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.fail = fail or {}
        self.procedures: tuple[str, ...] = ("UPGRADE_15_0", "UPGRADE_9_3")
        self.version = SchemaVersion(26, 4)

    def _call(self, name: str, *details: Any) -> None:
        self.calls.append((name, *details))
        if name in self.fail:
            raise self.fail.pop(name)

    def backup(self, database: str, *, folder: str | None, purpose: str) -> str:
        self._call("backup", database, folder, purpose)
        return f"/var/opt/mssql/backup/{database}.bak"

    def execute(self, database: str, sql: str, *, on_message: Any) -> None:
        kind = sql.split()[0] if sql.startswith("CREATE DATABASE") else "execute"
        self._call(kind, database, sql.splitlines()[0])
        on_message(f"message from {database}")

    def run_scripts(self, database: str, scripts: Any, *, on_message: Any) -> None:
        self._call("run_scripts", database, tuple(path.name for path in scripts))

    def upgrade_procedures(self, database: str) -> tuple[str, ...]:
        self._call("upgrade_procedures", database)
        return self.procedures

    def rename(self, old: str, new: str, *, force: bool = False) -> None:
        self._call("rename", old, new, force)

    def migrate(self, database: str, *, to: SchemaVersion, migrations: Path | None) -> None:
        self._call("migrate", database, str(to), migrations)

    def schema_version(self, database: str) -> SchemaVersion | None:
        return self.version


def run(plan: UpgradePlan, operations: RecordingOperations, **options: Any) -> Any:
    events: list[UpgradeEvent] = []
    report = run_plan(
        plan,
        operations,
        upgrade_log=UpgradeLog(None),
        on_event=events.append,
        rollback=ROLLBACK.format,
        now=lambda: datetime(2026, 12, 4, 13, 5, 9),
        **options,
    )
    return report, events


LEGACY_CALLS = [
    ("backup", "ontimems", None, "before upgrade from 9.3"),
    ("CREATE", "master", "CREATE DATABASE [ontimems.26.4];"),
    ("run_scripts", "ontimems.26.4", ("ontimems.sql", "upgrade_procedures.sql")),
    (
        "execute",
        "ontimems.26.4",
        "IF NOT EXISTS (SELECT 1 FROM sys.database_principals "
        "WHERE sid = SUSER_SID(N'NT AUTHORITY\\SYSTEM'))",
    ),
    ("upgrade_procedures", "ontimems.26.4"),
    ("execute", "ontimems.26.4", "SET NOCOUNT ON;"),
    ("rename", "ontimems", "ontimems_before_26.4_20261204", False),
    ("rename", "ontimems.26.4", "ontimems", False),
    ("migrate", "ontimems", "26.4", None),
]


def test_legacy_call_order() -> None:
    operations = RecordingOperations()
    report, _ = run(make_plan("9.3"), operations)
    assert operations.calls == LEGACY_CALLS
    assert report.backups == {"ontimems": "/var/opt/mssql/backup/ontimems.bak"}
    assert report.final_versions == {"ontimems": SchemaVersion(26, 4)}
    assert report.rollback_command == ROLLBACK.format("ontimems")
    assert len(report.performed) == 8


def test_events_in_order() -> None:
    ticks = iter([10.0, 12.5, 20.0, 81.25])
    _, events = run(make_plan("26.0"), RecordingOperations(), clock=lambda: next(ticks))
    assert [(event.kind, event.text) for event in events] == [
        (
            "step-started",
            "step 1/2: Back up [ontimems] to the server's default backup folder "
            "and verify the backup",
        ),
        (
            "step-done",
            "step 1/2: Back up [ontimems] to the server's default backup folder and "
            "verify the backup: done in 2.5 s (/var/opt/mssql/backup/ontimems.bak)",
        ),
        ("step-started", "step 2/2: Migrate [ontimems] from 26.0 to 26.4"),
        ("step-done", "step 2/2: Migrate [ontimems] from 26.0 to 26.4: done in 61.2 s"),
    ]


def test_procedure_failure_names_new_failed() -> None:
    error = BatchError(
        "batch failed: dbo.UPGRADE_9_3 returned 3; 0 means success",
        number=50000,
        server_message="dbo.UPGRADE_9_3 returned 3; 0 means success",
    )
    operations = RecordingOperations()
    operations.version = SchemaVersion(9, 3)
    plan = make_plan("9.3")
    # The procedure batch is the second "execute" call.
    original_execute = operations.execute
    executed: list[str] = []

    def execute(database: str, sql: str, *, on_message: Any) -> None:
        original_execute(database, sql, on_message=on_message)
        executed.append(sql)
        if sql.startswith("SET NOCOUNT ON"):
            raise error

    operations.execute = execute  # type: ignore[method-assign]
    with pytest.raises(UpgradeError) as caught:
        run(plan, operations)

    assert operations.calls[-1] == (
        "rename",
        "ontimems.26.4",
        "ontimems.26.4_failed_20261204130509",
        True,
    )
    assert not any(call[:2] == ("rename", "ontimems") for call in operations.calls)
    failure = caught.value
    assert failure.__cause__ is error
    assert failure.rollback_command is None
    assert [step.kind.value for step in failure.done] == [
        "backup",
        "create-database",
        "create-script",
        "app-user",
    ]
    assert [step.kind.value for step in failure.not_done] == [
        "upgrade-procedure",
        "rename",
        "rename",
        "migrate",
    ]
    assert str(failure) == (
        'upgrade of [ontimems] stopped at "Copy the data of [ontimems] (schema 9.3) into '
        '[ontimems.26.4] with dbo.UPGRADE_9_3; return value 0 means success": batch failed: '
        "dbo.UPGRADE_9_3 returned 3; 0 means success; the new database [ontimems.26.4] was "
        "renamed to [ontimems.26.4_failed_20261204130509]; drop it once the cause is "
        "understood; no database that existed before the upgrade was changed; [ontimems] is "
        "at schema version 9.3"
    )


def test_procedure_missing_at_run() -> None:
    operations = RecordingOperations()
    operations.procedures = ("UPGRADE_15_0",)
    with pytest.raises(UpgradeError) as caught:
        run(make_plan("9.3"), operations)
    assert str(caught.value.__cause__) == (
        "the create scripts defined no procedure dbo.UPGRADE_9_3 in [ontimems.26.4] to copy "
        "data from schema version 9.3; the database has UPGRADE_15_0"
    )
    assert ("execute", "ontimems.26.4", "SET NOCOUNT ON;") not in operations.calls


def test_failed_cleanup_reported() -> None:
    operations = RecordingOperations(
        fail={"run_scripts": BatchError("batch 3 failed"), "rename": BatchError("in use")}
    )
    operations.version = SchemaVersion(9, 3)
    with pytest.raises(UpgradeError) as caught:
        run(make_plan("9.3"), operations)
    assert str(caught.value).endswith(
        "the new database [ontimems.26.4] is left as it is, because renaming it failed: "
        "in use; drop it before the next attempt; no database that existed before the "
        "upgrade was changed; [ontimems] is at schema version 9.3"
    )


def test_failure_after_aside_rename() -> None:
    """The old database is aside, so the report gives the rollback command."""
    operations = RecordingOperations()
    original_rename = operations.rename

    def rename(old: str, new: str, *, force: bool = False) -> None:
        original_rename(old, new, force=force)
        if old == "ontimems.26.4" and new == "ontimems":
            raise BatchError("rename failed")

    operations.rename = rename  # type: ignore[method-assign]
    with pytest.raises(UpgradeError) as caught:
        run(make_plan("9.3"), operations)
    assert caught.value.rollback_command == ROLLBACK.format("ontimems")
    assert operations.calls[-1] == (
        "rename",
        "ontimems.26.4",
        "ontimems.26.4_failed_20261204130509",
        True,
    )


def test_incremental_migrate_failure() -> None:
    error = MigrationFailedError("migration 26.1 failed")
    operations = RecordingOperations(fail={"migrate": error})
    with pytest.raises(UpgradeError) as caught:
        run(make_plan("26.0"), operations)
    assert caught.value.rollback_command == ROLLBACK.format("ontimems")
    assert [step.kind.value for step in caught.value.done] == ["backup"]
    assert [step.kind.value for step in caught.value.not_done] == ["migrate"]


def test_backup_failure_changes_nothing() -> None:
    operations = RecordingOperations(fail={"backup": BatchError("disk full")})
    with pytest.raises(UpgradeError) as caught:
        run(make_plan("26.0"), operations)
    assert caught.value.rollback_command is None
    assert caught.value.done == ()
    assert operations.calls == [("backup", "ontimems", None, "before upgrade from 26.0")]


def test_new_addon_failure_named_failed() -> None:
    pollarity = AddOn("pollarity", "ontimems_pollarity", Path("p"), SchemaVersion(1, 1), False)
    operations = RecordingOperations(fail={"migrate": MigrationFailedError("1.1 failed")})
    with pytest.raises(UpgradeError) as caught:
        run(make_plan("26.4", addons=(pollarity,)), operations)
    assert operations.calls[-1] == (
        "rename",
        "ontimems_pollarity",
        "ontimems_pollarity_failed_20261204130509",
        True,
    )
    assert caught.value.rollback_command is None


def test_log_file(tmp_path: Path) -> None:
    log_file = tmp_path / "upgrade.log"
    report = upgrade(
        "mssql+pyodbc://OnTimeApp:S3cret-pw@db1/ontimems?driver=ODBC+Driver+18+for+SQL+Server",
        plan=make_plan("26.0"),
        log_file=log_file,
        operations=RecordingOperations(),
    )
    text = log_file.read_text(encoding="utf-8")
    assert report.log_file == log_file
    assert "S3cret-pw" not in text
    assert "step 1/2: Back up [ontimems]" in text
    assert "step 2/2: Migrate [ontimems] from 26.0 to 26.4: done in " in text
    assert "final schema version of [ontimems]: 26.4" in text
    assert text.splitlines()[-1].endswith(" upgrade finished")
    assert report.rollback_command == (
        "python -m ontime_db rollback --server db1 --user OnTimeApp "
        "--odbc-driver 'ODBC Driver 18 for SQL Server' --database ontimems"
    )


def test_log_server_messages(tmp_path: Path) -> None:
    log_file = tmp_path / "upgrade.log"
    upgrade(
        "mssql+pyodbc://sa:pw@db1/ontimems",
        plan=make_plan("9.3"),
        log_file=log_file,
        operations=RecordingOperations(),
    )
    assert "  server: message from ontimems.26.4" in log_file.read_text(encoding="utf-8")


def test_dry_run_performs_nothing(tmp_path: Path) -> None:
    operations = RecordingOperations()
    events: list[UpgradeEvent] = []
    report = upgrade(
        "mssql+pyodbc://sa:pw@db1/ontimems",
        plan=make_plan("26.0"),
        dry_run=True,
        log_file=tmp_path / "x.log",
        on_event=events.append,
        operations=operations,
    )
    assert operations.calls == []
    assert report.dry_run is True
    assert report.performed == ()
    assert [event.kind for event in events] == ["plan"]
    assert not (tmp_path / "x.log").exists()


def test_not_confirmed(tmp_path: Path) -> None:
    operations = RecordingOperations()
    with pytest.raises(UpgradeCancelledError) as caught:
        upgrade(
            "mssql+pyodbc://sa:pw@db1/ontimems",
            plan=make_plan("26.0"),
            log_file=tmp_path / "x.log",
            confirm=lambda plan: False,
            operations=operations,
        )
    assert operations.calls == []
    assert str(caught.value) == "upgrade cancelled before the first step; nothing was changed"
    assert len(caught.value.not_done) == 2


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "jdbc:sqlserver://localhost:1433;databaseName=customname;integratedSecurity=true",
            "python -m ontime_db rollback --server localhost,1433 "
            "--extra 'integratedSecurity=true;' --database ontimems",
        ),
        (
            "mssql+pyodbc://OnTimeApp:pa%24%24word@db1\\SQLEXPRESS/ontimems"
            "?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes",
            "python -m ontime_db rollback --server 'db1\\SQLEXPRESS' --user OnTimeApp "
            "--extra 'trustServerCertificate=true;' --odbc-driver 'ODBC Driver 18 for SQL "
            "Server' --database ontimems",
        ),
        (
            "Driver={ODBC Driver 18 for SQL Server};Server=db1,1444;Database=x;UID=sa;"
            "PWD={p;w}};d};Encrypt=yes",
            "python -m ontime_db rollback --server db1,1444 --user sa --extra 'encrypt=yes;' "
            "--odbc-driver 'ODBC Driver 18 for SQL Server' --database ontimems",
        ),
    ],
    ids=["jdbc-integrated", "sqlalchemy-instance", "odbc-braced-password"],
)
def test_rollback_command(target: str, expected: str) -> None:
    command = rollback_command(target, "ontimems")
    assert command == expected
    assert "p;w" not in command
    assert "pa$$word" not in command


def test_rollback_command_settings() -> None:
    from ontime_db.connection import ConnectionSettings

    settings = ConnectionSettings.from_options(
        server="db1\\SQLEXPRESS", database="ontimems", user="OnTimeApp", password="x'y"
    )
    assert rollback_command(settings, "we]ird O'Hare") == (
        "python -m ontime_db rollback --server 'db1\\SQLEXPRESS' --user OnTimeApp "
        "--database 'we]ird O'\"'\"'Hare'"
    )


def test_interrupt_in_migrate_step() -> None:
    """Ctrl-C stays KeyboardInterrupt; its note and the last event give the rollback."""
    operations = RecordingOperations(fail={"migrate": KeyboardInterrupt()})
    events: list[UpgradeEvent] = []
    with pytest.raises(KeyboardInterrupt) as caught:
        run_plan(
            make_plan("26.0"),
            operations,
            upgrade_log=UpgradeLog(None),
            on_event=events.append,
            rollback=ROLLBACK.format,
        )
    expected = (
        'upgrade of [ontimems] was interrupted at "Migrate [ontimems] from 26.0 to 26.4", '
        "which may be partly done; to restore the starting state: python -m ontime_db "
        "rollback --server db1 --database ontimems; [ontimems] is at schema version 26.4"
    )
    assert (events[-1].kind, events[-1].text) == (
        "step-failed",
        f"step 2/2: Migrate [ontimems] from 26.0 to 26.4: interrupted: {expected}",
    )
    assert _notes(caught.value) == [expected]


def test_interrupt_logged() -> None:
    lines: list[str] = []
    upgrade_log = UpgradeLog(None)
    upgrade_log.write = lines.append  # type: ignore[method-assign]
    operations = RecordingOperations(fail={"migrate": KeyboardInterrupt()})
    ticks = iter([10.0, 12.5, 20.0, 81.25])
    with pytest.raises(KeyboardInterrupt) as caught:
        run_plan(make_plan("26.0"), operations, upgrade_log=upgrade_log,
                 rollback=ROLLBACK.format, clock=lambda: next(ticks))
    assert lines[-2] == "step 2/2: Migrate [ontimems] from 26.0 to 26.4: interrupted after 61.2 s"
    assert lines[-1].startswith('upgrade of [ontimems] was interrupted at "Migrate [ontimems]')
    assert _notes(caught.value) == [lines[-1]]


def test_interrupt_before_original_changed() -> None:
    operations = RecordingOperations(fail={"run_scripts": KeyboardInterrupt()})
    operations.version = SchemaVersion(9, 3)
    with pytest.raises(KeyboardInterrupt) as caught:
        run(make_plan("9.3"), operations)
    assert operations.calls[-1] == (
        "rename",
        "ontimems.26.4",
        "ontimems.26.4_failed_20261204130509",
        True,
    )
    assert _notes(caught.value) == [
        'upgrade of [ontimems] was interrupted at "Run ontimems.sql, upgrade_procedures.sql in '
        '[ontimems.26.4] (schema 25.8)", which may be partly done; the new database '
        "[ontimems.26.4] was renamed to [ontimems.26.4_failed_20261204130509]; drop it once "
        "the cause is understood; no database that existed before the upgrade was changed; "
        "[ontimems] is at schema version 9.3"
    ]


def test_failure_after_aside_names_aside() -> None:
    operations = RecordingOperations()
    original_rename = operations.rename

    def rename(old: str, new: str, *, force: bool = False) -> None:
        original_rename(old, new, force=force)
        if old == "ontimems.26.4" and new == "ontimems":
            raise BatchError("rename failed")

    operations.rename = rename  # type: ignore[method-assign]
    operations.version = None  # type: ignore[assignment]
    with pytest.raises(UpgradeError) as caught:
        run(make_plan("9.3"), operations)
    assert str(caught.value) == (
        'upgrade of [ontimems] stopped at "Rename [ontimems.26.4] to [ontimems]": rename '
        "failed; the new database [ontimems.26.4] was renamed to "
        "[ontimems.26.4_failed_20261204130509]; drop it once the cause is understood; the "
        "original database is unchanged under the name [ontimems_before_26.4_20261204]; "
        "renaming it back to [ontimems] (`python -m ontime_db rename`) restores the starting "
        "state without the backup; [ontimems] records no schema version"
    )


def _notes(error: BaseException) -> list[str]:
    # Exception notes exist from Python 3.11 on; on 3.10 the report reaches
    # the user through the log and the events only, which the tests check too.
    if sys.version_info < (3, 11):
        pytest.skip("exception notes need Python 3.11")
    return list(getattr(error, "__notes__", []))
