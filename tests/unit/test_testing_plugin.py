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
