"""Pieces that backup, restore, rename and rollback share: connections, server facts, sessions.

Each public operation opens one autocommit connection to ``master`` on the
target's server and hands a :class:`~ontime_db.backups.server.Session` to a
private function that contains the steps, so those steps can be checked with a
fake session that records the SQL sent. No client-side query timeout is set:
a backup of a large database may run for hours.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import BatchError, ConfigurationError, DatabaseNotFoundError, InvalidSchemaVersion
from ..quoting import check_name
from . import statements
from .progress import Progress, parse_percent
from .server import ConnectionSession, MessageHandler, Session

if TYPE_CHECKING:
    from ..connection import Target

log = logging.getLogger(__name__)

ProgressCallback = Callable[[Progress], None]
VersionReader = Callable[[str], "str | None"]

# "Exclusive access could not be obtained because the database is in use." (RESTORE)
RESTORE_NOT_EXCLUSIVE = 3101
# "The database could not be exclusively locked to perform the operation." (MODIFY NAME)
RENAME_NOT_EXCLUSIVE = 5030
# "... The database is in single-user mode, and a user is currently connected to it."
SINGLE_USER_TAKEN = 5064
IN_USE_ERRORS = frozenset({RESTORE_NOT_EXCLUSIVE, RENAME_NOT_EXCLUSIVE, SINGLE_USER_TAKEN})


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


@dataclass(frozen=True)
class SessionInfo:
    """Another session whose current database is the one an operation needs alone.

    ``own_process`` is true when the session's client is this Python process
    (same host name and process id), for example an idle connection in the
    pool of an engine the caller still holds.
    """

    session_id: int
    login: str | None
    host: str | None
    program: str | None
    process_id: int | None
    own_process: bool

    def describe(self) -> str:
        """Return one line for messages and logs."""
        text = (
            f"session {self.session_id}: login {self.login!r} on host {self.host!r}, "
            f"program {self.program!r}"
        )
        if self.own_process:
            text += f" (this process, id {self.process_id})"
        return text


# -- connections -----------------------------------------------------------------


def database_name(target: Target, database: str | None) -> str:
    """Return ``database``, else the database the target names; raise when neither names one."""
    if database is None:
        from ..connection import database_of

        database = database_of(target)
    if not database:
        raise ConfigurationError(
            "no database given: pass --database NAME (or a --url that names one; quote a "
            "JDBC URL that contains ';')"
        )
    return check_name(database)


@contextmanager
def master_session(target: Target) -> Iterator[Session]:
    """Yield a session on ``master`` of the target's server, in autocommit mode."""
    from ..connection import engine_scope

    scope = engine_scope(target, database="master", autocommit=True)
    with scope as engine, engine.connect() as connection:
        yield ConnectionSession(connection)


def release_pooled_connections(target: Target, database: str) -> None:
    """Close the idle pooled connections of a caller's engine on ``database``.

    A SQLAlchemy pool keeps its connections open, and each is a session in
    the engine's database that would make a restore, rename or roll back of
    that database report it as in use. ``Engine.dispose()`` closes the
    connections checked in to the pool and leaves the engine usable. Those
    the caller still has checked out stay open and are reported as this
    process's.
    Engines the library creates itself are disposed when each step ends.
    """
    from sqlalchemy.engine import Engine

    if isinstance(target, Engine) and target.url.database == database:
        log.info("closing the idle pooled connections of the engine on %r", database)
        target.dispose()


def version_reader(target: Target) -> VersionReader:
    """Return a function that reads a database's schema version with a short-lived connection."""

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


def tool_version() -> str:
    """Return the installed ontime-db version, or ``"unknown"`` in a source checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ontime-db")
    except PackageNotFoundError:
        return "unknown"


# -- catalog reads ---------------------------------------------------------------


def server_facts(session: Session) -> ServerFacts:
    """Read edition, version, default folders and the server's clock."""
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


def database_id(session: Session, database: str) -> int | None:
    """Return ``DB_ID(database)``, or ``None`` when the server has no such database."""
    rows = session.query(statements.DATABASE_ID, {"name": database})
    found = rows[0]["database_id"] if rows else None
    return None if found is None else int(found)


def database_exists(session: Session, database: str) -> bool:
    """Return whether ``DB_ID`` finds ``database``."""
    return database_id(session, database) is not None


def require_database(session: Session, database: str) -> int:
    """Return the id of ``database``.

    Raises :class:`~ontime_db.errors.DatabaseNotFoundError` when it is missing.
    """
    found = database_id(session, database)
    if found is None:
        raise DatabaseNotFoundError(
            f"database {database!r} does not exist on this server; "
            "check the name with `ontime-db info`",
            database=database,
        )
    return found


def database_state(session: Session, database: str) -> str | None:
    """Return ``sys.databases.state_desc`` (ONLINE, RESTORING ...), or ``None`` when it is gone."""
    rows = session.query(statements.DATABASE_STATE, {"name": database})
    return str(rows[0]["state_desc"]) if rows else None


def other_sessions(session: Session, database: str) -> list[SessionInfo]:
    """List the sessions other than the library's own whose current database is ``database``."""
    rows = session.query(statements.SESSIONS, {"name": database})
    return [session_info(row) for row in rows]


def session_info(row: Mapping[str, Any]) -> SessionInfo:
    """Build a :class:`SessionInfo` from a ``sys.dm_exec_sessions`` row."""
    process_id = row.get("host_process_id")
    host = row.get("host_name")
    return SessionInfo(
        session_id=int(row["session_id"]),
        login=row.get("login_name"),
        host=host,
        program=row.get("program_name"),
        process_id=None if process_id is None else int(process_id),
        own_process=process_id is not None
        and int(process_id) == os.getpid()
        and is_this_host(host),
    )


def is_this_host(host: str | None) -> bool:
    """Return whether a session's ``host_name`` names the machine running this process.

    ODBC drivers send the computer's short name (at most 15 characters on
    Windows), so only the first label is compared, ignoring case.
    """
    if not host:
        return False
    local = socket.gethostname().split(".", 1)[0].lower()
    remote = host.split(".", 1)[0].lower()
    return bool(local) and (remote == local or remote == local[:15])


def in_use_message(database: str, sessions: Sequence[SessionInfo], *, action: str) -> str:
    """Build the message of :class:`~ontime_db.errors.DatabaseInUseError` for ``sessions``."""
    if not sessions:
        # sys.dm_exec_sessions shows other logins' sessions only with VIEW SERVER STATE.
        return (
            f"No other session in {database!r} is visible to this login; a login with "
            "VIEW SERVER STATE can list them. Close them, or pass --force (force=True) to end "
            "them with ROLLBACK IMMEDIATE"
        )
    text = (
        f"database {database!r} is in use by {len(sessions)} other session(s): "
        f"{'; '.join(item.describe() for item in sessions)}. "
    )
    own = [item for item in sessions if item.own_process]
    if own:
        text += (
            f"{len(own)} of them belong to this process: close the connections you hold "
            "on that database and call dispose() on their engine before you "
            f"{action}. "
        )
    return text + "Close them, or pass --force (force=True) to end them with ROLLBACK IMMEDIATE"


# -- messages --------------------------------------------------------------------


def message_handler(step: str, target: str, on_progress: ProgressCallback | None) -> MessageHandler:
    """Return a handler that turns STATS messages into :class:`Progress` for ``on_progress``."""

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


def server_text(error: BatchError) -> str:
    """Return SQL Server's message without its closing period, to quote inside a sentence."""
    return (error.server_message or str(error)).rstrip(". ")


def server_error_text(error: BatchError) -> str:
    """Return ``SQL Server error N: text`` for a failed statement, or the text alone.

    The message of a :class:`BatchError` from a single statement also names
    "script text" and a batch line, which mean nothing to a restore or backup.
    """
    if error.number is None:
        return server_text(error)
    return f"SQL Server error {error.number}: {server_text(error)}"


def add_note(error: BaseException, note: str) -> None:
    """Attach ``note`` to ``error`` where Python supports notes (3.11 and later).

    The note is logged as a warning by the caller as well, so Python 3.10
    users see it too.
    """
    attach = getattr(error, "add_note", None)
    if callable(attach):
        attach(note)


def abort(session: Session, operation: str) -> None:
    """End a running statement by dropping the session's connection."""
    log.warning("%s interrupted; ending the statement by closing the connection", operation)
    session.abort()
