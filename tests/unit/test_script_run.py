"""Running batches through a fake DB-API connection.

The fake checks only what is sent to the driver and how results and messages
are drained. It proves nothing about what SQL Server does with the batches.
The live tier runs the same behaviours against SQL Server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ontime_db.errors import BatchError, MixedTransactionModeError
from ontime_db.script import Message, execute, parse, run
from ontime_db.script.runner import locate_error_line, parse_driver_error

PREFIX = "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]"


class FakeError(Exception):
    """The fake driver's DB-API ``Error``."""


def driver_error(number: int, text: str, state: str = "42000") -> FakeError:
    """An error written the way pyodbc writes SQL Server's diagnostics."""
    return FakeError(state, f"[{state}] {PREFIX}{text} ({number}) (SQLExecDirectW)")


@dataclass
class ResultSet:
    """One step of a batch's response: rows (``None``: no result set), messages, or an error."""

    rows: list[tuple[Any, ...]] | None = None
    messages: list[tuple[str, str]] = field(default_factory=list)
    error: Exception | None = None


Responder = Callable[[str], list[ResultSet]]


class FakeCursor:
    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.steps: list[ResultSet] = []
        self.description: Any = None
        self.messages: list[tuple[str, str]] = []
        self.closed = False

    def _enter(self, step: ResultSet) -> None:
        if step.error is not None:
            raise step.error
        self.messages = list(step.messages)
        self.description = None if step.rows is None else [("column",)]
        self.rows = step.rows

    def execute(self, sql: str) -> None:
        self.connection.sent.append(sql)
        self.steps = list(self.connection.responder(sql))
        self._enter(self.steps.pop(0) if self.steps else ResultSet())

    def fetchall(self) -> list[tuple[Any, ...]]:
        assert self.rows is not None, "fetchall without a result set"
        return self.rows

    def nextset(self) -> bool:
        self.messages = []
        if not self.steps:
            self.description = None
            return False
        self._enter(self.steps.pop(0))
        return True

    def close(self) -> None:
        self.closed = True


class FakeConnection:
    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.sent: list[str] = []
        self.cursors: list[FakeCursor] = []

    def cursor(self) -> FakeCursor:
        cursor = FakeCursor(self)
        self.cursors.append(cursor)
        return cursor


class Listeners(list):  # type: ignore[type-arg]
    def __call__(self, *args: Any) -> None:
        for listener in self:
            listener(*args)


class FakeSQLAlchemyConnection:
    """The parts of ``sqlalchemy.Connection`` that the runner uses."""

    def __init__(self, responder: Responder) -> None:
        self.connection = FakeConnection(responder)
        self.dialect = type(
            "Dialect", (), {"loaded_dbapi": type("DBAPI", (), {"Error": FakeError})}
        )
        self.dispatch = type("Dispatch", (), {})()
        self.dispatch.before_cursor_execute = Listeners()
        self.dispatch.after_cursor_execute = Listeners()
        self.begun = 0

    def in_transaction(self) -> bool:
        return self.begun > 0

    def begin(self) -> None:
        self.begun += 1


def ok(sql: str) -> list[ResultSet]:
    return [ResultSet()]


def fake(responder: Responder = ok) -> Any:
    return FakeSQLAlchemyConnection(responder)


def test_run_sends_batches_in_order() -> None:
    connection = fake()
    script = parse("CREATE TABLE #cfg (k int)\nGO\nINSERT #cfg VALUES (1)\nGO\nSELECT * FROM #cfg")

    result = run(connection, script)

    assert connection.connection.sent == [
        "CREATE TABLE #cfg (k int)",
        "INSERT #cfg VALUES (1)",
        "SELECT * FROM #cfg",
    ]
    assert (result.batches, result.executions, result.messages) == (3, 3, ())
    assert connection.begun == 1
    assert all(cursor.closed for cursor in connection.connection.cursors)


def test_run_repeat_count() -> None:
    connection = fake()

    result = run(connection, parse("INSERT t DEFAULT VALUES\nGO 3\nSELECT 1"))

    assert connection.connection.sent == ["INSERT t DEFAULT VALUES"] * 3 + ["SELECT 1"]
    assert (result.batches, result.executions) == (2, 4)


def test_execute_returns_every_result_set() -> None:
    def responder(sql: str) -> list[ResultSet]:
        return [ResultSet(rows=[(1,)]), ResultSet(), ResultSet(rows=[(2,), (3,)])]

    assert execute(fake(responder), "SELECT 1; UPDATE t SET i = 1; SELECT 2") == [
        [(1,)],
        [(2,), (3,)],
    ]


def test_messages_in_order() -> None:
    def responder(sql: str) -> list[ResultSet]:
        return [
            ResultSet(messages=[("[01000] (50000)", PREFIX + "step 1")]),
            ResultSet(messages=[("[01000] (0)", PREFIX + "step 2")]),
            ResultSet(rows=[(42,)]),
        ]

    seen: list[Message] = []
    script = parse(
        "SELECT 1\nGO\nRAISERROR(N'step 1', 0, 1) WITH NOWAIT; PRINT N'step 2'; SELECT 42 AS x;",
        file="m.sql",
    )

    result = run(fake(responder), script, on_message=seen.append)

    assert [(m.number, m.text, m.batch, m.line) for m in seen] == [
        (50000, "step 1", 1, 1),
        (0, "step 2", 1, 1),
        (50000, "step 1", 2, 3),
        (0, "step 2", 2, 3),
    ]
    assert result.messages == tuple(seen)


def test_messages_logged(caplog: pytest.LogCaptureFixture) -> None:
    def responder(sql: str) -> list[ResultSet]:
        return [ResultSet(messages=[("[01000] (0)", PREFIX + "[step] one")])]

    caplog.set_level("INFO", logger="ontime_db.script.runner")
    execute(fake(responder), "PRINT N'[step] one'", batch=4)

    assert "server message (batch 4): [step] one" in caplog.messages


def error_then(
    probe_rows: list[tuple[Any, ...]] | None, error: FakeError, *, failing: str = ""
) -> Responder:
    """Fail the batches that contain ``failing`` with ``error``.

    The line probe gets ``probe_rows`` as its result set.
    """

    def responder(sql: str) -> list[ResultSet]:
        if sql.startswith("BEGIN TRY"):
            return [ResultSet(rows=probe_rows)] if probe_rows is not None else [ResultSet()]
        if failing in sql:
            return [ResultSet(error=error)]
        return [ResultSet()]

    return responder


def test_error_after_first_result_set() -> None:
    def responder(sql: str) -> list[ResultSet]:
        if sql.startswith("BEGIN TRY") or "1/0" not in sql:
            return [ResultSet()]
        error = driver_error(8134, "Divide by zero error encountered.")
        return [ResultSet(rows=[(1,)]), ResultSet(error=error)]

    script = parse("SELECT 1\nGO\nSELECT 1 AS a; SELECT 1/0;", file="e.sql")

    with pytest.raises(BatchError) as caught:
        run(fake(responder), script)

    assert str(caught.value) == (
        "e.sql: batch 2 (starting on line 3, line within the batch unknown) failed with SQL "
        "Server error 8134: Divide by zero error encountered."
    )
    assert caught.value.number == 8134
    assert caught.value.server_message == "Divide by zero error encountered."
    assert (caught.value.file, caught.value.batch, caught.value.line) == ("e.sql", 2, 3)


def test_error_line_from_probe() -> None:
    error = driver_error(102, "Incorrect syntax near 'FORM'.")
    text = "SELECT 1\nGO\nSELECT 2\nGO\n\n\n\n\nSELECT a\nFORM t\nGO\n"
    responder = error_then([(102, "Incorrect syntax near 'FORM'.", 3)], error, failing="FORM")
    connection = fake(responder)
    script = parse(text, file="create.sql")

    with pytest.raises(BatchError) as caught:
        run(connection, script)

    assert str(caught.value) == (
        "create.sql, line 10: batch 3 failed with SQL Server error 102: "
        "Incorrect syntax near 'FORM'."
    )
    assert (caught.value.batch, caught.value.line) == (3, 10)
    assert connection.connection.sent[:3] == ["SELECT 1", "SELECT 2", "SELECT a\nFORM t"]
    assert len(connection.connection.sent) == 4


def test_error_line_probe_other_error() -> None:
    error = driver_error(102, "Incorrect syntax near 'FORM'.")
    responder = error_then([(156, "Incorrect syntax near the keyword 'PROCEDURE'.", 2)], error)

    with pytest.raises(BatchError) as caught:
        execute(
            fake(responder), "CREATE PROCEDURE p AS SELECT 1 FORM t", file="p.sql", batch=1, line=7
        )

    assert caught.value.line == 7
    assert str(caught.value) == (
        "p.sql: batch 1 (starting on line 7, line within the batch unknown) failed with SQL "
        "Server error 102: Incorrect syntax near 'FORM'."
    )


def test_error_line_probe_fails() -> None:
    def responder(sql: str) -> list[ResultSet]:
        if sql.startswith("BEGIN TRY"):
            error = driver_error(3930, "The current transaction cannot be committed.")
            return [ResultSet(error=error)]
        return [ResultSet(error=driver_error(102, "Incorrect syntax near 'x'."))]

    with pytest.raises(BatchError) as caught:
        execute(fake(responder), "SELECT x x x")

    assert str(caught.value) == (
        "script text: the batch (line within the batch unknown) failed with SQL Server "
        "error 102: Incorrect syntax near 'x'."
    )
    assert caught.value.line is None


def test_probe_sql_never_runs_batch() -> None:
    connection = fake(lambda sql: [ResultSet(rows=[(102, "Incorrect syntax near 'x'.", 2)])])

    line = locate_error_line(
        connection, "SELECT 'it''s'\nx x", number=102, text="Incorrect syntax near 'x'."
    )

    probe = connection.connection.sent[0]
    name = probe.split("CREATE PROCEDURE ", 1)[1].split(" ", 1)[0]
    assert line == 1
    assert name.startswith("#ontime_db_probe_")
    assert probe == (
        "BEGIN TRY\n"
        f"    EXEC (N'CREATE PROCEDURE {name} AS\nSELECT ''it''''s''\nx x');\n"
        "END TRY\n"
        "BEGIN CATCH\n"
        "    SELECT ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_LINE();\n"
        "END CATCH;\n"
        f"IF OBJECT_ID(N'tempdb..{name}') IS NOT NULL DROP PROCEDURE {name};"
    )


def test_probe_wrapper_line_only() -> None:
    connection = fake(lambda sql: [ResultSet(rows=[(102, "Incorrect syntax near 'AS'.", 1)])])

    line = locate_error_line(connection, "x", number=102, text="Incorrect syntax near 'AS'.")

    assert line is None


def test_mixed_rejected_before_sending() -> None:
    connection = fake()
    script = parse("CREATE TABLE t (i int)\nGO\nBACKUP DATABASE [x] TO DISK = N'x.bak'")

    with pytest.raises(MixedTransactionModeError):
        run(connection, script)

    assert connection.connection.sent == []


def test_mixed_allowed() -> None:
    connection = fake()
    script = parse("CREATE TABLE t (i int)\nGO\nBACKUP DATABASE [x] TO DISK = N'x.bak'")

    run(connection, script, allow_mixed=True)

    assert len(connection.connection.sent) == 2


def test_cursor_events_fired() -> None:
    connection = fake()
    seen: list[tuple[str, str]] = []
    connection.dispatch.before_cursor_execute.append(
        lambda conn, cursor, sql, params, context, many: seen.append(("before", sql))
    )
    connection.dispatch.after_cursor_execute.append(
        lambda conn, cursor, sql, params, context, many: seen.append(("after", sql))
    )

    run(connection, parse("SELECT 1\nGO 2"))

    assert seen == [("before", "SELECT 1"), ("after", "SELECT 1")] * 2


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            driver_error(8134, "Divide by zero error encountered.", "22012"),
            (8134, "Divide by zero error encountered."),
        ),
        (
            FakeError(
                "42000",
                f"[01000] {PREFIX}step 1 (0) (SQLExecDirectW); "
                f"[42000] {PREFIX}boom (50001) (SQLExecDirectW)",
            ),
            (50001, "boom"),
        ),
        (
            FakeError("HY000", "[HY000] [FreeTDS][SQL Server]Login failed (18456)"),
            (18456, "Login failed"),
        ),
        (FakeError("something else"), (None, "something else")),
    ],
    ids=["pyodbc", "after-message", "freetds", "unknown-format"],
)
def test_parse_driver_error(error: FakeError, expected: tuple[int | None, str]) -> None:
    assert parse_driver_error(error) == expected
