"""Take, verify and list backups on a live server.

Progress: pyodbc returns from ``execute`` at the first informational
message of a running statement and from each ``nextset`` at the next one
(the ODBC driver stops at each message), and
:func:`ontime_db.script.execute` hands each message on before it requests the
next. So every ``N percent processed.`` message of ``STATS = 10`` reaches
the progress display while BACKUP still runs: the user sees one step per
tenth of the work, and Ctrl-C takes effect when the next message arrives.
Closing the cursor before the last message cancels the BACKUP, which is
why the statement is always read to its end.

NOTE: ``sys.dm_exec_requests.percent_complete`` is not polled. Polling it
needs a second connection and a second thread while the first one waits in
the driver, and would add finer steps only between two STATS messages.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..errors import BackupError, BackupFolderError, BackupVerificationError, BatchError
from ..quoting import check_name
from . import statements
from .naming import VENDOR_FOLDER, unique_backup_path
from .records import MARKER, BackupRecord, format_description, record_from_row
from .server import Session
from .shared import (
    ProgressCallback,
    ServerFacts,
    VersionReader,
    abort,
    add_note,
    master_session,
    message_handler,
    require_database,
    server_error_text,
    server_facts,
    server_text,
    tool_version,
    version_reader,
)

if TYPE_CHECKING:
    from ..connection import Target

__all__ = ["backup", "list_backups"]

log = logging.getLogger(__name__)

# SERVERPROPERTY('EngineEdition'): 4 is Express. Backup compression needs
# Enterprise, Standard or Developer ("Backup compression", SQL Server 2008 R2
# to 2022); SQL Server 2008 (10.0) had it in Enterprise only. Web reports
# EngineEdition 2 like Standard, so its edition name is checked too.
EXPRESS_ENGINE_EDITION = 4
COMPRESSION_IN_STANDARD_SINCE = (10, 50)
# "Cannot open backup device ...": the folder is missing or not writable.
CANNOT_OPEN_DEVICE = 3201


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
    The backup uses ``CHECKSUM`` and ``NOINIT``, ``COPY_ONLY`` when asked, and
    compression when the edition supports it (``compression=None``).
    ``purpose`` is recorded in ``msdb`` with the schema version and the tool
    version; ``rollback`` looks for purposes starting with
    ``"before migrate"`` or ``"before upgrade"``.

    On Ctrl-C the BACKUP is cancelled and ``KeyboardInterrupt`` is raised
    again, with a note that names the partial file; SQL Server records no
    backup set for a cancelled BACKUP, so nothing offers that file later.

    Raises :class:`~ontime_db.errors.DatabaseNotFoundError`,
    :class:`~ontime_db.errors.BackupFolderError` (folder missing or not
    writable, naming the service account),
    :class:`~ontime_db.errors.BackupVerificationError` when ``RESTORE
    VERIFYONLY`` rejects the file, and :class:`~ontime_db.errors.BackupError`.

    Example: ``backup("mssql+pyodbc://...", "ontimems", purpose="before upgrade from 2.6.1")``
    """
    from .shared import database_name

    name = database_name(target, database)
    with master_session(target) as session:
        return take_backup(
            session,
            name,
            folder=folder,
            copy_only=copy_only,
            compression=compression,
            verify=verify,
            vendor_layout=vendor_layout,
            purpose=purpose,
            on_progress=on_progress,
            read_version=version_reader(target),
        )


def list_backups(target: Target, database: str | None = None) -> list[BackupRecord]:
    """Return the full database backups ``msdb`` records, newest first.

    ``database`` ``None`` lists every database's backups, including those
    made by other tools; :attr:`BackupRecord.made_by_ontime_db` distinguishes
    them.
    """
    if database is not None:
        check_name(database)
    with master_session(target) as session:
        return history(session, database)


def take_backup(
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
    """Run the steps of :func:`backup` on ``session``."""
    facts = server_facts(session)
    require_database(session, database)
    schema_version = read_version(database)

    if folder is None:
        folder = VENDOR_FOLDER if vendor_layout else default_backup_folder(session, facts)
    check_folder(session, folder)
    use_compression = compression_choice(facts, compression)

    path = unique_backup_path(
        folder, database, facts.server_time, exists=lambda p: path_state(session, p)[0]
    )
    description = format_description(
        purpose=purpose, schema_version=schema_version, tool_version=tool_version()
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
    try:
        session.run(sql, on_message=message_handler("backup", database, on_progress))
    except BatchError as error:
        raise backup_failure(session, error, database, path, folder) from error
    except KeyboardInterrupt as interrupt:
        abort(session, f"backup of {database!r} to {path!r}")
        add_note(interrupt, interrupted_backup_note(session, database, path))
        raise

    record = recorded_backup(session, database, path)
    log.info("backup of %r written: %r, %s bytes", database, path, record.size)
    if verify:
        record = verify_backup(session, record, on_progress)
    return record


def default_backup_folder(session: Session, facts: ServerFacts) -> str:
    """Return the instance's default backup folder, from SERVERPROPERTY or the registry."""
    if facts.backup_path:
        return facts.backup_path
    try:
        rows = session.query(statements.REGISTRY_BACKUP_DIRECTORY)
    except BatchError as error:
        log.debug("registry read of the backup folder failed: %s", error)
        rows = []
    folder = rows[0].get("Data") if rows else None
    if not folder:
        raise BackupError(
            f"SQL Server {facts.product_version} reports no default backup folder "
            "(SERVERPROPERTY('InstanceDefaultBackupPath') needs SQL Server 2019, and the "
            "registry value BackupDirectory could not be read); pass a folder on the "
            "server, for example --folder C:\\SqlServerBackups"
        )
    return str(folder)


def path_state(session: Session, path: str) -> tuple[bool, bool]:
    """Return (file exists, is a folder) for a server path, checked with the service account."""
    try:
        rows = session.query(statements.FILE_EXISTS, {"path": path})
    except BatchError as error:
        log.debug("sys.dm_os_file_exists is not available (%s); trying xp_fileexist", error)
        rows = session.query(statements.XP_FILE_EXIST, {"path": path})
        if not rows:
            return False, False
        return bool(rows[0]["File Exists"]), bool(rows[0]["File is a Directory"])
    if not rows:
        return False, False
    return bool(rows[0]["file_exists"]), bool(rows[0]["file_is_a_directory"])


def service_account(session: Session) -> str | None:
    """Return the SQL Server service account, or ``None`` when the server does not report it."""
    try:
        rows = session.query(statements.SERVICE_ACCOUNT)
    except BatchError as error:
        log.debug("could not read the service account: %s", error)
        return None
    account = rows[0]["service_account"] if rows else None
    return str(account) if account else None


def account_text(account: str | None) -> str:
    """Return the service account for a message, or state that it is unknown."""
    if account is None:
        return "the SQL Server service account (sys.dm_server_services did not name it)"
    return f"the SQL Server service account {account!r}"


def check_folder(session: Session, folder: str) -> None:
    """Raise :class:`~ontime_db.errors.BackupFolderError` unless ``folder`` is a server folder."""
    exists, is_folder = path_state(session, folder)
    if is_folder:
        return
    account = service_account(session)
    problem = "is a file, not a folder" if exists else "does not exist or cannot be seen"
    raise BackupFolderError(
        f"backup folder {folder!r} {problem} on the SQL Server's machine for "
        f"{account_text(account)}; create the folder on that machine, grant that account "
        "write access, or pass another folder",
        folder=folder,
        account=account,
    )


def compression_choice(facts: ServerFacts, requested: bool | None) -> bool | None:
    """Return the compression option to send: ``None`` sends none, as editions without it need."""
    if compression_supported(facts):
        return True if requested is None else requested
    if requested:
        log.warning(
            "%s cannot write compressed backups; backing up without compression",
            facts.edition or "this SQL Server edition",
        )
    return None


def compression_supported(facts: ServerFacts) -> bool:
    """Return whether the edition and version can write compressed backups."""
    if facts.engine_edition == EXPRESS_ENGINE_EDITION:
        return False
    if facts.edition.startswith(("Express", "Web")):
        return False
    if facts.edition.startswith("Standard"):
        return _major_minor(facts.product_version) >= COMPRESSION_IN_STANDARD_SINCE
    return True


def _major_minor(product_version: str) -> tuple[int, int]:
    parts = product_version.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        # An unreadable version is taken as current, which supports compression.
        return (99, 0)


def backup_failure(
    session: Session, error: BatchError, database: str, path: str, folder: str
) -> BackupError:
    """Turn a failed BACKUP into a folder error (error 3201) or a plain backup error."""
    if error.number == CANNOT_OPEN_DEVICE or "Cannot open backup device" in str(error):
        account = service_account(session)
        return BackupFolderError(
            f"SQL Server could not write backup file {path!r}: {server_text(error)}. "
            f"Grant {account_text(account)} write access to {folder!r}, or pass another folder",
            folder=folder,
            account=account,
            database=database,
            file=path,
        )
    return BackupError(
        f"backup of database {database!r} to {path!r} failed: {server_error_text(error)}; "
        "no backup was recorded",
        database=database,
        file=path,
    )


def interrupted_backup_note(session: Session, database: str, path: str) -> str:
    """Describe what an interrupted BACKUP left behind, checked in ``msdb``."""
    try:
        finished = find_recorded(session, database, path)
    except BatchError as error:
        log.debug("msdb could not be read after the interrupt: %s", error)
        finished = None
    if finished is not None:
        note = (
            f"The backup of {database!r} finished before the interrupt and msdb records "
            f"{path!r}; it was not verified: run `ontime-db backup` again or verify the file "
            "with RESTORE VERIFYONLY before relying on it."
        )
    else:
        note = (
            f"The backup of {database!r} was cancelled. msdb records no backup set for "
            f"{path!r}, so `backups` and `rollback` never offer it; a partial file may remain "
            "on the SQL Server's machine and is not a usable backup: delete it."
        )
    log.warning("%s", note)
    return note


def find_recorded(session: Session, database: str, path: str) -> BackupRecord | None:
    """Return ontime_db's newest ``msdb`` record of a backup of ``database`` written to ``path``."""
    for record in history(session, database):
        if record.path == path and record.made_by_ontime_db:
            return record
    return None


def recorded_backup(session: Session, database: str, path: str) -> BackupRecord:
    """Return the ``msdb`` record of the backup just written; raise when there is none."""
    record = find_recorded(session, database, path)
    if record is not None:
        return record
    raise BackupError(
        f"BACKUP of {database!r} to {path!r} reported success, but msdb.dbo.backupset has no "
        "row for it; check the server's msdb history before relying on this file",
        database=database,
        file=path,
    )


def verify_backup(
    session: Session, record: BackupRecord, on_progress: ProgressCallback | None
) -> BackupRecord:
    """Run ``RESTORE VERIFYONLY`` on the record's backup set; return it marked as verified."""
    log.info("verifying backup file %r", record.path)
    sql = statements.verify_only(
        record.path, position=record.position, checksum=record.has_checksums
    )
    try:
        session.run(sql, on_message=message_handler("verify", record.path, on_progress))
    except BatchError as error:
        raise BackupVerificationError(
            f"backup file {record.path!r} of database {record.database!r} failed "
            f"RESTORE VERIFYONLY: {server_text(error)}. The backup is not usable; "
            "take a new backup",
            database=record.database,
            file=record.path,
        ) from error
    log.info("backup file %r verified", record.path)
    return record.as_verified()


def history(session: Session, database: str | None) -> list[BackupRecord]:
    """Read the full database backups ``msdb`` records, newest first."""
    if database is None:
        rows = session.query(statements.HISTORY, {})
    else:
        rows = session.query(statements.HISTORY_FOR_DATABASE, {"database": database})
    return [record_from_row(row) for row in rows]
