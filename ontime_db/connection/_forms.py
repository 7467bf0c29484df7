"""Parsing of the connection forms: JDBC URLs, ODBC strings, SQLAlchemy URLs and server parts."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError
from ._masking import (
    URL_PASSWORD_HINT,
    contains_password_key,
    is_password_key,
    password_key_in,
    text_before_password,
)
from ._settings import ConnectionSettings

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

__all__ = [
    "apply_jdbc_properties",
    "jdbc_property_changes",
    "merge_jdbc_properties",
    "odbc_keywords",
    "parse_jdbc",
    "parse_odbc",
    "parse_sqlalchemy_url",
    "pop_key",
    "query_value",
    "split_server",
]

log = logging.getLogger(__name__)


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


def parse_sqlalchemy_url(text: str) -> URL:
    from sqlalchemy import exc
    from sqlalchemy.engine import make_url

    try:
        return make_url(text)
    except (exc.ArgumentError, ValueError) as error:
        raise ConfigurationError(
            f"invalid SQLAlchemy URL {text_before_password(text)!r}: expected "
            "mssql+pyodbc://user:password@host[:port]/database?driver=...; "
            + URL_PASSWORD_HINT
        ) from error


# Braces quote a value in both forms, and a '}' inside them is doubled.
# Microsoft's JDBC driver reads '}}' as '}' from version 8.4 on ("Escaping
# values in the connection URL" in its page "Building the connection URL").
# ODBC passes a braced value that contains ';' to the driver intact
# (SQLDriverConnect, "Comments", in the ODBC API reference).
# NOTE: for ODBC, '}}' as one '}' is the MS-ODBCSTR grammar as SQLAlchemy's
# pyodbc dialect applies it; no Microsoft page read for this code states it.
_BRACES_ADVICE = (
    "If the password contains ';' or '}}', write it in braces as {key}={{...}} and "
    "double each '}}' in it: the password a;b}}c is written {key}={{a;b}}}}c}}"
)


_NOT_SHOWN = "The text is not shown because it contains a password"


def _split_pairs(text: str, *, form: str) -> list[tuple[str, str]]:
    """Split ``key=value;key={va;lue}`` into pairs; braces quote a value, ``}}`` is ``}``.

    When ``text`` contains a password key, an error never shows a part of
    the text, because a password written without braces may continue past
    its ``;``. The error names the property the bad part follows instead.
    """
    secret = contains_password_key(text)
    pairs: list[tuple[str, str]] = []
    # The key of an earlier password whose value had no braces: a ';' in
    # that password splits it, and its rest shows up as a bad part later.
    unbraced_password: str | None = None
    position = 0
    while position < len(text):
        end_key = text.find("=", position)
        next_semicolon = text.find(";", position)
        if end_key == -1 or (next_semicolon != -1 and next_semicolon < end_key):
            end = next_semicolon if next_semicolon != -1 else len(text)
            chunk = text[position:end].strip()
            if chunk:
                previous = pairs[-1][0] if pairs else None
                raise _not_a_pair(
                    chunk,
                    form=form,
                    secret=secret,
                    previous=previous,
                    unbraced_password=unbraced_password,
                )
            position = end + 1
            continue

        key = text[position:end_key].strip()
        position = end_key + 1
        braced = text[position : position + 1] == "{"
        if braced:
            value, position = _read_braced(text, position + 1, key=key, form=form)
            if not is_password_key(key) and (swallowed := password_key_in(value)):
                raise _unclosed_brace(key, swallowed, form=form)
            rest = text.find(";", position)
            trailing = text[position : rest if rest != -1 else len(text)]
            if trailing.strip():
                raise _text_after_braces(trailing.strip(), key=key, form=form, secret=secret)
            position = (rest if rest != -1 else len(text)) + 1
        else:
            rest = text.find(";", position)
            value = text[position : rest if rest != -1 else len(text)].strip()
            position = (rest if rest != -1 else len(text)) + 1
        if not key:
            raise ConfigurationError(f"invalid {form}: a property has no name")
        if is_password_key(key):
            unbraced_password = None if braced else key
        pairs.append((key, value))
    return pairs


def _not_a_pair(
    chunk: str,
    *,
    form: str,
    secret: bool,
    previous: str | None,
    unbraced_password: str | None,
) -> ConfigurationError:
    if not secret:
        return ConfigurationError(f"invalid {form}: {chunk!r} is not a key=value pair")
    if unbraced_password is not None:
        return ConfigurationError(
            f"invalid {form}: the text after '{unbraced_password}=' has a ';' that is not "
            "inside braces, and the part after that ';' is not a key=value pair. "
            + _BRACES_ADVICE.format(key=unbraced_password)
            + f"; otherwise remove that part. {_NOT_SHOWN}"
        )
    where = "its first part" if previous is None else f"the part after property {previous}"
    return ConfigurationError(
        f"invalid {form}: {where} is not a key=value pair; remove it or write it as "
        f"key=value. {_NOT_SHOWN}"
    )


def _text_after_braces(
    trailing: str, *, key: str, form: str, secret: bool
) -> ConfigurationError:
    if not secret:
        return ConfigurationError(
            f"invalid {form}: unexpected {trailing!r} after the braced value of {key}"
        )
    if is_password_key(key):
        return ConfigurationError(
            f"invalid {form}: the braced value of {key} ends at a '}}' that is followed by "
            f"more text before the next ';'. {_BRACES_ADVICE.format(key=key)}. {_NOT_SHOWN}"
        )
    return ConfigurationError(
        f"invalid {form}: unexpected text after the braced value of {key}. {_NOT_SHOWN}"
    )


def _unclosed_brace(key: str, password_key: str, *, form: str) -> ConfigurationError:
    # A '{' that is never closed swallows the properties after it, the
    # password among them. The message shows no text after the password
    # key, because where the password ends cannot be known.
    return ConfigurationError(
        f"invalid {form}: the '{{' after {key}= has no closing '}}' before "
        f"'{password_key}=', so the value of {key} swallows the properties after it: "
        f"close it, as in {key}={{...}};. {_NOT_SHOWN}"
    )


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


def split_server(text: str, *, separators: str) -> tuple[str, str | None, int | None]:
    """Split ``host[\\instance][<sep>port]`` into its parts; ``tcp:`` prefixes are dropped.

    An IPv6 address may be written in brackets (``[::1]:1433``) or bare
    (``::1``, as JDBC's ``serverName`` property takes it). Either way the
    host is returned without brackets, as SQLAlchemy's ``URL.host`` keeps
    it, and a bare address is never split at its colons.
    """
    text = text.strip()
    if text.lower().startswith("tcp:"):
        text = text[4:]
    source = text
    port: int | None = None
    if text.startswith("["):
        closing = text.find("]")
        if closing == -1:
            raise ConfigurationError(
                f"invalid server {text!r}: the IPv6 address has no closing ']'"
            )
        address, rest = text[1:closing].strip(), text[closing + 1 :]
        instance: str | None = None
        if rest.startswith("\\"):
            rest = rest[1:]
            for separator in separators:
                if separator in rest:
                    rest, _, port_text = rest.rpartition(separator)
                    port = _parse_port(port_text, source=text)
                    break
            instance = _instance_name(rest, source=source)
        elif rest[:1] and rest[:1] in separators:
            port = _parse_port(rest[1:], source=text)
        elif rest.strip():
            raise ConfigurationError(
                f"invalid server {text!r}: unexpected {rest.strip()!r} after the IPv6 address"
            )
        return address, instance, port

    if text.count(":") > 1:
        # A bare IPv6 address: only a comma can separate a port from it.
        separators = separators.replace(":", "")
    for separator in separators:
        if separator in text:
            text, _, port_text = text.rpartition(separator)
            port = _parse_port(port_text, source=text + separator + port_text)
            break
    host, backslash, instance = text.partition("\\")
    return host.strip(), (_instance_name(instance, source=source) if backslash else None), port


def _instance_name(text: str, *, source: str) -> str:
    # Without this check a trailing backslash would quietly mean the default
    # instance. The server is quoted as typed, because repr() doubles a backslash.
    if not text.strip():
        raise ConfigurationError(
            f"invalid server '{source}': the instance name after '\\' is empty; write "
            "host\\INSTANCE for a named instance (for example localhost\\SQLEXPRESS), "
            "or only the host for the default instance"
        )
    return text.strip()


def _parse_port(text: str, *, source: str) -> int:
    # isdigit() alone also accepts digits such as '²' that int() rejects.
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit()) or not 0 < int(digits) < 65536:
        raise ConfigurationError(
            f"invalid port {text!r} in server {source!r}: expected a number from 1 to 65535"
        )
    return int(digits)


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


def parse_jdbc(text: str) -> ConnectionSettings:
    prefix = "jdbc:sqlserver://"
    if not text.lower().startswith(prefix):
        raise ConfigurationError(
            f"unsupported JDBC URL {text_before_password(text)!r}: expected "
            "jdbc:sqlserver://host..."
        )
    body = text[len(prefix) :]
    server_part, _, properties = body.partition(";")
    host, instance, port = split_server(server_part, separators=":")
    settings = ConnectionSettings(
        server=host or None,
        instance=instance,
        port=port,
        jdbc_without_properties=not properties.strip(" ;"),
    )
    return apply_jdbc_properties(settings, properties, form="JDBC URL")


def apply_jdbc_properties(
    settings: ConnectionSettings, text: str, *, form: str = "extra parameters"
) -> ConnectionSettings:
    """Apply JDBC connection properties, such as the admin console's extra parameters.

    Property names are case-insensitive and may appear once. A property
    with no ODBC equivalent is dropped with a warning naming it, and its
    name is kept in ``ignored_properties``.
    """
    return merge_jdbc_properties(settings, *jdbc_property_changes(text, form=form))


def merge_jdbc_properties(
    settings: ConnectionSettings,
    changes: dict[str, Any],
    properties: dict[str, str],
    ignored: tuple[str, ...],
) -> ConnectionSettings:
    """Return ``settings`` with what :func:`jdbc_property_changes` read applied to it."""
    return replace(
        settings,
        properties=tuple({**dict(settings.properties), **properties}.items()),
        ignored_properties=settings.ignored_properties + ignored,
        **changes,
    )


def jdbc_property_changes(
    text: str, *, form: str = "extra parameters"
) -> tuple[dict[str, Any], dict[str, str], tuple[str, ...]]:
    """Read JDBC properties into settings field changes, ODBC keywords and ignored names.

    Raises :class:`~ontime_db.errors.ConfigurationError` for a property that
    appears twice or has an invalid value.
    """
    changes: dict[str, Any] = {}
    properties: dict[str, str] = {}
    ignored: list[str] = []
    seen: set[str] = set()

    for key, value in _split_pairs(text, form=form):
        name = key.lower()
        if name in seen:
            raise ConfigurationError(
                f"invalid {form}: property {key} appears twice; give each property once"
            )
        seen.add(name)

        if name == "servername":
            host, instance, port = split_server(value, separators=":")
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
            # have no plain ODBC keyword; they are dropped, not guessed. The
            # name logged may be the tail of an unbraced password (password=a;b=c).
            log.warning("ignoring JDBC property %s: the ODBC driver has no equivalent", key)
            ignored.append(key)

    return changes, properties, tuple(ignored)


def parse_odbc(text: str) -> ConnectionSettings:
    pairs = _split_pairs(text, form="ODBC connection string")
    keywords: dict[str, str] = {}
    for key, value in pairs:
        if key.lower() in (existing.lower() for existing in keywords):
            raise ConfigurationError(
                f"invalid ODBC connection string: keyword {key} appears twice"
            )
        keywords[key] = value
    return ConnectionSettings(**odbc_keywords(keywords))


def odbc_keywords(keywords: Mapping[str, str]) -> dict[str, Any]:
    """Map ODBC keywords (or SQLAlchemy URL query keys) to settings fields."""
    settings: dict[str, Any] = {}
    properties: list[tuple[str, str]] = []
    for key, value in keywords.items():
        name = key.lower()
        if name == "driver":
            settings["odbc_driver"] = value.strip("{}")
        elif name in ("server", "address", "addr", "data source"):
            host, instance, port = split_server(value, separators=",")
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


def pop_key(query: dict[str, str], wanted: str) -> str | None:
    for key in list(query):
        if key.lower() == wanted:
            return query.pop(key)
    return None


def query_value(value: str | tuple[str, ...]) -> str:
    return value if isinstance(value, str) else value[-1]
