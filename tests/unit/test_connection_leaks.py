"""Input mistakes around passwords, and masking of passwords in messages.

Each error message is asserted exactly, and every part of the password is
checked to be missing from it. Engine creation is recorded by replacing
``sqlalchemy.engine.create_engine``: the recorder builds a real Engine on a
stand-in DB-API module that is never connected, so these tests show which
URL ontime_db requests and how it describes it, not that a server accepts it.
"""

from __future__ import annotations

import types
from typing import Any

import pytest
import sqlalchemy.engine
from sqlalchemy.engine import URL, create_engine, make_url
from sqlalchemy.exc import DBAPIError

from ontime_db.connection import (
    ConnectionSettings,
    connect,
    connection_error,
    describe,
    engine_for,
    settings_of,
)
from ontime_db.connection._masking import mask_password, mask_text
from ontime_db.errors import ConfigurationError

SECRET = "S3cret;pw}x"

# The pieces of SECRET that a partly masked message would show.
SECRET_PARTS = ("S3cret", ";pw", "pw}", "}x")

URL_HINT = (
    "special characters in a password must be percent-encoded in a URL "
    "('@' as %40, ':' as %3A, '/' as %2F, '%' as %25), or give the password with "
    "--password or the ONTIME_DB_PASSWORD environment variable"
)


def assert_hidden(message: str, *parts: str) -> None:
    for part in parts:
        assert part not in message, f"{part!r} is shown in {message!r}"


def parse_error(text: str) -> str:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.parse(text)
    return str(raised.value)


def options_error(**options: Any) -> str:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.from_options(**options)
    return str(raised.value)


class FakeDriverError(Exception):
    """Shaped like pyodbc's errors: args are (SQLSTATE, message)."""


def driver_message(password: str, message: str) -> str:
    """Return the driver message part of the ConnectionFailedError for ``password``."""
    settings = ConnectionSettings.from_options(
        server="localhost", user="sa", password=password, odbc_driver="FreeTDS"
    )
    error = connection_error(DBAPIError(None, None, FakeDriverError("08001", message)), settings)
    return str(error).split("Driver message: ", 1)[1]


def stand_in_module() -> types.SimpleNamespace:
    """A DB-API module with the attributes SQLAlchemy reads when an engine is created."""
    return types.SimpleNamespace(paramstyle="qmark", version="5.0", Error=Exception, Cursor=object)


class EngineRecorder:
    def __init__(self) -> None:
        self.calls: list[URL] = []

    def __call__(self, url: URL, **options: Any) -> Any:
        self.calls.append(url)
        return create_engine(url, module=stand_in_module(), **options)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> EngineRecorder:
    recording = EngineRecorder()
    monkeypatch.setattr(sqlalchemy.engine, "create_engine", recording)
    monkeypatch.delenv("ONTIME_DB_PASSWORD", raising=False)
    return recording


# -- a brace that swallows the password -------------------------------------------------


def test_unclosed_driver_brace() -> None:
    message = parse_error(
        "Driver={ODBC Driver 18 for SQL Server;Server=localhost;Database=x;UID=sa;"
        "PWD={S3cret;pw}}x}"
    )
    assert message == (
        "invalid ODBC connection string: the '{' after Driver= has no closing '}' before "
        "'PWD=', so the value of Driver swallows the properties after it: close it, as in "
        "Driver={...};. The text is not shown because it contains a password"
    )
    assert_hidden(message, *SECRET_PARTS)


def test_unclosed_jdbc_brace() -> None:
    message = parse_error(
        "jdbc:sqlserver://localhost;applicationName={OnTime;user=sa;password={S3cret;pw}}x}"
    )
    assert message == (
        "invalid JDBC URL: the '{' after applicationName= has no closing '}' before "
        "'password=', so the value of applicationName swallows the properties after it: "
        "close it, as in applicationName={...};. The text is not shown because it "
        "contains a password"
    )
    assert_hidden(message, *SECRET_PARTS)


def test_braced_password_with_key() -> None:
    """A password may itself contain 'pwd=' when it is braced."""
    settings = ConnectionSettings.parse("Server=localhost;UID=sa;PWD={a;pwd=b}")
    assert settings.password == "a;pwd=b"


# -- SQLAlchemy URLs with an unencoded password ----------------------------------------------


def test_url_unencoded_password() -> None:
    message = parse_error("mssql+pyodbc://sa:p@ss:w/rd%@localhost/x?driver=FreeTDS")
    assert message == (
        "invalid SQLAlchemy URL 'mssql+pyodbc://sa:***@localhost/x?driver=FreeTDS': "
        "expected mssql+pyodbc://user:password@host[:port]/database?driver=...; " + URL_HINT
    )
    assert_hidden(message, "p@ss", "ss:w", "w/rd", "rd%")


def test_url_at_in_host() -> None:
    """SQLAlchemy ends the password at the first '@', and its rest becomes the host."""
    message = parse_error("mssql+pyodbc://sa:p@ss@localhost/x?driver=FreeTDS")
    assert message == (
        "invalid SQLAlchemy URL 'mssql+pyodbc://sa:***@localhost/x?driver=FreeTDS': "
        "the host contains '@'; " + URL_HINT
    )
    assert_hidden(message, "p@", "ss@")


def test_mask_text_last_at() -> None:
    assert mask_text("see mssql+pyodbc://sa:p@ss:w/rd%@localhost/x now") == (
        "see mssql+pyodbc://sa:***@localhost/x now"
    )


# -- text that is no known form --------------------------------------------------------------


def test_userinfo_without_scheme() -> None:
    message = parse_error("sa:S3cret@localhost")
    assert message == (
        "cannot read the connection text (19 characters): it looks like user:password@host "
        "without a scheme, so it is not shown. Write it as a SQLAlchemy URL, "
        "mssql+pyodbc://user:password@host/database?driver=...; " + URL_HINT
    )
    assert_hidden(message, "S3cret", "sa:")


def test_userinfo_with_query() -> None:
    """An '=' in the query must not make the text read as an ODBC string."""
    message = parse_error("sa:S3cret@localhost/x?driver=FreeTDS")
    assert message.startswith(
        "cannot read the connection text (36 characters): it looks like user:password@host"
    )
    assert_hidden(message, "S3cret")


def test_bare_server_text_shown() -> None:
    assert parse_error("localhost") == (
        "cannot read connection text 'localhost': expected a SQLAlchemy URL "
        "(mssql+pyodbc://...), a jdbc:sqlserver:// URL or an ODBC connection string "
        "(Driver=...;Server=...;); for a bare server name use --server"
    )


# -- masking in the driver's messages ------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message", "masked"),
    [
        (
            "x",
            "[42000] Cannot open database; it does not exist. PWD=x;UID=sa",
            "('08001', '[42000] Cannot open database; it does not exist. PWD=***;UID=sa')",
        ),
        (
            "SQL",
            "[08001] [FreeTDS][SQL Server]Unable to connect (20009) (SQLDriverConnect) PWD=SQL",
            "('08001', '[08001] [FreeTDS][SQL Server]Unable to connect (20009) "
            "(SQLDriverConnect) PWD=***",
        ),
        (
            "Server",
            "[08001] [FreeTDS][SQL Server]Unable to connect; Password={Server}",
            "('08001', '[08001] [FreeTDS][SQL Server]Unable to connect; Password=***')",
        ),
    ],
    ids=["x", "SQL", "Server"],
)
def test_short_password_words_kept(password: str, message: str, masked: str) -> None:
    """A short password is masked in key=value forms, never inside the driver's words."""
    assert driver_message(password, message) == masked


def test_long_password_masked_everywhere() -> None:
    masked = driver_message(
        SECRET,
        "[08001] bad string UID=sa;PWD={S3cret;pw}}x}; echoed S3cret;pw}x and "
        "mssql+pyodbc://sa:S3cret%3Bpw%7Dx@localhost/master",
    )
    assert masked == (
        "('08001', '[08001] bad string UID=sa;PWD=***; echoed *** and "
        "mssql+pyodbc://sa:***@localhost/master')"
    )
    assert_hidden(masked, *SECRET_PARTS)


@pytest.mark.parametrize(
    ("password", "text", "masked"),
    [
        ("x", "does not exist", "does not exist"),
        ("SQL", "[SQL Server] (SQLDriverConnect)", "[SQL Server] (SQLDriverConnect)"),
        ("Server", "[SQL Server] pwd = Server", "[SQL Server] pwd = ***"),
        ("Pa55word", "Pa55word and Pa55words", "*** and ***s"),
    ],
    ids=["x", "SQL", "Server", "eight-characters"],
)
def test_mask_password(password: str, text: str, masked: str) -> None:
    assert mask_password(text, password) == masked


# -- a password with integrated security -----------------------------------------------------


def test_password_with_integrated_extra() -> None:
    message = options_error(
        server="localhost",
        database="x",
        password=SECRET,
        extra="integratedSecurity=true;",
    )
    assert message == (
        "--password is given together with integratedSecurity=true in the extra parameters: "
        "integrated security logs in as the Windows account and uses no password. Remove "
        "the password to use integrated security, or remove integrated security and give "
        "--user for a SQL Server login"
    )
    assert_hidden(message, *SECRET_PARTS)


def test_password_with_integrated_url() -> None:
    message = options_error(
        url="jdbc:sqlserver://localhost;databaseName=x;integratedSecurity=true",
        password=SECRET,
    )
    assert message.startswith("--password is given together with integrated security in the URL: ")
    assert_hidden(message, *SECRET_PARTS)


def test_extra_password_with_integrated_url() -> None:
    message = options_error(
        url="Server=localhost;Database=x;Trusted_Connection=yes",
        extra="password={S3cret;pw}}x};",
    )
    assert message.startswith(
        "password= in the extra parameters is given together with integrated security in the URL: "
    )
    assert_hidden(message, *SECRET_PARTS)


def test_url_password_with_integrated_url() -> None:
    message = options_error(url="Server=localhost;Trusted_Connection=yes;PWD={S3cret;pw}}x}")
    assert message.startswith(
        "the password in the URL is given together with integrated security in the URL: "
    )
    assert_hidden(message, *SECRET_PARTS)


def test_integrated_false_allows_password() -> None:
    settings = ConnectionSettings.from_options(
        url="jdbc:sqlserver://localhost;databaseName=x;integratedSecurity=true",
        extra="integratedSecurity=false;",
        user="sa",
        password=SECRET,
    )
    assert settings.integrated_security is False
    assert settings.password == SECRET


# -- integrated security read from a URL ---------------------------------------------------


def test_engine_describes_integrated(recorder: EngineRecorder) -> None:
    engine = connect(
        "jdbc:sqlserver://localhost:1433;databaseName=ontimems;integratedSecurity=true",
        odbc_driver="ODBC Driver 18 for SQL Server",
    )
    master = engine_for(engine, database="master")
    assert describe(engine) == "localhost:1433/ontimems as integrated security"
    assert describe(master) == "localhost:1433/master as integrated security"
    assert recorder.calls[1].username is None


@pytest.mark.parametrize(
    ("url", "integrated"),
    [
        ("mssql+pyodbc://localhost/x?driver=FreeTDS", True),
        ("mssql+pyodbc://sa:pw@localhost/x?driver=FreeTDS", False),
        ("mssql+pyodbc://localhost/x?driver=FreeTDS&authentication=ActiveDirectoryMsi", False),
        ("mssql+pyodbc://localhost/x?driver=FreeTDS&Trusted_Connection=no", False),
        ("mssql+pyodbc://?odbc_connect=Server%3Dlocalhost%3BUID%3Dsa%3BPWD%3Dp", False),
        ("mssql+mssqlpython://localhost/x", False),
        ("mssql+mssqlpython://localhost/x?Trusted_Connection=yes", True),
    ],
    ids=[
        "pyodbc-no-user",
        "pyodbc-user",
        "pyodbc-entra",
        "pyodbc-trusted-no",
        "pyodbc-odbc-connect",
        "mssql-python",
        "mssql-python-trusted",
    ],
)
def test_url_integrated(url: str, integrated: bool) -> None:
    assert settings_of(make_url(url)).integrated_security is integrated


def test_url_text_with_user_option() -> None:
    """A URL string without a login takes --user, not integrated security."""
    settings = ConnectionSettings.from_options(
        url="mssql+pyodbc://localhost/x?driver=FreeTDS", user="sa", password=SECRET
    )
    assert settings.integrated_security is False
    assert settings.describe() == "localhost/x as sa"


# -- a login without a password ----------------------------------------------------------


NO_PASSWORD = (
    "no password for login 'sa' on localhost: give --password, set ONTIME_DB_PASSWORD, "
    "or run on a terminal to be prompted"
)


def test_connect_without_password(recorder: EngineRecorder) -> None:
    with pytest.raises(ConfigurationError) as raised:
        connect(server="localhost", database="ontimems", user="sa", odbc_driver="X")
    assert str(raised.value) == NO_PASSWORD
    assert recorder.calls == []


def test_url_without_password(recorder: EngineRecorder) -> None:
    with pytest.raises(ConfigurationError) as raised:
        engine_for("mssql+pyodbc://sa@localhost/ontimems?driver=X", database="master")
    assert str(raised.value) == NO_PASSWORD
    assert recorder.calls == []


def test_url_password_from_environment(
    recorder: EngineRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", SECRET)
    engine_for(
        URL.create("mssql+pyodbc", username="sa", host="localhost", query={"driver": "X"}),
        database="master",
    )
    assert recorder.calls[0].password == SECRET


def test_empty_password_allowed(recorder: EngineRecorder) -> None:
    connect(server="localhost", user="sa", password="", odbc_driver="X")
    assert recorder.calls[0].password == ""


def test_check_password() -> None:
    settings = ConnectionSettings(server="localhost", instance="SQLEXPRESS", user="sa")
    with pytest.raises(ConfigurationError) as raised:
        settings.check_password()
    assert str(raised.value) == (
        "no password for login 'sa' on localhost\\SQLEXPRESS: give --password, set "
        "ONTIME_DB_PASSWORD, or run on a terminal to be prompted"
    )
    settings.with_password(SECRET).check_password()


# -- the server option ---------------------------------------------------------------------


def test_server_with_password() -> None:
    message = options_error(server="localhost;PWD=S3cret", user="sa", password="x")
    assert message == (
        "invalid server 'localhost;...': a server name cannot contain ';', '{', '}' or '='. "
        "Give only host[\\instance][,port] with --server, and further connection properties "
        "with --extra (for example 'encrypt=true;') or the whole connection with --url"
    )
    assert_hidden(message, "S3cret", "PWD")


@pytest.mark.parametrize(
    ("server", "quoted"),
    [
        ("localhost;Encrypt=yes", "'localhost;Encrypt=yes'"),
        ("{localhost}", "'{localhost}'"),
        ("localhost}", "'localhost}'"),
        ("Server=localhost", "'Server=localhost'"),
    ],
    ids=["semicolon", "braces", "closing-brace", "equals"],
)
def test_server_characters(server: str, quoted: str) -> None:
    assert options_error(server=server).startswith(
        f"invalid server {quoted}: a server name cannot contain ';', '{{', '}}' or '='. "
    )


def test_empty_environment_password_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    from ontime_db.connection import engine_for
    from ontime_db.errors import ConfigurationError

    monkeypatch.setenv("ONTIME_DB_PASSWORD", "")
    with pytest.raises(ConfigurationError) as caught:
        engine_for("Server=localhost;Database=x;UID=sa;Driver={FreeTDS}")
    assert str(caught.value).startswith("no password for login 'sa' on localhost")
