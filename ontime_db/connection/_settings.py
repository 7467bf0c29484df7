"""Connection settings: the parsed form of every connection form, and the URL built from it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, TypeAlias

from ..errors import ConfigurationError
from ..quoting import check_name
from ._drivers import find_odbc_driver
from ._masking import (
    MASK,
    URL_PASSWORD_HINT,
    looks_like_userinfo,
    text_before_password,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

__all__ = ["DRIVERS", "SERVER_DATABASE", "ConnectionSettings", "Target", "settings_of"]


Target: TypeAlias = "str | URL | Engine | ConnectionSettings"


DRIVERS = ("pyodbc", "mssql-python")


# pyodbc needs the database in the URL: with a host and no database,
# SQLAlchemy's pyodbc connector reads the host as an ODBC data source name.
SERVER_DATABASE = "master"


_DIALECTS = {"pyodbc": "mssql+pyodbc", "mssql-python": "mssql+mssqlpython"}


@dataclass(frozen=True)
class ConnectionSettings:
    """Connection settings (server, database, login, TLS, driver) parsed from any accepted form.

    ``encrypt`` is ``"yes"``, ``"no"``, ``"strict"`` or ``None`` for the
    driver's default (ODBC Driver 18 encrypts by default). ``properties``
    contains further ODBC keywords, passed to the driver as given.
    ``ignored_properties`` names JDBC properties that have no ODBC
    equivalent and were dropped. ``jdbc_without_properties`` is true for
    settings read from a JDBC URL with nothing after the server, which is
    what a shell leaves of an unquoted URL that it cut at the first ``;``.
    The ``repr`` shows the password as ``***``.
    """

    server: str | None = None
    port: int | None = None
    instance: str | None = None
    database: str | None = None
    user: str | None = None
    password: str | None = None
    integrated_security: bool = False
    encrypt: str | None = None
    trust_server_certificate: bool | None = None
    driver: str = "pyodbc"
    odbc_driver: str | None = None
    properties: tuple[tuple[str, str], ...] = ()
    ignored_properties: tuple[str, ...] = ()
    jdbc_without_properties: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.driver not in DRIVERS:
            raise ConfigurationError(
                f"invalid driver {self.driver!r}: expected one of {', '.join(DRIVERS)}"
            )
        if self.port is not None and not 0 < self.port < 65536:
            raise ConfigurationError(f"invalid port {self.port!r}: expected 1 to 65535")
        if self.encrypt is not None and self.encrypt not in ("yes", "no", "strict"):
            raise ConfigurationError(
                f"invalid encrypt setting {self.encrypt!r}: expected 'yes', 'no' or 'strict'"
            )
        if self.database is not None:
            check_name(self.database)

    # -- construction ----------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> ConnectionSettings:
        """Parse a SQLAlchemy URL, a ``jdbc:sqlserver://`` URL or an ODBC connection string.

        Raises :class:`~ontime_db.errors.ConfigurationError` naming the part
        that could not be read.

        >>> ConnectionSettings.parse(
        ...     "jdbc:sqlserver://localhost:1433;databaseName=customname;integratedSecurity=true"
        ... ).describe()
        'localhost:1433/customname as integrated security'
        """
        from ._forms import parse_jdbc, parse_odbc, parse_sqlalchemy_url

        if not isinstance(text, str) or not text.strip():
            raise ConfigurationError(
                f"invalid connection text {text!r}: expected a SQLAlchemy URL, a "
                "jdbc:sqlserver:// URL or an ODBC connection string"
            )
        text = text.strip()
        if text.lower().startswith("jdbc:"):
            return parse_jdbc(text)
        if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", text):
            return cls.from_url(parse_sqlalchemy_url(text))
        if looks_like_userinfo(text):
            # Possibly user:password@host without a scheme, so the text is
            # described, never shown.
            raise ConfigurationError(
                f"cannot read the connection text ({len(text)} characters): it looks like "
                "user:password@host without a scheme, so it is not shown. Write it as a "
                "SQLAlchemy URL, mssql+pyodbc://user:password@host/database?driver=...; "
                + URL_PASSWORD_HINT
            )
        if "=" in text:
            return parse_odbc(text)
        # Text without '=' contains no password key, and without ':' before
        # '@' no user:password@host, so it is safe to show.
        raise ConfigurationError(
            f"cannot read connection text {text!r}: expected a SQLAlchemy URL "
            "(mssql+pyodbc://...), a jdbc:sqlserver:// URL or an ODBC connection string "
            "(Driver=...;Server=...;); for a bare server name use --server"
        )

    @classmethod
    def from_url(cls, url: URL) -> ConnectionSettings:
        """Read settings from a SQLAlchemy URL of the ``mssql`` dialect."""
        from ._forms import odbc_keywords, parse_odbc, pop_key, query_value, split_server

        backend = url.get_backend_name()
        driver_name = url.get_driver_name()
        if backend != "mssql":
            raise ConfigurationError(
                f"unsupported database URL {url.render_as_string(hide_password=True)!r}: "
                "ontime_db works with SQL Server only (mssql+pyodbc:// or mssql+mssqlpython://)"
            )
        driver = "mssql-python" if driver_name == "mssqlpython" else "pyodbc"
        if driver_name not in ("pyodbc", "mssqlpython"):
            raise ConfigurationError(
                f"unsupported SQL Server driver {driver_name!r} in "
                f"{url.render_as_string(hide_password=True)!r}: use mssql+pyodbc or "
                "mssql+mssqlpython"
            )

        query = {key: query_value(value) for key, value in url.query.items()}
        odbc_connect = pop_key(query, "odbc_connect")
        if odbc_connect is not None:
            return replace(parse_odbc(odbc_connect), driver=driver)

        if "@" in (url.host or ""):
            # SQLAlchemy ends the password at its first '@', so the rest of
            # an unencoded password became the host.
            masked_url = text_before_password(url.render_as_string(hide_password=False))
            raise ConfigurationError(
                f"invalid SQLAlchemy URL {masked_url!r}: the host contains '@'; "
                + URL_PASSWORD_HINT
            )
        host, instance, port = split_server(url.host or "", separators=",")
        settings: dict[str, Any] = {
            "server": host or None,
            "instance": instance,
            "port": url.port or port,
            "database": url.database or None,
            "user": url.username,
            "password": url.password,
            "driver": driver,
        }
        settings.update(odbc_keywords(query))
        return cls(**settings)

    @classmethod
    def from_options(
        cls,
        *,
        url: str | None = None,
        server: str | None = None,
        database: str | None = None,
        user: str | None = None,
        password: str | None = None,
        extra: str | None = None,
        driver: str | None = None,
        odbc_driver: str | None = None,
    ) -> ConnectionSettings:
        """Build settings from command-line options or the admin console's fields.

        ``url`` is any form :meth:`parse` reads; ``server`` is
        ``host[\\instance][,port]`` (``host:port`` also works). Options given
        beside ``url`` override the URL's values, as the vendor tool's
        ``-user`` and ``-password`` do. ``extra`` is the admin console's
        "extra parameters", JDBC properties such as ``integratedSecurity=true;``.

        Raises :class:`~ontime_db.errors.ConfigurationError` when neither
        ``url`` nor ``server`` is given, when both are, or when a value is
        invalid. It also raises when two sources ask for different logins:
        ``extra`` and ``user`` or ``password`` name different values, or
        integrated security from one source meets a user from another.
        A password is never shown in these messages.
        """
        from ._forms import jdbc_property_changes, merge_jdbc_properties, split_server

        if url and server:
            raise ConfigurationError(
                "give either --url or --server, not both: the URL already names the server"
            )
        if url:
            settings = cls.parse(url)
        elif server:
            _check_server_option(server)
            host, instance, port = split_server(server, separators=",:")
            settings = cls(server=host, instance=instance, port=port)
        else:
            raise ConfigurationError(
                "no server given: pass --url (a jdbc:sqlserver:// URL, an ODBC connection "
                "string or a SQLAlchemy URL) or --server (for example localhost or "
                "host\\SQLEXPRESS)"
            )

        changes, properties, ignored = jdbc_property_changes(extra) if extra else ({}, {}, ())
        _check_logins(settings, changes, user=user, password=password)
        settings = merge_jdbc_properties(settings, changes, properties, ignored)

        overrides: dict[str, Any] = {
            "database": database,
            "user": user,
            "password": password,
            "driver": driver,
            "odbc_driver": odbc_driver,
        }
        result = replace(settings, **{k: v for k, v in overrides.items() if v is not None})
        if result.integrated_security and result.password is not None:
            _reject_password_with_integrated(changes, password=password)
        return result

    # -- derived values --------------------------------------------------------

    @property
    def needs_password(self) -> bool:
        """Whether a SQL login is named but no password is known yet."""
        return bool(self.user) and self.password is None and not self.integrated_security

    def check_password(self) -> None:
        """Raise :class:`~ontime_db.errors.ConfigurationError` when :attr:`needs_password` is true.

        :func:`~ontime_db.connection.connect` and
        :func:`~ontime_db.connection.engine_for` call it after reading
        ``ONTIME_DB_PASSWORD``, so neither creates an engine for a login without
        a password. An empty password (``""``) counts as given.
        """
        if self.needs_password:
            raise ConfigurationError(
                f"no password for login {self.user!r} on {self.host or '(no server)'}: give "
                "--password, set ONTIME_DB_PASSWORD, or run on a terminal to be prompted"
            )

    def with_password(self, password: str) -> ConnectionSettings:
        """Return a copy with ``password`` set."""
        return replace(self, password=password)

    def with_database(self, name: str | None) -> ConnectionSettings:
        """Return a copy that connects to database ``name`` (``None``: the login's default)."""
        return replace(self, database=name)

    @property
    def host(self) -> str:
        """The server as ODBC writes it: ``host`` or ``host\\instance``."""
        server = self.server or ""
        return f"{server}\\{self.instance}" if self.instance else server

    def describe(self) -> str:
        """Return ``server[\\instance][:port]/database as login``, never the password.

        Settings without a user or integrated security end in ``without a login``.
        """
        where = self._where()
        if self.integrated_security:
            return f"{where} as integrated security"
        return f"{where} as {self.user}" if self.user else f"{where} without a login"

    def _where(self) -> str:
        place = self.host or "(no server)"
        if self.port is not None:
            place += f":{self.port}"
        return f"{place}/{self.database or '(default database)'}"

    def _quoting_hint(self) -> str:
        if not self.jdbc_without_properties:
            return ""
        server = self.host + (f":{self.port}" if self.port is not None else "")
        start = f"-url=jdbc:sqlserver://{server}"
        return (
            f". The JDBC URL has no properties after the server, as when a shell ends "
            f"the command at the first ';' of an unquoted URL: quote the whole option, "
            f"'{start};databaseName=...;...' in sh or bash, "
            f'"{start};databaseName=...;..." in cmd.exe and PowerShell'
        )

    def redacted(self) -> str:
        """Return the SQLAlchemy URL these settings lead to, with the password as ``***``.

        No driver is looked up, so the ODBC driver shows only when it was given.
        """
        url = self._build_url(self.odbc_driver, display=True)
        return url.render_as_string(hide_password=True)

    def to_url(self) -> URL:
        """Build the SQLAlchemy URL, choosing the installed ODBC driver when none was given.

        Raises :class:`~ontime_db.errors.DriverNotFoundError` when pyodbc
        cannot be imported or no SQL Server ODBC driver is installed, and
        :class:`~ontime_db.errors.ConfigurationError` when no server is set.
        """
        if not self.server and not self.dsn:
            raise ConfigurationError(
                f"no server in the connection settings {self.redacted()!r}: give a server"
            )
        if not (self.user or self.integrated_security or self.dsn or self._authentication):
            # SQLAlchemy's pyodbc dialect would quietly fall back to
            # Trusted_Connection=Yes, although the settings name no login.
            raise ConfigurationError(
                f"no login in the connection settings for {self._where()}: give a user "
                "(--user, user=... in a JDBC URL) or integratedSecurity=true"
                + self._quoting_hint()
            )
        if self.dsn and self.driver != "pyodbc":
            raise ConfigurationError(
                f"the ODBC data source {self.dsn!r} needs the pyodbc driver, "
                f"not {self.driver}"
            )
        odbc_driver = self.odbc_driver
        if self.driver == "pyodbc" and odbc_driver is None and not self.dsn:
            odbc_driver = find_odbc_driver()
        return self._build_url(odbc_driver)

    @property
    def dsn(self) -> str | None:
        """The ODBC data source name (``DSN=`` keyword), or ``None``."""
        return dict((key.lower(), value) for key, value in self.properties).get("dsn")

    @property
    def _authentication(self) -> str | None:
        return dict((key.lower(), value) for key, value in self.properties).get("authentication")

    def _build_url(self, odbc_driver: str | None, *, display: bool = False) -> URL:
        from sqlalchemy.engine import URL

        query: dict[str, str] = {}
        if self.driver == "pyodbc" and odbc_driver:
            query["driver"] = odbc_driver
        if self.encrypt is not None:
            query["Encrypt"] = self.encrypt
        if self.trust_server_certificate is not None:
            query["TrustServerCertificate"] = "yes" if self.trust_server_certificate else "no"
        if self.integrated_security and self.driver == "mssql-python":
            # SQLAlchemy's pyodbc dialect adds Trusted_Connection=Yes itself
            # when the URL has no user name; its mssql-python dialect does not.
            query["Trusted_Connection"] = "yes"
        query.update(self.properties)

        if self.dsn:
            # A data source name carries the server itself; SQLAlchemy passes
            # odbc_connect to the driver unchanged.
            odbc_connect = self._odbc_string(mask_password=display)
            return URL.create(_DIALECTS[self.driver], query={"odbc_connect": odbc_connect})
        return URL.create(
            _DIALECTS[self.driver],
            username=None if self.integrated_security else self.user,
            password=None if self.integrated_security else self.password,
            host=self.host or None,
            port=self.port,
            database=self.database or (None if display else SERVER_DATABASE),
            query=query,
        )

    def _odbc_string(self, *, mask_password: bool = False) -> str:
        parts = [f"{key}={_odbc_quote(value)}" for key, value in self.properties]
        if self.database:
            parts.append(f"Database={_odbc_quote(self.database)}")
        if self.integrated_security:
            parts.append("Trusted_Connection=yes")
        elif self.user:
            parts.append(f"UID={_odbc_quote(self.user)}")
            if self.password is not None:
                secret = MASK if mask_password else _odbc_quote(self.password)
                parts.append(f"PWD={secret}")
        return ";".join(parts)

    # -- masking ---------------------------------------------------------------

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            if not item.repr:
                continue
            value = getattr(self, item.name)
            if item.name == "password" and value is not None:
                shown.append(f"password='{MASK}'")
            else:
                shown.append(f"{item.name}={value!r}")
        return f"ConnectionSettings({', '.join(shown)})"

    def __str__(self) -> str:
        return self.describe()


def _check_logins(
    settings: ConnectionSettings,
    extra: dict[str, Any],
    *,
    user: str | None,
    password: str | None,
) -> None:
    # Options given beside a URL override it on purpose, as the vendor
    # tool's -user and -password do. Two other sources that disagree are a
    # mistake, and taking either value would pick a login silently.
    if "password" in extra and password is not None and extra["password"] != password:
        raise ConfigurationError(
            "the password is given twice, as password=... in the extra parameters and "
            "as --password, with different values: remove one of them"
        )
    if extra.get("user") and user is not None and extra["user"] != user:
        raise ConfigurationError(
            f"the login is given twice, as user={extra['user']!r} in the extra parameters "
            f"and as --user {user!r}: remove one of them"
        )

    if extra.get("integrated_security"):
        login = _named(user, "--user") or _named(settings.user, "user= in the URL")
        if login:
            raise ConfigurationError(
                "integratedSecurity=true in the extra parameters asks for Windows integrated "
                f"security, but {login} names a SQL Server login: remove one of them"
            )
    elif settings.integrated_security and extra.get("integrated_security") is not False:
        login = _named(user, "--user") or _named(extra.get("user"), "user= in the extra parameters")
        if login:
            raise ConfigurationError(
                "integrated security in the URL asks for Windows integrated security, but "
                f"{login} names a SQL Server login: remove one of them"
            )


def _reject_password_with_integrated(extra: dict[str, Any], *, password: str | None) -> None:
    # The driver logs in as the Windows account with integrated security and
    # ignores a password, so a password given with it is a mistake, not a fallback.
    if password is not None:
        password_source = "--password"
    elif "password" in extra:
        password_source = "password= in the extra parameters"
    else:
        password_source = "the password in the URL"
    if extra.get("integrated_security"):
        integrated_source = "integratedSecurity=true in the extra parameters"
    else:
        integrated_source = "integrated security in the URL"
    raise ConfigurationError(
        f"{password_source} is given together with {integrated_source}: integrated "
        "security logs in as the Windows account and uses no password. Remove the "
        "password to use integrated security, or remove integrated security and give "
        "--user for a SQL Server login"
    )


def _check_server_option(server: str) -> None:
    # A server name never contains these characters. Accepting them would
    # let connection properties, a password among them, pass as a server name.
    if any(char in server for char in ";{}="):
        raise ConfigurationError(
            f"invalid server {text_before_password(server)!r}: a server name cannot contain "
            "';', '{', '}' or '='. Give "
            "only host[\\instance][,port] with --server, and further connection properties "
            "with --extra (for example 'encrypt=true;') or the whole connection with --url"
        )


def _with_dialect_login(settings: ConnectionSettings, url: URL) -> ConnectionSettings:
    # SQLAlchemy's pyodbc dialect connects with Trusted_Connection=Yes when
    # the URL has no user name and no Authentication keyword
    # (sqlalchemy/connectors/pyodbc.py, create_connect_args, SQLAlchemy 2.0
    # and 2.1). Its mssql-python dialect adds nothing, so there only
    # Trusted_Connection=yes in the query counts, as from_url reads it.
    if url.get_driver_name() != "pyodbc" or url.username or settings.integrated_security:
        return settings
    keys = {key.lower() for key in url.query}
    if keys & {"authentication", "odbc_connect", "trusted_connection"}:
        return settings
    return replace(settings, integrated_security=True)


def _named(value: str | None, source: str) -> str:
    return f"{source} ({value!r})" if value else ""


def _odbc_quote(value: str) -> str:
    if ";" in value or value.startswith("{") or "}" in value:
        return "{" + value.replace("}", "}}") + "}"
    return value


def settings_of(target: Target) -> ConnectionSettings:
    """Return the :class:`ConnectionSettings` of any connection target.

    An Engine or URL is read through :meth:`ConnectionSettings.from_url`, a
    string through :meth:`ConnectionSettings.parse`. Nothing connects, and
    no driver is looked up. An Engine or URL object of the pyodbc dialect
    without a user name reads as integrated security, because SQLAlchemy
    connects with it that way. A URL string without a login is still
    rejected by :meth:`ConnectionSettings.to_url`, and a ``user`` option
    given beside it names the login.

    Raises :class:`~ontime_db.errors.ConfigurationError` for a target of
    another type or text that cannot be read.

    >>> settings_of("jdbc:sqlserver://db1;databaseName=ontimems;user=OnTimeApp").user
    'OnTimeApp'
    """
    from sqlalchemy.engine import URL, Engine

    if isinstance(target, ConnectionSettings):
        return target
    if isinstance(target, Engine):
        return _with_dialect_login(ConnectionSettings.from_url(target.url), target.url)
    if isinstance(target, URL):
        return _with_dialect_login(ConnectionSettings.from_url(target), target)
    if isinstance(target, str):
        return ConnectionSettings.parse(target)
    raise ConfigurationError(
        f"invalid connection target of type {type(target).__name__}: expected a URL "
        "string, sqlalchemy.URL, sqlalchemy.Engine or ConnectionSettings"
    )
