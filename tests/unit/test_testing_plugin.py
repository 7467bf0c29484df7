"""The live-server fixtures' readiness wait and skip decision, without a server."""

from __future__ import annotations

import pytest

from ontime_db import testing


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_until_ready_returns_seconds_waited() -> None:
    clock = FakeClock()
    attempts: list[float] = []

    def check() -> None:
        attempts.append(clock())
        if len(attempts) < 3:
            raise ConnectionError("login timeout")

    waited = testing.wait_until_ready(check, timeout=60, pause=2, clock=clock, sleep=clock.sleep)
    assert waited == 4.0
    assert attempts == [0.0, 2.0, 4.0]


def test_wait_until_ready_names_service_and_seconds() -> None:
    clock = FakeClock()

    def check() -> None:
        raise ConnectionError("connection refused")

    with pytest.raises(testing.ServerNotReadyError) as caught:
        testing.wait_until_ready(
            check, service="mssql", timeout=10, pause=3, clock=clock, sleep=clock.sleep
        )
    assert str(caught.value) == (
        "SQL Server service 'mssql' did not answer `SELECT 1` within 12 seconds; "
        "last error: connection refused. Check `docker compose logs mssql` "
        "(the image needs 2 GB of memory)."
    )
    assert caught.value.service == "mssql"
    assert caught.value.seconds == 12.0
    assert caught.value.__cause__ is None


def test_wait_until_ready_url_hint() -> None:
    clock = FakeClock()

    def check() -> None:
        raise ConnectionError("login failed")

    with pytest.raises(testing.ServerNotReadyError) as caught:
        testing.wait_until_ready(
            check, service="db1", timeout=2, pause=2, hint=testing.URL_HINT,
            clock=clock, sleep=clock.sleep,
        )
    assert str(caught.value) == (
        "SQL Server service 'db1' did not answer `SELECT 1` within 2 seconds; "
        "last error: login failed. Check that ONTIME_DB_TEST_URL names a running "
        "server and a valid login."
    )


def test_server_available_with_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(testing.URL_VARIABLE, "mssql+pyodbc://sa:x@localhost/master")
    monkeypatch.setattr(testing, "docker_engine_running", lambda: False)
    assert testing.server_available() is True


def test_server_unavailable_without_url_or_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(testing.URL_VARIABLE, raising=False)
    monkeypatch.setattr(testing, "docker_engine_running", lambda: False)
    assert testing.server_available() is False


def test_docker_engine_missing_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(testing.shutil, "which", lambda name: None)
    assert testing.docker_engine_running() is False


def test_live_tests_skipped_with_one_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.mssql
        def test_live_one(fresh_database):
            assert fresh_database

        @pytest.mark.mssql
        def test_live_two(mssql_engine):
            assert mssql_engine

        def test_offline():
            assert 1 + 1 == 2
        """
    )
    monkeypatch.delenv(testing.URL_VARIABLE, raising=False)
    monkeypatch.setattr(testing, "docker_engine_running", lambda: False)
    result = pytester.runpytest_inprocess("-rs")
    result.assert_outcomes(passed=1, skipped=2)
    skipped_lines = [line for line in result.outlines if line.startswith("SKIPPED")]
    assert len(skipped_lines) == 2
    for line in skipped_lines:
        assert line.endswith(testing.SKIP_REASON)


def test_wait_until_ready_other_error_not_retried() -> None:
    """An error outside retry_on is a bug or a permanent failure, so it is raised at once."""
    clock = FakeClock()
    calls: list[float] = []

    def check() -> None:
        calls.append(clock())
        raise TypeError("check() is broken")

    with pytest.raises(TypeError, match=r"^check\(\) is broken$"):
        testing.wait_until_ready(check, timeout=60, pause=2, clock=clock, sleep=clock.sleep)
    assert calls == [0.0]


def test_wait_until_ready_retry_on() -> None:
    clock = FakeClock()
    calls: list[float] = []

    def check() -> None:
        calls.append(clock())
        if len(calls) < 2:
            raise LookupError("not yet")

    waited = testing.wait_until_ready(
        check, retry_on=(LookupError,), timeout=60, pause=5, clock=clock, sleep=clock.sleep
    )
    assert waited == 5.0
    assert calls == [0.0, 5.0]


class _DriverMissingEngine:
    """An engine whose connect fails as unixODBC does when the ODBC driver is not installed."""

    def __init__(self) -> None:
        self.disposed = False

    def connect(self) -> None:
        from sqlalchemy.exc import DBAPIError

        text = (
            "[01000] [unixODBC][Driver Manager]Can't open lib 'ODBC Driver 18 for SQL Server' "
            ": file not found (0) (SQLDriverConnect)"
        )
        raise DBAPIError(None, None, Exception("01000", text))

    def dispose(self) -> None:
        self.disposed = True


def test_wait_for_driver_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing ODBC driver fails the wait at once, with the install advice."""
    import sqlalchemy

    from ontime_db.errors import DriverNotFoundError

    engine = _DriverMissingEngine()
    monkeypatch.setattr(sqlalchemy, "create_engine", lambda url, **options: engine)
    monkeypatch.setattr(testing.time, "sleep", lambda seconds: pytest.fail("the wait retried"))
    url = sqlalchemy.make_url(
        "mssql+pyodbc://sa:Secret-Pass-1@127.0.0.1:1433/master"
        "?driver=ODBC+Driver+18+for+SQL+Server"
    )

    with pytest.raises(DriverNotFoundError) as caught:
        testing._wait_for(url, service="mssql")

    assert str(caught.value).startswith(
        "connecting to 127.0.0.1:1433/master as sa failed (driver missing): the ODBC driver "
        "manager cannot load 'ODBC Driver 18 for SQL Server'. Install unixODBC"
    )
    assert "Secret-Pass-1" not in str(caught.value)
    assert engine.disposed is True


def test_drop_database_sql() -> None:
    """The drop names the database through quoting and ends sessions only in an ONLINE one."""
    sql = testing.drop_database_sql("ontime_test_a]b:c")

    assert sql == (
        "IF DB_ID(N'ontime_test_a]b:c') IS NOT NULL BEGIN "
        "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = N'ontime_test_a]b:c' "
        "AND state_desc = N'ONLINE') "
        "ALTER DATABASE [ontime_test_a]]b:c] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; "
        "DROP DATABASE [ontime_test_a]]b:c]; END"
    )


def test_drop_database_sent_as_written() -> None:
    """A fake connection records the SQL: a ':c' in the name is not read as a bind parameter."""
    sent: list[str] = []

    class Connection:
        def __enter__(self) -> Connection:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def exec_driver_sql(self, sql: str) -> None:
            sent.append(sql)

    class Engine:
        def connect(self) -> Connection:
            return Connection()

    testing.drop_database(Engine(), "a:c")  # type: ignore[arg-type]

    assert sent == [testing.drop_database_sql("a:c")]
