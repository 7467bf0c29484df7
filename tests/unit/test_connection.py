"""Connection forms: JDBC URLs, ODBC strings, SQLAlchemy URLs and parts, parsed without a server.

The final ODBC connection string is built by SQLAlchemy's own mssql+pyodbc
dialect (``create_connect_args``), so these tests check what pyodbc would
be given, not a copy of SQLAlchemy's logic.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.dialects.mssql.pyodbc import dialect as pyodbc_dialect
from sqlalchemy.engine import URL, make_url

from ontime_db.connection import ConnectionSettings, database_of, describe, settings_of
from ontime_db.errors import ConfigurationError, InvalidNameError

DRIVER18 = "ODBC Driver 18 for SQL Server"


def odbc_string(settings: ConnectionSettings) -> str:
    """The connection string SQLAlchemy's pyodbc dialect would pass to pyodbc.connect."""
    if settings.odbc_driver is None:
        settings = replace(settings, odbc_driver=DRIVER18)
    arguments, _ = pyodbc_dialect().create_connect_args(settings.to_url())
    return str(arguments[0])


def fields_of(settings: ConnectionSettings) -> dict[str, Any]:
    return {
        "server": settings.server,
        "instance": settings.instance,
        "port": settings.port,
        "database": settings.database,
        "user": settings.user,
        "password": settings.password,
        "integrated_security": settings.integrated_security,
        "encrypt": settings.encrypt,
        "trust_server_certificate": settings.trust_server_certificate,
    }


def expected(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "server": "localhost",
        "instance": None,
        "port": None,
        "database": None,
        "user": None,
        "password": None,
        "integrated_security": False,
        "encrypt": None,
        "trust_server_certificate": None,
    }
    base.update(values)
    return base


# -- JDBC --------------------------------------------------------------------------

JDBC_CASES = [
    (
        "jdbc:sqlserver://localhost:1433;databaseName=customname;integratedSecurity=true",
        expected(port=1433, database="customname", integrated_security=True),
    ),
    (
        "jdbc:sqlserver://localhost:1433;databaseName=customname;",
        expected(port=1433, database="customname"),
    ),
    (
        "jdbc:sqlserver://localhost\\SQLEXPRESS;databaseName=ontimems",
        expected(instance="SQLEXPRESS", database="ontimems"),
    ),
    (
        "jdbc:sqlserver://localhost\\SQLEXPRESS:1500;databaseName=ontimems",
        expected(instance="SQLEXPRESS", port=1500, database="ontimems"),
    ),
    (
        "jdbc:sqlserver://;serverName=localhost;instanceName=OT;portNumber=1501;database=x",
        expected(instance="OT", port=1501, database="x"),
    ),
    (
        "jdbc:sqlserver://localhost;port=1502;DATABASENAME=x;IntegratedSecurity=TRUE",
        expected(port=1502, database="x", integrated_security=True),
    ),
    (
        "jdbc:sqlserver://localhost;user=OnTimeApp;password=xxxx;databaseName=ontimems.25.8",
        expected(user="OnTimeApp", password="xxxx", database="ontimems.25.8"),
    ),
    (
        "jdbc:sqlserver://localhost;userName=OnTimeApp;password={a;b}}c}",
        expected(user="OnTimeApp", password="a;b}c"),
    ),
    (
        "jdbc:sqlserver://localhost;encrypt=true;trustServerCertificate=true",
        expected(encrypt="yes", trust_server_certificate=True),
    ),
    (
        "jdbc:sqlserver://localhost;encrypt=false;trustServerCertificate=false",
        expected(encrypt="no", trust_server_certificate=False),
    ),
    ("jdbc:sqlserver://localhost;encrypt=strict", expected(encrypt="strict")),
    ("JDBC:SQLSERVER://localhost", expected()),
    (
        "jdbc:sqlserver://localhost;databaseName={my;db}",
        expected(database="my;db"),
    ),
]
JDBC_IDS = [
    "vendor-integrated",
    "vendor-trailing-semicolon",
    "instance",
    "instance-port",
    "server-properties",
    "case-insensitive",
    "login",
    "braced-password",
    "encrypt-trust",
    "encrypt-off",
    "encrypt-strict",
    "upper-prefix",
    "braced-database",
]


@pytest.mark.parametrize(("text", "values"), JDBC_CASES, ids=JDBC_IDS)
def test_jdbc_parse(text: str, values: dict[str, Any]) -> None:
    assert fields_of(ConnectionSettings.parse(text)) == values


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jdbc:mysql://localhost/db", "unsupported JDBC URL 'jdbc:mysql://localhost/db'"),
        (
            "jdbc:sqlserver://localhost;databaseName=a;DatabaseName=b",
            "invalid JDBC URL: property DatabaseName appears twice; give each property once",
        ),
        (
            "jdbc:sqlserver://localhost;integratedSecurity=maybe",
            "invalid value 'maybe' for integratedSecurity: expected true or false",
        ),
        (
            "jdbc:sqlserver://localhost:99999",
            "invalid port '99999' in server 'localhost:99999': expected a number from 1 to 65535",
        ),
        (
            "jdbc:sqlserver://localhost:²",
            "invalid port '²' in server 'localhost:²': expected a number from 1 to 65535",
        ),
        (
            "jdbc:sqlserver://localhost;databaseName",
            "invalid JDBC URL: 'databaseName' is not a key=value pair",
        ),
        (
            "jdbc:sqlserver://localhost;password={open",
            "invalid JDBC URL: the braced value of password has no closing '}'",
        ),
        (
            "jdbc:sqlserver://localhost;encrypt=maybe",
            "invalid value 'maybe' for encrypt: expected true, false or strict",
        ),
        (
            "jdbc:sqlserver://localhost;databaseName={a}b",
            "invalid JDBC URL: unexpected 'b' after the braced value of databaseName",
        ),
    ],
    ids=[
        "other-vendor",
        "duplicate",
        "bad-bool",
        "bad-port",
        "superscript-port",
        "no-value",
        "open-brace",
        "bad-encrypt",
        "after-brace",
    ],
)
def test_jdbc_invalid(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.parse(text)
    assert str(raised.value).startswith(message)


def test_jdbc_unknown_property_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ontime_db.connection"):
        settings = ConnectionSettings.parse(
            "jdbc:sqlserver://localhost;loginTimeout=30;authenticationScheme=NTLM"
        )
    assert settings.ignored_properties == ("loginTimeout", "authenticationScheme")
    assert caplog.messages == [
        "ignoring JDBC property loginTimeout: the ODBC driver has no equivalent",
        "ignoring JDBC property authenticationScheme: the ODBC driver has no equivalent",
    ]


def test_jdbc_mapped_properties() -> None:
    settings = ConnectionSettings.parse(
        "jdbc:sqlserver://localhost;applicationName=OnTime;multiSubnetFailover=true;"
        "hostNameInCertificate=*.example.com"
    )
    assert settings.properties == (
        ("APP", "OnTime"),
        ("MultiSubnetFailover", "yes"),
        ("HostNameInCertificate", "*.example.com"),
    )
    assert settings.ignored_properties == ()


# -- ODBC ---------------------------------------------------------------------------

ODBC_CASES = [
    (
        "Driver={ODBC Driver 18 for SQL Server};Server=tcp:localhost,1433;Database=ontimems;"
        "UID=OnTimeApp;PWD=xxxx;Encrypt=yes;TrustServerCertificate=yes;",
        expected(
            port=1433,
            database="ontimems",
            user="OnTimeApp",
            password="xxxx",
            encrypt="yes",
            trust_server_certificate=True,
        ),
    ),
    (
        "Server=localhost\\SQLEXPRESS;Database=ontimems;Trusted_Connection=yes",
        expected(instance="SQLEXPRESS", database="ontimems", integrated_security=True),
    ),
    (
        "Data Source=localhost,1500;Initial Catalog=x;Integrated Security=SSPI",
        expected(port=1500, database="x", integrated_security=True),
    ),
    (
        "server=localhost;database=x;user id=u;password={p;w}}};Encrypt=Mandatory",
        expected(database="x", user="u", password="p;w}", encrypt="yes"),
    ),
    ("Server=localhost;Encrypt=Optional", expected(encrypt="no")),
]
ODBC_IDS = ["full", "trusted", "ado-names", "lowercase-braced", "optional"]


@pytest.mark.parametrize(("text", "values"), ODBC_CASES, ids=ODBC_IDS)
def test_odbc_parse(text: str, values: dict[str, Any]) -> None:
    assert fields_of(ConnectionSettings.parse(text)) == values


def test_odbc_driver_and_extra_keywords() -> None:
    settings = ConnectionSettings.parse(
        "Driver={ODBC Driver 17 for SQL Server};Server=h;UID=u;APP=ontime_db;"
        "MultiSubnetFailover=Yes"
    )
    assert settings.odbc_driver == "ODBC Driver 17 for SQL Server"
    assert settings.properties == (("APP", "ontime_db"), ("MultiSubnetFailover", "Yes"))
    assert odbc_string(settings) == (
        "DRIVER={ODBC Driver 17 for SQL Server};Server=h;Database=master;UID=u;"
        "APP=ontime_db;MultiSubnetFailover=Yes"
    )


def test_odbc_duplicate_keyword() -> None:
    with pytest.raises(ConfigurationError, match="keyword server appears twice"):
        ConnectionSettings.parse("Server=a;server=b")


def test_odbc_dsn() -> None:
    settings = ConnectionSettings.parse("DSN=OnTime;UID=u;PWD=p;Database=ontimems")
    url = settings.to_url()
    assert url.query == {"odbc_connect": "DSN=OnTime;Database=ontimems;UID=u;PWD=p"}
    arguments, _ = pyodbc_dialect().create_connect_args(url)
    assert arguments[0] == "DSN=OnTime;Database=ontimems;UID=u;PWD=p"
    assert settings.redacted() == (
        "mssql+pyodbc://?odbc_connect=DSN%3DOnTime%3BDatabase%3Dontimems%3BUID%3Du%3BPWD%3D%2A%2A%2A"
    )


def test_odbc_dsn_needs_pyodbc() -> None:
    settings = ConnectionSettings.parse("DSN=OnTime;UID=u;PWD=p")
    with pytest.raises(ConfigurationError, match="the ODBC data source 'OnTime' needs the pyodbc"):
        replace(settings, driver="mssql-python").to_url()


# -- SQLAlchemy URLs ------------------------------------------------------------------


def test_url_pyodbc() -> None:
    settings = ConnectionSettings.parse(
        "mssql+pyodbc://OnTimeApp:xx%3Bxx@localhost:1433/ontimems.25.8"
        "?driver=ODBC+Driver+17+for+SQL+Server&TrustServerCertificate=yes&Encrypt=no"
    )
    assert fields_of(settings) == expected(
        port=1433,
        database="ontimems.25.8",
        user="OnTimeApp",
        password="xx;xx",
        encrypt="no",
        trust_server_certificate=True,
    )
    assert settings.odbc_driver == "ODBC Driver 17 for SQL Server"
    assert settings.driver == "pyodbc"


def test_url_instance_host() -> None:
    settings = ConnectionSettings.from_url(URL.create("mssql+pyodbc", host="h\\INST", database="d"))
    assert (settings.server, settings.instance) == ("h", "INST")


def test_url_mssql_python() -> None:
    settings = ConnectionSettings.parse("mssql+mssqlpython://u:p@localhost/ontimems")
    assert settings.driver == "mssql-python"
    assert settings.to_url().render_as_string(hide_password=False) == (
        "mssql+mssqlpython://u:p@localhost/ontimems"
    )


def test_url_odbc_connect() -> None:
    url = URL.create(
        "mssql+pyodbc",
        query={
            "odbc_connect": "Driver={ODBC Driver 18 for SQL Server};Server=localhost;"
            "Database=x;Trusted_Connection=yes"
        },
    )
    settings = ConnectionSettings.from_url(url)
    assert fields_of(settings) == expected(database="x", integrated_security=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("postgresql://u:secret@h/db", "unsupported database URL 'postgresql://u:***@h/db'"),
        ("mssql+pymssql://u:secret@h/db", "unsupported SQL Server driver 'pymssql'"),
        ("localhost", "cannot read connection text 'localhost'"),
        ("", "invalid connection text ''"),
    ],
    ids=["postgres", "pymssql", "bare-word", "empty"],
)
def test_url_invalid(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.parse(text)
    assert str(raised.value).startswith(message)
    assert "secret" not in str(raised.value)


# -- parts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "values"),
    [
        ("localhost", expected()),
        ("localhost\\SQLEXPRESS", expected(instance="SQLEXPRESS")),
        ("localhost,1433", expected(port=1433)),
        ("localhost:1433", expected(port=1433)),
        ("tcp:localhost\\OT,1500", expected(instance="OT", port=1500)),
    ],
    ids=["host", "instance", "comma-port", "colon-port", "tcp-prefix"],
)
def test_parts_server(server: str, values: dict[str, Any]) -> None:
    assert fields_of(ConnectionSettings.from_options(server=server)) == values


def test_parts_admin_console() -> None:
    settings = ConnectionSettings.from_options(
        server="localhost", database="customname", extra="integratedSecurity=true;"
    )
    assert fields_of(settings) == expected(database="customname", integrated_security=True)


def test_parts_override_url() -> None:
    settings = ConnectionSettings.from_options(
        url="jdbc:sqlserver://localhost:1433;databaseName=customname;",
        user="OnTimeApp",
        password="xxxx",
        driver="mssql-python",
    )
    assert fields_of(settings) == expected(
        port=1433, database="customname", user="OnTimeApp", password="xxxx"
    )
    assert settings.driver == "mssql-python"


def test_parts_url_and_server() -> None:
    with pytest.raises(ConfigurationError, match="give either --url or --server, not both"):
        ConnectionSettings.from_options(url="jdbc:sqlserver://a", server="b")


def test_parts_no_server() -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.from_options(database="x")
    assert str(raised.value) == (
        "no server given: pass --url (a jdbc:sqlserver:// URL, an ODBC connection string or "
        "a SQLAlchemy URL) or --server (for example localhost or host\\SQLEXPRESS)"
    )


def test_parts_invalid_driver() -> None:
    with pytest.raises(ConfigurationError, match="invalid driver 'pymssql'"):
        ConnectionSettings.from_options(server="h", driver="pymssql")


def test_parts_invalid_database() -> None:
    with pytest.raises(InvalidNameError):
        ConnectionSettings.from_options(server="h", database=" x")


# -- all forms, one connection ---------------------------------------------------------

SAME_CONNECTION = [
    "jdbc:sqlserver://db1\\OT:1500;databaseName=ontimems;user=OnTimeApp;password=x;"
    "encrypt=true;trustServerCertificate=true",
    "Driver={ODBC Driver 18 for SQL Server};Server=db1\\OT,1500;Database=ontimems;"
    "UID=OnTimeApp;PWD=x;Encrypt=yes;TrustServerCertificate=yes",
    "mssql+pyodbc://OnTimeApp:x@db1\\OT:1500/ontimems"
    "?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes&TrustServerCertificate=yes",
]


@pytest.mark.parametrize("text", SAME_CONNECTION, ids=["jdbc", "odbc", "sqlalchemy"])
def test_forms_same_connection(text: str) -> None:
    from_parts = ConnectionSettings.from_options(
        server="db1\\OT,1500",
        database="ontimems",
        user="OnTimeApp",
        password="x",
        extra="encrypt=true;trustServerCertificate=true;",
        odbc_driver=DRIVER18,
    )
    assert odbc_string(ConnectionSettings.parse(text)) == odbc_string(from_parts)
    assert odbc_string(from_parts) == (
        "DRIVER={ODBC Driver 18 for SQL Server};Server=db1\\OT,1500;Database=ontimems;"
        "UID=OnTimeApp;PWD=x;Encrypt=yes;TrustServerCertificate=yes"
    )


def test_integrated_url() -> None:
    settings = ConnectionSettings.parse(
        "jdbc:sqlserver://localhost:1433;databaseName=customname;integratedSecurity=true;"
        "user=ignored"
    )
    assert settings.needs_password is False
    assert odbc_string(settings) == (
        "DRIVER={ODBC Driver 18 for SQL Server};Server=localhost,1433;Database=customname;"
        "Trusted_Connection=Yes"
    )


def test_no_login_rejected() -> None:
    settings = ConnectionSettings.parse("jdbc:sqlserver://localhost;databaseName=x;")
    with pytest.raises(ConfigurationError) as raised:
        settings.to_url()
    assert str(raised.value) == (
        "no login in the connection settings for localhost/x: give a user "
        "(--user, user=... in a JDBC URL) or integratedSecurity=true"
    )


def test_integrated_mssql_python() -> None:
    settings = ConnectionSettings.from_options(
        server="h", database="d", extra="integratedSecurity=true", driver="mssql-python"
    )
    assert settings.to_url().render_as_string() == (
        "mssql+mssqlpython://h/d?Trusted_Connection=yes"
    )


def test_no_database_uses_master() -> None:
    settings = ConnectionSettings.from_options(server="h", user="u", password="p")
    assert odbc_string(settings) == (
        "DRIVER={ODBC Driver 18 for SQL Server};Server=h;Database=master;UID=u;PWD=p"
    )


def test_special_characters_survive() -> None:
    settings = ConnectionSettings.from_options(
        server="h", database="we]ird;db", user="O'Hare", password="p}w;{d", odbc_driver=DRIVER18
    )
    assert odbc_string(settings) == (
        "DRIVER={ODBC Driver 18 for SQL Server};Server=h;Database={we]ird;db};UID=O'Hare;"
        "PWD={p}}w;{d}"
    )
    assert make_url(settings.to_url().render_as_string(hide_password=False)).password == "p}w;{d"


# -- settings helpers --------------------------------------------------------------------


def test_needs_password() -> None:
    settings = ConnectionSettings.from_options(server="h", user="OnTimeApp")
    assert settings.needs_password is True
    assert settings.with_password("").needs_password is False
    assert ConnectionSettings.from_options(server="h").needs_password is False


def test_with_database() -> None:
    settings = ConnectionSettings.from_options(server="h", database="a")
    assert settings.with_database("ontimems.25.8").database == "ontimems.25.8"
    assert settings.with_database(None).database is None
    assert settings.database == "a"


@pytest.mark.parametrize(
    ("target", "text"),
    [
        (
            "jdbc:sqlserver://localhost:1433;databaseName=customname;integratedSecurity=true",
            "localhost:1433/customname as integrated security",
        ),
        ("mssql+pyodbc://sa:secret@db1\\OT/ontimems.25.8?driver=x", "db1\\OT/ontimems.25.8 as sa"),
        ("Server=db1;UID=OnTimeApp;PWD=secret", "db1/(default database) as OnTimeApp"),
        (
            URL.create(
                "mssql+pyodbc", host="h", port=1500, database="d", username="u", password="secret"
            ),
            "h:1500/d as u",
        ),
    ],
    ids=["jdbc", "sqlalchemy", "odbc", "url-object"],
)
def test_describe(target: Any, text: str) -> None:
    assert describe(target) == text
    assert "secret" not in describe(target)


def test_database_of() -> None:
    assert database_of("jdbc:sqlserver://h;databaseName=ontimems") == "ontimems"
    assert database_of("Server=h") is None
    assert database_of(URL.create("mssql+pyodbc", host="h", database="x")) == "x"


def test_settings_of_forms() -> None:
    settings = ConnectionSettings.from_options(server="h", user="u")
    assert settings_of(settings) is settings
    assert settings_of("jdbc:sqlserver://h;user=u") == settings
    assert settings_of(URL.create("mssql+pyodbc", username="u", host="h")) == settings


def test_settings_of_invalid_type() -> None:
    with pytest.raises(ConfigurationError) as raised:
        settings_of(42)  # type: ignore[arg-type]
    assert str(raised.value) == (
        "invalid connection target of type int: expected a URL string, sqlalchemy.URL, "
        "sqlalchemy.Engine or ConnectionSettings"
    )


def test_redacted_without_database() -> None:
    settings = ConnectionSettings.from_options(server="h", user="u", password="secret")
    assert settings.redacted() == "mssql+pyodbc://u:***@h"


# -- every form an administrator has ---------------------------------------------------

# A password with every character that has a meaning in connection text.
HARD_PASSWORD = "S3cr;et}=pw{"

HARD_FORMS = [
    "jdbc:sqlserver://db1:1433;databaseName=ontimems.25.8;user=OnTimeApp;"
    "password={S3cr;et}}=pw{};",
    "JDBC:SQLSERVER://db1;PortNumber=1433;DATABASENAME=ontimems.25.8;User=OnTimeApp;"
    "Password={S3cr;et}}=pw{}",
    "jdbc:sqlserver://;serverName=db1;portNumber=1433;databaseName={ontimems.25.8};"
    "userName=OnTimeApp;password={S3cr;et}}=pw{};",
    "Driver={ODBC Driver 18 for SQL Server};Server=tcp:db1,1433;Database=ontimems.25.8;"
    "UID=OnTimeApp;PWD={S3cr;et}}=pw{};",
    "DRIVER={ODBC Driver 18 for SQL Server};SERVER=db1,1433;DATABASE=ontimems.25.8;"
    "UID=OnTimeApp;PWD={S3cr;et}}=pw{}",
    "mssql+pyodbc://OnTimeApp:S3cr%3Bet%7D%3Dpw%7B@db1:1433/ontimems.25.8"
    "?driver=ODBC+Driver+18+for+SQL+Server",
    "mssql+pyodbc://?odbc_connect=Driver%3D%7BODBC+Driver+18+for+SQL+Server%7D%3BServer%3Ddb1"
    "%2C1433%3BDatabase%3Dontimems.25.8%3BUID%3DOnTimeApp%3BPWD%3D%7BS3cr%3Bet%7D%7D%3Dpw%7B%7D",
]
HARD_IDS = [
    "jdbc",
    "jdbc-any-case",
    "jdbc-server-name",
    "odbc",
    "odbc-upper",
    "sqlalchemy-percent",
    "sqlalchemy-odbc-connect",
]
HARD_ODBC = (
    "DRIVER={ODBC Driver 18 for SQL Server};Server=db1,1433;Database=ontimems.25.8;"
    "UID=OnTimeApp;PWD={S3cr;et}}=pw{}"
)


@pytest.mark.parametrize("text", HARD_FORMS, ids=HARD_IDS)
def test_hard_password_forms(text: str) -> None:
    settings = replace(ConnectionSettings.parse(text), odbc_driver=DRIVER18)
    assert settings.password == HARD_PASSWORD
    assert settings.database == "ontimems.25.8"
    assert odbc_string(settings) == HARD_ODBC


def test_hard_password_parts() -> None:
    settings = ConnectionSettings.from_options(
        server="db1,1433",
        database="ontimems.25.8",
        user="OnTimeApp",
        password=HARD_PASSWORD,
        odbc_driver=DRIVER18,
    )
    assert odbc_string(settings) == HARD_ODBC
    assert HARD_PASSWORD not in repr(settings)
    assert HARD_PASSWORD not in settings.redacted()


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("jdbc:sqlserver://[::1]:1433;databaseName=x", expected(server="::1", port=1433,
                                                                 database="x")),
        ("jdbc:sqlserver://[::1];databaseName=x", expected(server="::1", database="x")),
        ("jdbc:sqlserver://;serverName=::1;portNumber=1433", expected(server="::1", port=1433)),
        (
            "jdbc:sqlserver://;serverName=3ffe:8311:eeee:f70f:0:5eae:10.203.31.9\\instance1;"
            "integratedSecurity=true;",
            expected(
                server="3ffe:8311:eeee:f70f:0:5eae:10.203.31.9",
                instance="instance1",
                integrated_security=True,
            ),
        ),
        ("jdbc:sqlserver://[::1]\\OT:1500", expected(server="::1", instance="OT", port=1500)),
        ("Server=::1,1433;Trusted_Connection=yes",
         expected(server="::1", port=1433, integrated_security=True)),
        ("Server=[::1],1433;Trusted_Connection=yes",
         expected(server="::1", port=1433, integrated_security=True)),
        ("mssql+pyodbc://u@[::1]:1433/x", expected(server="::1", port=1433, database="x",
                                                    user="u")),
        ("jdbc:sqlserver://localhost;;databaseName=x;;", expected(database="x")),
        ("jdbc:sqlserver://localhost;databaseName = x ;", expected(database="x")),
    ],
    ids=[
        "ipv6-port",
        "ipv6",
        "ipv6-server-name",
        "ipv6-server-name-instance",
        "ipv6-instance-port",
        "odbc-ipv6",
        "odbc-ipv6-brackets",
        "sqlalchemy-ipv6",
        "empty-properties",
        "spaces-trimmed",
    ],
)
def test_server_forms(text: str, values: dict[str, Any]) -> None:
    assert fields_of(ConnectionSettings.parse(text)) == values


def test_braced_spaces_kept() -> None:
    """Braces keep white space, so a database name with a leading space reaches the name check."""
    with pytest.raises(InvalidNameError) as raised:
        ConnectionSettings.parse("jdbc:sqlserver://localhost;databaseName={ x };")
    assert str(raised.value) == (
        "invalid database name ' x ': remove the leading or trailing white space"
    )


def test_ipv6_same_connection() -> None:
    forms = [
        "jdbc:sqlserver://[::1]:1433;databaseName=x;user=u;password=p",
        "jdbc:sqlserver://;serverName=::1;portNumber=1433;databaseName=x;user=u;password=p",
        "Driver={ODBC Driver 18 for SQL Server};Server=::1,1433;Database=x;UID=u;PWD=p",
        "mssql+pyodbc://u:p@[::1]:1433/x?driver=ODBC+Driver+18+for+SQL+Server",
    ]
    strings = {odbc_string(ConnectionSettings.parse(form)) for form in forms}
    assert strings == {
        "DRIVER={ODBC Driver 18 for SQL Server};Server=::1,1433;Database=x;UID=u;PWD=p"
    }


def test_ipv6_url_round_trip() -> None:
    settings = ConnectionSettings.parse("jdbc:sqlserver://[::1]:1433;databaseName=x;user=u")
    assert settings.redacted() == "mssql+pyodbc://u@[::1]:1433/x"
    assert make_url(settings.redacted()).host == "::1"


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("[::1", "invalid server '[::1': the IPv6 address has no closing ']'"),
        ("[::1]x", "invalid server '[::1]x': unexpected 'x' after the IPv6 address"),
    ],
    ids=["open-bracket", "after-bracket"],
)
def test_server_invalid(server: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.from_options(server=server)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("server", "extra", "values"),
    [
        ("db1,1433", None, expected(server="db1", port=1433)),
        ("db1\\SQLEXPRESS", None, expected(server="db1", instance="SQLEXPRESS")),
        (
            "localhost",
            "integratedSecurity=true;encrypt=false;",
            expected(integrated_security=True, encrypt="no"),
        ),
        (
            "localhost",
            "IntegratedSecurity=True;TrustServerCertificate=TRUE",
            expected(integrated_security=True, trust_server_certificate=True),
        ),
    ],
    ids=["comma-port", "express", "extra-integrated", "extra-any-case"],
)
def test_admin_console_parts(server: str, extra: str | None, values: dict[str, Any]) -> None:
    assert fields_of(ConnectionSettings.from_options(server=server, extra=extra)) == values


def test_admin_console_same_as_vendor_url() -> None:
    parts = ConnectionSettings.from_options(
        server="localhost,1433",
        database="customname",
        extra="integratedSecurity=true;encrypt=false;",
        odbc_driver=DRIVER18,
    )
    vendor = ConnectionSettings.parse(
        "jdbc:sqlserver://localhost:1433;databaseName=customname;integratedSecurity=true;"
        "encrypt=false"
    )
    assert odbc_string(parts) == odbc_string(vendor)
    assert odbc_string(parts) == (
        "DRIVER={ODBC Driver 18 for SQL Server};Server=localhost,1433;Database=customname;"
        "Trusted_Connection=Yes;Encrypt=no"
    )
