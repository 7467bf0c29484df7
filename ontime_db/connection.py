"""Build a SQLAlchemy Engine from the connection details an administrator or a caller has.

Four forms lead to the same connection:

* a SQLAlchemy URL or Engine (``mssql+pyodbc://...``, ``mssql+mssqlpython://...``);
* the vendor tool's JDBC URL
  (``jdbc:sqlserver://localhost:1433;databaseName=ontimems;integratedSecurity=true``);
* an ODBC connection string (``Driver={ODBC Driver 18 for SQL Server};Server=...;``);
* the admin console's parts: server, database, user, password and "extra
  parameters" such as ``integratedSecurity=true;``.

:class:`ConnectionSettings` is the parsed form. A password never
appears in its ``repr``, in :meth:`ConnectionSettings.redacted`, in
:func:`describe`, in a log line or in an error message: it shows as ``***``.

The driver is imported only when an engine is created: pyodbc with the
newest installed Microsoft ODBC Driver for SQL Server (18, then 17),
falling back to FreeTDS; or mssql-python when the settings ask for it.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, TypeAlias

from .errors import ConfigurationError, ConnectionFailedError, DriverNotFoundError
from .quoting import check_name

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

    from .catalog import ServerInfo

__all__ = [
    "DRIVERS",
    "PASSWORD_VARIABLE",
    "ConnectionCheck",
    "ConnectionSettings",
    "Target",
    "check_connection",
    "classify_error",
    "connect",
    "connection_error",
    "database_of",
    "describe",
    "engine_for",
    "engine_scope",
]

log = logging.getLogger(__name__)

Target: TypeAlias = "str | URL | Engine | ConnectionSettings"

PASSWORD_VARIABLE = "ONTIME_DB_PASSWORD"
DRIVERS = ("pyodbc", "mssql-python")
MASK = "***"

# pyodbc needs the database in the URL: with a host and no database,
# SQLAlchemy's pyodbc connector reads the host as an ODBC data source name.
SERVER_DATABASE = "master"

_DIALECTS = {"pyodbc": "mssql+pyodbc", "mssql-python": "mssql+mssqlpython"}
_MICROSOFT_DRIVER = re.compile(r"^ODBC Driver (\d+) for SQL Server$")
_FREETDS = "FreeTDS"
_ENCRYPT_VALUES = {
    "true": "yes",
    "yes": "yes",
    "mandatory": "yes",
    "false": "no",
    "no": "no",
    "optional": "no",
    "strict": "strict",
}
_TRUE = frozenset({"true", "yes", "1", "sspi"})
_FALSE = frozenset({"false", "no", "0"})

# JDBC properties without a field of their own but with an ODBC keyword
# that means the same (ODBC Driver 17.x/18 for SQL Server keywords).
_JDBC_TO_ODBC = {
    "applicationname": "APP",
    "applicationintent": "ApplicationIntent",
    "hostnameincertificate": "HostNameInCertificate",
    "multisubnetfailover": "MultiSubnetFailover",
    "failoverpartner": "Failover_Partner",
    "workstationid": "WSID",
}

INSTALL_HINT = (
    "Install unixODBC and Microsoft's ODBC Driver 18 for SQL Server: on Debian/Ubuntu "
    "`apt-get install unixodbc` and the `msodbcsql18` package from Microsoft's "
    "repository; on RHEL `dnf install unixODBC` and `msodbcsql18`; on Windows run "
    "the \"Microsoft ODBC Driver 18 for SQL Server\" installer. FreeTDS "
    "(`apt-get install tdsodbc`) works as a fallback. Or install mssql-python "
    "(`pip install ontime-db[mssql-python]`) and pass --driver mssql-python."
)
MSSQL_PYTHON_HINT = (
    "Install Microsoft's mssql-python driver with `pip install ontime-db[mssql-python]` "
    "(it brings its own ODBC layer), or use the default pyodbc driver."
)
KERBEROS_HINT = (
    "integrated security on Linux and macOS uses Kerberos: the ODBC driver needs a "
    "ticket for a Windows domain account, so run `kinit user@REALM` first "
    "(and check it with `klist`)"
)


@dataclass(frozen=True)
class ConnectionSettings:
    """Connection settings (server, database, login, TLS, driver) parsed from any accepted form.

    ``encrypt`` is ``"yes"``, ``"no"``, ``"strict"`` or ``None`` for the
    driver's default (ODBC Driver 18 encrypts by default). ``properties``
    contains further ODBC keywords, passed to the driver as given.
    ``ignored_properties`` names JDBC properties that have no ODBC
    equivalent and were dropped. The ``repr`` shows the password as ``***``.
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
        if not isinstance(text, str) or not text.strip():
            raise ConfigurationError(
                f"invalid connection text {text!r}: expected a SQLAlchemy URL, a "
                "jdbc:sqlserver:// URL or an ODBC connection string"
            )
        text = text.strip()
        if text.lower().startswith("jdbc:"):
            return _parse_jdbc(text)
        if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", text):
            return cls.from_url(_make_url(text))
        if "=" in text:
            return _parse_odbc(text)
        raise ConfigurationError(
            f"cannot read connection text {_mask_text(text)!r}: expected a SQLAlchemy URL "
            "(mssql+pyodbc://...), a jdbc:sqlserver:// URL or an ODBC connection string "
            "(Driver=...;Server=...;); for a bare server name use --server"
        )

    @classmethod
    def from_url(cls, url: URL) -> ConnectionSettings:
        """Read settings from a SQLAlchemy URL of the ``mssql`` dialect."""
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

        query = {key: _first(value) for key, value in url.query.items()}
        odbc_connect = _pop_key(query, "odbc_connect")
        if odbc_connect is not None:
            return replace(_parse_odbc(odbc_connect), driver=driver)

        host, instance, port = _split_server(url.host or "", separators=",")
        settings: dict[str, Any] = {
            "server": host or None,
            "instance": instance,
            "port": url.port or port,
            "database": url.database or None,
            "user": url.username,
            "password": url.password,
            "driver": driver,
        }
        settings.update(_odbc_keywords(query))
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
        ``url`` nor ``server`` is given, when both are, or when a value is invalid.
        """
        if url and server:
            raise ConfigurationError(
                "give either --url or --server, not both: the URL already names the server"
            )
        if url:
            settings = cls.parse(url)
        elif server:
            host, instance, port = _split_server(server, separators=",:")
            settings = cls(server=host, instance=instance, port=port)
        else:
            raise ConfigurationError(
                "no server given: pass --url (a jdbc:sqlserver:// URL, an ODBC connection "
                "string or a SQLAlchemy URL) or --server (for example localhost or "
                "host\\SQLEXPRESS)"
            )

        if extra:
            settings = _apply_jdbc_properties(settings, extra)
        overrides: dict[str, Any] = {
            "database": database,
            "user": user,
            "password": password,
            "driver": driver,
            "odbc_driver": odbc_driver,
        }
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    # -- derived values --------------------------------------------------------

    @property
    def needs_password(self) -> bool:
        """Whether a SQL login is named but no password is known yet."""
        return bool(self.user) and self.password is None and not self.integrated_security

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
        """Return ``server[\\instance][:port]/database as login``, never the password."""
        place = self.host or "(no server)"
        if self.port is not None:
            place += f":{self.port}"
        login = "integrated security" if self.integrated_security else (self.user or "(no login)")
        return f"{place}/{self.database or '(default database)'} as {login}"

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
        if not self.server and not self._dsn:
            raise ConfigurationError(
                f"no server in the connection settings {self.redacted()!r}: give a server"
            )
        if not (self.user or self.integrated_security or self._dsn or self._authentication):
            # SQLAlchemy's pyodbc dialect would quietly fall back to
            # Trusted_Connection=Yes, although the settings name no login.
            raise ConfigurationError(
                f"no login in the connection settings for {self.describe()}: give a user "
                "(--user, user=... in a JDBC URL) or integratedSecurity=true"
            )
        if self._dsn and self.driver != "pyodbc":
            raise ConfigurationError(
                f"the ODBC data source {self._dsn!r} needs the pyodbc driver, "
                f"not {self.driver}"
            )
        odbc_driver = self.odbc_driver
        if self.driver == "pyodbc" and odbc_driver is None and not self._dsn:
            odbc_driver = find_odbc_driver()
        return self._build_url(odbc_driver)

    @property
    def _dsn(self) -> str | None:
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

        if self._dsn:
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
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "password" and value is not None:
                shown.append(f"password='{MASK}'")
            else:
                shown.append(f"{field.name}={value!r}")
        return f"ConnectionSettings({', '.join(shown)})"

    def __str__(self) -> str:
        return self.describe()


# -- parsing -------------------------------------------------------------------


def _make_url(text: str) -> URL:
    from sqlalchemy import exc
    from sqlalchemy.engine import make_url

    try:
        return make_url(text)
    except (exc.ArgumentError, ValueError) as error:
        raise ConfigurationError(
            f"invalid SQLAlchemy URL {_mask_text(text)!r}: expected "
            "mssql+pyodbc://user:password@host[:port]/database?driver=..."
        ) from error


def _split_pairs(text: str, *, form: str) -> list[tuple[str, str]]:
    """Split ``key=value;key={va;lue}`` into pairs; braces quote a value, ``}}`` is ``}``."""
    pairs: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        end_key = text.find("=", position)
        next_semicolon = text.find(";", position)
        if end_key == -1 or (next_semicolon != -1 and next_semicolon < end_key):
            chunk = text[position : next_semicolon if next_semicolon != -1 else len(text)]
            if chunk.strip():
                raise ConfigurationError(
                    f"invalid {form}: {chunk.strip()!r} is not a key=value pair"
                )
            position = (next_semicolon if next_semicolon != -1 else len(text)) + 1
            continue

        key = text[position:end_key].strip()
        position = end_key + 1
        if text[position:position + 1] == "{":
            value, position = _read_braced(text, position + 1, key=key, form=form)
            rest = text.find(";", position)
            trailing = text[position : rest if rest != -1 else len(text)]
            if trailing.strip():
                raise ConfigurationError(
                    f"invalid {form}: unexpected {trailing.strip()!r} after the braced "
                    f"value of {key}"
                )
            position = (rest if rest != -1 else len(text)) + 1
        else:
            rest = text.find(";", position)
            value = text[position : rest if rest != -1 else len(text)].strip()
            position = (rest if rest != -1 else len(text)) + 1
        if not key:
            raise ConfigurationError(f"invalid {form}: a property has no name")
        pairs.append((key, value))
    return pairs


def _read_braced(text: str, position: int, *, key: str, form: str) -> tuple[str, int]:
    value = []
    while position < len(text):
        char = text[position]
        if char == "}":
            if text[position + 1 : position + 2] == "}":
                value.append("}")
                position += 2
                continue
            return "".join(value), position + 1
        value.append(char)
        position += 1
    raise ConfigurationError(f"invalid {form}: the braced value of {key} has no closing '}}'")


def _split_server(text: str, *, separators: str) -> tuple[str, str | None, int | None]:
    """Split ``host[\\instance][<sep>port]`` into its parts; ``tcp:`` prefixes are dropped."""
    text = text.strip()
    if text.lower().startswith("tcp:"):
        text = text[4:]
    port: int | None = None
    if text.startswith("["):
        closing = text.find("]")
        host_part, rest = text[: closing + 1], text[closing + 1 :]
        if rest[:1] and rest[:1] in separators:
            port = _parse_port(rest[1:], source=text)
        return host_part, None, port

    for separator in separators:
        if separator in text:
            text, _, port_text = text.rpartition(separator)
            port = _parse_port(port_text, source=text + separator + port_text)
            break
    host, _, instance = text.partition("\\")
    return host.strip(), (instance.strip() or None), port


def _parse_port(text: str, *, source: str) -> int:
    if not text.strip().isdigit() or not 0 < int(text) < 65536:
        raise ConfigurationError(
            f"invalid port {text!r} in server {source!r}: expected a number from 1 to 65535"
        )
    return int(text)


def _parse_bool(value: str, *, key: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"invalid value {value!r} for {key}: expected true or false")


def _parse_encrypt(value: str, *, key: str) -> str:
    normalized = _ENCRYPT_VALUES.get(value.strip().lower())
    if normalized is None:
        raise ConfigurationError(
            f"invalid value {value!r} for {key}: expected true, false or strict"
        )
    return normalized


def _parse_jdbc(text: str) -> ConnectionSettings:
    prefix = "jdbc:sqlserver://"
    if not text.lower().startswith(prefix):
        raise ConfigurationError(
            f"unsupported JDBC URL {_mask_text(text)!r}: expected jdbc:sqlserver://host..."
        )
    body = text[len(prefix) :]
    server_part, _, properties = body.partition(";")
    host, instance, port = _split_server(server_part, separators=":")
    settings = ConnectionSettings(server=host or None, instance=instance, port=port)
    return _apply_jdbc_properties(settings, properties, form="JDBC URL")


def _apply_jdbc_properties(
    settings: ConnectionSettings, text: str, *, form: str = "extra parameters"
) -> ConnectionSettings:
    """Apply JDBC connection properties, such as the admin console's extra parameters.

    Property names are case-insensitive and may appear once. A property
    with no ODBC equivalent is dropped with a warning naming it, and its
    name is kept in ``ignored_properties``.
    """
    changes: dict[str, Any] = {}
    properties = dict(settings.properties)
    ignored = list(settings.ignored_properties)
    seen: set[str] = set()

    for key, value in _split_pairs(text, form=form):
        name = key.lower()
        if name in seen:
            raise ConfigurationError(
                f"invalid {form}: property {key} appears twice; give each property once"
            )
        seen.add(name)

        if name == "servername":
            host, instance, port = _split_server(value, separators=":")
            changes["server"] = host
            if instance:
                changes["instance"] = instance
            if port is not None:
                changes["port"] = port
        elif name == "instancename":
            changes["instance"] = value or None
        elif name in ("portnumber", "port"):
            changes["port"] = _parse_port(value, source=f"{key}={value}")
        elif name in ("databasename", "database"):
            changes["database"] = value or None
        elif name in ("user", "username"):
            changes["user"] = value or None
        elif name == "password":
            changes["password"] = value
        elif name == "integratedsecurity":
            changes["integrated_security"] = _parse_bool(value, key=key)
        elif name == "encrypt":
            changes["encrypt"] = _parse_encrypt(value, key=key)
        elif name == "trustservercertificate":
            changes["trust_server_certificate"] = _parse_bool(value, key=key)
        elif name in _JDBC_TO_ODBC:
            if name == "multisubnetfailover":
                value = "yes" if _parse_bool(value, key=key) else "no"
            properties[_JDBC_TO_ODBC[name]] = value
        else:
            # NOTE: properties such as loginTimeout or authenticationScheme
            # have no plain ODBC keyword; they are dropped, not guessed.
            log.warning("ignoring JDBC property %s: the ODBC driver has no equivalent", key)
            ignored.append(key)

    return replace(
        settings,
        properties=tuple(properties.items()),
        ignored_properties=tuple(ignored),
        **changes,
    )


def _parse_odbc(text: str) -> ConnectionSettings:
    pairs = _split_pairs(text, form="ODBC connection string")
    keywords: dict[str, str] = {}
    for key, value in pairs:
        if key.lower() in (existing.lower() for existing in keywords):
            raise ConfigurationError(
                f"invalid ODBC connection string: keyword {key} appears twice"
            )
        keywords[key] = value
    return ConnectionSettings(**_odbc_keywords(keywords))


def _odbc_keywords(keywords: Mapping[str, str]) -> dict[str, Any]:
    """Map ODBC keywords (or SQLAlchemy URL query keys) to settings fields."""
    settings: dict[str, Any] = {}
    properties: list[tuple[str, str]] = []
    for key, value in keywords.items():
        name = key.lower()
        if name == "driver":
            settings["odbc_driver"] = value.strip("{}")
        elif name in ("server", "address", "addr", "data source"):
            host, instance, port = _split_server(value, separators=",")
            settings.update(server=host or None, instance=instance, port=port)
        elif name in ("database", "initial catalog"):
            settings["database"] = value or None
        elif name in ("uid", "user id", "user"):
            settings["user"] = value or None
        elif name in ("pwd", "password"):
            settings["password"] = value
        elif name in ("trusted_connection", "integrated security"):
            settings["integrated_security"] = _parse_bool(value, key=key)
        elif name == "encrypt":
            settings["encrypt"] = _parse_encrypt(value, key=key)
        elif name == "trustservercertificate":
            settings["trust_server_certificate"] = _parse_bool(value, key=key)
        else:
            properties.append((key, value))
    settings["properties"] = tuple(properties)
    return settings


def _pop_key(query: dict[str, str], wanted: str) -> str | None:
    for key in list(query):
        if key.lower() == wanted:
            return query.pop(key)
    return None


def _first(value: str | tuple[str, ...]) -> str:
    return value if isinstance(value, str) else value[-1]


def _odbc_quote(value: str) -> str:
    if ";" in value or value.startswith("{") or "}" in value:
        return "{" + value.replace("}", "}}") + "}"
    return value


_SECRET_PATTERN = re.compile(
    r"(?i)(\b(?:password|pwd)\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)|(://[^:/@]*:)([^@]*)(@)"
)


def _mask_text(text: str) -> str:
    """Replace password values in connection text with ``***``."""

    def mask(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1) + MASK
        return match.group(3) + MASK + match.group(5)

    return _SECRET_PATTERN.sub(mask, text)


# -- drivers -------------------------------------------------------------------


def find_odbc_driver() -> str:
    """Return the name of the best installed ODBC driver for SQL Server.

    The newest "ODBC Driver NN for SQL Server" wins (18, then 17); FreeTDS
    is the fallback.

    Raises :class:`~ontime_db.errors.DriverNotFoundError` naming what was
    looked for and how to install it.
    """
    installed = _installed_odbc_drivers()
    microsoft = sorted(
        (int(match.group(1)), name)
        for name in installed
        if (match := _MICROSOFT_DRIVER.match(name)) is not None
    )
    if microsoft:
        chosen = microsoft[-1][1]
    elif _FREETDS in installed:
        chosen = _FREETDS
        # NOTE: Encrypt and TrustServerCertificate are keywords of Microsoft's
        # driver. FreeTDS names its TLS settings differently (freetds.conf), so
        # with FreeTDS they may have no effect.
        log.warning("no Microsoft ODBC Driver for SQL Server found; using FreeTDS")
    else:
        listed = ", ".join(repr(name) for name in installed) or "none"
        raise DriverNotFoundError(
            "no ODBC driver for SQL Server is installed: looked for 'ODBC Driver 18 for SQL "
            f"Server', 'ODBC Driver 17 for SQL Server' and 'FreeTDS'; installed drivers: "
            f"{listed}. {INSTALL_HINT}"
        )
    log.info("using ODBC driver %r", chosen)
    return chosen


def _installed_odbc_drivers() -> list[str]:
    try:
        # Imported by name: pyodbc is optional at type-checking time and loads
        # libodbc when imported, which must not happen before a connection is made.
        pyodbc = importlib.import_module("pyodbc")
    except ImportError as error:
        raise DriverNotFoundError(
            f"pyodbc cannot be loaded ({error}), so no ODBC driver can be used. {INSTALL_HINT}"
        ) from error
    return list(pyodbc.drivers())


# -- engines -------------------------------------------------------------------


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

    The engine connects lazily, so login errors surface on first use; wrap
    them with :func:`connection_error`. The caller disposes the engine.

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
    returned as it is when no other database is asked for.
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

    if isinstance(target, Engine):
        if database is None or database == target.url.database:
            return target.execution_options(isolation_level="AUTOCOMMIT") if autocommit else target
        url = target.url.set(database=check_name(database))
    elif isinstance(target, URL):
        if any(key.lower() == "odbc_connect" for key in target.query):
            url = _settings_url(ConnectionSettings.from_url(target), database)
        else:
            url = target if database is None else target.set(database=check_name(database))
    elif isinstance(target, ConnectionSettings):
        url = _settings_url(target, database)
    elif isinstance(target, str):
        url = _settings_url(ConnectionSettings.parse(target), database)
    else:
        raise ConfigurationError(
            f"invalid connection target of type {type(target).__name__}: expected a URL "
            "string, sqlalchemy.URL, sqlalchemy.Engine or ConnectionSettings"
        )

    options: dict[str, Any] = {"pool_pre_ping": True}
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
    log.info("engine for %s", describe(url))
    return engine


def _settings_url(settings: ConnectionSettings, database: str | None) -> URL:
    if database is not None:
        settings = settings.with_database(database)
    if settings.needs_password and os.environ.get(PASSWORD_VARIABLE) is not None:
        settings = settings.with_password(os.environ[PASSWORD_VARIABLE])
    if settings.integrated_security and not sys.platform.startswith("win"):
        log.warning(KERBEROS_HINT)
    return settings.to_url()


def _settings_of(target: Target) -> ConnectionSettings:
    from sqlalchemy.engine import URL, Engine

    if isinstance(target, ConnectionSettings):
        return target
    if isinstance(target, Engine):
        return ConnectionSettings.from_url(target.url)
    if isinstance(target, URL):
        return ConnectionSettings.from_url(target)
    if isinstance(target, str):
        return ConnectionSettings.parse(target)
    raise ConfigurationError(
        f"invalid connection target of type {type(target).__name__}: expected a URL "
        "string, sqlalchemy.URL, sqlalchemy.Engine or ConnectionSettings"
    )


def database_of(target: Target) -> str | None:
    """Return the database ``target`` names, or ``None`` when it names none."""
    return _settings_of(target).database


def describe(target: Target) -> str:
    """Return ``server[\\instance][:port]/database as login`` for messages; never a password."""
    return _settings_of(target).describe()


# -- the admin console's "Test" button ------------------------------------------


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
    server cannot be reached or refuses the login.
    """
    from sqlalchemy.exc import DBAPIError

    from .catalog import database_exists, server_info

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


# -- errors --------------------------------------------------------------------

_SQLSTATE = re.compile(r"\[([0-9A-Z]{5})\]")
_NATIVE_ERROR = re.compile(r"\((-?\d+)\)")
_CERTIFICATE_WORDS = ("certificate", "ssl provider", "ssl routines", "ssl security error", "tls")
_NETWORK_STATES = frozenset({"08001", "08S01", "HYT00"})
_NETWORK_ERRORS = frozenset({2, 53, 258, 1225, 10060, 10061, 11001})
_NETWORK_WORDS = (
    "tcp provider",
    "named pipes provider",
    "login timeout expired",
    "server was not found",
    "could not open a connection",
    "network-related",
    "unable to connect",
)


def classify_error(sqlstate: str | None, native_error: int | None, message: str) -> str:
    """Name the reason a connection failed, from the driver's SQLSTATE, error number and text.

    Returns ``"certificate rejected"``, ``"database missing"``, ``"login
    failed"``, ``"server not found"`` or ``"other"``.

    >>> classify_error("28000", 18456, "Login failed for user 'OnTimeApp'.")
    'login failed'
    """
    lowered = message.lower()
    if any(word in lowered for word in _CERTIFICATE_WORDS):
        return "certificate rejected"
    if native_error == 4060 or "cannot open database" in lowered:
        return "database missing"
    if native_error in (18452, 18456) or sqlstate == "28000" or "login failed" in lowered:
        return "login failed"
    if (
        sqlstate in _NETWORK_STATES
        or native_error in _NETWORK_ERRORS
        or any(word in lowered for word in _NETWORK_WORDS)
    ):
        return "server not found"
    return "other"


def connection_error(
    error: BaseException, target: Target, *, database: str | None = None
) -> ConnectionFailedError:
    """Turn a driver error raised while connecting into a plain :class:`ConnectionFailedError`.

    The message names the server, database and login, the reason and what
    to do next. Passwords in the driver's text are masked.
    """
    settings = _settings_of(target)
    if database is not None:
        settings = settings.with_database(database)
    original = getattr(error, "orig", None) or error
    text = str(original)
    if settings.password:
        text = text.replace(settings.password, MASK)
    text = _mask_text(text)

    args = getattr(original, "args", ())
    sqlstate = args[0] if args and isinstance(args[0], str) and len(args[0]) == 5 else None
    if sqlstate is None and (state_match := _SQLSTATE.search(text)):
        sqlstate = state_match.group(1)
    native_match = _NATIVE_ERROR.search(text)
    native_error = int(native_match.group(1)) if native_match else None

    reason = classify_error(sqlstate, native_error, text)
    where = settings.describe()
    advice = {
        "login failed": "check the login name and password"
        + (f"; {KERBEROS_HINT}" if settings.integrated_security else ""),
        "server not found": "check the server name, the instance name or port, that SQL "
        "Server accepts TCP/IP connections and that no firewall blocks the port",
        "database missing": f"the database {settings.database!r} does not exist or the login "
        "may not open it; list the server's OnTime databases with `ontime-db discover`",
        "certificate rejected": "the client does not trust the server's TLS certificate; "
        "install a trusted certificate on the server or, for a test server with a "
        "self-signed certificate, add trustServerCertificate=true to the extra parameters",
        "other": "see the driver's message",
    }[reason]
    return ConnectionFailedError(
        f"connecting to {where} failed ({reason}): {advice}. Driver message: {text}",
        reason=reason,
        database=settings.database,
    )
