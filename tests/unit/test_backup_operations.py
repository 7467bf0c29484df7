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

from ontime_db.backups import backups, renames, restores, rollbacks, shared, statements
from ontime_db.backups.progress import Progress
from ontime_db.backups.records import MARKER
from ontime_db.errors import (
    BackupError,
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
RESTORE_TAIL = "CHECKSUM, REPLACE, RECOVERY, STATS = 10"
ACCOUNT = "NT Service\\MSSQLSERVER"


@dataclass
class FakeMessage:
    number: int
    text: str


@dataclass
class FakeSession:
    """Canned rows for catalog queries; records every statement that `run` gets."""

    databases: dict[str, int] = field(default_factory=lambda: {"ontimems": 5})
    states: dict[str, tuple[str, str]] = field(default_factory=dict)
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
    product_version: str = "16.0.4135.4"
    backup_path: str | None = "/var/opt/mssql/backups/"
    registry: list[dict[str, Any]] = field(default_factory=list)
    no_dm_os_file_exists: bool = False
    other_files: set[str] = field(default_factory=set)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self.queries.append(sql)
        values = dict(params or {})
        if sql == statements.SERVER_FACTS:
            return [
                {
                    "engine_edition": self.edition[0],
                    "edition": self.edition[1],
                    "product_version": self.product_version,
                    "backup_path": self.backup_path,
                    "data_path": "C:\\Data\\",
                    "log_path": "C:\\Logs\\",
                    "server_time": NOW,
                }
            ]
        if sql == statements.DATABASE_ID:
            return [{"database_id": self.databases.get(values["name"])}]
        if sql == statements.DATABASE_STATE:
            name = values["name"]
            if name not in self.databases:
                return []
            state, access = self.states.get(name, ("ONLINE", "MULTI_USER"))
            return [{"state_desc": state, "user_access_desc": access}]
        if sql == statements.REGISTRY_BACKUP_DIRECTORY:
            return self.registry
        if sql == statements.XP_FILE_EXIST:
            path = values["path"]
            return [
                {
                    "File Exists": int(path in self.files),
                    "File is a Directory": int(path in self.folders),
                    "Parent Directory Exists": 1,
                }
            ]
        if sql == statements.FILE_EXISTS:
            if self.no_dm_os_file_exists:
                raise BatchError("x", number=208, server_message="Invalid object name.")
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
        if sql == statements.FILES_OF_OTHER_DATABASES:
            return [{"physical_name": path} for path in sorted(self.other_files)]
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


def _header(
    database: str = "ontimems", last_lsn: int = 200, position: int = 1, backup_type: int = 1
) -> dict[str, Any]:
    return {
        "Position": position,
        "BackupType": backup_type,
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
    return backups.take_backup(session, "ontimems", **arguments)


@pytest.fixture(autouse=True)
def _fixed_tool_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backups, "tool_version", lambda: "0.1.0")


# -- backup ----------------------------------------------------------------------


def test_backup_statements() -> None:
    session = FakeSession()

    record = _backup(session, purpose="before migrate 25.8 -> 27.0")

    assert session.ran == [
        f"BACKUP DATABASE [ontimems] TO DISK = N'{FIRST}' WITH NAME = N'ontime_db', "
        "DESCRIPTION = N'tool=0.1.0; schema=25.8; purpose=before migrate 25.8 -> 27.0', "
        "CHECKSUM, NOINIT, COMPRESSION, STATS = 10",
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
    assert session.ran[0].endswith("CHECKSUM, NOINIT, COPY_ONLY, NO_COMPRESSION, STATS = 10")


def test_backup_express_compression(caplog: pytest.LogCaptureFixture) -> None:
    session = FakeSession(edition=(4, "Express Edition (64-bit)"))

    with caplog.at_level(logging.WARNING, logger="ontime_db.backups.operations"):
        _backup(session, compression=True, verify=False)

    assert session.ran[0].endswith("CHECKSUM, NOINIT, STATS = 10")
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


def test_backup_failure_message() -> None:
    """Another BACKUP error names SQL Server's number and text, and that nothing was recorded."""
    full = BatchError(
        "script text: the batch (line within the batch unknown) failed with SQL Server error 3202",
        number=3202,
        server_message="Write on 'x' failed: 112(There is not enough space on the disk.).",
    )
    session = FakeSession(failures={"BACKUP DATABASE": full})

    with pytest.raises(BackupError) as caught:
        _backup(session)

    assert type(caught.value) is BackupError
    assert str(caught.value) == (
        f"backup of database 'ontimems' to {FIRST!r} failed: SQL Server error 3202: Write "
        "on 'x' failed: 112(There is not enough space on the disk.); no backup was recorded"
    )
    assert caught.value.__cause__ is full
    assert session.history == []


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


CANCELLED_NOTE = (
    "The backup of 'ontimems' was cancelled. msdb records no backup set for "
    f"{FIRST!r}, so `backups` and `rollback` never offer it; a partial file may remain on "
    "the SQL Server's machine and is not a usable backup: delete it."
)


def test_backup_interrupted(caplog: pytest.LogCaptureFixture) -> None:
    session = FakeSession(failures={"BACKUP DATABASE": KeyboardInterrupt()})

    with (
        caplog.at_level(logging.WARNING, logger="ontime_db.backups"),
        pytest.raises(KeyboardInterrupt) as caught,
    ):
        _backup(session)

    assert session.aborted
    assert len(session.ran) == 1
    assert session.history == []
    assert caplog.messages == [
        f"backup of 'ontimems' to {FIRST!r} interrupted; ending the statement by closing "
        "the connection",
        CANCELLED_NOTE,
    ]
    assert getattr(caught.value, "__notes__", None) in (None, [CANCELLED_NOTE])


def test_backup_finished_before_interrupt(caplog: pytest.LogCaptureFixture) -> None:
    """The interrupt came after SQL Server recorded the set.

    The note therefore states that the set is recorded but unverified.
    """

    class LateInterrupt(FakeSession):
        def run(self, sql: str, *, on_message: Callable[[Any], None] | None = None) -> None:
            super().run(sql, on_message=on_message)
            raise KeyboardInterrupt

    session = LateInterrupt()

    with (
        caplog.at_level(logging.WARNING, logger="ontime_db.backups"),
        pytest.raises(KeyboardInterrupt),
    ):
        _backup(session)

    assert len(session.ran) == 1
    assert caplog.messages[-1] == (
        f"The backup of 'ontimems' finished before the interrupt and msdb records {FIRST!r}; "
        "it was not verified: run `ontime-db backup` again or verify the file with RESTORE "
        "VERIFYONLY before relying on it."
    )


def test_backup_verify_interrupted() -> None:
    """Ctrl-C during RESTORE VERIFYONLY returns no record at all, so nothing is marked verified."""
    session = FakeSession(failures={"RESTORE VERIFYONLY": KeyboardInterrupt()})

    with pytest.raises(KeyboardInterrupt):
        _backup(session)

    assert len(session.ran) == 2
    assert not session.aborted


def test_backup_standard_2008_uncompressed() -> None:
    session = FakeSession(edition=(2, "Standard Edition (64-bit)"))
    session.product_version = "10.0.6000.29"

    _backup(session, verify=False)

    assert session.ran[0].endswith("CHECKSUM, NOINIT, STATS = 10")


def test_backup_web_uncompressed() -> None:
    session = FakeSession(edition=(2, "Web Edition (64-bit)"))

    _backup(session, verify=False)

    assert session.ran[0].endswith("CHECKSUM, NOINIT, STATS = 10")


def test_backup_standard_compressed() -> None:
    session = FakeSession(edition=(2, "Standard Edition (64-bit)"))

    _backup(session, verify=False)

    assert session.ran[0].endswith("CHECKSUM, NOINIT, COMPRESSION, STATS = 10")


def test_backup_registry_folder() -> None:
    """Before SQL Server 2019 the folder comes from xp_instance_regread's Data column."""
    session = FakeSession(folders={"D:\\Backup"})
    session.backup_path = None
    session.registry = [{"Value": "BackupDirectory", "Data": "D:\\Backup"}]

    record = _backup(session, folder=None, verify=False)

    assert record.path == "D:\\Backup\\OnTime(2026-12-04-193000).bak"


def test_backup_xp_fileexist_fallback() -> None:
    """Without sys.dm_os_file_exists (SQL Server 2016) the folder check reads xp_fileexist."""
    session = FakeSession(no_dm_os_file_exists=True)

    record = _backup(session, verify=False)

    assert record.path == FIRST
    assert session.queries.count(statements.XP_FILE_EXIST) == 2


# -- restore ---------------------------------------------------------------------


def _restore(session: FakeSession, name: str, **options: Any) -> Any:
    arguments: dict[str, Any] = {
        "replace": False,
        "force": False,
        "on_progress": None,
        "read_version": _versions(**{name: "25.8"}),
    }
    arguments.update(options)
    return restores.restore_backup(session, FIRST, as_name=name, **arguments)


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


def test_restore_avoids_files_in_use() -> None:
    """A database renamed aside keeps files named after the original name."""
    session = FakeSession(
        headers=[_header()],
        databases={"ontimems": 5, "ontimems_before_26.4_20261204": 6},
        other_files={"c:\\data\\ontimems.mdf", "C:\\Logs\\ontimems_log.ldf"},
    )

    _restore(session, "ontimems", replace=True, force=True)

    restore = next(sql for sql in session.ran if "RESTORE DATABASE" in sql)
    assert "MOVE N'ontimems' TO N'C:\\Data\\ontimems_2.mdf'" in restore
    assert "MOVE N'ontimems_log' TO N'C:\\Logs\\ontimems_2_log.ldf'" in restore


def test_restore_no_free_file_names() -> None:
    taken = {f"C:\\Data\\ontimems_{n}.mdf" for n in range(2, 100)}
    session = FakeSession(
        headers=[_header()], other_files={"C:\\Data\\ontimems.mdf", *taken}
    )

    with pytest.raises(RestoreError) as caught:
        _restore(session, "ontimems", replace=True, force=True)
    assert str(caught.value) == (
        "no free file names for database 'ontimems' in C:\\Data\\: files named "
        "ontimems.mdf to ontimems_99.mdf belong to other databases; drop or rename them"
    )
    assert session.ran == []


def test_restore_reads_state_once() -> None:
    """One sys.databases query returns both whether the database exists and its state."""
    session = FakeSession(headers=[_header()], states={"ontimems": ("RESTORING", "MULTI_USER")})

    _restore(session, "ontimems", replace=True)

    assert session.queries.count(statements.DATABASE_STATE) == 1
    assert statements.DATABASE_ID not in session.queries
    assert statements.SESSIONS not in session.queries


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


RESTORE_OVER_ONTIMEMS = (
    f"RESTORE DATABASE [ontimems] FROM DISK = N'{FIRST}' WITH FILE = 1, "
    "MOVE N'ontimems' TO N'C:\\Data\\ontimems.mdf', "
    "MOVE N'ontimems_log' TO N'C:\\Logs\\ontimems_log.ldf', "
    f"{RESTORE_TAIL}"
)


def test_restore_replace_with_force() -> None:
    session = FakeSession(headers=[_header()])

    result = _restore(session, "ontimems", replace=True, force=True)

    assert session.ran == [
        "ALTER DATABASE [ontimems] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; "
        f"{RESTORE_OVER_ONTIMEMS}; "
        "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'ontimems' "
        "AND state_desc = N'ONLINE' AND user_access_desc = N'SINGLE_USER') "
        "ALTER DATABASE [ontimems] SET MULTI_USER WITH ROLLBACK IMMEDIATE"
    ]
    assert result.replaced is True


def test_restore_replace_no_force() -> None:
    """Without force and without other sessions, RESTORE goes alone: no user-access change."""
    session = FakeSession(headers=[_header()])

    _restore(session, "ontimems", replace=True)

    assert session.ran == [RESTORE_OVER_ONTIMEMS]


def test_restore_failure_lets_users_back() -> None:
    failed = BatchError("batch failed", number=3159, server_message="tail of the log")
    session = FakeSession(
        headers=[_header()],
        failures={"ALTER DATABASE [ontimems] SET SINGLE_USER": failed},
        states={"ontimems": ("ONLINE", "SINGLE_USER")},
    )

    with pytest.raises(RestoreError) as caught:
        _restore(session, "ontimems", replace=True, force=True)

    assert session.ran[-1] == "ALTER DATABASE [ontimems] SET MULTI_USER WITH ROLLBACK IMMEDIATE"
    assert str(caught.value) == (
        f"restore of {FIRST!r} as database 'ontimems' failed: SQL Server error 3159: "
        "tail of the log"
    )


def test_restore_failure_multi_user_kept() -> None:
    """When the batch itself already let users back, nothing more is sent."""
    failed = BatchError("batch failed", number=3159, server_message="tail of the log")
    session = FakeSession(
        headers=[_header()], failures={"ALTER DATABASE [ontimems] SET SINGLE_USER": failed}
    )

    with pytest.raises(RestoreError):
        _restore(session, "ontimems", replace=True, force=True)

    assert len(session.ran) == 1


def test_restore_lost_exclusive_access() -> None:
    in_use = BatchError(
        "batch failed",
        number=3101,
        server_message="Exclusive access could not be obtained because the database is in use.",
    )
    session = FakeSession(headers=[_header()], failures={"RESTORE DATABASE": in_use})

    with pytest.raises(DatabaseInUseError) as caught:
        _restore(session, "ontimems", replace=True)

    assert str(caught.value) == (
        f"restore of {FIRST!r} as database 'ontimems' failed because another session uses "
        "the database: Exclusive access could not be obtained because the database is in use. "
        "No other session in 'ontimems' is visible to this login; a login with VIEW SERVER "
        "STATE can list them. Close them, or pass --force (force=True) to end them with "
        "ROLLBACK IMMEDIATE"
    )


def test_restore_over_restoring_database() -> None:
    """A database left RESTORING gets no ALTER DATABASE, which would fail on it."""
    session = FakeSession(headers=[_header()], states={"ontimems": ("RESTORING", "MULTI_USER")})

    _restore(session, "ontimems", replace=True, force=True)

    assert session.ran == [RESTORE_OVER_ONTIMEMS]
    assert statements.SESSIONS not in session.queries


def test_restore_newest_full_set() -> None:
    session = FakeSession(
        headers=[_header(position=1), _header(position=2), _header(position=3, backup_type=2)]
    )

    _restore(session, "copy")

    assert "WITH FILE = 2, " in session.ran[0]
    assert session.queries[1] == f"RESTORE FILELISTONLY FROM DISK = N'{FIRST}' WITH FILE = 2"


def test_restore_no_full_set() -> None:
    session = FakeSession(headers=[_header(backup_type=2)])

    with pytest.raises(RestoreError) as caught:
        _restore(session, "copy")

    assert str(caught.value) == (
        f"backup file {FIRST!r} contains no full database backup set (1 set(s) of other "
        "types); restore needs a full backup"
    )
    assert session.ran == []


def test_restore_without_checksums() -> None:
    header = _header()
    header["HasBackupChecksums"] = 0
    session = FakeSession(headers=[header])

    _restore(session, "copy")

    assert session.ran[0].endswith("'C:\\Logs\\copy_log.ldf', RECOVERY, STATS = 10")


def test_restore_own_process_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared.os, "getpid", lambda: 4242)
    monkeypatch.setattr(shared.socket, "gethostname", lambda: "app1.example.com")
    session = FakeSession(
        headers=[_header()],
        sessions={
            "ontimems": [
                {
                    "session_id": 58,
                    "login_name": "sa",
                    "host_name": "APP1",
                    "host_process_id": 4242,
                    "program_name": "python",
                },
                {
                    "session_id": 61,
                    "login_name": "OnTimeApp",
                    "host_name": "APP1",
                    "host_process_id": 777,
                    "program_name": "OnTime",
                },
            ]
        },
    )

    with pytest.raises(DatabaseInUseError) as caught:
        _restore(session, "ontimems", replace=True)

    assert str(caught.value) == (
        "database 'ontimems' is in use by 2 other session(s): session 58: login 'sa' on host "
        "'APP1', program 'python' (this process, id 4242); session 61: login 'OnTimeApp' on "
        "host 'APP1', program 'OnTime'. 1 of them belong to this process: close the "
        "connections you hold on that database and call dispose() on their engine before you "
        "restore it. Close them, or pass --force (force=True) to end them with ROLLBACK "
        "IMMEDIATE"
    )
    assert session.ran == []


def test_restore_interrupted() -> None:
    session = FakeSession(
        headers=[_header()],
        failures={"RESTORE DATABASE": KeyboardInterrupt()},
        states={"ontimems": ("RESTORING", "MULTI_USER")},
    )

    with pytest.raises(KeyboardInterrupt) as caught:
        _restore(session, "ontimems", replace=True)

    assert session.aborted
    assert getattr(caught.value, "__notes__", None) in (
        None,
        [
            f"The restore of {FIRST!r} as 'ontimems' was cancelled; the database state is "
            "RESTORING. A database left RESTORING is unusable and its previous contents are "
            "gone; RESTORE ... WITH RECOVERY does not bring it back. Run the restore again "
            f"(`ontime-db restore {FIRST} --as ontimems --replace`) or drop it with "
            "DROP DATABASE [ontimems]."
        ],
    )


def test_restore_interrupted_logged(caplog: pytest.LogCaptureFixture) -> None:
    session = FakeSession(
        headers=[_header()], failures={"RESTORE DATABASE": KeyboardInterrupt()}, databases={}
    )

    with (
        caplog.at_level(logging.WARNING, logger="ontime_db.backups"),
        pytest.raises(KeyboardInterrupt),
    ):
        _restore(session, "copy")

    assert caplog.messages[-1] == (
        f"The restore of {FIRST!r} as 'copy' was cancelled; the database state is gone. "
        "A database left RESTORING is unusable and its previous contents are gone; RESTORE "
        "... WITH RECOVERY does not bring it back. Run the restore again "
        f"(`ontime-db restore {FIRST} --as copy --replace`) or drop it with DROP DATABASE [copy]."
    )


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

    result = renames.rename_database(session, "ontimems.25.8", "ontimems", files=True, force=False)

    assert session.ran == [
        "ALTER DATABASE [ontimems.25.8] MODIFY NAME = [ontimems]",
        "ALTER DATABASE [ontimems] MODIFY FILE (NAME = N'ontimems.25.8', NEWNAME = N'ontimems')",
        "ALTER DATABASE [ontimems] MODIFY FILE "
        "(NAME = N'ontimems.25.8_log', NEWNAME = N'ontimems_log')",
    ]
    assert result.files == (("ontimems.25.8", "ontimems"), ("ontimems.25.8_log", "ontimems_log"))


def test_rename_reads_each_id_once() -> None:
    session = FakeSession(databases={"ontimems.25.8": 9})

    renames.rename_database(session, "ontimems.25.8", "ontimems", files=False, force=False)

    assert session.queries.count(statements.DATABASE_ID) == 2


def test_rename_new_name_exists() -> None:
    session = FakeSession(databases={"ontimems.25.8": 9, "ontimems": 5})

    with pytest.raises(DatabaseExistsError) as caught:
        renames.rename_database(session, "ontimems.25.8", "ontimems", files=False, force=False)

    assert str(caught.value) == (
        "cannot rename 'ontimems.25.8' to 'ontimems': a database named 'ontimems' already "
        "exists; drop or rename that one first"
    )
    assert session.ran == []


def test_rename_case_only() -> None:
    session = FakeSession(databases={"OnTimeMS": 5, "ontimems": 5})

    renames.rename_database(session, "OnTimeMS", "ontimems", files=False, force=False)

    assert session.ran == ["ALTER DATABASE [OnTimeMS] MODIFY NAME = [ontimems]"]


def test_rename_in_use_with_force() -> None:
    session = FakeSession(
        databases={"my db": 9},
        sessions={
            "my db": [{"session_id": 70, "login_name": "sa", "host_name": "h", "program_name": "p"}]
        },
    )

    result = renames.rename_database(session, "my db", "we]ird", files=False, force=True)

    assert session.ran == [
        "ALTER DATABASE [my db] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; "
        "ALTER DATABASE [my db] MODIFY NAME = [we]]ird]; "
        "IF DB_ID(N'we]ird') IS NOT NULL "
        "ALTER DATABASE [we]]ird] SET MULTI_USER WITH ROLLBACK IMMEDIATE "
        "ELSE ALTER DATABASE [my db] SET MULTI_USER WITH ROLLBACK IMMEDIATE"
    ]
    assert result.ended_sessions == ("session 70: login 'sa' on host 'h', program 'p'",)


def test_rename_lost_lock() -> None:
    locked = BatchError("x", number=5030, server_message="could not be exclusively locked")
    session = FakeSession(failures={"ALTER DATABASE [ontimems] MODIFY NAME": locked})

    with pytest.raises(DatabaseInUseError) as caught:
        renames.rename_database(session, "ontimems", "ontimems_old", files=False, force=False)

    assert str(caught.value) == (
        "database 'ontimems' could not be locked for the rename: could not be exclusively "
        "locked. No other session in 'ontimems' is visible to this login; a login with VIEW "
        "SERVER STATE can list them. Close them, or pass --force (force=True) to end them with "
        "ROLLBACK IMMEDIATE"
    )


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

    result = rollbacks.roll_back(
        session, "ontimems", force=True, on_progress=None, read_version=lambda db: next(versions)
    )

    assert (
        session.ran[0]
        == f"RESTORE VERIFYONLY FROM DISK = N'{NEWER}' WITH FILE = 1, CHECKSUM, STATS = 10"
    )
    assert session.ran[1].startswith(
        "ALTER DATABASE [ontimems] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; "
        f"RESTORE DATABASE [ontimems] FROM DISK = N'{NEWER}'"
    )
    assert f"{RESTORE_TAIL}; IF EXISTS" in session.ran[1]
    assert len(session.ran) == 2
    assert result.version_before == "27.0"
    assert result.version_after == "25.8"
    assert result.backup.path == NEWER
    assert result.backup.verified is True


def test_rollback_without_points() -> None:
    history = [_history_row(MANUAL, description="tool=0.1.0; schema=27.0; purpose=manual backup")]
    session = FakeSession(history=history)

    with pytest.raises(RollbackPointNotFoundError) as caught:
        rollbacks.roll_back(
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
        rollbacks.roll_back(
            session, "ontimems", force=True, on_progress=None, read_version=_versions()
        )

    assert len(session.ran) == 1


def test_rollback_file_overwritten() -> None:
    session = FakeSession(history=_rollback_history(), headers=[_header(last_lsn=999)])

    with pytest.raises(RestoreError) as caught:
        rollbacks.roll_back(
            session, "ontimems", force=True, on_progress=None, read_version=_versions()
        )

    assert str(caught.value) == (
        f"backup file {NEWER!r} no longer contains the backup of 'ontimems' finished "
        "2026-12-04 19:30:00 that msdb records (position 1, last LSN 200); it was overwritten "
        "or replaced. Restore another backup listed by `ontime-db backups`"
    )
    assert not any(sql.startswith("RESTORE DATABASE") for sql in session.ran)
