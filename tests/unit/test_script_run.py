"""Running batches through a fake DB-API connection.

The fake checks only what is sent to the driver and how results and messages
are drained. It proves nothing about what SQL Server does with the batches.
The live tier runs the same behaviours against SQL Server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ontime_db.errors import (
    BatchError,
    DirectiveError,
    MixedTransactionModeError,
    ScriptDecodeError,
    SeparatorError,
    VariableError,
)
from ontime_db.script import Message, execute, load, parse, run
from ontime_db.script.runner import (
    is_module_definition,
    locate_error_line,
    module_probe_sql,
    parse_driver_error,
    procedure_probe_sql,
)

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
    """A pyodbc-like cursor: ``messages`` is read-only and replaced on each step."""

    def __init__(self, connection: FakeConnection) -> None:
        self.connection = connection
        self.steps: list[ResultSet] = []
        self.description: Any = None
        self._messages: list[tuple[str, str]] = []
        self.closed = False

    @property
    def messages(self) -> list[tuple[str, str]]:
        return self._messages

    def _enter(self, step: ResultSet) -> None:
        if step.error is not None:
            raise step.error
        self._messages = list(step.messages)
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
        self._messages = []
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
        if sql.startswith(("BEGIN TRY", "IF @@TRANCOUNT = 0")):
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


# -- every case of the batch-splitting table, as sent to the driver ----------

# (id, script, batches sent in order, one entry per execution)
SENT = [
    (
        "comment-go",
        "/* usage:\nEXEC dbo.report\nGO\n*/\nSELECT 1;",
        ["/* usage:\nEXEC dbo.report\nGO\n*/\nSELECT 1;"],
    ),
    (
        "nested-comment",
        "/* a /* b */ still comment\nGO\n*/\nSELECT 1;\nGO\nSELECT 2;",
        ["/* a /* b */ still comment\nGO\n*/\nSELECT 1;", "SELECT 2;"],
    ),
    ("quote-in-line-comment", "SELECT 1 -- don't\nGO\nSELECT 2", ["SELECT 1 -- don't", "SELECT 2"]),
    ("comment-glued", "SELECT 1\n/*a*/GO--b\nSELECT 2", ["SELECT 1\n/*a*/", "SELECT 2"]),
    (
        "go-word",
        "BEGIN\nGOTO done\nEND\nSELECT gone_at AS [go]\nFROM t;\ndone:\nGO",
        ["BEGIN\nGOTO done\nEND\nSELECT gone_at AS [go]\nFROM t;\ndone:"],
    ),
    ("go-inline", "SELECT 1 go", ["SELECT 1 go"]),
    ("go-count", "INSERT t DEFAULT VALUES\nGO 3", ["INSERT t DEFAULT VALUES"] * 3),
    ("go-tabs", "SELECT 1\n \tGO\t\t\nSELECT 2\n", ["SELECT 1", "SELECT 2"]),
    ("go-case", "USE db\ngo\nSELECT 1\nGo 2\n", ["USE db", "SELECT 1", "SELECT 1"]),
    ("empty-batches", "GO\nSELECT 1\nGO", ["SELECT 1"]),
    ("empty-batches-only-go", "GO", []),
    ("empty-batches-empty-file", "", []),
    (
        "n-strings",
        "CREATE TABLE t (v nvarchar(20) DEFAULT (N'O''Brien'))\nGO\n"
        "SELECT 1 WHERE 'a' LIKE'%a'\nGO\nSELECT 2",
        [
            "CREATE TABLE t (v nvarchar(20) DEFAULT (N'O''Brien'))",
            "SELECT 1 WHERE 'a' LIKE'%a'",
            "SELECT 2",
        ],
    ),
    ("backslash", "SELECT 'C:\\temp\\'\nGO\nSELECT 2", ["SELECT 'C:\\temp\\'", "SELECT 2"]),
    (
        "temp-table",
        "CREATE TABLE #cfg (k int)\nGO\nINSERT #cfg VALUES (1)\nGO\nSELECT * FROM #cfg",
        ["CREATE TABLE #cfg (k int)", "INSERT #cfg VALUES (1)", "SELECT * FROM #cfg"],
    ),
    (
        "create-database",
        "IF DB_ID(N'x_new') IS NULL CREATE DATABASE [x_new];",
        ["IF DB_ID(N'x_new') IS NULL CREATE DATABASE [x_new];"],
    ),
    ("setvar", ":setvar Db ontimems\nSELECT DB_ID(N'$(Db)')", ["SELECT DB_ID(N'ontimems')"]),
]


@pytest.mark.parametrize(("text", "sent"), [c[1:] for c in SENT], ids=[c[0] for c in SENT])
def test_case_sent(text: str, sent: list[str]) -> None:
    connection = fake()

    result = run(connection, parse(text, file="case.sql"), allow_mixed=True)

    assert connection.connection.sent == sent
    assert result.executions == len(sent)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\xef\xbb\xbfSELECT 1;\r\nGO\r\n", "bom-utf8"),
        (b"\xff\xfe" + "SELECT 1;\r\nGO\r\n".encode("utf-16-le"), "bom-utf16"),
    ],
    ids=["bom-utf8", "bom-utf16"],
)
def test_case_bom_not_sent(data: bytes, name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.sql"
    path.write_bytes(data)
    connection = fake()

    run(connection, load(path))

    assert connection.connection.sent == ["SELECT 1;"]


# (id, script, error class, line of the error)
NOTHING_SENT = [
    ("go-semicolon", "SELECT 1\nGO;\nSELECT 2", SeparatorError, 2),
    ("go-count-bad", "SELECT 1\nGO x", SeparatorError, 2),
    ("setvar-missing", "SELECT 1\nGO\nSELECT N'$(Nope)'", VariableError, 3),
    ("sqlcmd-other", "SELECT 1\nGO\n:r other.sql\n", DirectiveError, 3),
    ("go-cr-only", "SELECT 1\rGO\rSELECT 2\r", SeparatorError, 1),
    ("go-no-break-space", "SELECT 1\nGO\u00a0\nSELECT 2", SeparatorError, 2),
    ("utf16-without-bom", "SELECT 1", ScriptDecodeError, None),
]


@pytest.mark.parametrize(
    ("text", "error", "line"),
    [c[1:] for c in NOTHING_SENT],
    ids=[c[0] for c in NOTHING_SENT],
)
def test_case_nothing_sent(
    text: str, error: type[Exception], line: int | None, tmp_path: Path
) -> None:
    """A script that cannot be split or decoded fails in ``load``: the driver receives nothing."""
    path = tmp_path / "case.sql"
    if error is ScriptDecodeError:
        path.write_bytes(text.encode("utf-16-le"))
    else:
        path.write_bytes(text.encode("utf-8"))
    connection = fake()

    with pytest.raises(error) as caught:
        run(connection, load(path))

    assert connection.connection.sent == []
    assert connection.connection.cursors == []
    assert caught.value.file == str(path)  # type: ignore[attr-defined]
    assert caught.value.line == line  # type: ignore[attr-defined]


def test_case_mixed_nothing_sent() -> None:
    connection = fake()
    script = parse(
        "CREATE TABLE t (i int)\nGO\nBACKUP DATABASE [x] TO DISK = N'x.bak'", file="m.sql"
    )

    with pytest.raises(MixedTransactionModeError) as caught:
        run(connection, script)

    assert connection.connection.sent == []
    assert (caught.value.file, caught.value.batch, caught.value.line) == ("m.sql", 2, 3)


def test_case_throw_after_result() -> None:
    def responder(sql: str) -> list[ResultSet]:
        if sql.startswith("BEGIN TRY"):
            return [ResultSet()]
        return [ResultSet(rows=[(1,)]), ResultSet(error=driver_error(50001, "boom", "42000"))]

    with pytest.raises(BatchError) as caught:
        run(fake(responder), parse("SELECT 1 AS a; THROW 50001, N'boom', 1;", file="t.sql"))

    assert (caught.value.number, caught.value.server_message) == (50001, "boom")
    assert (caught.value.file, caught.value.batch, caught.value.line) == ("t.sql", 1, 1)


# -- messages: pyodbc's read-only list, messages that come with an error ------


def test_messages_read_only_list() -> None:
    """pyodbc's ``cursor.messages`` cannot be assigned; the runner only reads it."""
    seen: list[Message] = []

    def responder(sql: str) -> list[ResultSet]:
        return [ResultSet(messages=[("[01000] (0)", PREFIX + "one")]), ResultSet(rows=[(1,)])]

    execute(fake(responder), "PRINT N'one'; SELECT 1", on_message=seen.append)

    assert [m.text for m in seen] == ["one"]


def test_messages_appended_list_once() -> None:
    """A driver that appends to one list still delivers each message once."""

    class AppendingCursor(FakeCursor):
        def _enter(self, step: ResultSet) -> None:
            kept = self._messages
            super()._enter(step)
            kept.extend(self._messages)
            self._messages = kept

        def nextset(self) -> bool:
            if not self.steps:
                self.description = None
                return False
            self._enter(self.steps.pop(0))
            return True

    connection = fake(
        lambda sql: [
            ResultSet(messages=[("[01000] (0)", PREFIX + "a")]),
            ResultSet(messages=[("[01000] (0)", PREFIX + "b")]),
        ]
    )
    connection.connection.cursor = lambda: AppendingCursor(connection.connection)
    seen: list[Message] = []

    execute(connection, "PRINT 'a'; PRINT 'b'", on_message=seen.append)

    assert [m.text for m in seen] == ["a", "b"]


def test_messages_before_error_delivered() -> None:
    error = FakeError(
        "42000",
        f"[01000] {PREFIX}step 1 (0) (SQLExecDirectW); "
        f"[01000] {PREFIX}step 2 (50000); [42000] {PREFIX}boom (50001)",
    )
    seen: list[Message] = []

    with pytest.raises(BatchError) as caught:
        execute(
            fake(error_then([], error)),
            "PRINT 'step 1'; RAISERROR('step 2', 10, 1); THROW 50001, 'boom', 1;",
            on_message=seen.append,
            batch=2,
            line=5,
        )

    assert [(m.number, m.text, m.batch, m.line) for m in seen] == [
        (0, "step 1", 2, 5),
        (50000, "step 2", 2, 5),
    ]
    assert caught.value.number == 50001


def test_messages_after_rows() -> None:
    """Rows are fetched before ``nextset``, and the PRINT after them still arrives."""
    seen: list[Message] = []
    responder = lambda sql: [  # noqa: E731
        ResultSet(rows=[(1,), (2,)]),
        ResultSet(messages=[("[01000] (0)", PREFIX + "after")]),
    ]

    rows = execute(
        fake(responder), "SELECT 1 UNION ALL SELECT 2; PRINT 'after'", on_message=seen.append
    )

    assert rows == [[(1,), (2,)]]
    assert [m.text for m in seen] == ["after"]


# -- the error line of module definitions ------------------------------------

MODULES = [
    ("create-procedure", "CREATE PROCEDURE dbo.p AS\nSELECT 1", True),
    ("create-proc-lower", "create proc dbo.p as select 1", True),
    ("create-or-alter-view", "CREATE OR ALTER VIEW v AS SELECT 1 AS a", True),
    ("alter-function", "ALTER FUNCTION f() RETURNS int AS BEGIN RETURN 1 END", True),
    ("create-trigger", "CREATE TRIGGER tr ON t AFTER INSERT AS SELECT 1", True),
    ("comment-first", "/* header /* nested */ */\n-- x\nCREATE VIEW v AS SELECT 1 AS a", True),
    ("create-table", "CREATE TABLE t (i int)", False),
    ("create-procedure-in-string", "SELECT 'CREATE PROCEDURE p'", False),
    ("procedure-prefix", "CREATE PROCEDURES_LOG (i int)", False),
    ("after-other-statement", "SET NOCOUNT ON;\nCREATE PROCEDURE p AS SELECT 1", False),
    ("exec-dynamic", "EXEC (N'CREATE PROCEDURE p AS SELECT 1')", False),
]


@pytest.mark.parametrize(("sql", "expected"), [c[1:] for c in MODULES], ids=[c[0] for c in MODULES])
def test_module_definition(sql: str, expected: bool) -> None:
    assert is_module_definition(sql) is expected


def test_module_probe_sql() -> None:
    assert module_probe_sql("CREATE VIEW v AS\nSELECT 'it''s' FORM t") == (
        "IF @@TRANCOUNT = 0\n"
        "BEGIN\n"
        "    BEGIN TRANSACTION;\n"
        "    BEGIN TRY\n"
        "        EXEC (N'CREATE VIEW v AS\nSELECT ''it''''s'' FORM t');\n"
        "    END TRY\n"
        "    BEGIN CATCH\n"
        "        SELECT ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_LINE();\n"
        "    END CATCH;\n"
        "    IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;\n"
        "END;"
    )


def test_module_probe_sqlglot() -> None:
    """The probe parses as T-SQL (sqlglot's dialect); this checks syntax, not behaviour."""
    sqlglot = pytest.importorskip("sqlglot")

    statements = sqlglot.parse(module_probe_sql("CREATE VIEW v AS SELECT 1 AS a"), read="tsql")

    assert statements


def test_module_error_line() -> None:
    error = driver_error(102, "Incorrect syntax near 'FORM'.")
    text = "SELECT 1\nGO\n-- the view\nCREATE VIEW dbo.v\nAS\nSELECT a\nFORM t\nGO\n"
    connection = fake(
        error_then([(102, "Incorrect syntax near 'FORM'.", 5)], error, failing="FORM")
    )
    script = parse(text, file="create.sql")

    with pytest.raises(BatchError) as caught:
        run(connection, script)

    assert str(caught.value) == (
        "create.sql, line 7: batch 2 failed with SQL Server error 102: "
        "Incorrect syntax near 'FORM'."
    )
    assert (caught.value.batch, caught.value.line) == (2, 7)
    assert connection.connection.sent[:2] == [
        "SELECT 1",
        "-- the view\nCREATE VIEW dbo.v\nAS\nSELECT a\nFORM t",
    ]
    assert connection.connection.sent[2] == module_probe_sql(
        "-- the view\nCREATE VIEW dbo.v\nAS\nSELECT a\nFORM t"
    )
    assert len(connection.connection.sent) == 3


def test_module_probe_in_transaction() -> None:
    """Inside a transaction the probe returns no row, so the line stays unknown."""
    error = driver_error(102, "Incorrect syntax near 'FORM'.")
    connection = fake(error_then(None, error, failing="FORM"))

    with pytest.raises(BatchError) as caught:
        execute(
            connection, "CREATE PROCEDURE p AS\nSELECT a FORM t", file="p.sql", batch=4, line=20
        )

    assert caught.value.line == 20
    assert str(caught.value) == (
        "p.sql: batch 4 (starting on line 20, line within the batch unknown) failed with "
        "SQL Server error 102: Incorrect syntax near 'FORM'."
    )
    assert connection.connection.sent[1].startswith("IF @@TRANCOUNT = 0\n")


def test_other_batch_uses_procedure_probe() -> None:
    error = driver_error(102, "Incorrect syntax near 'FORM'.")
    connection = fake(
        error_then([(102, "Incorrect syntax near 'FORM'.", 3)], error, failing="FORM")
    )

    line = locate_error_line(
        connection, "SELECT 1;\nSELECT a FORM t", number=102, text="Incorrect syntax near 'FORM'."
    )

    assert line == 2
    assert connection.connection.sent[0].startswith(
        "BEGIN TRY\n    EXEC (N'CREATE PROCEDURE #ontime_db_probe_"
    )


def test_procedure_probe_sql() -> None:
    assert procedure_probe_sql("SELECT 'x'", name="#probe") == (
        "BEGIN TRY\n"
        "    EXEC (N'CREATE PROCEDURE #probe AS\nSELECT ''x''');\n"
        "END TRY\n"
        "BEGIN CATCH\n"
        "    SELECT ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_LINE();\n"
        "END CATCH;\n"
        "IF OBJECT_ID(N'tempdb..#probe') IS NOT NULL DROP PROCEDURE #probe;"
    )
