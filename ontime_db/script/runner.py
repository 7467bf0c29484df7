"""Run batches on a SQLAlchemy connection like sqlcmd: every result set, every message, in order.

Batches go through the DB-API cursor of the connection
(``connection.connection.cursor()``) instead of ``Connection.exec_driver_sql``,
because SQLAlchemy closes a cursor whose first result has no rows, and with
it the result sets and errors that follow. SQLAlchemy's
``before_cursor_execute`` and ``after_cursor_execute`` events are still fired,
so listeners that count round trips see every batch.

pyodbc (``Cursor_nextset`` in src/cursor.cpp) fills the read-only
``cursor.messages`` with a new list after ``execute`` and after each
``nextset`` that returns SQL_SUCCESS_WITH_INFO. ``nextset`` calls ODBC's
SQLMoreResults, which discards unfetched rows, so every result set is
fetched before moving on. A server error of severity 11 or more makes
``execute`` or ``nextset`` raise. The error's text also carries the
informational records (SQLSTATE 01xxx) that came with it, and those are
delivered as messages before the error is raised.

NOTE: only pyodbc's behaviour is covered by the live tests. pyodbc reads no
messages when ``nextset`` returns SQL_NO_DATA, so a message that comes with
the end of the batch and no row count (a trigger's PRINT under SET NOCOUNT
ON) is lost. After an error pyodbc frees the statement, so statements after
a non-fatal error in the same batch may still run on the server while their
results and messages are discarded. mssql-python has the same ``messages``
attribute, but older releases drop the messages that arrive after the first
result set. Error numbers are read from pyodbc's error text, so they are
``None`` when another driver formats its errors differently.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import BatchError, ConfigurationError
from ..quoting import quote_string
from .lexer import first_code, where
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
    messages = _MessageReader(on_message, batch=batch, line=line)
    try:
        cursor.execute(sql)
        while True:
            messages.read(cursor)
            if cursor.description is not None:
                results.append([tuple(row) for row in cursor.fetchall()])
            if not cursor.nextset():
                break
        messages.read(cursor)
    except Exception as err:
        messages.read_error(err)
        raise
    return results


class _MessageReader:
    """Deliver each message of one batch once, in the order the server sent it.

    pyodbc replaces ``cursor.messages`` on each ``execute`` and ``nextset``
    and does not let callers clear it. A driver that appends to one list
    instead is read from where the last read stopped.
    """

    def __init__(
        self, on_message: MessageHandler | None, *, batch: int | None, line: int | None
    ) -> None:
        self._on_message = on_message
        self._batch = batch
        self._line = line
        self._seen: object = None
        self._count = 0

    def read(self, cursor: Any) -> None:
        current = getattr(cursor, "messages", None) or []
        start = self._count if current is self._seen else 0
        for code, text in current[start:]:
            found = _MESSAGE_CODE.search(str(code))
            self._deliver(int(found.group(1)) if found else 0, str(text))
        self._seen = current
        self._count = len(current)

    def read_error(self, err: Exception) -> None:
        """Deliver the informational records that the driver put in front of an error."""
        for state, number, text in _diagnostics(err):
            if not state.startswith("01"):
                return
            self._deliver(number, text)

    def _deliver(self, number: int, text: str) -> None:
        message = Message(
            number=number,
            text=_DRIVER_PREFIX.sub("", text),
            severity=None,
            batch=self._batch,
            line=self._line,
        )
        log.info("server message (batch %s): %s", self._batch, message.text)
        if self._on_message is not None:
            self._on_message(message)


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
    for state, number, text in _diagnostics(err):
        if not state.startswith("01"):
            return number, text
    return None, _DRIVER_PREFIX.sub("", _error_text(err).strip())


def _diagnostics(err: Exception) -> list[tuple[str, int, str]]:
    """Return the (SQLSTATE, number, text) records of a pyodbc error, in order."""
    records = []
    for record in _DIAGNOSTIC_SPLIT.split(_error_text(err).strip()):
        match = _DIAGNOSTIC.match(record)
        if match is not None:
            text = _DRIVER_PREFIX.sub("", match.group("text"))
            records.append((match.group("state"), int(match.group("number")), text))
    return records


def _error_text(err: Exception) -> str:
    return next((arg for arg in reversed(err.args) if isinstance(arg, str)), str(err))


def locate_error_line(
    connection: Connection, sql: str, *, number: int | None, text: str
) -> int | None:
    """Find the line of ``sql`` where SQL Server reports a compile error; leave nothing behind.

    pyodbc does not surface the line number that SQL Server sends with an
    error (the ODBC field SQL_DIAG_SS_LINE), and the message text has none,
    so the batch is compiled again inside TRY...CATCH, which reads
    ERROR_LINE(). The line is trusted only when this probe fails with the
    same error number and text as the batch did. Otherwise, and for errors
    that happen at run time, the result is ``None``.

    A batch whose only statement creates or alters a procedure, function,
    view or trigger (see :func:`is_module_definition`) is run again with
    ``EXEC`` inside a transaction that is always rolled back, and only when
    the connection has no open transaction (``@@TRANCOUNT = 0``, checked by
    the server in the same batch), because that ROLLBACK would undo the
    caller's work. Inside a caller's transaction such a batch gives ``None``.
    Any other batch becomes the body of a temporary procedure that is created
    and dropped but never executed: creating a procedure only compiles its
    body, so nothing in the batch runs a second time.
    """
    if is_module_definition(sql):
        probe = module_probe_sql(sql)
        wrapper_lines = 0
    else:
        probe = procedure_probe_sql(sql, name=f"#ontime_db_probe_{uuid.uuid4().hex[:12]}")
        wrapper_lines = 1

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
    within = int(found_line) - wrapper_lines
    return within if within >= 1 else None


# CREATE DEFAULT, CREATE RULE and CREATE SCHEMA must also stand alone in their
# batch, but are left out: the temporary-procedure probe or "line unknown"
# covers them.
_MODULE_DEFINITION = re.compile(
    r"(?i)(?:create(?:\s+or\s+alter)?|alter)\s+(?:proc|procedure|function|view|trigger)(?![\w@#$])"
)


def is_module_definition(sql: str) -> bool:
    """Return whether the batch ``sql`` creates or alters a procedure, function, view or trigger.

    Such a statement must be the only one in its batch ("Batch Examples",
    https://learn.microsoft.com/previous-versions/sql/sql-server-2008-r2/ms191136(v=sql.105)),
    and SQL Server takes the rest of the batch as the object's definition.
    Comments before the statement are skipped; a comment between CREATE and
    the object type makes this return ``False``.
    """
    return _MODULE_DEFINITION.match(sql, first_code(sql)) is not None


def module_probe_sql(sql: str) -> str:
    """Return the T-SQL that compiles the module definition ``sql`` again and reads its error line.

    ``EXEC`` runs the text as a batch of its own, so CREATE VIEW and the
    other statements that must start a batch are allowed there, and
    ERROR_LINE() counts from the first line of ``sql``. DDL is transactional
    in SQL Server, so the ROLLBACK removes whatever the statement created or
    changed. The probe does nothing when a transaction is already open.
    """
    return (
        "IF @@TRANCOUNT = 0\n"
        "BEGIN\n"
        "    BEGIN TRANSACTION;\n"
        "    BEGIN TRY\n"
        f"        EXEC ({quote_string(sql)});\n"
        "    END TRY\n"
        "    BEGIN CATCH\n"
        "        SELECT ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_LINE();\n"
        "    END CATCH;\n"
        "    IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;\n"
        "END;"
    )


def procedure_probe_sql(sql: str, *, name: str) -> str:
    """Return the T-SQL that compiles ``sql`` as the body of temporary procedure ``name``.

    The procedure is dropped at the end and never executed. Its first body
    line is line 2 of the procedure, so ERROR_LINE() is one more than the
    line within ``sql``.
    """
    body = f"CREATE PROCEDURE {name} AS\n{sql}"
    return (
        "BEGIN TRY\n"
        f"    EXEC ({quote_string(body)});\n"
        "END TRY\n"
        "BEGIN CATCH\n"
        "    SELECT ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_LINE();\n"
        "END CATCH;\n"
        f"IF OBJECT_ID({quote_string('tempdb..' + name)}) IS NOT NULL DROP PROCEDURE {name};"
    )


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
