"""Rename a database, and optionally its logical files."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..errors import BatchError, ConfigurationError, DatabaseExistsError, DatabaseInUseError
from ..quoting import check_name
from . import statements
from .naming import DataFile, new_logical_names
from .restores import check_sessions, let_users_back
from .results import RenameResult
from .server import Session
from .shared import (
    IN_USE_ERRORS,
    database_id,
    in_use_message,
    master_session,
    other_sessions,
    release_pooled_connections,
    require_database,
    server_text,
)

if TYPE_CHECKING:
    from ..connection import Target

__all__ = ["rename"]

log = logging.getLogger(__name__)

_FILE_TYPES = {"ROWS": "D", "LOG": "L", "FILESTREAM": "S", "FULLTEXT": "F"}


def rename(
    target: Target, old: str, new: str, *, files: bool = False, force: bool = False
) -> RenameResult:
    """Rename database ``old`` to ``new``, with its logical file names when ``files``.

    ``ontimems.25.8`` to ``ontimems`` is the vendor's own case. Physical
    file names stay as they are. Sessions using ``old`` are ended only with
    ``force``. When ``target`` is an Engine on ``old``, its idle pooled
    connections are closed first.

    Raises :class:`~ontime_db.errors.DatabaseNotFoundError`,
    :class:`~ontime_db.errors.DatabaseExistsError` when ``new`` exists and
    :class:`~ontime_db.errors.DatabaseInUseError`.
    """
    check_name(old)
    check_name(new)
    release_pooled_connections(target, old)
    with master_session(target) as session:
        return rename_database(session, old, new, files=files, force=force)


def rename_database(
    session: Session, old: str, new: str, *, files: bool, force: bool
) -> RenameResult:
    """Run the steps of :func:`rename` on ``session``."""
    check_name(old)
    check_name(new)
    if old == new:
        raise ConfigurationError(f"the new name {new!r} is the current name; nothing to rename")
    old_id = require_database(session, old)
    new_id = database_id(session, new)
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

    others = check_sessions(session, old, force=force)
    sql = statements.exclusive_rename(old, new) if force else statements.modify_name(old, new)
    log.info("renaming database %r to %r", old, new)
    try:
        session.run(sql)
    except BatchError as error:
        if force:
            let_users_back(session, old)
        if error.number in IN_USE_ERRORS:
            current = other_sessions(session, old)
            raise DatabaseInUseError(
                f"database {old!r} could not be locked for the rename: {server_text(error)}. "
                + in_use_message(old, current, action="rename it"),
                sessions=[item.describe() for item in current],
                database=old,
            ) from error
        raise

    renamed: list[tuple[str, str]] = []
    if files:
        for logical, new_logical in new_logical_names(new, data_files):
            log.info("renaming logical file %r of %r to %r", logical, new, new_logical)
            session.run(statements.modify_file_name(new, logical, new_logical))
            renamed.append((logical, new_logical))
    return RenameResult(
        old=old,
        new=new,
        files=tuple(renamed),
        ended_sessions=tuple(item.describe() for item in others),
    )
