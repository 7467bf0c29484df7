"""Engines: creating them from any target, scoping them, and the connection check."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, DriverNotFoundError
from ..quoting import check_name
from ._drivers import INSTALL_HINT, MSSQL_PYTHON_HINT
from ._failures import KERBEROS_HINT, connection_error
from ._settings import SERVER_DATABASE, ConnectionSettings, settings_of

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine, ExceptionContext

    from ..catalog import ServerInfo
    from ._settings import Target

__all__ = [
    "PASSWORD_VARIABLE",
    "ConnectionCheck",
    "check_connection",
    "connect",
    "database_of",
    "describe",
    "engine_for",
    "engine_scope",
]

log = logging.getLogger(__name__)


PASSWORD_VARIABLE = "ONTIME_DB_PASSWORD"


def connect(
    target: Target | None = None,
    *,
    database: str | None = None,
    autocommit: bool = False,
    **parts: Any,
) -> Engine:
    """Create an Engine for ``target``, or for the admin console's ``parts``.

    ``target`` is a SQLAlchemy URL or Engine, a ``jdbc:sqlserver://`` URL, an
    ODBC connection string or :class:`ConnectionSettings`. Without a target,
    ``parts`` are the keyword arguments of
    :meth:`ConnectionSettings.from_options` (``server``, ``user``,
    ``password``, ``extra``, ``driver``, ``odbc_driver``); with a string
    target they override its values. ``database`` switches to another
    database on the same server. A missing password is read from
    ``ONTIME_DB_PASSWORD``.

    The engine connects lazily, so login errors surface on first use: its
    ``connect()`` and ``begin()`` raise
    :class:`~ontime_db.errors.ConnectionFailedError` (built by
    :func:`connection_error`) when the server cannot be reached or refuses
    the login. Errors of statements on an open connection stay SQLAlchemy's.
    The engine keeps no pool: closing a connection ends its session on the
    server, so no idle session of this process keeps a database in use. The
    caller disposes the engine.

    Raises :class:`~ontime_db.errors.ConfigurationError` for invalid input
    and :class:`~ontime_db.errors.DriverNotFoundError` when the driver is
    missing.

    >>> engine = connect("jdbc:sqlserver://db1;databaseName=ontimems;user=OnTimeApp",
    ...                  password="secret")  # doctest: +SKIP
    """
    if parts and not (target is None or isinstance(target, str)):
        raise ConfigurationError(
            f"connection options {sorted(parts)} can only be combined with a connection "
            "string, not with a URL, Engine or ConnectionSettings object"
        )
    if target is None or isinstance(target, str):
        unknown = set(parts) - {"server", "user", "password", "extra", "driver", "odbc_driver"}
        if unknown:
            raise ConfigurationError(
                f"unknown connection options {sorted(unknown)}: expected server, user, "
                "password, extra, driver or odbc_driver"
            )
        target = ConnectionSettings.from_options(url=target, **parts)
    return _create_engine(target, database=database, autocommit=autocommit)


def engine_for(target: Target, *, database: str | None = None, autocommit: bool = False) -> Engine:
    """Create an Engine on the same server as ``target``, for ``database`` when given.

    Server-level work passes ``database="master"``. An Engine target is
    returned as it is when no other database is requested, and it is never
    modified: its connection errors stay SQLAlchemy's. Every engine created
    here has no connection pool and raises
    :class:`~ontime_db.errors.ConnectionFailedError` when connecting fails,
    as :func:`connect` describes.
    """
    return _create_engine(target, database=database, autocommit=autocommit)


@contextmanager
def engine_scope(
    target: Target, *, database: str | None = None, autocommit: bool = False
) -> Iterator[Engine]:
    """Yield :func:`engine_for` ``target``; dispose the engine afterwards if it was created here."""
    from sqlalchemy.engine import Engine

    borrowed = isinstance(target, Engine) and database in (None, target.url.database)
    engine = engine_for(target, database=database, autocommit=autocommit)
    try:
        yield engine
    finally:
        if not borrowed:
            engine.dispose()


def _create_engine(target: Target, *, database: str | None, autocommit: bool) -> Engine:
    import sqlalchemy
    from sqlalchemy.engine import URL, Engine, create_engine
    from sqlalchemy.exc import NoSuchModuleError
    from sqlalchemy.pool import NullPool

    # ``described`` names the server, database and login in connection
    # errors; settings describe integrated security, a bare URL cannot.
    described: ConnectionSettings | URL
    if isinstance(target, Engine):
        if database is None or database == target.url.database:
            return target.execution_options(isolation_level="AUTOCOMMIT") if autocommit else target
        # Handled as a URL below, so an odbc_connect string is rebuilt for the other database.
        target = target.url
    if isinstance(target, URL) and not any(key.lower() == "odbc_connect" for key in target.query):
        url = target if database is None else target.set(database=check_name(database))
        url = _url_with_password(url)
        described = url
    else:
        # Settings, text, and a URL whose odbc_connect string names the database.
        described = _effective_settings(settings_of(target), database)
        url = described.to_url()

    # NullPool: a connection the library closes ends its session at once. A
    # pool would keep an idle session in the database, and SQL Server then
    # rejects ALTER DATABASE ... MODIFY NAME, RESTORE ... REPLACE and DROP
    # DATABASE because the database is in use, by this very process. A
    # pre-ping is pointless without a pool, since every checkout connects anew.
    options: dict[str, Any] = {"poolclass": NullPool}
    if autocommit:
        options["isolation_level"] = "AUTOCOMMIT"
    try:
        engine = create_engine(url, **options)
    except NoSuchModuleError as error:
        # SQLAlchemy added the mssql+mssqlpython dialect in 2.1.
        raise ConfigurationError(
            f"SQLAlchemy {sqlalchemy.__version__} has no dialect {url.drivername!r}: "
            "mssql-python needs SQLAlchemy 2.1 or newer (`pip install -U sqlalchemy`), "
            "or use the default pyodbc driver"
        ) from error
    except ImportError as error:
        hint = MSSQL_PYTHON_HINT if url.get_driver_name() == "mssqlpython" else INSTALL_HINT
        raise DriverNotFoundError(
            f"the driver for {url.render_as_string(hide_password=True)!r} cannot be "
            f"loaded ({error}). {hint}"
        ) from error
    _disable_driver_pooling(engine)
    if isinstance(described, ConnectionSettings):
        # Errors name what to_url chose: the ODBC driver it looked up and
        # master when no database was given.
        chosen = url.query.get("driver")
        described = replace(
            described,
            odbc_driver=described.odbc_driver or (chosen if isinstance(chosen, str) else None),
            database=described.database or url.database,
        )
    _replace_connect_errors(engine, described)
    log.info("engine for %s", describe(described))
    return engine


def _replace_connect_errors(engine: Engine, described: ConnectionSettings | URL) -> None:
    """Make ``engine`` raise ConnectionFailedError for a DB-API error raised while connecting.

    SQLAlchemy calls ``DialectEvents.handle_error`` for errors on connect
    too: ``ExceptionContext.connection`` "is present, except in the case of
    a failure when first connecting" (SQLAlchemy 2.0 and 2.1 API reference,
    ``ExceptionContext``). Since 2.0 the event belongs to ``DialectEvents``
    and still takes the Engine as its target. An error on an open
    connection has a ``connection``, so statement errors pass unchanged.
    """
    from sqlalchemy import event

    def replace_connect_error(context: ExceptionContext) -> BaseException | None:
        # A pre-ping runs on a pooled connection and expects SQLAlchemy's own
        # error; the engines built here have no pool, so none runs today.
        if context.connection is not None or getattr(context, "is_pre_ping", False):
            return None
        if context.sqlalchemy_exception is None:
            # Not an error of the DB-API module, such as an error in ontime_db.
            return None
        return connection_error(context.sqlalchemy_exception, described)

    event.listen(engine, "handle_error", replace_connect_error, retval=True)


def _disable_driver_pooling(engine: Engine) -> None:
    # pyodbc turns on the ODBC driver manager's own connection pooling by
    # default, so a connection that NullPool closes stays open in the driver
    # manager and keeps its session in the database (see SQLAlchemy's mssql
    # dialect documentation, "Pyodbc Pooling / connection close behavior").
    # NOTE: the setting is process-wide and counts only before pyodbc's first
    # connection in the process; mssql-python's own pooling is left as it is.
    if engine.dialect.driver == "pyodbc" and engine.dialect.dbapi is not None:
        setattr(engine.dialect.dbapi, "pooling", False)  # noqa: B010 (not in the DB-API type)


def _effective_settings(settings: ConnectionSettings, database: str | None) -> ConnectionSettings:
    if database is not None:
        settings = settings.with_database(database)
    password = _environment_password()
    if settings.needs_password and password is not None:
        settings = settings.with_password(password)
    settings.check_password()
    if settings.integrated_security and not sys.platform.startswith("win"):
        log.warning(KERBEROS_HINT)
    return settings


def _url_with_password(url: URL) -> URL:
    # A URL with a user name but no password gets ONTIME_DB_PASSWORD, as
    # settings do; without either, the login would be tried with no password.
    if not url.username or url.password is not None:
        return url
    password = _environment_password()
    if password is None:
        settings_of(url).check_password()
        return url
    return url.set(password=password)


def _environment_password() -> str | None:
    # An empty variable counts as unset, as it does for the command line, so
    # `ONTIME_DB_PASSWORD=` never sends an empty password by accident.
    return os.environ.get(PASSWORD_VARIABLE) or None


def database_of(target: Target) -> str | None:
    """Return the database ``target`` names, or ``None`` when it names none."""
    return settings_of(target).database


def describe(target: Target) -> str:
    """Return ``server[\\instance][:port]/database as login`` for messages; never a password."""
    return settings_of(target).describe()


@dataclass(frozen=True)
class ConnectionCheck:
    """The result of :func:`check_connection`.

    ``database_exists`` is ``None`` when no database was named.
    """

    target: str
    server: ServerInfo
    database: str | None
    database_exists: bool | None


def check_connection(target: Target, *, database: str | None = None) -> ConnectionCheck:
    """Connect to the server's ``master`` database and report the server, login and database.

    ``database`` defaults to the one ``target`` names. A missing database
    is reported in the result, not raised, so the caller can show the
    server details too.

    Raises :class:`~ontime_db.errors.ConnectionFailedError` with the reason
    (login failed, server not found, certificate rejected ...) when the
    server cannot be reached or refuses the login. For an Engine target the
    error comes from :func:`connection_error` here, because such an engine
    has no listener of this library.
    """
    from sqlalchemy.exc import DBAPIError

    from ..catalog import database_exists, server_info

    name = database or database_of(target)
    try:
        with (
            engine_scope(target, database=SERVER_DATABASE, autocommit=True) as engine,
            engine.connect() as connection,
        ):
            info = server_info(connection)
            exists = database_exists(connection, name) if name else None
    except DBAPIError as error:
        raise connection_error(error, target, database=name) from error

    log.info(
        "connected to %s: SQL Server %s %s as %s",
        describe(target),
        info.product_version,
        info.edition,
        info.login,
    )
    return ConnectionCheck(describe(target), info, name, exists)
