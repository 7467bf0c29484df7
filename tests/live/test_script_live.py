"""Running scripts on a live SQL Server: messages, errors, GO counts, temp tables, error lines."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from ontime_db.errors import BatchError
from ontime_db.quoting import quote_identifier, quote_string
from ontime_db.script import Message, execute, parse, run
from ontime_db.testing import drop_database

if TYPE_CHECKING:
    from sqlalchemy import URL, Connection, Engine

pytestmark = pytest.mark.mssql


@pytest.fixture
def engine(fresh_database_url: URL) -> Iterator[Engine]:
    from sqlalchemy import create_engine

    engine = create_engine(fresh_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        yield connection


def count_rows(connection: Connection, table: str) -> int:
    rows = execute(connection, f"SELECT COUNT(*) FROM {table}")
    return int(rows[0][0][0])


def test_messages_in_order(connection: Connection) -> None:
    seen: list[Message] = []
    script = parse(
        "PRINT N'first';\nGO\n"
        "RAISERROR(N'step 1', 0, 1) WITH NOWAIT; PRINT N'step 2'; SELECT 42 AS x;\n"
        "RAISERROR(N'step 3', 10, 1);\n",
        file="messages.sql",
    )

    result = run(connection, script, on_message=seen.append)

    assert [m.text for m in seen] == ["first", "step 1", "step 2", "step 3"]
    assert [m.number for m in seen] == [0, 50000, 0, 50000]
    assert [m.batch for m in seen] == [1, 2, 2, 2]
    assert result.messages == tuple(seen)


def test_execute_returns_result_sets(connection: Connection) -> None:
    assert execute(connection, "SELECT 1 AS a; SELECT 2 AS b UNION ALL SELECT 3;") == [
        [(1,)],
        [(2,), (3,)],
    ]


def test_error_after_first_result_set(connection: Connection) -> None:
    with pytest.raises(BatchError) as caught:
        run(connection, parse("SELECT 1 AS a; SELECT 1/0;", file="divide.sql"))

    assert caught.value.number == 8134
    assert caught.value.server_message == "Divide by zero error encountered."
    assert (caught.value.file, caught.value.batch, caught.value.line) == ("divide.sql", 1, 1)


def test_throw_after_first_result_set(connection: Connection) -> None:
    with pytest.raises(BatchError) as caught:
        run(connection, parse("SELECT 1 AS a; THROW 50001, N'boom', 1;", file="throw.sql"))

    assert caught.value.number == 50001
    assert caught.value.server_message == "boom"


def test_go_count_inserts_rows(connection: Connection) -> None:
    script = parse(
        "CREATE TABLE dbo.counted (i int IDENTITY PRIMARY KEY, at datetime2 DEFAULT SYSDATETIME())"
        "\nGO\nINSERT dbo.counted DEFAULT VALUES\nGO 3\n"
    )

    result = run(connection, script)
    connection.commit()

    assert (result.batches, result.executions) == (2, 4)
    rows = execute(
        connection,
        "SELECT SUM(p.rows) FROM sys.partitions AS p "
        "WHERE p.object_id = OBJECT_ID(N'dbo.counted') AND p.index_id IN (0, 1)",
    )
    assert rows == [[(3,)]]


def test_temp_table_across_batches(connection: Connection) -> None:
    script = parse(
        "CREATE TABLE #cfg (k int)\nGO\nINSERT #cfg VALUES (1)\nGO\nINSERT #cfg VALUES (2)\n"
        "GO\nSELECT k FROM #cfg ORDER BY k\n"
    )

    run(connection, script)

    assert execute(connection, "SELECT k FROM #cfg ORDER BY k") == [[(1,), (2,)]]


def test_error_position(connection: Connection) -> None:
    text = (
        "CREATE TABLE dbo.t (i int)\n"  # 1
        "GO\n"  # 2
        "-- second batch\n"  # 3
        "INSERT dbo.t VALUES (1)\n"  # 4
        "GO\n"  # 5
        "\n"  # 6
        "\n"  # 7
        "GO\n"  # 8
        "INSERT dbo.t VALUES (2);\n"  # 9: the third batch starts here
        "SELECT i FORM dbo.t;\n"  # 10: syntax error
        "GO\n"
    )
    script = parse(text, file="position.sql")
    assert [(b.number, b.line) for b in script.batches] == [(1, 1), (2, 3), (3, 9)]

    with pytest.raises(BatchError) as caught:
        run(connection, script)

    assert caught.value.number == 102
    assert (caught.value.file, caught.value.batch, caught.value.line) == ("position.sql", 3, 10)
    assert str(caught.value).startswith("position.sql, line 10: batch 3 failed with SQL Server")
    # The syntax error stopped the whole third batch, and finding its line ran nothing of it.
    assert count_rows(connection, "dbo.t") == 1
    leftovers = execute(
        connection, "SELECT name FROM tempdb.sys.objects WHERE name LIKE N'#ontime[_]db[_]probe%'"
    )
    assert leftovers == [[]]


def test_runtime_error_line_unknown(connection: Connection) -> None:
    script = parse("SELECT 1\nGO\nDECLARE @z int = 0;\nSELECT 1 / @z;", file="runtime.sql")

    with pytest.raises(BatchError) as caught:
        run(connection, script)

    assert caught.value.number == 8134
    assert caught.value.line == 3
    assert "line within the batch unknown" in str(caught.value)


def test_create_database_in_autocommit(mssql_engine: Engine) -> None:
    name = f"ontime_test_{uuid.uuid4().hex[:12]}"
    script = parse(
        f"IF DB_ID({quote_string(name)}) IS NULL CREATE DATABASE {quote_identifier(name)};"
    )
    assert script.transactional is False

    try:
        with mssql_engine.connect() as connection:
            run(connection, script)
            rows = execute(
                connection, f"SELECT name FROM sys.databases WHERE name = {quote_string(name)}"
            )
        assert rows == [[(name,)]]
    finally:
        drop_database(mssql_engine, name)


@pytest.fixture
def autocommit_connection(fresh_database_url: URL) -> Iterator[Connection]:
    from sqlalchemy import create_engine

    engine = create_engine(fresh_database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def scalar(connection: Connection, sql: str) -> object:
    return execute(connection, sql)[0][0][0]


BROKEN_PROCEDURE = (
    "CREATE TABLE dbo.kept (i int)\n"  # 1
    "GO\n"  # 2
    "-- reads the table\n"  # 3: the second batch starts here
    "CREATE PROCEDURE dbo.broken\n"  # 4
    "AS\n"  # 5
    "BEGIN\n"  # 6
    "    SELECT i,\n"  # 7
    "    FROM dbo.kept;\n"  # 8: syntax error
    "END\n"  # 9
    "GO\n"
)


def test_procedure_error_line(autocommit_connection: Connection) -> None:
    connection = autocommit_connection

    with pytest.raises(BatchError) as caught:
        run(connection, parse(BROKEN_PROCEDURE, file="procedure.sql"))

    assert caught.value.number == 156
    assert (caught.value.file, caught.value.batch, caught.value.line) == ("procedure.sql", 2, 8)
    assert str(caught.value).startswith("procedure.sql, line 8: batch 2 failed with SQL Server")
    assert scalar(connection, "SELECT OBJECT_ID(N'dbo.broken')") is None
    assert scalar(connection, "SELECT OBJECT_ID(N'dbo.kept')") is not None
    assert scalar(connection, "SELECT @@TRANCOUNT") == 0


def test_view_error_line(autocommit_connection: Connection) -> None:
    connection = autocommit_connection
    text = (
        "SET QUOTED_IDENTIFIER ON\n"  # 1
        "GO\n"  # 2
        "/* the view */\n"  # 3: the second batch starts here
        "CREATE VIEW dbo.v_broken\n"  # 4
        "AS\n"  # 5
        "SELECT name,\n"  # 6
        "FROM sys.objects;\n"  # 7: syntax error
        "GO\n"
    )

    with pytest.raises(BatchError) as caught:
        run(connection, parse(text, file="view.sql"))

    assert caught.value.number == 156
    assert (caught.value.batch, caught.value.line) == (2, 7)
    assert scalar(connection, "SELECT OBJECT_ID(N'dbo.v_broken')") is None
    assert scalar(connection, "SELECT COUNT(*) FROM sys.views") == 0
    assert scalar(connection, "SELECT @@TRANCOUNT") == 0


def test_module_error_keeps_open_transaction(autocommit_connection: Connection) -> None:
    """Inside the caller's transaction the line stays unknown and the caller's work is kept."""
    connection = autocommit_connection
    execute(connection, "BEGIN TRANSACTION; CREATE TABLE dbo.pending (i int);")
    try:
        with pytest.raises(BatchError) as caught:
            run(connection, parse(BROKEN_PROCEDURE.split("GO\n", 1)[1], file="p.sql"))

        assert caught.value.line == 1
        assert "line within the batch unknown" in str(caught.value)
        assert scalar(connection, "SELECT @@TRANCOUNT") == 1
        assert scalar(connection, "SELECT OBJECT_ID(N'dbo.pending')") is not None
    finally:
        execute(connection, "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;")
    assert scalar(connection, "SELECT OBJECT_ID(N'dbo.pending')") is None


def test_messages_before_error(connection: Connection) -> None:
    seen: list[Message] = []

    with pytest.raises(BatchError) as caught:
        run(
            connection,
            parse("PRINT N'before';\nTHROW 50001, N'boom', 1;", file="t.sql"),
            on_message=seen.append,
        )

    assert [m.text for m in seen] == ["before"]
    assert caught.value.number == 50001


def test_messages_after_rows(connection: Connection) -> None:
    seen: list[Message] = []

    rows = execute(
        connection, "SELECT 1 AS a; PRINT N'after'; SELECT 2 AS b;", on_message=seen.append
    )

    assert rows == [[(1,)], [(2,)]]
    assert [m.text for m in seen] == ["after"]


def test_scoped_configuration_in_transaction(connection: Connection) -> None:
    """The classifier puts this statement inside transactions; SQL Server must accept it there."""
    script = parse("ALTER DATABASE SCOPED CONFIGURATION SET MAXDOP = 0;")
    assert script.transactional is True

    run(connection, script)

    assert scalar(connection, "SELECT @@TRANCOUNT") == 1
    connection.rollback()
