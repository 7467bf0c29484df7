"""The migration lock: an exclusive, session-owned application lock (``sp_getapplock``).

The lock lives in the migrated database and belongs to the migration's own
session, so a second ``migrate`` on the same database waits for it or fails,
and SQL Server releases it when that session ends, even after a crash.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import LockError

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["LOCK_MESSAGES", "acquire", "lock_resource", "release"]

log = logging.getLogger(__name__)

# sp_getapplock's @Resource is nvarchar(255); SQL Server truncates longer
# names, which could make two databases share one lock.
MAX_RESOURCE_LENGTH = 255

# Return codes of sp_getapplock below 0 (0 and 1 mean the lock was granted).
LOCK_MESSAGES = {
    -1: "timed out",
    -2: "was cancelled",
    -3: "was chosen as a deadlock victim",
    -999: "was rejected as an invalid call",
}

ACQUIRE_SQL = text(
    "SET NOCOUNT ON; DECLARE @rc int; "
    "EXEC @rc = sys.sp_getapplock @Resource = :resource, @LockMode = 'Exclusive', "
    "@LockOwner = 'Session', @LockTimeout = :timeout_ms; "
    "SELECT @rc;"
)
RELEASE_SQL = text(
    "SET NOCOUNT ON; DECLARE @rc int; "
    "EXEC @rc = sys.sp_releaseapplock @Resource = :resource, @LockOwner = 'Session'; "
    "SELECT @rc;"
)


def lock_resource(database: str) -> str:
    """Return the lock's resource name for ``database``.

    Resource names compare as binary, so ``database`` should be the name as
    SQL Server stores it (``DB_NAME()``), not as the user typed it.

    >>> lock_resource("ontimems.25.8")
    'ontime_db:ontimems.25.8'
    """
    resource = f"ontime_db:{database}"
    if len(resource) <= MAX_RESOURCE_LENGTH:
        return resource
    return "ontime_db:sha256:" + hashlib.sha256(database.encode("utf-8")).hexdigest()


def acquire(connection: Connection, database: str, *, timeout: float) -> None:
    """Take the exclusive migration lock of ``database``, waiting at most ``timeout`` seconds.

    Raises :class:`~ontime_db.errors.LockError` with sp_getapplock's return
    code when the lock is not granted.
    """
    timeout_ms = max(0, round(timeout * 1000))
    code = connection.execute(
        ACQUIRE_SQL, {"resource": lock_resource(database), "timeout_ms": timeout_ms}
    ).scalar_one()
    if code >= 0:
        log.info("took the migration lock of %s", database)
        return
    reason = LOCK_MESSAGES.get(code, f"failed with return code {code}")
    advice = (
        "another migration is running on it; wait for it to finish or raise --lock-timeout"
        if code == -1
        else "run the migration again"
    )
    raise LockError(
        f"the migration lock of database {database!r} {reason} after waiting up to "
        f"{timeout:g} s (sp_getapplock returned {code}): {advice}",
        code=code,
        database=database,
    )


def release(connection: Connection, database: str) -> None:
    """Release the migration lock; log a warning instead of raising when the statement fails.

    The lock belongs to the session, so SQL Server also drops it when the
    session ends. A connection that returns to a pool keeps its session, and
    the lock with it, until the release runs.
    """
    try:
        code = connection.execute(RELEASE_SQL, {"resource": lock_resource(database)}).scalar_one()
    except SQLAlchemyError as err:  # the connection may already be broken
        log.warning("could not release the migration lock of %s: %s", database, err)
        return
    if code < 0:
        log.warning("sp_releaseapplock returned %s for the lock of %s", code, database)
    else:
        log.info("released the migration lock of %s", database)
