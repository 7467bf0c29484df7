"""The two ways operations talk to SQL Server: queries that return rows, and long statements.

:class:`Session` is what the backup, restore, rename and rollback steps need
from a connection; :class:`ConnectionSession` provides it over a SQLAlchemy
connection to ``master`` in autocommit mode, because BACKUP, RESTORE and
ALTER DATABASE cannot run inside a user transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import BatchError
from ..script.runner import parse_driver_error

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.exc import DBAPIError

__all__ = ["ConnectionSession", "MessageHandler", "Session"]

MessageHandler = Callable[[Any], None]


class Session(Protocol):
    """A connection to ``master`` that runs catalog queries and long statements."""

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a query and return its rows; raise BatchError when the server rejects it."""
        ...

    def run(self, sql: str, *, on_message: MessageHandler | None = None) -> None:
        """Run one statement, reading every result set and message it sends."""
        ...

    def abort(self) -> None:
        """Drop the connection so the server ends the running statement.

        A later ``query`` or ``run`` opens a new connection.
        """
        ...


class ConnectionSession:
    """A :class:`Session` over a SQLAlchemy connection in autocommit mode."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        from sqlalchemy import text
        from sqlalchemy.exc import DBAPIError

        self._reconnect_if_aborted()
        try:
            if params is None:
                # Caller text is already quoted into `sql`; the driver must not
                # look for bind parameters in it.
                result = self._connection.exec_driver_sql(sql)
            else:
                result = self._connection.execute(text(sql), dict(params))
            return [dict(row) for row in result.mappings()]
        except DBAPIError as error:
            raise _batch_error(error, sql) from error

    def run(self, sql: str, *, on_message: MessageHandler | None = None) -> None:
        from ..script import execute

        self._reconnect_if_aborted()
        execute(self._connection, sql, on_message=on_message)

    def abort(self) -> None:
        # Invalidating closes the DBAPI connection without returning it to
        # the pool; SQL Server then ends the session and its running request.
        self._connection.invalidate()

    def _reconnect_if_aborted(self) -> None:
        # SQLAlchemy reconnects an invalidated Connection on its next use,
        # once the transaction that was open on the dropped one is rolled back.
        if self._connection.invalidated:
            self._connection.rollback()


def _batch_error(error: DBAPIError, sql: str) -> BatchError:
    driver_error = error.orig if isinstance(error.orig, Exception) else error
    number, text = parse_driver_error(driver_error)
    described = f"SQL Server error {number}: {text}" if number is not None else text
    first_line = sql.split("\n", 1)[0][:200]
    return BatchError(
        f"SQL Server rejected {first_line!r}: {described}",
        number=number,
        server_message=text,
    )
