"""The steps of backup, restore, rename and rollback, checked against a fake session.

The fake session returns canned catalog rows and records the statements sent.
These tests check which SQL the operations send, in which order, and how they
turn rows and errors into results and exceptions. They prove nothing about
what SQL Server does with that SQL; tests/live/test_backup_live.py does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from ontime_db.backup import operations, statements
from ontime_db.backup.progress import Progress
from ontime_db.backup.records import MARKER
from ontime_db.errors import (
    BackupFolderError,
    BackupVerificationError,
    BatchError,
    DatabaseExistsError,
    DatabaseInUseError,
    DatabaseNotFoundError,
    RestoreError,
    RollbackPointNotFoundError,
)

NOW = datetime(2026, 12, 4, 19, 30, 0)
FOLDER = "C:\\SqlServerBackups"
FIRST = "C:\\SqlServerBackups\\OnTime(2026-12-04-193000).bak"
ACCOUNT = "NT Service\\MSSQLSERVER"


@dataclass
class FakeMessage:
    number: int
    text: str


@dataclass
class FakeSession:
    """Canned rows for catalog queries; records every statement that `run` gets."""

    databases: dict[str, int] = field(default_factory=lambda: {"ontimems": 5})
    folders: set[str] = field(default_factory=lambda: {FOLDER})
    files: set[str] = field(default_factory=set)
    sessions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, Any]] = field(default_factory=list)
    edition: tuple[int, str] = (3, "Developer Edition (64-bit)")
    failures: dict[str, BatchError | BaseException] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    aborted: bool = False

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self.queries.append(sql)
        values = dict(params or {})
        if sql == statements.SERVER_FACTS:
            return [
                {
                    "engine_edition": self.edition[0],
                    "edition": self.edition[1],
                    "product_version": "16.0.4135.4",
                    "backup_path": "/var/opt/mssql/backups/",
                    "data_path": "C:\\Data\\",
                    "log_path": "C:\\Logs\\",
                    "server_time": NOW,
                }
            ]
        if sql == statements.DATABASE_ID:
            return [{"database_id": self.databases.get(values["name"])}]
        if sql == statements.FILE_EXISTS:
            path = values["path"]
            return [
                {
                    "file_exists": path in self.files,
                    "file_is_a_directory": path in self.folders,
                    "parent_directory_exists": True,
                }
            ]
        if sql == statements.SERVICE_ACCOUNT:
            return [{"service_account": ACCOUNT}]
        if sql == statements.SESSIONS:
            return self.sessions.get(values["name"], [])
        if sql == statements.HISTORY:
            return list(self.history)
        if sql == statements.HISTORY_FOR_DATABASE:
            return [row for row in self.history if row["database_name"] == values["database"]]
        if sql == statements.DATABASE_FILES:
            return [
                {"name": "ontimems.25.8", "physical_name": "C:\\Data\\a.mdf", "type_desc": "ROWS"},
                {
                    "name": "ontimems.25.8_log",
                    "physical_name": "C:\\Data\\a.ldf",
                    "type_desc": "LOG",
                },
            ]
        if sql.startswith("RESTORE HEADERONLY"):
            return self.headers
        if sql.startswith("RESTORE FILELISTONLY"):
            return [
                {"LogicalName": "ontimems", "PhysicalName": "C:\\Data\\ontimems.mdf", "Type": "D"},
                {"LogicalName": "ontimems_log", "PhysicalName": "C:\\Data\\o.ldf", "Type": "L"},
            ]
        raise AssertionError(f"unexpected query {sql!r}")

    def run(self, sql: str, *, on_message: Callable[[Any], None] | None = None) -> None:
        self.ran.append(sql)
        for start, failure in self.failures.items():
            if sql.startswith(start):
                raise failure
        if on_message is not None and "STATS" in sql:
            on_message(FakeMessage(3211, "50 percent processed."))
            on_message(FakeMessage(4035, "Processed 456 pages for database 'x'."))
            on_message(FakeMessage(3014, "BACKUP DATABASE successfully processed 465 pages."))
        if sql.startswith("BACKUP DATABASE"):
            path = sql.split("TO DISK = N'", 1)[1].split("' WITH", 1)[0].replace("''", "'")
            self.history.insert(0, _history_row(path, description=_description(sql)))

    def abort(self) -> None:
        self.aborted = True


def _description(sql: str) -> str:
    return sql.split("DESCRIPTION = N'", 1)[1].split("', CHECKSUM", 1)[0].replace("''", "'")


def _history_row(
    path: str, *, description: str, database: str = "ontimems", **extra: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "backup_set_id": 7,
        "database_name": database,
        "name": MARKER,
        "description": description,
        "position": 1,
        "backup_start_date": NOW,
        "backup_finish_date": NOW,
        "first_lsn": Decimal(100),
        "last_lsn": Decimal(200),
        "backup_size": Decimal(4096),
        "compressed_backup_size": Decimal(1024),
        "has_backup_checksums": True,
        "is_copy_only": False,
        "server_name": "SQL1",
        "physical_device_name": path,
    }
    row.update(extra)
    return row


def _header(database: str = "ontimems", last_lsn: int = 200) -> dict[str, Any]:
    return {
        "Position": 1,
        "DatabaseName": database,
        "LastLSN": Decimal(last_lsn),
        "HasBackupChecksums": 1,
        "BackupFinishDate": NOW,
    }


def _versions(**known: str | None) -> Callable[[str], str | None]:
    return lambda database: known.get(database)


def _backup(session: FakeSession, **options: Any) -> Any:
    arguments: dict[str, Any] = {
        "folder": FOLDER,
        "copy_only": False,
        "compression": None,
        "verify": True,
        "vendor_layout": False,
        "purpose": "manual backup",
        "on_progress": None,
        "read_version": _versions(ontimems="25.8"),
    }
    arguments.update(options)
    return operations._backup(session, "ontimems", **arguments)


@pytest.fixture(autouse=True)
def _fixed_tool_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operations, "_tool_version", lambda: "0.1.0")


# -- backup ----------------------------------------------------------------------


def test_backup_statements() -> None:
    session = FakeSession()

    record = _backup(session, purpose="before migrate 25.8 -> 27.0")

    assert session.ran == [
        f"BACKUP DATABASE [ontimems] TO DISK = N'{FIRST}' WITH NAME = N'ontime_db', "
        "DESCRIPTION = N'tool=0.1.0; schema=25.8; purpose=before migrate 25.8 -> 27.0', "
        "CHECKSUM, INIT, COMPRESSION, STATS = 10",
        f"RESTORE VERIFYONLY FROM DISK = N'{FIRST}' WITH FILE = 1, CHECKSUM, STATS = 10",
    ]
    assert record.path == FIRST
    assert record.verified is True
    assert record.is_rollback_point


def test_backup_progress() -> None:
    seen: list[Progress] = []

    _backup(FakeSession(), on_progress=seen.append)

    assert [(p.step, p.target, p.percent) for p in seen] == [
        ("backup", "ontimems", 50),
        ("backup", "ontimems", 100),
        ("verify", FIRST, 50),
        ("verify", FIRST, 100),
    ]


def test_backup_skips_existing_file() -> None:
    session = FakeSession(files={FIRST})

    record = _backup(session)

    assert record.path == "C:\\SqlServerBackups\\OnTime(2026-12-04-193000)-2.bak"
    assert session.ran[0].startswith(
        "BACKUP DATABASE [ontimems] TO DISK = "
        "N'C:\\SqlServerBackups\\OnTime(2026-12-04-193000)-2.bak'"
    )


def test_backup_default_folder() -> None:
    session = FakeSession(folders={"/var/opt/mssql/backups/"})

    record = _backup(session, folder=None)

    assert record.path == "/var/opt/mssql/backups/OnTime(2026-12-04-193000).bak"


def test_backup_vendor_layout() -> None:
    record = _backup(FakeSession(), folder=None, vendor_layout=True)

    assert record.path == FIRST


def test_backup_copy_only_no_compression() -> None:
    session = FakeSession()

    _backup(session, copy_only=True, compression=False, verify=False)

    assert len(session.ran) == 1
    assert session.ran[0].endswith("CHECKSUM, INIT, COPY_ONLY, NO_COMPRESSION, STATS = 10")


def test_backup_express_compression(caplog: pytest.LogCaptureFixture) -> None:
    session = FakeSession(edition=(4, "Express Edition (64-bit)"))

    with caplog.at_level(logging.WARNING, logger="ontime_db.backup.operations"):
        _backup(session, compression=True, verify=False)

    assert session.ran[0].endswith("CHECKSUM, INIT, STATS = 10")
    assert caplog.messages == [
        "Express Edition (64-bit) cannot write compressed backups; backing up without compression"
    ]


def test_backup_missing_database() -> None:
    session = FakeSession(databases={})

    with pytest.raises(DatabaseNotFoundError) as caught:
        _backup(session)

    assert str(caught.value) == (
        "database 'ontimems' does not exist on this server; check the name with `ontime-db info`"
    )
    assert session.ran == []


def test_backup_missing_folder() -> None:
    session = FakeSession(folders=set())

    with pytest.raises(BackupFolderError) as caught:
        _backup(session, folder="D:\\Nope")

    assert str(caught.value) == (
        "backup folder 'D:\\\\Nope' does not exist or cannot be seen on the SQL Server's "
        "machine for the SQL Server service account 'NT Service\\\\MSSQLSERVER'; create the "
        "folder on that machine, grant that account write access, or pass another folder"
    )
    assert caught.value.folder == "D:\\Nope"
    assert caught.value.account == ACCOUNT
    assert session.ran == []


def test_backup_folder_not_writable() -> None:
    denied = BatchError(
        "batch failed",
        number=3201,
        server_message=(
            "Cannot open backup device 'x'. Operating system error 5(Access is denied.)."
        ),
    )
    session = FakeSession(failures={"BACKUP DATABASE": denied})

    with pytest.raises(BackupFolderError) as caught:
        _backup(session)

    assert str(caught.value) == (
        f"SQL Server could not write backup file {FIRST!r}: Cannot open backup device 'x'. "
        "Operating system error 5(Access is denied.). Grant the SQL Server service account "
        "'NT Service\\\\MSSQLSERVER' write access to 'C:\\\\SqlServerBackups', or pass "
        "another folder"
    )
    assert caught.value.__cause__ is denied


def test_backup_verification_fails() -> None:
    broken = BatchError("batch failed", number=3189, server_message="Damage to the backup set.")
    session = FakeSession(failures={"RESTORE VERIFYONLY": broken})

    with pytest.raises(BackupVerificationError) as caught:
        _backup(session)

    assert str(caught.value) == (
        f"backup file {FIRST!r} of database 'ontimems' failed RESTORE VERIFYONLY: "
        "Damage to the backup set. The backup is not usable; take a new backup"
    )
    assert caught.value.file == FIRST


def test_backup_interrupted() -> None:
    session = FakeSession(failures={"BACKUP DATABASE": KeyboardInterrupt()})

    with pytest.raises(KeyboardInterrupt):
        _backup(session)

    assert session.aborted
    assert len(session.ran) == 1


# -- restore ---------------------------------------------------------------------


def _restore(session: FakeSession, name: str, **options: Any) -> Any:
    arguments: dict[str, Any] = {
        "replace": False,
        "force": False,
        "on_progress": None,
        "read_version": _versions(**{name: "25.8"}),
    }
    arguments.update(options)
    return operations._restore(session, FIRST, as_name=name, **arguments)


def test_restore_beside_original() -> None:
    session = FakeSession(headers=[_header()])

    result = _restore(session, "ontimems_copy")

    assert session.ran == [
        f"RESTORE DATABASE [ontimems_copy] FROM DISK = N'{FIRST}' WITH FILE = 1, "
        "MOVE N'ontimems' TO N'C:\\Data\\ontimems_copy.mdf', "
        "MOVE N'ontimems_log' TO N'C:\\Logs\\ontimems_copy_log.ldf', "
        "CHECKSUM, RECOVERY, STATS = 10"
    ]
    assert result.schema_version == "25.8"
    assert result.replaced is False
    assert result.source_database == "ontimems"


def test_restore_existing_without_replace() -> None:
    session = FakeSession(headers=[_header()])

    with pytest.raises(DatabaseExistsError) as caught:
        _restore(session, "ontimems")

    assert str(caught.value) == (
        "database 'ontimems' already exists; restore under another name, or pass "
        "--replace (replace=True) to overwrite it"
    )
    assert session.ran == []


def test_restore_in_use_without_force() -> None:
    session = FakeSession(
        headers=[_header()],
        sessions={
            "ontimems": [
                {
                    "session_id": 61,
                    "login_name": "OnTimeApp",
                    "host_name": "APP1",
                    "program_name": "OnTime",
                }
            ]
        },
    )

    with pytest.raises(DatabaseInUseError) as caught:
        _restore(session, "ontimems", replace=True)

    assert str(caught.value) == (
        "database 'ontimems' is in use by 1 other session(s): session 61: login 'OnTimeApp' "
        "on host 'APP1', program 'OnTime'. Close them, or pass --force (force=True) to end "
        "them with ROLLBACK IMMEDIATE"
    )
    assert caught.value.sessions == (
        "session 61: login 'OnTimeApp' on host 'APP1', program 'OnTime'",
    )
    assert session.ran == []


def test_restore_replace_with_force() -> None:
    session = FakeSession(headers=[_header()])

    result = _restore(session, "ontimems", replace=True, force=True)

    assert session.ran[0] == "ALTER DATABASE [ontimems] SET SINGLE_USER WITH ROLLBACK IMMEDIATE"
    assert session.ran[1].endswith("CHECKSUM, REPLACE, RECOVERY, STATS = 10")
    assert session.ran[2] == "ALTER DATABASE [ontimems] SET MULTI_USER"
    assert result.replaced is True


def test_restore_failure_lets_users_back() -> None:
    failed = BatchError("batch failed", number=3159, server_message="tail of the log")
    session = FakeSession(headers=[_header()], failures={"RESTORE DATABASE": failed})

    with pytest.raises(RestoreError):
        _restore(session, "ontimems", replace=True, force=True)

    assert session.ran[-1] == "ALTER DATABASE [ontimems] SET MULTI_USER"


def test_restore_unreadable_file() -> None:
    class Unreadable(FakeSession):
        def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
            if sql.startswith("RESTORE HEADERONLY"):
                raise BatchError("x", number=3201, server_message="Cannot open backup device.")
            return super().query(sql, params)

    with pytest.raises(RestoreError) as caught:
        _restore(Unreadable(), "copy")

    assert str(caught.value) == (
        f"cannot read backup file {FIRST!r} on the server: Cannot open backup device; "
        "check the path, which is a path on the SQL Server's machine"
    )


# -- rename ----------------------------------------------------------------------


def test_rename_vendor_case_with_files() -> None:
    session = FakeSession(databases={"ontimems.25.8": 9})

    result = operations._rename(session, "ontimems.25.8", "ontimems", files=True, force=False)

    assert session.ran == [
        "ALTER DATABASE [ontimems.25.8] MODIFY NAME = [ontimems]",
        "ALTER DATABASE [ontimems] MODIFY FILE (NAME = N'ontimems.25.8', NEWNAME = N'ontimems')",
        "ALTER DATABASE [ontimems] MODIFY FILE "
        "(NAME = N'ontimems.25.8_log', NEWNAME = N'ontimems_log')",
    ]
    assert result.files == (("ontimems.25.8", "ontimems"), ("ontimems.25.8_log", "ontimems_log"))


def test_rename_new_name_exists() -> None:
    session = FakeSession(databases={"ontimems.25.8": 9, "ontimems": 5})

    with pytest.raises(DatabaseExistsError) as caught:
        operations._rename(session, "ontimems.25.8", "ontimems", files=False, force=False)

    assert str(caught.value) == (
        "cannot rename 'ontimems.25.8' to 'ontimems': a database named 'ontimems' already "
        "exists; drop or rename that one first"
    )
    assert session.ran == []


def test_rename_case_only() -> None:
    session = FakeSession(databases={"OnTimeMS": 5, "ontimems": 5})

    operations._rename(session, "OnTimeMS", "ontimems", files=False, force=False)

    assert session.ran == ["ALTER DATABASE [OnTimeMS] MODIFY NAME = [ontimems]"]


def test_rename_in_use_with_force() -> None:
    session = FakeSession(
        databases={"my db": 9},
        sessions={
            "my db": [{"session_id": 70, "login_name": "sa", "host_name": "h", "program_name": "p"}]
        },
    )

    result = operations._rename(session, "my db", "we]ird", files=False, force=True)

    assert session.ran == [
        "ALTER DATABASE [my db] SET SINGLE_USER WITH ROLLBACK IMMEDIATE",
        "ALTER DATABASE [my db] MODIFY NAME = [we]]ird]",
        "ALTER DATABASE [we]]ird] SET MULTI_USER",
    ]
    assert result.ended_sessions == ("session 70: login 'sa' on host 'h', program 'p'",)


def test_rename_lost_lock() -> None:
    locked = BatchError("x", number=5030, server_message="could not be exclusively locked")
    session = FakeSession(failures={"ALTER DATABASE [ontimems] MODIFY NAME": locked})

    with pytest.raises(DatabaseInUseError):
        operations._rename(session, "ontimems", "ontimems_old", files=False, force=False)


# -- rollback --------------------------------------------------------------------


OLDER = "C:\\SqlServerBackups\\OnTime(2026-12-01-080000).bak"
NEWER = "C:\\SqlServerBackups\\OnTime(2026-12-04-080000).bak"
MANUAL = "C:\\SqlServerBackups\\OnTime(2026-12-04-090000).bak"


def _rollback_history() -> list[dict[str, Any]]:
    return [
        _history_row(MANUAL, description="tool=0.1.0; schema=27.0; purpose=manual backup"),
        _history_row(
            NEWER, description="tool=0.1.0; schema=25.8; purpose=before migrate 25.8 -> 27.0"
        ),
        _history_row(
            OLDER, description="tool=0.1.0; schema=15.0; purpose=before upgrade from 2.6.1"
        ),
    ]


def test_rollback_restores_newest_point() -> None:
    session = FakeSession(history=_rollback_history(), headers=[_header()])
    versions = iter(["27.0", "25.8"])

    result = operations._rollback(
        session, "ontimems", force=True, on_progress=None, read_version=lambda db: next(versions)
    )

    assert (
        session.ran[0]
        == f"RESTORE VERIFYONLY FROM DISK = N'{NEWER}' WITH FILE = 1, CHECKSUM, STATS = 10"
    )
    assert session.ran[1] == "ALTER DATABASE [ontimems] SET SINGLE_USER WITH ROLLBACK IMMEDIATE"
    assert session.ran[2].startswith(f"RESTORE DATABASE [ontimems] FROM DISK = N'{NEWER}'")
    assert session.ran[2].endswith("CHECKSUM, REPLACE, RECOVERY, STATS = 10")
    assert result.version_before == "27.0"
    assert result.version_after == "25.8"
    assert result.backup.path == NEWER
    assert result.backup.verified is True


def test_rollback_without_points() -> None:
    history = [_history_row(MANUAL, description="tool=0.1.0; schema=27.0; purpose=manual backup")]
    session = FakeSession(history=history)

    with pytest.raises(RollbackPointNotFoundError) as caught:
        operations._rollback(
            session, "ontimems", force=False, on_progress=None, read_version=_versions()
        )

    assert str(caught.value) == (
        "no backup of database 'ontimems' taken before a migrate or upgrade is recorded in "
        "this server's msdb history; list all backups with `ontime-db backups` and restore "
        "one with `ontime-db restore PATH --as ontimems --replace`"
    )


def test_rollback_unverified_not_restored() -> None:
    broken = BatchError("x", number=3189, server_message="checksum mismatch")
    session = FakeSession(history=_rollback_history(), failures={"RESTORE VERIFYONLY": broken})

    with pytest.raises(BackupVerificationError):
        operations._rollback(
            session, "ontimems", force=True, on_progress=None, read_version=_versions()
        )

    assert len(session.ran) == 1


def test_rollback_file_overwritten() -> None:
    session = FakeSession(history=_rollback_history(), headers=[_header(last_lsn=999)])

    with pytest.raises(RestoreError) as caught:
        operations._rollback(
            session, "ontimems", force=True, on_progress=None, read_version=_versions()
        )

    assert str(caught.value) == (
        f"backup file {NEWER!r} no longer contains the backup of 'ontimems' finished "
        "2026-12-04 19:30:00 that msdb records (position 1, last LSN 200); it was overwritten "
        "or replaced. Restore another backup listed by `ontime-db backups`"
    )
    assert not any(sql.startswith("RESTORE DATABASE") for sql in session.ran)
