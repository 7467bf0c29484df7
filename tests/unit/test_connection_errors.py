"""Password masking, driver lookup, engine creation and the classification of connection errors.

Engine creation is checked by replacing ``sqlalchemy.engine.create_engine``
with a recorder, because no ODBC driver can be loaded here. The recorder
builds a real Engine on a stand-in DB-API module that is never connected,
so it shows which URL and options ontime_db requests, not that a server
accepts them.
"""

from __future__ import annotations

import importlib
import logging
import types
from typing import Any

import pytest
import sqlalchemy.engine
from sqlalchemy.engine import URL, create_engine
from sqlalchemy.exc import DBAPIError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from ontime_db.connection import (
    INSTALL_HINT,
    KERBEROS_HINT,
    MSSQL_PYTHON_HINT,
    ConnectionSettings,
    _drivers,
    _engines,
    classify_error,
    connect,
    connection_error,
    engine_for,
    engine_scope,
    find_odbc_driver,
)
from ontime_db.errors import (
    ConfigurationError,
    ConnectionFailedError,
    DriverNotFoundError,
    DriverNotLoadedError,
)

SECRET = "S3cr3t;pw}"


def settings_with_secret() -> ConnectionSettings:
    return ConnectionSettings.from_options(
        server="db1",
        database="ontimems",
        user="OnTimeApp",
        password=SECRET,
        odbc_driver="ODBC Driver 18 for SQL Server",
    )


# -- masking ---------------------------------------------------------------------------


def test_repr_masks_password() -> None:
    settings = settings_with_secret()
    assert "password='***'" in repr(settings)
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)


def test_repr_shows_missing_password() -> None:
    assert "password=None" in repr(ConnectionSettings.from_options(server="h", user="u"))


def test_redacted_masks_password() -> None:
    assert settings_with_secret().redacted() == (
        "mssql+pyodbc://OnTimeApp:***@db1/ontimems?driver=ODBC+Driver+18+for+SQL+Server"
    )


def test_sqlalchemy_rendering_masks_password() -> None:
    url = settings_with_secret().to_url()
    assert url.password == SECRET
    assert SECRET not in url.render_as_string(hide_password=True)
    assert SECRET not in repr(url)
    assert SECRET not in str(url)


@pytest.mark.parametrize(
    "text",
    [
        f"jdbc:mysql://h;password={SECRET}",
        "nonsense password=S3cr3t;pw}",
        "jdbc:sqlserver://h;password={S3cr3t;pw}}};integratedSecurity=perhaps",
    ],
    ids=["jdbc-other", "odbc-garbage", "bad-property"],
)
def test_parse_errors_mask_password(text: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.parse(text)
    assert "S3cr3t" not in str(raised.value)


def test_driver_error_masks_password(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_create_engine(url: URL, **options: Any) -> Any:
        raise ImportError("libodbc.so.2: cannot open shared object file")

    monkeypatch.setattr(sqlalchemy.engine, "create_engine", failing_create_engine)
    with pytest.raises(DriverNotFoundError) as raised:
        connect(settings_with_secret())
    message = str(raised.value)
    assert SECRET not in message
    assert message.startswith(
        "the driver for 'mssql+pyodbc://OnTimeApp:***@db1/ontimems?driver=ODBC+Driver+18+for"
        "+SQL+Server' cannot be loaded (libodbc.so.2: cannot open shared object file). "
        "Install unixODBC"
    )


def test_mssql_python_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_create_engine(url: URL, **options: Any) -> Any:
        raise ImportError("No module named 'mssql_python'")

    monkeypatch.setattr(sqlalchemy.engine, "create_engine", failing_create_engine)
    settings = ConnectionSettings.from_options(
        server="h", user="u", password="p", driver="mssql-python"
    )
    with pytest.raises(DriverNotFoundError) as raised:
        connect(settings)
    assert str(raised.value) == (
        "the driver for 'mssql+mssqlpython://u:***@h/master' cannot be loaded (No module "
        "named 'mssql_python'). Install Microsoft's mssql-python driver with `python -m pip "
        "install mssql-python` (it brings its own ODBC layer), or use the default pyodbc driver."
    )


def test_mssql_python_old_sqlalchemy(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_create_engine(url: URL, **options: Any) -> Any:
        raise NoSuchModuleError("Can't load plugin: sqlalchemy.dialects:mssql.mssqlpython")

    monkeypatch.setattr(sqlalchemy.engine, "create_engine", failing_create_engine)
    settings = ConnectionSettings.from_options(
        server="h", user="u", password="p", driver="mssql-python"
    )
    with pytest.raises(ConfigurationError) as raised:
        connect(settings)
    assert str(raised.value) == (
        f"SQLAlchemy {sqlalchemy.__version__} has no dialect 'mssql+mssqlpython': "
        "mssql-python needs SQLAlchemy 2.1 or newer (`pip install -U sqlalchemy`), "
        "or use the default pyodbc driver"
    )


# -- driver lookup ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("installed", "chosen"),
    [
        (
            ["ODBC Driver 17 for SQL Server", "ODBC Driver 18 for SQL Server"],
            "ODBC Driver 18 for SQL Server",
        ),
        (["FreeTDS", "ODBC Driver 17 for SQL Server"], "ODBC Driver 17 for SQL Server"),
        (["SQLite3", "FreeTDS"], "FreeTDS"),
        (
            ["ODBC Driver 9 for SQL Server", "ODBC Driver 18 for SQL Server"],
            "ODBC Driver 18 for SQL Server",
        ),
    ],
    ids=["18-over-17", "17-over-freetds", "freetds", "numeric-order"],
)
def test_find_odbc_driver(
    monkeypatch: pytest.MonkeyPatch, installed: list[str], chosen: str
) -> None:
    monkeypatch.setattr(_drivers, "_installed_odbc_drivers", lambda: installed)
    assert find_odbc_driver() == chosen


def test_find_odbc_driver_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_drivers, "_installed_odbc_drivers", lambda: ["SQLite3"])
    with pytest.raises(DriverNotFoundError) as raised:
        find_odbc_driver()
    message = str(raised.value)
    assert message.startswith(
        "no ODBC driver for SQL Server is installed: looked for 'ODBC Driver 18 for SQL "
        "Server', 'ODBC Driver 17 for SQL Server' and 'FreeTDS'; installed drivers: 'SQLite3'."
    )
    assert "apt-get install unixodbc" in message
    assert "dnf install unixODBC" in message
    assert 'Microsoft ODBC Driver 18 for SQL Server" installer' in message


def test_pyodbc_import_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def import_module(name: str, package: str | None = None) -> Any:
        if name == "pyodbc":
            raise ImportError("libodbc.so.2: cannot open shared object file")
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    with pytest.raises(DriverNotFoundError) as raised:
        ConnectionSettings.from_options(server="h", user="u", password="p").to_url()
    assert str(raised.value).startswith(
        "pyodbc cannot be loaded (libodbc.so.2: cannot open shared object file), so no "
        "ODBC driver can be used. Install unixODBC and Microsoft's ODBC Driver 18"
    )


def test_pyodbc_on_this_machine() -> None:
    """Without unixODBC, choosing a driver fails with the install advice; with it, one is named."""
    try:
        importlib.import_module("pyodbc")
    except ImportError:
        with pytest.raises(DriverNotFoundError, match="apt-get install unixodbc"):
            find_odbc_driver()
    else:
        pytest.skip("pyodbc loads on this machine; the failure path cannot be shown for real")


# -- engine creation ------------------------------------------------------------------------


def stand_in_module() -> types.SimpleNamespace:
    """A DB-API module with the attributes SQLAlchemy reads when an engine is created."""
    return types.SimpleNamespace(paramstyle="qmark", version="5.0", Error=Exception, Cursor=object)


class EngineRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[URL, dict[str, Any]]] = []

    def __call__(self, url: URL, **options: Any) -> Any:
        self.calls.append((url, options))
        return create_engine(url, module=stand_in_module(), **options)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> EngineRecorder:
    recording = EngineRecorder()
    monkeypatch.setattr(sqlalchemy.engine, "create_engine", recording)
    monkeypatch.delenv("ONTIME_DB_PASSWORD", raising=False)
    return recording


def test_connect_parts(recorder: EngineRecorder) -> None:
    connect(server="db1\\OT", user="OnTimeApp", password="pw", odbc_driver="X", database="d")
    url, options = recorder.calls[0]
    assert url.render_as_string(hide_password=False) == (
        "mssql+pyodbc://OnTimeApp:pw@db1\\OT/d?driver=X"
    )
    assert options == {"poolclass": NullPool}


def test_connect_vendor_url(recorder: EngineRecorder) -> None:
    connect(
        "jdbc:sqlserver://localhost:1433;databaseName=customname;",
        user="OnTimeApp",
        password="xxxx",
        odbc_driver="X",
        autocommit=True,
    )
    url, options = recorder.calls[0]
    assert url.render_as_string(hide_password=False) == (
        "mssql+pyodbc://OnTimeApp:xxxx@localhost:1433/customname?driver=X"
    )
    assert options == {"poolclass": NullPool, "isolation_level": "AUTOCOMMIT"}


def test_connect_password_from_environment(
    recorder: EngineRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "from-env")
    connect(server="h", user="u", odbc_driver="X")
    assert recorder.calls[0][0].password == "from-env"


def test_connect_option_wins_over_environment(
    recorder: EngineRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "from-env")
    connect(server="h", user="u", password="given", odbc_driver="X")
    assert recorder.calls[0][0].password == "given"


def test_connect_other_database(recorder: EngineRecorder) -> None:
    engine_for("mssql+pyodbc://u:p@h/ontimems?driver=X", database="master")
    assert recorder.calls[0][0].database == "master"
    assert recorder.calls[0][0].password == "p"


def test_connect_unknown_part() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown connection options \['host'\]"):
        connect(host="h")


def test_connect_parts_with_url_object() -> None:
    with pytest.raises(ConfigurationError, match="can only be combined with a connection string"):
        connect(URL.create("mssql+pyodbc", host="h"), user="u")


def test_connect_invalid_target() -> None:
    with pytest.raises(ConfigurationError, match="invalid connection target of type int"):
        engine_for(42)  # type: ignore[arg-type]


def test_integrated_warns_on_linux(
    recorder: EngineRecorder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_engines.sys, "platform", "linux")
    with caplog.at_level(logging.WARNING, logger="ontime_db.connection"):
        connect("jdbc:sqlserver://h;databaseName=d;integratedSecurity=true", odbc_driver="X")
    assert KERBEROS_HINT in caplog.messages
    assert "kinit" in KERBEROS_HINT


def test_integrated_quiet_on_windows(
    recorder: EngineRecorder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_engines.sys, "platform", "win32")
    with caplog.at_level(logging.WARNING, logger="ontime_db.connection"):
        connect("jdbc:sqlserver://h;databaseName=d;integratedSecurity=true", odbc_driver="X")
    assert KERBEROS_HINT not in caplog.messages


def fake_pyodbc_engine() -> sqlalchemy.engine.Engine:
    """A real SQLAlchemy Engine whose DB-API module is a stand-in; it never connects."""
    return create_engine("mssql+pyodbc://u:p@h/ontimems?driver=X", module=stand_in_module())


def test_engine_target_reused() -> None:
    engine = fake_pyodbc_engine()
    assert engine_for(engine) is engine
    assert engine_for(engine, database="ontimems") is engine
    assert engine_for(engine, autocommit=True).get_execution_options() == {
        "isolation_level": "AUTOCOMMIT"
    }


def test_engine_target_other_database(recorder: EngineRecorder) -> None:
    engine = fake_pyodbc_engine()
    engine_for(engine, database="master")
    assert recorder.calls[0][0].render_as_string(hide_password=False) == (
        "mssql+pyodbc://u:p@h/master?driver=X"
    )


def test_engine_scope_keeps_callers_engine() -> None:
    engine = fake_pyodbc_engine()
    disposed: list[bool] = []
    engine.dispose = lambda close=True: disposed.append(True)  # type: ignore[method-assign]
    with engine_scope(engine) as scoped:
        assert scoped is engine
    assert disposed == []


def test_engine_scope_disposes_own(recorder: EngineRecorder) -> None:
    disposed: list[bool] = []
    with engine_scope("mssql+pyodbc://u:p@h/d?driver=X") as scoped:
        scoped.dispose = lambda: disposed.append(True)  # type: ignore[method-assign]
    assert disposed == [True]


# -- classifying driver errors ---------------------------------------------------------------

ERROR_CASES = [
    (
        "28000",
        18456,
        "[28000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Login "
        "failed for user 'OnTimeApp'. (18456) (SQLDriverConnect)",
        "login failed",
    ),
    (
        "28000",
        18452,
        "Login failed. The login is from an untrusted domain and cannot be used "
        "with Integrated authentication. (18452)",
        "login failed",
    ),
    (
        "42000",
        4060,
        "[42000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Cannot open "
        'database "x" requested by the login. The login failed. (4060) (SQLDriverConnect)',
        "database missing",
    ),
    (
        "08001",
        10057,
        "[08001] [Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: Error "
        "code 0x2749 (10057) (SQLDriverConnect)",
        "server not found",
    ),
    (
        "HYT00",
        0,
        "[HYT00] [Microsoft][ODBC Driver 18 for SQL Server]Login timeout expired (0) "
        "(SQLDriverConnect)",
        "server not found",
    ),
    ("08S01", 0, "[08S01] Communication link failure", "server not found"),
    (
        None,
        11001,
        "Named Pipes Provider: Could not open a connection to SQL Server [53].",
        "server not found",
    ),
    (
        "08001",
        -1,
        "[08001] [Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: "
        "[error:0A000086:SSL routines::certificate verify failed:self-signed certificate] (-1) "
        "(SQLDriverConnect)",
        "certificate rejected",
    ),
    (
        "08001",
        -2146893019,
        "SSL Provider: The certificate chain was issued by an authority that is not trusted.",
        "certificate rejected",
    ),
    ("42S02", 208, "Invalid object name 'x'. (208)", "other"),
    (
        "01000",
        0,
        "[01000] [unixODBC][Driver Manager]Can't open lib 'ODBC Driver 18 for SQL Server' : "
        "file not found (0) (SQLDriverConnect)",
        "driver missing",
    ),
    (
        "01000",
        0,
        "[01000] [unixODBC][Driver Manager]Can't open lib '/opt/microsoft/msodbcsql18/lib64/"
        "libmsodbcsql-18.so' : libssl.so.3: cannot open shared object file (0)",
        "driver missing",
    ),
    (
        "IM002",
        0,
        "[IM002] [Microsoft][ODBC Driver Manager] Data source name not found and no default "
        "driver specified (0) (SQLDriverConnect)",
        "driver missing",
    ),
    ("IM003", 0, "[IM003] Specified driver could not be loaded", "driver missing"),
    ("01000", 0, "[01000] [Microsoft][ODBC Driver 18 for SQL Server]General warning", "other"),
]
ERROR_IDS = [
    "login",
    "untrusted-domain",
    "database",
    "tcp",
    "timeout",
    "link",
    "named-pipes",
    "openssl-cert",
    "windows-cert",
    "other",
    "unixodbc-lib",
    "unixodbc-lib-dependency",
    "windows-im002",
    "im003",
    "warning-only",
]


@pytest.mark.parametrize(("state", "native", "message", "reason"), ERROR_CASES, ids=ERROR_IDS)
def test_classify_error(state: str | None, native: int | None, message: str, reason: str) -> None:
    assert classify_error(state, native, message) == reason


class FakeDriverError(Exception):
    """Shaped like pyodbc's errors: args are (SQLSTATE, message)."""


def wrapped(state: str, message: str) -> DBAPIError:
    return DBAPIError(None, None, FakeDriverError(state, message))


def test_connection_error_login() -> None:
    error = connection_error(
        wrapped("28000", "[28000] [SQL Server]Login failed for user 'OnTimeApp'. (18456)"),
        settings_with_secret(),
    )
    assert isinstance(error, ConnectionFailedError)
    assert error.reason == "login failed"
    assert error.database == "ontimems"
    assert str(error) == (
        "connecting to db1/ontimems as OnTimeApp failed (login failed): check the login name "
        "and password. Driver message: ('28000', \"[28000] [SQL Server]Login failed for user "
        "'OnTimeApp'. (18456)\")"
    )


def test_connection_error_integrated_hint() -> None:
    settings = ConnectionSettings.parse("jdbc:sqlserver://h;databaseName=d;integratedSecurity=true")
    error = connection_error(wrapped("28000", "Login failed for user ''. (18456)"), settings)
    assert f"check the login name and password; {KERBEROS_HINT}." in str(error)


def test_connection_error_certificate() -> None:
    error = connection_error(
        wrapped("08001", "SSL Provider: certificate verify failed (-1)"), settings_with_secret()
    )
    assert error.reason == "certificate rejected"
    assert "add trustServerCertificate=true to the extra parameters" in str(error)


def test_connection_error_database_override() -> None:
    error = connection_error(
        wrapped("42000", 'Cannot open database "nope" requested by the login. (4060)'),
        settings_with_secret(),
        database="nope",
    )
    assert error.reason == "database missing"
    assert error.database == "nope"
    assert "the database 'nope' does not exist or the login may not open it" in str(error)


def test_connection_error_masks_password() -> None:
    error = connection_error(
        wrapped("08001", f"cannot connect with PWD={SECRET} (10061)"), settings_with_secret()
    )
    assert SECRET not in str(error)
    assert "S3cr3t" not in str(error)
    assert error.reason == "server not found"


def test_driver_missing_short_password() -> None:
    """Masking a one-letter password changes the text shown, not the reason."""
    settings = ConnectionSettings.from_options(
        server="h", user="u", password="p", odbc_driver="ODBC Driver 18 for SQL Server"
    )
    error = connection_error(
        wrapped("01000", "[01000] Can't open lib 'ODBC Driver 18 for SQL Server' : file not found"),
        settings,
    )
    assert isinstance(error, DriverNotLoadedError)
    assert error.reason == "driver missing"


def test_driver_missing_dsn() -> None:
    settings = ConnectionSettings.parse("DSN=OnTime;UID=u;PWD=Pa55-w0rd")
    error = connection_error(
        wrapped("IM002", "[IM002] Data source name not found and no default driver specified"),
        settings,
    )
    assert str(error).startswith(
        "connecting to (no server)/(default database) as u failed (driver missing): the ODBC "
        "driver manager cannot load the ODBC driver or find the data source 'OnTime'. "
        "Install unixODBC"
    )


def test_install_hints_name_package() -> None:
    assert INSTALL_HINT == (
        "Install unixODBC and Microsoft's ODBC Driver 18 for SQL Server: on Debian/Ubuntu "
        "`apt-get install unixodbc` and the `msodbcsql18` package from Microsoft's "
        "repository; on RHEL `dnf install unixODBC` and `msodbcsql18`; on Windows run "
        "the \"Microsoft ODBC Driver 18 for SQL Server\" installer. FreeTDS "
        "(`apt-get install tdsodbc`) works as a fallback. Or install mssql-python "
        "(`python -m pip install mssql-python`) and pass --driver mssql-python."
    )
    assert MSSQL_PYTHON_HINT == (
        "Install Microsoft's mssql-python driver with `python -m pip install mssql-python` "
        "(it brings its own ODBC layer), or use the default pyodbc driver."
    )
