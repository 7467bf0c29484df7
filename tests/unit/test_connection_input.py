"""Connection input that a user gets wrong: passwords with ';' or '}', conflicting logins,
JDBC URLs cut by the shell and empty instance names.

Each message is asserted in full. The command-line tests run ``main`` and
fail before any engine connects, so no driver is involved.
"""

from __future__ import annotations

import logging

import pytest

from ontime_db.cli import main
from ontime_db.connection import ConnectionSettings, describe
from ontime_db.errors import ConfigurationError

# A password with both characters that end or close a value in connection text.
PASSWORD = "S3cret;pw}x"
# Text that must never be shown: the password, its tail after ';', and any part of it.
HIDDEN = ("S3cret", "pw}x", "pw")

NOT_SHOWN = "The text is not shown because it contains a password"


def braces_advice(key: str) -> str:
    return (
        f"If the password contains ';' or '}}', write it in braces as {key}={{...}} and "
        f"double each '}}' in it: the password a;b}}c is written {key}={{a;b}}}}c}}"
    )


def unbraced(form: str, key: str) -> str:
    return (
        f"invalid {form}: the text after '{key}=' has a ';' that is not inside braces, and "
        f"the part after that ';' is not a key=value pair. {braces_advice(key)}; otherwise "
        f"remove that part. {NOT_SHOWN}"
    )


# -- passwords with ';' or '}' ----------------------------------------------------

UNBRACED_CASES = [
    (
        "jdbc:sqlserver://localhost:1433;databaseName=x;user=sa;password=S3cret;pw}x",
        unbraced("JDBC URL", "password"),
    ),
    (
        "Server=localhost;Database=x;UID=sa;PWD=S3cret;pw}x",
        unbraced("ODBC connection string", "PWD"),
    ),
    (
        "jdbc:sqlserver://localhost;user=sa;PassWord=S3cret;pw}x;databaseName=x",
        unbraced("JDBC URL", "PassWord"),
    ),
    (
        "jdbc:sqlserver://localhost;password=S3cret;pw=x;y",
        unbraced("JDBC URL", "password"),
    ),
    (
        "jdbc:sqlserver//localhost:1433;databaseName=x;user=sa;password=S3cret;pw}x",
        "unsupported JDBC URL 'jdbc:sqlserver//localhost:1433;databaseName=x;user=sa;...': "
        "expected jdbc:sqlserver://host...",
    ),
    (
        "jdbc:sqlserver://localhost;password={S3cret}pw}x}",
        "invalid JDBC URL: the braced value of password ends at a '}' that is followed by "
        f"more text before the next ';'. {braces_advice('password')}. {NOT_SHOWN}",
    ),
    (
        "jdbc:sqlserver://localhost;databaseName={x}pw;password=S3cret",
        f"invalid JDBC URL: unexpected text after the braced value of databaseName. {NOT_SHOWN}",
    ),
    (
        "jdbc:sqlserver://localhost;pw}x;password={S3cret}",
        "invalid JDBC URL: its first part is not a key=value pair; remove it or write it as "
        f"key=value. {NOT_SHOWN}",
    ),
    (
        "Server=localhost;UID=sa;pw}x;PWD={S3cret}",
        "invalid ODBC connection string: the part after property UID is not a key=value "
        f"pair; remove it or write it as key=value. {NOT_SHOWN}",
    ),
    (
        "pw}x;PWD=S3cret",
        "invalid ODBC connection string: its first part is not a key=value pair; remove it "
        f"or write it as key=value. {NOT_SHOWN}",
    ),
]
UNBRACED_IDS = [
    "jdbc",
    "odbc",
    "jdbc-any-case",
    "jdbc-tail-looks-like-pair",
    "jdbc-missing-colon",
    "jdbc-text-after-braces",
    "other-braces-with-password",
    "fragment-before-password",
    "odbc-fragment-before-password",
    "odbc-fragment-first",
]


@pytest.mark.parametrize(("text", "message"), UNBRACED_CASES, ids=UNBRACED_IDS)
def test_password_fragment_hidden(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.parse(text)
    assert str(raised.value) == message


def test_extra_password_fragment() -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.from_options(server="localhost", extra="password=S3cret;pw}x")
    assert str(raised.value) == unbraced("extra parameters", "password")


def test_fragment_without_password_shown() -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.parse("jdbc:sqlserver://localhost;user=sa;junk")
    assert str(raised.value) == "invalid JDBC URL: 'junk' is not a key=value pair"


@pytest.mark.parametrize(
    "text",
    [
        "jdbc:sqlserver://localhost:1433;databaseName=x;user=sa;password={S3cret;pw}}x}",
        "Server=localhost;Database=x;UID=sa;PWD={S3cret;pw}}x}",
        "Server=localhost;Database=x;UID=sa;PWD={S3cret;pw}}x};",
    ],
    ids=["jdbc", "odbc", "odbc-trailing-semicolon"],
)
def test_braced_password_read(text: str) -> None:
    settings = ConnectionSettings.parse(text)
    assert settings.password == PASSWORD
    assert settings.user == "sa"
    assert settings.database == "x"


CLI_PASSWORD_CASES = [
    ["--url", "jdbc:sqlserver://localhost:1433;databaseName=x;user=sa;password=S3cret;pw}x"],
    ["--url", "Server=localhost;Database=x;UID=sa;PWD=S3cret;pw}x"],
    ["--url", "jdbc:sqlserver//localhost:1433;databaseName=x;user=sa;password=S3cret;pw}x"],
    ["--server", "localhost", "--user", "sa", "--extra", "password=S3cret;pw}x"],
    ["--url", "jdbc:sqlserver://localhost;password={S3cret}pw}x}"],
]


@pytest.mark.parametrize(
    "arguments",
    CLI_PASSWORD_CASES,
    ids=["jdbc", "odbc", "jdbc-missing-colon", "extra", "jdbc-text-after-braces"],
)
def test_cli_password_hidden(
    arguments: list[str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ONTIME_DB_PASSWORD", raising=False)
    with caplog.at_level(logging.DEBUG):
        status = main(["check-connection", *arguments])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("error: ")
    for hidden in HIDDEN:
        assert hidden not in captured.out
        assert hidden not in captured.err
        assert hidden not in caplog.text


# -- conflicting logins ---------------------------------------------------------------

CONFLICT_CASES = [
    (
        {"server": "localhost", "user": "sa", "password": PASSWORD,
         "extra": "integratedSecurity=true;"},
        "integratedSecurity=true in the extra parameters asks for Windows integrated security, "
        "but --user ('sa') names a SQL Server login: remove one of them",
    ),
    (
        {"server": "localhost", "user": "sa", "password": PASSWORD, "extra": "password=other"},
        "the password is given twice, as password=... in the extra parameters and as "
        "--password, with different values: remove one of them",
    ),
    (
        {"server": "localhost", "user": "sa", "extra": "user=other"},
        "the login is given twice, as user='other' in the extra parameters and as --user "
        "'sa': remove one of them",
    ),
    (
        {"url": "jdbc:sqlserver://localhost;integratedSecurity=true", "user": "sa"},
        "integrated security in the URL asks for Windows integrated security, but --user "
        "('sa') names a SQL Server login: remove one of them",
    ),
    (
        {"url": "Server=localhost;Trusted_Connection=yes", "extra": "user=sa"},
        "integrated security in the URL asks for Windows integrated security, but user= in "
        "the extra parameters ('sa') names a SQL Server login: remove one of them",
    ),
    (
        {"url": "jdbc:sqlserver://localhost;user=sa", "extra": "integratedSecurity=true"},
        "integratedSecurity=true in the extra parameters asks for Windows integrated security, "
        "but user= in the URL ('sa') names a SQL Server login: remove one of them",
    ),
]
CONFLICT_IDS = [
    "extra-integrated-user",
    "extra-password",
    "extra-user",
    "url-integrated-user",
    "url-integrated-extra-user",
    "url-user-extra-integrated",
]


@pytest.mark.parametrize(("options", "message"), CONFLICT_CASES, ids=CONFLICT_IDS)
def test_login_conflict(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.from_options(**options)
    assert str(raised.value) == message
    for hidden in HIDDEN:
        assert hidden not in str(raised.value)


def test_same_password_twice_accepted() -> None:
    settings = ConnectionSettings.from_options(
        server="localhost", user="sa", password="p", extra="password=p"
    )
    assert settings.password == "p"


def test_integrated_turned_off_by_extra() -> None:
    """integratedSecurity=false in the extra parameters overrides the URL; --user then fits."""
    settings = ConnectionSettings.from_options(
        url="jdbc:sqlserver://localhost;integratedSecurity=true",
        user="sa",
        extra="integratedSecurity=false",
    )
    assert settings.integrated_security is False
    assert settings.user == "sa"


def test_url_login_overridden_by_option() -> None:
    """Options beside a URL override it, as the vendor tool's -user and -password do."""
    settings = ConnectionSettings.from_options(
        url="jdbc:sqlserver://localhost;user=a;password=b", user="sa", password="c"
    )
    assert (settings.user, settings.password) == ("sa", "c")


def test_cli_login_conflict(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONTIME_DB_PASSWORD", raising=False)
    status = main(
        [
            "check-connection",
            "--server",
            "localhost",
            "--user",
            "sa",
            "--password",
            PASSWORD,
            "--extra",
            "integratedSecurity=true;",
        ]
    )
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == (
        "error: integratedSecurity=true in the extra parameters asks for Windows integrated "
        "security, but --user ('sa') names a SQL Server login: remove one of them\n"
    )


# -- JDBC URLs cut by the shell --------------------------------------------------------


def cut_url_message(where: str, start: str) -> str:
    return (
        f"no login in the connection settings for {where}: give a user (--user, user=... in "
        "a JDBC URL) or integratedSecurity=true. The JDBC URL has no properties after the "
        "server, as when a shell ends the command at the first ';' of an unquoted URL: quote "
        f"the whole option, '{start};databaseName=...;...' in sh or bash, "
        f'"{start};databaseName=...;..." in cmd.exe and PowerShell'
    )


@pytest.mark.parametrize(
    ("url", "where", "start"),
    [
        (
            "jdbc:sqlserver://localhost:1433",
            "localhost:1433/master",
            "-url=jdbc:sqlserver://localhost:1433",
        ),
        (
            "jdbc:sqlserver://localhost:1433;",
            "localhost:1433/master",
            "-url=jdbc:sqlserver://localhost:1433",
        ),
        (
            "jdbc:sqlserver://db1\\SQLEXPRESS",
            "db1\\SQLEXPRESS/master",
            "-url=jdbc:sqlserver://db1\\SQLEXPRESS",
        ),
    ],
    ids=["port", "trailing-semicolon", "instance"],
)
def test_cut_jdbc_url_hint(url: str, where: str, start: str) -> None:
    settings = ConnectionSettings.from_options(url=url).with_database("master")
    with pytest.raises(ConfigurationError) as raised:
        settings.to_url()
    assert str(raised.value) == cut_url_message(where, start)


def test_jdbc_with_properties_no_hint() -> None:
    settings = ConnectionSettings.parse("jdbc:sqlserver://localhost:1433;databaseName=x")
    with pytest.raises(ConfigurationError) as raised:
        settings.to_url()
    assert str(raised.value) == (
        "no login in the connection settings for localhost:1433/x: give a user (--user, "
        "user=... in a JDBC URL) or integratedSecurity=true"
    )


def test_cut_jdbc_url_with_user_connects() -> None:
    """A JDBC URL without properties is valid when the login comes from the options."""
    settings = ConnectionSettings.from_options(
        url="jdbc:sqlserver://localhost:1433", user="sa", password="p", odbc_driver="X"
    )
    assert settings.to_url().render_as_string(hide_password=True) == (
        "mssql+pyodbc://sa:***@localhost:1433/master?driver=X"
    )


def test_cut_jdbc_flag_not_in_repr() -> None:
    settings = ConnectionSettings.parse("jdbc:sqlserver://localhost:1433")
    assert settings.jdbc_without_properties is True
    assert "jdbc_without_properties" not in repr(settings)
    assert settings == ConnectionSettings(server="localhost", port=1433)


def test_cli_cut_jdbc_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONTIME_DB_PASSWORD", raising=False)
    status = main(["check-connection", "-url=jdbc:sqlserver://localhost:1433"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err == (
        "error: "
        + cut_url_message("localhost:1433/master", "-url=jdbc:sqlserver://localhost:1433")
        + "\n"
    )


def test_describe_without_login() -> None:
    assert describe("jdbc:sqlserver://localhost:1433") == (
        "localhost:1433/(default database) without a login"
    )


# -- empty instance names --------------------------------------------------------------


def empty_instance(server: str) -> str:
    return (
        f"invalid server '{server}': the instance name after '\\' is empty; write "
        "host\\INSTANCE for a named instance (for example localhost\\SQLEXPRESS), or only "
        "the host for the default instance"
    )


@pytest.mark.parametrize(
    "server",
    ["localhost\\", "localhost\\ ", "localhost\\,1433", "localhost\\:1433", "[::1]\\"],
    ids=["trailing", "blank", "comma-port", "colon-port", "ipv6"],
)
def test_empty_instance_server(server: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.from_options(server=server)
    assert str(raised.value) == empty_instance(server.strip())


@pytest.mark.parametrize(
    ("text", "server"),
    [
        ("jdbc:sqlserver://localhost\\;databaseName=x", "localhost\\"),
        ("jdbc:sqlserver://localhost\\:1433;databaseName=x", "localhost\\:1433"),
        ("jdbc:sqlserver://;serverName=localhost\\;databaseName=x", "localhost\\"),
        ("Server=localhost\\,1433;UID=u", "localhost\\,1433"),
        ("mssql+pyodbc://u:p@localhost\\/x", "localhost\\"),
    ],
    ids=["jdbc", "jdbc-port", "jdbc-server-name", "odbc", "sqlalchemy"],
)
def test_empty_instance_forms(text: str, server: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ConnectionSettings.parse(text)
    assert str(raised.value) == empty_instance(server)


def test_cli_empty_instance(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONTIME_DB_PASSWORD", raising=False)
    status = main(["check-connection", "--server", "localhost\\", "--user", "sa"])
    assert status == 2
    assert capsys.readouterr().err == "error: " + empty_instance("localhost\\") + "\n"
