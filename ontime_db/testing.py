"""pytest fixtures for tests that need a live SQL Server.

Installed as a pytest plugin (entry point ``pytest11``), so any project that
tests against OnTime databases gets these fixtures:

``mssql_url``
    Session-scoped SQLAlchemy URL of the server's ``master`` database. It is
    ``ONTIME_DB_TEST_URL`` when that is set; otherwise pytest-docker starts
    the ``mssql`` service of the project's ``docker-compose.yml``.
``mssql_engine``
    Session-scoped engine on ``master`` in autocommit mode.
``fresh_database``
    Function-scoped name of a new, empty database, dropped after the test
    even when the test fails.
``fresh_database_url``
    The URL of that database.

Tests that use a live server carry the ``mssql`` marker. When neither
``ONTIME_DB_TEST_URL`` nor a working Docker engine is available, those tests
are skipped with one reason, and nothing takes the server's place.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sqlalchemy import URL, Engine

log = logging.getLogger(__name__)

URL_VARIABLE = "ONTIME_DB_TEST_URL"
PASSWORD_VARIABLE = "MSSQL_SA_PASSWORD"
# The password docker-compose.yml gives the throw-away container when
# MSSQL_SA_PASSWORD is not set; it only ever protects a local test server.
DEFAULT_SA_PASSWORD = "OnTime-Test-2022!"
SERVICE = "mssql"
READY_TIMEOUT_SECONDS = 120.0

SKIP_REASON = (
    f"no SQL Server for the live tests: set {URL_VARIABLE} to the SQLAlchemy URL of a "
    "reachable server (e.g. mssql+pyodbc://sa:PASSWORD@localhost:1433/master"
    "?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes), or start a "
    "Docker engine so the 'mssql' service of docker-compose.yml can run, or use "
    "`docker compose run --rm tests`"
)


DOCKER_HINT = "Check `docker compose logs mssql` (the image needs 2 GB of memory)."
URL_HINT = f"Check that {URL_VARIABLE} names a running server and a valid login."


class ServerNotReadyError(RuntimeError):
    """The SQL Server did not respond to a query within the timeout."""

    def __init__(
        self, service: str, seconds: float, last_error: str, *, hint: str = DOCKER_HINT
    ) -> None:
        super().__init__(
            f"SQL Server service {service!r} did not answer `SELECT 1` within "
            f"{seconds:.0f} seconds; last error: {last_error}. {hint}"
        )
        self.service = service
        self.seconds = seconds


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mssql: needs a live SQL Server (ONTIME_DB_TEST_URL or the docker-compose service)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live = [item for item in items if item.get_closest_marker("mssql") is not None]
    if not live or server_available():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in live:
        item.add_marker(skip)


def server_available() -> bool:
    """Return whether live tests can reach a server: a URL is set or Docker runs."""
    return bool(os.environ.get(URL_VARIABLE)) or docker_engine_running()


def docker_engine_running() -> bool:
    """Return whether a Docker engine responds (a client alone is not enough)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        answer = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return answer.returncode == 0 and bool(answer.stdout.strip())


def wait_until_ready(
    check: Callable[[], None],
    *,
    service: str = SERVICE,
    timeout: float = READY_TIMEOUT_SECONDS,
    pause: float = 2.0,
    hint: str = DOCKER_HINT,
    retry_on: tuple[type[Exception], ...] = (OSError,),
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Call ``check`` until it stops raising; return the seconds waited.

    Only the exceptions in ``retry_on`` mean "not ready yet". Any other one
    propagates at once, so a missing driver or a bug in ``check`` is not
    reported as a server that never responded. ``clock`` and ``sleep`` exist
    so the wait can be tested without waiting.

    Raises :class:`ServerNotReadyError` naming ``service`` and the seconds
    waited when ``timeout`` passes first.

    Example::

        def check() -> None:
            socket.create_connection(("127.0.0.1", 1433), timeout=5).close()

        waited = wait_until_ready(check, service="mssql", timeout=60)
    """
    started = clock()
    while True:
        try:
            check()
        except retry_on as error:
            waited = clock() - started
            if waited >= timeout:
                # The chained driver error would repeat the connection
                # arguments in pytest's traceback; its text is in the message.
                raise ServerNotReadyError(service, waited, str(error), hint=hint) from None
            sleep(pause)
        else:
            return clock() - started


def _compose_file(config: pytest.Config) -> Path:
    return Path(str(config.rootpath)) / "docker-compose.yml"


@pytest.fixture(scope="session")
def mssql_url(request: pytest.FixtureRequest) -> URL:
    """SQLAlchemy URL of the live server's ``master`` database."""
    from sqlalchemy import make_url
    from sqlalchemy.engine import URL
    from sqlalchemy.exc import ArgumentError

    configured = os.environ.get(URL_VARIABLE)
    if configured:
        try:
            url = make_url(configured)
        except ArgumentError:
            raise pytest.UsageError(
                f"{URL_VARIABLE} is not a SQLAlchemy URL; expected for example "
                "mssql+pyodbc://sa:PASSWORD@localhost:1433/master"
                "?driver=ODBC+Driver+18+for+SQL+Server&TrustServerCertificate=yes"
            ) from None
        _wait_for(url, service=url.host or "server", hint=URL_HINT)
        return url

    if not docker_engine_running():
        pytest.skip(SKIP_REASON)
    services: Any = request.getfixturevalue("docker_services")
    port = services.port_for(SERVICE, 1433)
    url = URL.create(
        "mssql+pyodbc",
        username="sa",
        password=os.environ.get(PASSWORD_VARIABLE, DEFAULT_SA_PASSWORD),
        # pytest-docker's docker_ip is 127.0.0.1, or the host of a tcp:// DOCKER_HOST.
        host=request.getfixturevalue("docker_ip"),
        port=port,
        database="master",
        query={"driver": "ODBC Driver 18 for SQL Server", "TrustServerCertificate": "yes"},
    )
    _wait_for(url, service=SERVICE)
    return url


@pytest.fixture(scope="session")
def docker_compose_file(pytestconfig: pytest.Config) -> str:
    """Return the compose file that pytest-docker starts services from."""
    return str(_compose_file(pytestconfig))


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    """Start only the server: the compose file's ``tests`` service runs this suite itself."""
    return [f"up -d --wait {SERVICE}"]


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    """Return a fixed project name, so a crashed run's container is reused, not duplicated."""
    return "ontime_db_tests"


def _wait_for(url: URL, *, service: str, hint: str = DOCKER_HINT) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    from .connection import connection_error
    from .errors import ConnectionFailedError, DriverNotFoundError

    engine = create_engine(url, pool_pre_ping=True)

    def check() -> None:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1")).scalar_one()
        except DBAPIError as error:
            # connection_error masks the password and names the reason. A
            # driver that cannot be loaded will not appear by waiting, so it
            # is raised as an error that the wait does not retry.
            failure = connection_error(error, url)
            if failure.reason == "driver missing":
                raise DriverNotFoundError(failure.message) from None
            raise failure from None

    try:
        waited = wait_until_ready(
            check, service=service, hint=hint, retry_on=(ConnectionFailedError,)
        )
    finally:
        engine.dispose()
    log.info("SQL Server %s responded after %.1f s", service, waited)


@pytest.fixture(scope="session")
def mssql_engine(mssql_url: URL) -> Iterator[Engine]:
    """Engine on the live server's ``master`` database, in autocommit mode."""
    from sqlalchemy import create_engine

    engine = create_engine(mssql_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def drop_database_sql(name: str) -> str:
    """Build the batch that drops database ``name`` if it exists, in any state.

    Sessions in an ONLINE database are ended first. ALTER DATABASE fails on a
    database that is not ONLINE (RESTORING after an interrupted restore,
    OFFLINE), while DROP DATABASE removes a database "regardless of its
    state" (DROP DATABASE, SQL Server 2008 to 2022), so only an ONLINE one is
    switched to SINGLE_USER.

    >>> print(drop_database_sql("a]b"))  # doctest: +NORMALIZE_WHITESPACE
    IF DB_ID(N'a]b') IS NOT NULL BEGIN IF EXISTS (SELECT 1 FROM sys.databases WHERE
    name = N'a]b' AND state_desc = N'ONLINE') ALTER DATABASE [a]]b] SET SINGLE_USER
    WITH ROLLBACK IMMEDIATE; DROP DATABASE [a]]b]; END
    """
    from .quoting import quote_identifier, quote_string

    quoted = quote_identifier(name)
    literal = quote_string(name)
    return (
        f"IF DB_ID({literal}) IS NOT NULL BEGIN "
        f"IF EXISTS (SELECT 1 FROM sys.databases WHERE name = {literal} "
        f"AND state_desc = N'ONLINE') "
        f"ALTER DATABASE {quoted} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; "
        f"DROP DATABASE {quoted}; END"
    )


def drop_database(engine: Engine, name: str) -> None:
    """Drop database ``name`` if it exists, ending other sessions that use it."""
    # exec_driver_sql sends the text as written: text() would take ":x" inside
    # a bracketed name such as [a:x] for a bind parameter.
    with engine.connect() as connection:
        connection.exec_driver_sql(drop_database_sql(name))


@pytest.fixture
def fresh_database(mssql_engine: Engine) -> Iterator[str]:
    """Name of a new, empty database; dropped after the test, even a failed one."""
    from sqlalchemy import text

    from .quoting import quote_identifier

    name = f"ontime_test_{uuid.uuid4().hex[:12]}"
    with mssql_engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {quote_identifier(name)}"))
    try:
        yield name
    finally:
        drop_database(mssql_engine, name)


@pytest.fixture
def fresh_database_url(mssql_url: URL, fresh_database: str) -> URL:
    """SQLAlchemy URL of :func:`fresh_database`."""
    return mssql_url.set(database=fresh_database)
