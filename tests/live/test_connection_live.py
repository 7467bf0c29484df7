"""Each connection form reaches a live SQL Server; failures end in a plain reason.

The forms are built from the test server's SQLAlchemy URL, so every one of
them names the same server, login and password.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError

from ontime_db.backups.statements import modify_name
from ontime_db.cli import main
from ontime_db.connection import (
    ConnectionSettings,
    check_connection,
    connect,
    engine_for,
    engine_scope,
)
from ontime_db.errors import ConnectionFailedError, OnTimeDbError
from ontime_db.quoting import quote_identifier, quote_string
from ontime_db.testing import drop_database

pytestmark = pytest.mark.mssql


def braced(value: str) -> str:
    return "{" + value.replace("}", "}}") + "}"


def trust_flag(url: URL) -> str:
    value = str(url.query.get("TrustServerCertificate", "no")).lower()
    return "true" if value in ("yes", "true") else "false"


def encrypt_of(url: URL) -> str | None:
    """The URL's Encrypt value as ODBC writes it, or None for the driver's default."""
    value = url.query.get("Encrypt")
    if value is None:
        return None
    return "no" if str(value).lower() in ("no", "false", "optional") else str(value).lower()


def jdbc_of(url: URL, database: str = "master") -> str:
    port = f":{url.port}" if url.port else ""
    encrypt = encrypt_of(url)
    jdbc_encrypt = {"no": "false", "yes": "true"}.get(encrypt or "", encrypt)
    return (
        f"jdbc:sqlserver://{url.host}{port};databaseName={braced(database)};"
        f"user={braced(url.username or '')};password={braced(url.password or '')};"
        f"trustServerCertificate={trust_flag(url)}"
        + (f";encrypt={jdbc_encrypt}" if jdbc_encrypt else "")
    )


def odbc_of(url: URL, database: str = "master") -> str:
    port = f",{url.port}" if url.port else ""
    driver = url.query.get("driver", "ODBC Driver 18 for SQL Server")
    trust = "yes" if trust_flag(url) == "true" else "no"
    return (
        f"Driver={braced(str(driver))};Server={url.host}{port};Database={braced(database)};"
        f"UID={braced(url.username or '')};PWD={braced(url.password or '')};"
        f"TrustServerCertificate={trust}"
        + (f";Encrypt={encrypt_of(url)}" if encrypt_of(url) else "")
    )


def session_of(engine: Engine) -> tuple[str, str]:
    try:
        with engine.connect() as connection:
            row = connection.execute(text("SELECT DB_NAME() AS db, SUSER_SNAME() AS login")).one()
            return str(row.db), str(row.login)
    finally:
        engine.dispose()


def test_forms_reach_same_session(mssql_url: URL) -> None:
    expected = ("master", mssql_url.username)
    parts = ConnectionSettings.from_options(
        server=f"{mssql_url.host},{mssql_url.port or 1433}",
        database="master",
        user=mssql_url.username,
        password=mssql_url.password,
        extra=f"trustServerCertificate={trust_flag(mssql_url)};"
        + (f"encrypt={'false' if encrypt_of(mssql_url) == 'no' else 'true'};"
           if encrypt_of(mssql_url) else ""),
    )
    engines = {
        "sqlalchemy-url": connect(mssql_url),
        "url-string": connect(mssql_url.render_as_string(hide_password=False)),
        "jdbc": connect(jdbc_of(mssql_url)),
        "odbc": connect(odbc_of(mssql_url)),
        "parts": connect(parts),
    }
    for form, engine in engines.items():
        assert session_of(engine) == expected, form


def test_engine_for_other_database(mssql_url: URL, fresh_database: str) -> None:
    engine = engine_for(jdbc_of(mssql_url), database=fresh_database)
    assert session_of(engine)[0] == fresh_database


def test_engine_for_odbc_connect_engine(mssql_url: URL, fresh_database: str) -> None:
    """An Engine whose URL carries odbc_connect reaches the other database, not its own."""
    from sqlalchemy import create_engine

    own = create_engine(URL.create("mssql+pyodbc", query={"odbc_connect": odbc_of(mssql_url)}))
    try:
        assert session_of(engine_for(own, database=fresh_database))[0] == fresh_database
    finally:
        own.dispose()


def test_autocommit_engine(mssql_url: URL) -> None:
    engine = connect(mssql_url, autocommit=True)
    try:
        with engine.connect() as connection:
            # @@TRANCOUNT is 0 outside a transaction: autocommit opened none.
            assert connection.execute(text("SELECT @@TRANCOUNT")).scalar_one() == 0
    finally:
        engine.dispose()


def test_check_connection(mssql_engine: Engine, mssql_url: URL, fresh_database: str) -> None:
    result = check_connection(mssql_url, database=fresh_database)
    with mssql_engine.connect() as connection:
        version, login = connection.execute(
            text("SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), SUSER_SNAME()")
        ).one()
    assert result.server.product_version == version
    assert result.server.login == login
    assert result.server.edition != ""
    assert result.database_exists is True


def test_check_missing_database(mssql_url: URL) -> None:
    result = check_connection(mssql_url, database=f"ontime_missing_{uuid.uuid4().hex[:8]}")
    assert result.database_exists is False


def test_wrong_password(mssql_url: URL) -> None:
    wrong = mssql_url.set(password="not-the-password-" + uuid.uuid4().hex)
    with pytest.raises(ConnectionFailedError) as raised:
        check_connection(wrong)
    assert raised.value.reason == "login failed"
    assert "not-the-password-" not in str(raised.value)


def test_server_not_found(mssql_url: URL) -> None:
    # A loopback port that nothing listens on: bound, then released.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    unreachable = mssql_url.set(host="127.0.0.1", port=closed_port)
    with pytest.raises(ConnectionFailedError) as raised:
        check_connection(unreachable)
    assert raised.value.reason == "server not found"


def test_database_missing_on_connect(mssql_url: URL) -> None:
    name = f"ontime_missing_{uuid.uuid4().hex[:8]}"
    engine = engine_for(mssql_url, database=name)
    try:
        with pytest.raises(ConnectionFailedError) as raised:
            engine.connect()
        assert raised.value.reason == "database missing"
        assert raised.value.database == name
    finally:
        engine.dispose()


def test_engine_connect_unreachable(mssql_url: URL) -> None:
    """An engine of the library raises ConnectionFailedError itself, not SQLAlchemy's error."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    engine = engine_for(mssql_url.set(host="127.0.0.1", port=closed_port), database="master")
    try:
        with pytest.raises(ConnectionFailedError) as raised:
            engine.connect()
        assert raised.value.reason == "server not found"
        assert str(raised.value).startswith(
            f"connecting to 127.0.0.1:{closed_port}/master as {mssql_url.username} failed "
            "(server not found)"
        )
        assert (mssql_url.password or "\x00") not in str(raised.value)
    finally:
        engine.dispose()


def test_engine_wrong_password(mssql_url: URL) -> None:
    wrong = "not-the-password-" + uuid.uuid4().hex
    engine = connect(mssql_url.set(password=wrong))
    try:
        with pytest.raises(ConnectionFailedError) as raised:
            engine.connect()
        assert raised.value.reason == "login failed"
        assert wrong not in str(raised.value)
    finally:
        engine.dispose()


def test_statement_error_not_replaced(mssql_url: URL) -> None:
    """Only errors while connecting are replaced; a failing statement keeps SQLAlchemy's error."""
    engine = connect(mssql_url)
    try:
        with engine.connect() as connection, pytest.raises(DBAPIError) as raised:
            connection.execute(text("SELECT * FROM dbo.ontime_no_such_table"))
        assert not isinstance(raised.value, OnTimeDbError)
        # SQL Server error 208: Invalid object name.
        assert "(208)" in str(raised.value.orig)
    finally:
        engine.dispose()


@pytest.fixture
def hard_login(mssql_engine: Engine) -> Iterator[tuple[str, str]]:
    """A SQL login whose password contains ';', '}', '=' and '{'; dropped afterwards."""
    name = f"ontime_login_{uuid.uuid4().hex[:8]}"
    password = f"S3cret;pw}}x={uuid.uuid4().hex[:6]}{{"
    login = quote_identifier(name, kind="login name")
    with mssql_engine.connect() as connection:
        # CHECK_POLICY = OFF: the test password need not meet a Windows policy.
        connection.exec_driver_sql(
            f"CREATE LOGIN {login} WITH PASSWORD = {quote_string(password)}, CHECK_POLICY = OFF"
        )
    try:
        yield name, password
    finally:
        with mssql_engine.connect() as connection:
            connection.exec_driver_sql(f"DROP LOGIN {login}")


def test_braced_password_forms(
    mssql_engine: Engine, mssql_url: URL, hard_login: tuple[str, str]
) -> None:
    name, password = hard_login
    with mssql_engine.connect() as connection:
        created = connection.execute(
            text("SELECT name FROM sys.server_principals WHERE name = :name"), {"name": name}
        ).scalar_one()
    assert created == name

    as_login = mssql_url.set(username=name, password=password)
    forms = {"jdbc": jdbc_of(as_login), "odbc": odbc_of(as_login)}
    assert "password={S3cret;pw}}x=" in forms["jdbc"]
    assert "PWD={S3cret;pw}}x=" in forms["odbc"]
    for form, target in forms.items():
        assert session_of(connect(target)) == ("master", name), form


def test_certificate_rejected(mssql_url: URL) -> None:
    if trust_flag(mssql_url) != "true":
        pytest.skip("the test server's certificate is trusted, so it cannot be rejected")
    strict = mssql_url.update_query_dict({"TrustServerCertificate": "no", "Encrypt": "yes"})
    with pytest.raises(ConnectionFailedError) as raised:
        check_connection(strict)
    assert raised.value.reason == "certificate rejected"
    assert "trustServerCertificate=true" in str(raised.value)


def test_cli_check_connection(
    mssql_url: URL, fresh_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["check-connection", "--url", jdbc_of(mssql_url, fresh_database)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert f"database: {fresh_database} (exists)\n" in captured.out
    assert captured.out.endswith("OK: the connection to the database works\n")
    assert (mssql_url.password or "\x00") not in captured.out + captured.err


def test_cli_check_missing_database(mssql_url: URL, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"ontime_missing_{uuid.uuid4().hex[:8]}"
    assert main(["check-connection", "--url", jdbc_of(mssql_url, name)]) == 1
    assert f"database {name!r} does not exist" in capsys.readouterr().err


# -- sessions left in a database ------------------------------------------------------

SESSIONS_IN = (
    "SELECT COUNT(*) FROM sys.dm_exec_sessions "
    "WHERE database_id = DB_ID(:name) AND session_id <> @@SPID"
)


def test_scope_leaves_no_session(
    mssql_engine: Engine, mssql_url: URL, fresh_database: str
) -> None:
    """After an engine_scope in a database, sys.dm_exec_sessions lists no session in it."""
    with engine_scope(jdbc_of(mssql_url), database=fresh_database, autocommit=True) as engine:
        for _ in range(3):
            with engine.connect() as connection:
                assert connection.execute(text("SELECT DB_NAME()")).scalar_one() == fresh_database
        with mssql_engine.connect() as connection:
            inside = connection.execute(text(SESSIONS_IN), {"name": fresh_database}).scalar_one()
    assert inside == 0


def test_rename_after_use(mssql_engine: Engine, mssql_url: URL, fresh_database: str) -> None:
    """An engine_for engine, used and not disposed, does not keep the database in use."""
    engine = engine_for(mssql_url, database=fresh_database, autocommit=True)
    with engine.connect() as connection:
        connection.execute(text("CREATE TABLE dbo.t (i int)"))
    renamed = fresh_database + "_renamed"
    with mssql_engine.connect() as connection:
        connection.execute(text(modify_name(fresh_database, renamed)))
    try:
        with mssql_engine.connect() as connection:
            found = connection.execute(
                text("SELECT name FROM sys.databases WHERE name = :name"), {"name": renamed}
            ).scalar_one()
        assert found == renamed
    finally:
        drop_database(mssql_engine, renamed)
        engine.dispose()
