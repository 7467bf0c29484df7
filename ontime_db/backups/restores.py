"""Restore a backup file as a new or an existing database."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import BatchError, DatabaseExistsError, DatabaseInUseError, RestoreError
from ..quoting import check_name, quote_identifier
from . import statements
from .naming import DataFile, moved_files
from .records import BackupRecord
from .results import RestoreResult
from .server import Session
from .shared import (
    IN_USE_ERRORS,
    ProgressCallback,
    SessionInfo,
    VersionReader,
    abort,
    add_note,
    database_state,
    in_use_message,
    master_session,
    message_handler,
    other_sessions,
    release_pooled_connections,
    server_error_text,
    server_facts,
    server_text,
    version_reader,
)

if TYPE_CHECKING:
    from ..connection import Target

__all__ = ["restore"]

log = logging.getLogger(__name__)

# RESTORE HEADERONLY BackupType 1 is a full database backup (2 log, 5 differential).
FULL_DATABASE_BACKUP = 1


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

    The newest full database backup set in the file is restored. Data and log
    files go to the instance's default data and log folders under names
    derived from ``as_name``, so a restore beside the original never touches
    its files. An existing ``as_name`` is overwritten only with ``replace``;
    sessions using it are ended only with ``force``. When ``target`` is an
    Engine on ``as_name``, its idle pooled connections are closed first.

    On Ctrl-C the RESTORE is cancelled and ``KeyboardInterrupt`` is raised
    again, with a note that gives the database's state and the next step.

    Raises :class:`~ontime_db.errors.DatabaseExistsError`,
    :class:`~ontime_db.errors.DatabaseInUseError` (listing the sessions and
    which of them belong to this process) and
    :class:`~ontime_db.errors.RestoreError`.
    """
    check_name(as_name)
    release_pooled_connections(target, as_name)
    with master_session(target) as session:
        return restore_backup(
            session,
            path,
            as_name=as_name,
            replace=replace,
            force=force,
            on_progress=on_progress,
            read_version=version_reader(target),
        )


def free_moved_files(
    session: Session,
    as_name: str,
    files: Sequence[DataFile],
    *,
    data_folder: str,
    log_folder: str,
) -> list[tuple[DataFile, str]]:
    """Return :func:`moved_files` paths that no other database's files use.

    After the legacy upgrade renames the original database aside, its files
    still carry the original name, so a rollback under that name would move
    the backup's files onto them. The names then get a suffix ``_2``, ``_3``
    and so on until no path is taken.
    """
    taken = {
        str(row["physical_name"]).casefold()
        for row in session.query(statements.FILES_OF_OTHER_DATABASES, {"name": as_name})
    }
    for suffix in range(1, 100):
        base = as_name if suffix == 1 else f"{as_name}_{suffix}"
        moves = moved_files(base, files, data_folder=data_folder, log_folder=log_folder)
        if not any(path.casefold() in taken for _, path in moves):
            if suffix > 1:
                log.info("files named after %r are in use; restoring as %r files", as_name, base)
            return moves
    raise RestoreError(
        f"no free file names for database {as_name!r} in {data_folder}: files named "
        f"{as_name}.mdf to {as_name}_99.mdf belong to other databases; drop or rename them",
        database=as_name,
    )


def restore_backup(
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
    """Run the steps of :func:`restore` on ``session``; ``expected`` pins the backup set."""
    check_name(as_name)
    header = backup_header(session, path, expected)
    position = int(header["Position"])
    files = backup_files(session, path, position)

    facts = server_facts(session)
    if not facts.data_path:
        raise RestoreError(
            f"SQL Server {facts.product_version} reports no default data folder "
            "(SERVERPROPERTY('InstanceDefaultDataPath') needs SQL Server 2012 or later); "
            "restore this backup with SQL Server Management Studio",
            database=as_name,
            file=path,
        )
    moves = free_moved_files(
        session,
        as_name,
        files,
        data_folder=facts.data_path,
        log_folder=facts.log_path or facts.data_path,
    )

    state = database_state(session, as_name)
    exists = state is not None
    if exists and not replace:
        raise DatabaseExistsError(
            f"database {as_name!r} already exists; restore under another name, or pass "
            "--replace (replace=True) to overwrite it",
            database=as_name,
        )
    # A database left RESTORING by an interrupted restore has no sessions,
    # and ALTER DATABASE cannot change its user access.
    exclusive = exists and state != "RESTORING"
    others = check_sessions(session, as_name, force=force) if exclusive else []

    sql = statements.restore_database(
        as_name,
        path,
        moves=[(file.logical_name, new_path) for file, new_path in moves],
        position=position,
        replace=replace,
        checksum=bool(header.get("HasBackupChecksums")),
    )
    if exclusive and force:
        sql = statements.exclusive_restore(as_name, sql)

    log.info("restoring %r as database %r", path, as_name)
    try:
        session.run(sql, on_message=message_handler("restore", as_name, on_progress))
    except BatchError as error:
        if exclusive and force:
            let_users_back(session, as_name)
        raise restore_failure(session, error, path, as_name) from error
    except KeyboardInterrupt as interrupt:
        abort(session, f"restore of {path!r} as {as_name!r}")
        add_note(interrupt, interrupted_restore_note(session, path, as_name))
        raise

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
        ended_sessions=tuple(item.describe() for item in others),
    )


def backup_header(session: Session, path: str, expected: BackupRecord | None) -> dict[str, Any]:
    """Return the ``RESTORE HEADERONLY`` row of the backup set to restore.

    Columns are read by name: SQL Server 2016, 2019 and 2022 each appended
    columns to this result.
    """
    try:
        headers = session.query(statements.header_only(path))
    except BatchError as error:
        raise RestoreError(
            f"cannot read backup file {path!r} on the server: {server_text(error)}; "
            "check the path, which is a path on the SQL Server's machine",
            file=path,
        ) from error
    if expected is None:
        full = [row for row in headers if _as_int(row.get("BackupType")) == FULL_DATABASE_BACKUP]
        if not full:
            raise RestoreError(
                f"backup file {path!r} contains no full database backup set "
                f"({len(headers)} set(s) of other types); restore needs a full backup",
                file=path,
            )
        return full[-1]

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


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def backup_files(session: Session, path: str, position: int) -> list[DataFile]:
    """Return the files of a backup set, read by column name from ``RESTORE FILELISTONLY``."""
    rows = session.query(statements.filelist_only(path, position=position))
    return [
        DataFile(row["LogicalName"], row["PhysicalName"], str(row["Type"]).strip()) for row in rows
    ]


def check_sessions(session: Session, database: str, *, force: bool) -> list[SessionInfo]:
    """Return the other sessions in ``database``; raise when there are any and not ``force``."""
    others = other_sessions(session, database)
    if others and not force:
        raise DatabaseInUseError(
            in_use_message(database, others, action="restore it"),
            sessions=[item.describe() for item in others],
            database=database,
        )
    if others:
        log.warning(
            "ending %d session(s) in %r: %s",
            len(others),
            database,
            "; ".join(item.describe() for item in others),
        )
    return others


def let_users_back(session: Session, database: str) -> None:
    """Set ``database`` back to MULTI_USER when a failed step left it in SINGLE_USER."""
    try:
        rows = session.query(statements.DATABASE_STATE, {"name": database})
        if not rows or rows[0]["user_access_desc"] != "SINGLE_USER":
            return
        if rows[0]["state_desc"] != "ONLINE":
            return
        session.run(statements.set_multi_user(database))
    except BatchError as error:
        log.error(
            "database %r may still be in SINGLE_USER mode: %s; run ALTER DATABASE %s "
            "SET MULTI_USER",
            database,
            error,
            quote_identifier(database),
        )


def restore_failure(
    session: Session, error: BatchError, path: str, database: str
) -> RestoreError | DatabaseInUseError:
    """Turn a failed RESTORE into an in-use error (3101, 5064) or a restore error."""
    if error.number in IN_USE_ERRORS:
        others = other_sessions(session, database)
        return DatabaseInUseError(
            f"restore of {path!r} as database {database!r} failed because another session "
            f"uses the database: {server_text(error)}. "
            + in_use_message(database, others, action="restore it"),
            sessions=[item.describe() for item in others],
            database=database,
        )
    return RestoreError(
        f"restore of {path!r} as database {database!r} failed: {server_error_text(error)}",
        database=database,
        file=path,
    )


def interrupted_restore_note(session: Session, path: str, database: str) -> str:
    """Describe the state an interrupted RESTORE left ``database`` in, and the next step."""
    try:
        state = database_state(session, database)
    except BatchError as error:
        log.debug("the state of %r could not be read after the interrupt: %s", database, error)
        state = "unknown"
    quoted = quote_identifier(database)
    # An interrupted restore cannot be resumed or recovered: RESTORE ... WITH
    # RECOVERY fails on it. It is run again from the start (optionally WITH
    # RESTART), or the database is dropped ("Restart an interrupted restore
    # operation", SQL Server 2008 R2 to 2022).
    note = (
        f"The restore of {path!r} as {database!r} was cancelled; the database state is "
        f"{state or 'gone'}. A database left RESTORING is unusable and its previous contents "
        "are gone; RESTORE ... WITH RECOVERY does not bring it back. Run the restore again "
        f"(`ontime-db restore {path} --as {database} --replace`) or drop it with "
        f"DROP DATABASE {quoted}."
    )
    log.warning("%s", note)
    return note
