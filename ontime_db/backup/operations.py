"""Back up, verify, restore, rename and roll back OnTime databases on a live server.

Each public function opens one autocommit connection to ``master`` on the
target's server and hands a :class:`~ontime_db.backup.server.Session` to a
private function that contains the steps, so those steps can be checked with a
fake session that records the SQL sent. No client-side query timeout is
set: a backup of a large database may run for hours.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import (
    BackupError,
    BackupFolderError,
    BackupVerificationError,
    BatchError,
    ConfigurationError,
    DatabaseExistsError,
    DatabaseInUseError,
    DatabaseNotFoundError,
    InvalidSchemaVersion,
    RestoreError,
    RollbackPointNotFoundError,
)
from ..quoting import check_name
from . import statements
from .naming import VENDOR_FOLDER, DataFile, moved_files, new_logical_names, unique_backup_path
from .progress import Progress, parse_percent
from .records import MARKER, BackupRecord, format_description, record_from_row
from .results import RenameResult, RestoreResult, RollbackResult
from .server import ConnectionSession, MessageHandler, Session

if TYPE_CHECKING:
    from ..connection import Target

__all__ = ["backup", "list_backups", "rename", "restore", "rollback"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]
VersionReader = Callable[[str], "str | None"]

# SERVERPROPERTY('EngineEdition'): 4 is Express, which cannot write compressed
# backups; Web edition (EngineEdition 2, like Standard) cannot either.
EXPRESS_ENGINE_EDITION = 4
# "Cannot open backup device ...": the folder is missing or not writable.
CANNOT_OPEN_DEVICE = 3201
# "The database could not be exclusively locked to perform the operation."
NOT_EXCLUSIVE = 5030

_FILE_TYPES = {"ROWS": "D", "LOG": "L", "FILESTREAM": "S", "FULLTEXT": "F"}


@dataclass(frozen=True)
class ServerFacts:
    """Facts the server reports about itself, read once per operation."""

    engine_edition: int | None
    edition: str
    product_version: str
    backup_path: str | None
    data_path: str | None
    log_path: str | None
    server_time: datetime


# -- public API ----------------------------------------------------------------


def backup(
    target: Target,
    database: str | None = None,
    *,
    folder: str | None = None,
    copy_only: bool = False,
    compression: bool | None = None,
    verify: bool = True,
    vendor_layout: bool = False,
    purpose: str = "manual backup",
    on_progress: ProgressCallback | None = None,
) -> BackupRecord:
    """Back up ``database`` (default: the target's database) to a new file on the server.

    The file goes to ``folder``, else ``C:\\SqlServerBackups`` with
    ``vendor_layout``, else the instance's default backup folder, under the
    vendor's name ``OnTime(<yyyy>-<mm>-<dd>-<HHMMSS>).bak`` (with the database
    name for databases other than ``ontimems``), never over an existing file.
    The backup uses ``CHECKSUM`` and ``INIT``, ``COPY_ONLY`` when asked, and
    compression when the edition supports it (``compression=None``).
    ``purpose`` is recorded in ``msdb`` with the schema version and the tool
    version; ``rollback`` looks for purposes starting with
    ``"before migrate"`` or ``"before upgrade"``.

    Raises :class:`~ontime_db.errors.DatabaseNotFoundError`,
    :class:`~ontime_db.errors.BackupFolderError` (folder missing or not
    writable, naming the service account),
    :class:`~ontime_db.errors.BackupVerificationError` when ``RESTORE
    VERIFYONLY`` rejects the file, and :class:`~ontime_db.errors.BackupError`.

    Example: ``backup("mssql+pyodbc://...", "ontimems", purpose="before upgrade from 2.6.1")``
    """
    name = _database_name(target, database)
    with _master_session(target) as session:
        return _backup(
            session,
            name,
            folder=folder,
            copy_only=copy_only,
            compression=compression,
            verify=verify,
            vendor_layout=vendor_layout,
            purpose=purpose,
            on_progress=on_progress,
            read_version=_version_reader(target),
        )


def restore(
    target: Target,
    path: str,
    *,
    as_name: str,
    replace: bool = False,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
) -> RestoreResult:
    """Restore the backup file ``path`` (a server-side path) as database ``as_name``.

    Data and log files go to the instance's default data and log folders
    under names derived from ``as_name``, so a restore beside the original
    never touches its files. An existing ``as_name`` is overwritten only
    with ``replace``; sessions using it are ended only with ``force``.

    Raises :class:`~ontime_db.errors.DatabaseExistsError`,
    :class:`~ontime_db.errors.DatabaseInUseError` (listing the sessions)
    and :class:`~ontime_db.errors.RestoreError`.
    """
    with _master_session(target) as session:
        return _restore(
            session,
            path,
            as_name=as_name,
            replace=replace,
            force=force,
            on_progress=on_progress,
            read_version=_version_reader(target),
        )


def rename(
    target: Target, old: str, new: str, *, files: bool = False, force: bool = False
) -> RenameResult:
    """Rename database ``old`` to ``new``, with its logical file names when ``files``.

    ``ontimems.25.8`` to ``ontimems`` is the vendor's own case. Physical
    file names stay as they are. Sessions using ``old`` are ended only with
    ``force``.

    Raises :class:`~ontime_db.errors.DatabaseNotFoundError`,
    :class:`~ontime_db.errors.DatabaseExistsError` when ``new`` exists and
    :class:`~ontime_db.errors.DatabaseInUseError`.
    """
    with _master_session(target) as session:
        return _rename(session, old, new, files=files, force=force)


def list_backups(target: Target, database: str | None = None) -> list[BackupRecord]:
    """Return the full database backups ``msdb`` records, newest first.

    ``database`` ``None`` lists every database's backups, including those
    made by other tools; :attr:`BackupRecord.made_by_ontime_db` distinguishes
    them.
    """
    if database is not None:
        check_name(database)
    with _master_session(target) as session:
        return _history(session, database)


def rollback(
    target: Target,
    database: str | None = None,
    *,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
) -> RollbackResult:
    """Restore the newest backup taken before a migrate or upgrade of ``database``.

    The backup is verified with ``RESTORE VERIFYONLY`` first and must still be
    the backup set ``msdb`` recorded; the database is then replaced.

    Raises :class:`~ontime_db.errors.RollbackPointNotFoundError`,
    :class:`~ontime_db.errors.BackupVerificationError`,
    :class:`~ontime_db.errors.DatabaseInUseError` (without ``force``) and
    :class:`~ontime_db.errors.RestoreError`.
    """
    name = _database_name(target, database)
    with _master_session(target) as session:
        return _rollback(
            session,
            name,
            force=force,
            on_progress=on_progress,
            read_version=_version_reader(target),
        )


# -- connections -----------------------------------------------------------------


def _database_name(target: Target, database: str | None) -> str:
    if database is None:
        from ..connection import database_of

        database = database_of(target)
    if not database:
        raise ConfigurationError(
            "no database given: pass the database name or a connection target that names one"
        )
    return check_name(database)


@contextmanager
def _master_session(target: Target) -> Iterator[Session]:
    from ..connection import engine_scope

    scope = engine_scope(target, database="master", autocommit=True)
    with scope as engine, engine.connect() as connection:
        yield ConnectionSession(connection)


def _version_reader(target: Target) -> VersionReader:
    def read(database: str) -> str | None:
        from ..catalog import read_schema_version
        from ..connection import engine_scope

        try:
            with engine_scope(target, database=database) as engine, engine.connect() as connection:
                try:
                    version = read_schema_version(connection)
                finally:
                    # Closed instead of pooled, also on a caller's engine: a pooled
                    # connection counts as a session in the database and would
                    # block the restore or rename that follows.
                    connection.invalidate()
        except InvalidSchemaVersion as error:
            # A database whose version records are damaged still needs its
            # backup, so the version is left out instead of stopping.
            log.warning("schema version of %r could not be read: %s", database, error)
            return None
        return None if version is None else str(version)

    return read


def _tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ontime-db")
    except PackageNotFoundError:
        return "unknown"


# -- backup ----------------------------------------------------------------------


def _backup(
    session: Session,
    database: str,
    *,
    folder: str | None,
    copy_only: bool,
    compression: bool | None,
    verify: bool,
    vendor_layout: bool,
    purpose: str,
    on_progress: ProgressCallback | None,
    read_version: VersionReader,
) -> BackupRecord:
    facts = _server_facts(session)
    _require_database(session, database)
    schema_version = read_version(database)

    if folder is None:
        folder = VENDOR_FOLDER if vendor_layout else _default_backup_folder(session, facts)
    _check_folder(session, folder)
    use_compression = _compression_choice(facts, compression)

    path = unique_backup_path(
        folder, database, facts.server_time, exists=lambda p: _path_state(session, p)[0]
    )
    description = format_description(
        purpose=purpose, schema_version=schema_version, tool_version=_tool_version()
    )
    sql = statements.backup_database(
        database,
        path,
        name=MARKER,
        description=description,
        copy_only=copy_only,
        compression=use_compression,
    )

    log.info("backing up database %r to %r (%s)", database, path, purpose)
    # NOTE: progress comes from the STATS messages only; percent_complete in
    # sys.dm_exec_requests is not polled. Ctrl-C is seen when the driver
    # returns to Python, which is at the next STATS message (every 10%).
    try:
        session.run(sql, on_message=_message_handler("backup", database, on_progress))
    except BatchError as error:
        raise _backup_failure(session, error, database, path, folder) from error
    except KeyboardInterrupt:
        _abort(session, f"backup of {database!r} to {path!r}")
        raise

    record = _recorded_backup(session, database, path)
    log.info("backup of %r written: %r, %s bytes", database, path, record.size)
    if verify:
        record = _verify(session, record, on_progress)
    return record


def _server_facts(session: Session) -> ServerFacts:
    row = session.query(statements.SERVER_FACTS)[0]
    return ServerFacts(
        engine_edition=row["engine_edition"],
        edition=row["edition"] or "",
        product_version=row["product_version"] or "",
        backup_path=row["backup_path"],
        data_path=row["data_path"],
        log_path=row["log_path"],
        server_time=row["server_time"],
    )


def _require_database(session: Session, database: str) -> None:
    if not _database_exists(session, database):
        raise DatabaseNotFoundError(
            f"database {database!r} does not exist on this server; "
            "check the name with `ontime-db info`",
            database=database,
        )


def _database_exists(session: Session, database: str) -> bool:
    rows = session.query(statements.DATABASE_ID, {"name": database})
    return bool(rows) and rows[0]["database_id"] is not None


def _default_backup_folder(session: Session, facts: ServerFacts) -> str:
    if facts.backup_path:
        return facts.backup_path
    try:
        rows = session.query(statements.REGISTRY_BACKUP_DIRECTORY)
    except BatchError as error:
        log.debug("registry read of the backup folder failed: %s", error)
        rows = []
    # xp_instance_regread returns one row with the columns Value and Data.
    folder = list(rows[0].values())[-1] if rows else None
    if not folder:
        raise BackupError(
            f"SQL Server {facts.product_version} reports no default backup folder "
            "(SERVERPROPERTY('InstanceDefaultBackupPath') needs SQL Server 2019, and the "
            "registry value BackupDirectory could not be read); pass a folder on the "
            "server, for example --folder C:\\SqlServerBackups"
        )
    return str(folder)


def _path_state(session: Session, path: str) -> tuple[bool, bool]:
    """Return (file exists, is a folder) for a server path, checked with the service account."""
    try:
        rows = session.query(statements.FILE_EXISTS, {"path": path})
    except BatchError as error:
        log.debug("sys.dm_os_file_exists is not available (%s); trying xp_fileexist", error)
        rows = session.query(statements.XP_FILE_EXIST, {"path": path})
    if not rows:
        return False, False
    values = list(rows[0].values())
    return bool(values[0]), bool(values[1])


def _service_account(session: Session) -> str | None:
    try:
        rows = session.query(statements.SERVICE_ACCOUNT)
    except BatchError as error:
        log.debug("could not read the service account: %s", error)
        return None
    account = rows[0]["service_account"] if rows else None
    return str(account) if account else None


def _account_text(account: str | None) -> str:
    if account is None:
        return "the SQL Server service account (sys.dm_server_services did not name it)"
    return f"the SQL Server service account {account!r}"


def _check_folder(session: Session, folder: str) -> None:
    exists, is_folder = _path_state(session, folder)
    if is_folder:
        return
    account = _service_account(session)
    problem = "is a file, not a folder" if exists else "does not exist or cannot be seen"
    raise BackupFolderError(
        f"backup folder {folder!r} {problem} on the SQL Server's machine for "
        f"{_account_text(account)}; create the folder on that machine, grant that account "
        "write access, or pass another folder",
        folder=folder,
        account=account,
    )


def _compression_choice(facts: ServerFacts, requested: bool | None) -> bool | None:
    supported = facts.engine_edition != EXPRESS_ENGINE_EDITION and not (
        facts.edition.startswith(("Express", "Web"))
    )
    if supported:
        return True if requested is None else requested
    if requested:
        log.warning(
            "%s cannot write compressed backups; backing up without compression",
            facts.edition or "this SQL Server edition",
        )
    return None


def _backup_failure(
    session: Session, error: BatchError, database: str, path: str, folder: str
) -> BackupError:
    if error.number == CANNOT_OPEN_DEVICE or "Cannot open backup device" in str(error):
        account = _service_account(session)
        return BackupFolderError(
            f"SQL Server could not write backup file {path!r}: {_server_text(error)}. "
            f"Grant {_account_text(account)} write access to {folder!r}, or pass another folder",
            folder=folder,
            account=account,
            database=database,
            file=path,
        )
    return BackupError(
        f"backup of database {database!r} to {path!r} failed: {error}; no backup was recorded",
        database=database,
        file=path,
    )


def _recorded_backup(session: Session, database: str, path: str) -> BackupRecord:
    for record in _history(session, database):
        if record.path == path and record.made_by_ontime_db:
            return record
    raise BackupError(
        f"BACKUP of {database!r} to {path!r} reported success, but msdb.dbo.backupset has no "
        "row for it; check the server's msdb history before relying on this file",
        database=database,
        file=path,
    )


def _verify(
    session: Session, record: BackupRecord, on_progress: ProgressCallback | None
) -> BackupRecord:
    log.info("verifying backup file %r", record.path)
    sql = statements.verify_only(record.path, position=record.position)
    try:
        session.run(sql, on_message=_message_handler("verify", record.path, on_progress))
    except BatchError as error:
        raise BackupVerificationError(
            f"backup file {record.path!r} of database {record.database!r} failed "
            f"RESTORE VERIFYONLY: {_server_text(error)}. The backup is not usable; "
            "take a new backup",
            database=record.database,
            file=record.path,
        ) from error
    log.info("backup file %r verified", record.path)
    return record.as_verified()


def _history(session: Session, database: str | None) -> list[BackupRecord]:
    if database is None:
        rows = session.query(statements.HISTORY, {})
    else:
        rows = session.query(statements.HISTORY_FOR_DATABASE, {"database": database})
    return [record_from_row(row) for row in rows]


# -- restore ---------------------------------------------------------------------


def _restore(
    session: Session,
    path: str,
    *,
    as_name: str,
    replace: bool,
    force: bool,
    on_progress: ProgressCallback | None,
    read_version: VersionReader,
    expected: BackupRecord | None = None,
) -> RestoreResult:
    check_name(as_name)
    header = _backup_header(session, path, expected)
    position = int(header["Position"])
    files = _backup_files(session, path, position)

    facts = _server_facts(session)
    if not facts.data_path:
        raise RestoreError(
            f"SQL Server {facts.product_version} reports no default data folder "
            "(SERVERPROPERTY('InstanceDefaultDataPath') needs SQL Server 2012 or later); "
            "restore this backup with SQL Server Management Studio",
            database=as_name,
            file=path,
        )
    moves = moved_files(
        as_name, files, data_folder=facts.data_path, log_folder=facts.log_path or facts.data_path
    )

    exists = _database_exists(session, as_name)
    if exists and not replace:
        raise DatabaseExistsError(
            f"database {as_name!r} already exists; restore under another name, or pass "
            "--replace (replace=True) to overwrite it",
            database=as_name,
        )
    ended = _take_exclusive(session, as_name, force=force) if exists else ()

    sql = statements.restore_database(
        as_name,
        path,
        moves=[(file.logical_name, new_path) for file, new_path in moves],
        position=position,
        replace=replace,
        checksum=bool(header.get("HasBackupChecksums")),
    )
    log.info("restoring %r as database %r", path, as_name)
    try:
        session.run(sql, on_message=_message_handler("restore", as_name, on_progress))
    except BatchError as error:
        if force and exists:
            _let_users_back(session, as_name)
        raise RestoreError(
            f"restore of {path!r} as database {as_name!r} failed: {error}",
            database=as_name,
            file=path,
        ) from error
    except KeyboardInterrupt:
        _abort(session, f"restore of {path!r} as {as_name!r}")
        raise

    if force and exists:
        _let_users_back(session, as_name)
    version = read_version(as_name)
    log.info("restored database %r, schema version %s", as_name, version or "none")
    return RestoreResult(
        database=as_name,
        path=path,
        source_database=header.get("DatabaseName"),
        backup_finished=header.get("BackupFinishDate"),
        replaced=exists,
        schema_version=version,
        files=tuple((file.logical_name, new_path) for file, new_path in moves),
        ended_sessions=ended,
    )


def _backup_header(
    session: Session, path: str, expected: BackupRecord | None
) -> dict[str, Any]:
    try:
        headers = session.query(statements.header_only(path))
    except BatchError as error:
        raise RestoreError(
            f"cannot read backup file {path!r} on the server: {_server_text(error)}; "
            "check the path, which is a path on the SQL Server's machine",
            file=path,
        ) from error
    if not headers:
        raise RestoreError(f"backup file {path!r} contains no backup set", file=path)
    if expected is None:
        return headers[-1]

    for header in headers:
        if int(header["Position"]) == expected.position:
            same = (
                header.get("DatabaseName") == expected.database
                and _as_int(header.get("LastLSN")) == expected.last_lsn
            )
            if same:
                return header
    raise RestoreError(
        f"backup file {path!r} no longer contains the backup of {expected.database!r} "
        f"finished {expected.finished} that msdb records (position {expected.position}, "
        f"last LSN {expected.last_lsn}); it was overwritten or replaced. Restore another "
        "backup listed by `ontime-db backups`",
        database=expected.database,
        file=path,
    )


def _server_text(error: BatchError) -> str:
    # The message goes inside a sentence of ours, so its closing period goes.
    return (error.server_message or str(error)).rstrip(". ")


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _backup_files(session: Session, path: str, position: int) -> list[DataFile]:
    rows = session.query(statements.filelist_only(path, position=position))
    return [
        DataFile(row["LogicalName"], row["PhysicalName"], str(row["Type"]).strip())
        for row in rows
    ]


def _sessions(session: Session, database: str) -> tuple[str, ...]:
    rows = session.query(statements.SESSIONS, {"name": database})
    return tuple(
        f"session {row['session_id']}: login {row['login_name']!r} on host "
        f"{row['host_name']!r}, program {row['program_name']!r}"
        for row in rows
    )


def _take_exclusive(session: Session, database: str, *, force: bool) -> tuple[str, ...]:
    """Make sure no other session uses ``database``; end them only with ``force``.

    Returns the descriptions of the sessions that were ended.
    """
    others = _sessions(session, database)
    if not force:
        if others:
            raise DatabaseInUseError(
                f"database {database!r} is in use by {len(others)} other session(s): "
                f"{'; '.join(others)}. Close them, or pass --force (force=True) to end them "
                "with ROLLBACK IMMEDIATE",
                sessions=others,
                database=database,
            )
        return ()

    # SINGLE_USER also keeps out sessions that arrive after the check above.
    if others:
        log.warning("ending %d session(s) in %r: %s", len(others), database, "; ".join(others))
    session.run(statements.set_single_user(database))
    return others


def _let_users_back(session: Session, database: str) -> None:
    try:
        session.run(statements.set_multi_user(database))
    except BatchError as error:
        log.error(
            "database %r may still be in SINGLE_USER mode: %s; run ALTER DATABASE ... "
            "SET MULTI_USER",
            database,
            error,
        )


def _abort(session: Session, operation: str) -> None:
    # NOTE: SQL Server leaves a partial backup file or a half-restored
    # database behind when the session ends. msdb records no backup set for
    # an unfinished BACKUP, so rollback never chooses the partial file.
    log.warning("%s interrupted; ending the statement by closing the connection", operation)
    session.abort()


# -- rename ----------------------------------------------------------------------


def _rename(session: Session, old: str, new: str, *, files: bool, force: bool) -> RenameResult:
    check_name(old)
    check_name(new)
    if old == new:
        raise ConfigurationError(f"the new name {new!r} is the current name; nothing to rename")
    _require_database(session, old)
    old_id = session.query(statements.DATABASE_ID, {"name": old})[0]["database_id"]
    new_id = session.query(statements.DATABASE_ID, {"name": new})[0]["database_id"]
    # Under a case-insensitive collation DB_ID(new) finds the database itself
    # when only the case changes; that rename is allowed.
    if new_id is not None and new_id != old_id:
        raise DatabaseExistsError(
            f"cannot rename {old!r} to {new!r}: a database named {new!r} already exists; "
            "drop or rename that one first",
            database=new,
        )
    data_files = [
        DataFile(row["name"], row["physical_name"], _FILE_TYPES.get(row["type_desc"], "D"))
        for row in session.query(statements.DATABASE_FILES, {"name": old})
    ]

    ended = _take_exclusive(session, old, force=force)
    log.info("renaming database %r to %r", old, new)
    try:
        session.run(statements.modify_name(old, new))
    except BatchError as error:
        if force:
            _let_users_back(session, old)
        if error.number == NOT_EXCLUSIVE:
            raise DatabaseInUseError(
                f"database {old!r} could not be locked for the rename because another session "
                "started using it; retry, or pass --force (force=True)",
                database=old,
            ) from error
        raise
    if force:
        _let_users_back(session, new)

    renamed: list[tuple[str, str]] = []
    if files:
        for logical, new_logical in new_logical_names(new, data_files):
            log.info("renaming logical file %r of %r to %r", logical, new, new_logical)
            session.run(statements.modify_file_name(new, logical, new_logical))
            renamed.append((logical, new_logical))
    return RenameResult(old=old, new=new, files=tuple(renamed), ended_sessions=ended)


# -- rollback --------------------------------------------------------------------


def _rollback(
    session: Session,
    database: str,
    *,
    force: bool,
    on_progress: ProgressCallback | None,
    read_version: VersionReader,
) -> RollbackResult:
    points = [record for record in _history(session, database) if record.is_rollback_point]
    if not points:
        raise RollbackPointNotFoundError(
            f"no backup of database {database!r} taken before a migrate or upgrade is recorded "
            "in this server's msdb history; list all backups with `ontime-db backups` and "
            f"restore one with `ontime-db restore PATH --as {database} --replace`",
            database=database,
        )
    chosen = _verify(session, points[0], on_progress)

    before = read_version(database) if _database_exists(session, database) else None
    log.info(
        "rolling back %r (schema version %s) to backup %r (%s)",
        database,
        before or "none",
        chosen.path,
        chosen.purpose,
    )
    restored = _restore(
        session,
        chosen.path,
        as_name=database,
        replace=True,
        force=force,
        on_progress=on_progress,
        read_version=read_version,
        expected=chosen,
    )
    return RollbackResult(
        database=database,
        backup=chosen,
        version_before=before,
        version_after=restored.schema_version,
        restore=restored,
    )


# -- messages --------------------------------------------------------------------


def _message_handler(
    step: str, target: str, on_progress: ProgressCallback | None
) -> MessageHandler:
    def handle(message: Any) -> None:
        text = str(getattr(message, "text", message))
        percent = parse_percent(text, number=getattr(message, "number", None))
        if percent is None:
            log.debug("%s %s: %s", step, target, text)
            return
        log.info("%s %s: %d%%", step, target, percent)
        if on_progress is not None:
            on_progress(Progress(step=step, target=target, percent=percent))

    return handle
