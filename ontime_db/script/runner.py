"""Run batches on a SQLAlchemy connection like sqlcmd: every result set, every message, in order.

Batches go through the DB-API cursor of the connection
(``connection.connection.cursor()``) instead of ``Connection.exec_driver_sql``,
because SQLAlchemy closes a cursor whose first result has no rows, and with
it the result sets and errors that follow. SQLAlchemy's
``before_cursor_execute`` and ``after_cursor_execute`` events are still fired,
so listeners that count round trips see every batch.

NOTE: only pyodbc's behaviour (``cursor.messages`` after ``execute`` and
each ``nextset``) is covered by the live tests. mssql-python has the same
``messages`` attribute, but older releases drop the messages that arrive after
the first result set. Error numbers are read from pyodbc's error text, so
they are ``None`` when another driver formats its errors differently.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import BatchError, ConfigurationError
from ..quoting import quote_string
from .lexer import where
from .model import Message, RunResult, Script
from .splitter import check_not_mixed

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["execute", "run"]

log = logging.getLogger(__name__)

MessageHandler = Callable[[Message], None]

# "[01000] (50000)" is how pyodbc writes SQLSTATE and native error number.
_MESSAGE_CODE = re.compile(r"\((-?\d+)\)")
# The driver prefixes a server's text with "[Microsoft][ODBC Driver 18 for SQL
# Server][SQL Server]" (FreeTDS: "[FreeTDS][SQL Server]").
_DRIVER_PREFIX = re.compile(r"^(?:\[[^\]]*\])*?\[SQL Server\]")
_DIAGNOSTIC_SPLIT = re.compile(r";\s+(?=\[[0-9A-Z]{5}\])")
_DIAGNOSTIC = re.compile(
    r"^\[(?P<state>[0-9A-Z]{5})\]\s*(?P<text>.*?)\s*\((?P<number>-?\d+)\)(?:\s*\(SQL\w+\))?\s*$",
    re.DOTALL,
)


def run(
    connection: Connection,
    script: Script,
    *,
    on_message: MessageHandler | None = None,
    allow_mixed: bool = False,
) -> RunResult:
    """Run the batches of ``script`` in order on ``connection``, each ``repeat`` times.

    The connection's transaction mode is the caller's: this function never
    commits, and begins a transaction only where SQLAlchemy's own execute
    methods would (autobegin, when none is in progress), so
    ``connection.commit()`` afterwards commits the script. On an engine in
    autocommit mode every batch is committed as it runs. Messages
    (``PRINT``, ``RAISERROR`` of severity 10 or less) go to ``on_message``
    and to the log as they arrive.

    Raises :class:`~ontime_db.errors.MixedTransactionModeError` before
    sending anything when the script mixes batches that need a transaction
    with batches SQL Server rejects inside one, unless ``allow_mixed``;
    :class:`~ontime_db.errors.BatchError` for a server error of severity
    11 or more, naming the file, batch and line. The batches before the
    failed one have run.

    Example::

        with engine.connect() as connection:
            run(connection, load("create.sql"), on_message=print)
            connection.commit()
    """
    if not allow_mixed:
        check_not_mixed(script)

    name = script.file or "script text"
    log.info("running %s: %d batches", name, len(script.batches))
    messages: list[Message] = []

    def collect(message: Message) -> None:
        messages.append(message)
        if on_message is not None:
            on_message(message)

    executions = 0
    for batch in script.batches:
        log.debug("batch %d (line %d), %d time(s)", batch.number, batch.line, batch.repeat)
        for _ in range(batch.repeat):
            execute(
                connection,
                batch.text,
                on_message=collect,
                file=batch.file,
                batch=batch.number,
                line=batch.line,
            )
            executions += 1

    log.info("ran %s: %d batches, %d executions", name, len(script.batches), executions)
    return RunResult(batches=len(script.batches), executions=executions, messages=tuple(messages))


def execute(
    connection: Connection,
    sql: str,
    *,
    on_message: MessageHandler | None = None,
    file: str | None = None,
    batch: int | None = None,
    line: int | None = None,
) -> list[list[tuple[Any, ...]]]:
    """Send one batch and return the rows of each of its result sets.

    Every result set is read and every message collected, so an error that
    the server raises after the first result set fails the call. ``file``,
    ``batch`` and ``line`` (the file line where ``sql`` starts) only serve
    the messages and errors.

    Raises :class:`~ontime_db.errors.BatchError` with SQL Server's error
    number and text for an error of severity 11 or more.

    >>> execute(connection, "SELECT 1 AS a; SELECT 2 AS b")  # doctest: +SKIP
    [[(1,)], [(2,)]]
    """
    error_class = _driver_error_class(connection)
    if not connection.in_transaction():
        # The same autobegin as SQLAlchemy's own execute methods, so that the
        # caller's connection.commit() commits what the batch did.
        connection.begin()
    cursor = connection.connection.cursor()
    try:
        _before(connection, cursor, sql)
        try:
            results = _drain(cursor, sql, on_message=on_message, batch=batch, line=line)
        except error_class as err:
            raise _batch_error(connection, err, sql, file=file, batch=batch, line=line) from err
        _after(connection, cursor, sql)
    finally:
        cursor.close()
    return results


def _drain(
    cursor: Any,
    sql: str,
    *,
    on_message: MessageHandler | None,
    batch: int | None,
    line: int | None,
) -> list[list[tuple[Any, ...]]]:
    results: list[list[tuple[Any, ...]]] = []
    cursor.execute(sql)
    while True:
        _deliver(cursor, on_message=on_message, batch=batch, line=line)
        if cursor.description is not None:
            results.append([tuple(row) for row in cursor.fetchall()])
        if not cursor.nextset():
            break
    _deliver(cursor, on_message=on_message, batch=batch, line=line)
    return results


def _deliver(
    cursor: Any, *, on_message: MessageHandler | None, batch: int | None, line: int | None
) -> None:
    for code, text in getattr(cursor, "messages", None) or ():
        found = _MESSAGE_CODE.search(str(code))
        message = Message(
            number=int(found.group(1)) if found else 0,
            text=_DRIVER_PREFIX.sub("", str(text)),
            severity=None,
            batch=batch,
            line=line,
        )
        log.info("server message (batch %s): %s", batch, message.text)
        if on_message is not None:
            on_message(message)
    # pyodbc replaces the list on each execute and nextset; clearing it here
    # keeps a driver that appends from delivering a message twice.
    if getattr(cursor, "messages", None):
        cursor.messages = []


def _batch_error(
    connection: Connection,
    err: Exception,
    sql: str,
    *,
    file: str | None,
    batch: int | None,
    line: int | None,
) -> BatchError:
    number, text = parse_driver_error(err)
    within = locate_error_line(connection, sql, number=number, text=text)
    described = f"SQL Server error {number}: {text}" if number is not None else f"error: {text}"
    name = file or "script text"
    batch_name = f"batch {batch}" if batch is not None else "the batch"

    if within is not None and line is not None:
        file_line: int | None = line + within - 1
        head = f"{where(file, line + within - 1)}: {batch_name}"
    elif within is not None:
        file_line = None
        head = f"{name}: {batch_name}, on its line {within},"
    else:
        file_line = line
        start = f"starting on line {line}, " if line is not None else ""
        head = f"{name}: {batch_name} ({start}line within the batch unknown)"

    return BatchError(
        f"{head} failed with {described}",
        number=number,
        server_message=text,
        file=file,
        batch=batch,
        line=file_line,
    )


def parse_driver_error(err: Exception) -> tuple[int | None, str]:
    """Return SQL Server's error number and text from a driver exception.

    pyodbc writes each diagnostic record as ``[SQLSTATE] [driver][SQL
    Server]text (number) (function)`` and joins the records with ``"; "``.
    The first record that is not a warning (SQLSTATE class 01) is the error.
    """
    raw = next((arg for arg in reversed(err.args) if isinstance(arg, str)), str(err))
    for record in _DIAGNOSTIC_SPLIT.split(raw.strip()):
        match = _DIAGNOSTIC.match(record)
        if match is not None and not match.group("state").startswith("01"):
            return int(match.group("number")), _DRIVER_PREFIX.sub("", match.group("text"))
    return None, _DRIVER_PREFIX.sub("", raw.strip())


def locate_error_line(
    connection: Connection, sql: str, *, number: int | None, text: str
) -> int | None:
    """Find the line of ``sql`` where SQL Server reports a compile error, without running ``sql``.

    pyodbc does not surface the line number that SQL Server sends with an
    error (the ODBC field SQL_DIAG_SS_LINE), and the message text has none.
    So the batch text is compiled again as the body of a temporary procedure
    (created and dropped, never executed) inside TRY...CATCH, which reads
    ERROR_LINE(). Creating a procedure only compiles its body, so nothing in
    the batch runs a second time. The line is trusted only when the probe
    fails with the same error number and text as the batch did. Errors that
    happen at run time give ``None``, and so do batches that cannot be a
    procedure body, such as a ``CREATE PROCEDURE`` or ``USE`` batch.
    """
    name = f"#ontime_db_probe_{uuid.uuid4().hex[:12]}"
    body = f"CREATE PROCEDURE {name} AS\n{sql}"
    probe = (
        "BEGIN TRY\n"
        f"    EXEC ({quote_string(body)});\n"
        "END TRY\n"
        "BEGIN CATCH\n"
        "    SELECT ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_LINE();\n"
        "END CATCH;\n"
        f"IF OBJECT_ID({quote_string('tempdb..' + name)}) IS NOT NULL DROP PROCEDURE {name};"
    )
    error_class = _driver_error_class(connection)
    try:
        rows = [row for result in _probe(connection, probe) for row in result]
    except error_class as err:
        log.debug("could not find the error line: %s", err)
        return None

    if len(rows) != 1:
        return None
    found_number, found_text, found_line = rows[0]
    if found_text != text or (number is not None and found_number != number):
        return None
    within = int(found_line) - 1
    return within if within >= 1 else None


def _probe(connection: Connection, sql: str) -> list[list[tuple[Any, ...]]]:
    cursor = connection.connection.cursor()
    try:
        _before(connection, cursor, sql)
        results = _drain(cursor, sql, on_message=None, batch=None, line=None)
        _after(connection, cursor, sql)
        return results
    finally:
        cursor.close()


def _driver_error_class(connection: Connection) -> type[Exception]:
    dialect = connection.dialect
    dbapi = getattr(dialect, "loaded_dbapi", None) or getattr(dialect, "dbapi", None)
    error_class = getattr(dbapi, "Error", None)
    if isinstance(error_class, type) and issubclass(error_class, Exception):
        return error_class
    raise ConfigurationError(
        f"invalid connection: its driver {dbapi!r} has no DB-API Error class; pass a "
        "SQLAlchemy Connection of a SQL Server engine"
    )


def _before(connection: Connection, cursor: Any, sql: str) -> None:
    if connection.dispatch.before_cursor_execute:
        connection.dispatch.before_cursor_execute(connection, cursor, sql, (), None, False)


def _after(connection: Connection, cursor: Any, sql: str) -> None:
    if connection.dispatch.after_cursor_execute:
        connection.dispatch.after_cursor_execute(connection, cursor, sql, (), None, False)
