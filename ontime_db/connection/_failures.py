"""Classification of connection failures into a plain reason and advice."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import ConnectionFailedError, DriverNotLoadedError
from ._drivers import INSTALL_HINT
from ._masking import mask_password
from ._settings import settings_of

if TYPE_CHECKING:
    from ._settings import Target

__all__ = ["KERBEROS_HINT", "classify_error", "connection_error"]


KERBEROS_HINT = (
    "integrated security on Linux and macOS uses Kerberos: the ODBC driver needs a "
    "ticket for a Windows domain account, so run `kinit user@REALM` first "
    "(and check it with `klist`)"
)


_SQLSTATE = re.compile(r"\[([0-9A-Z]{5})\]")


_NATIVE_ERROR = re.compile(r"\((-?\d+)\)")


_CERTIFICATE_WORDS = ("certificate", "ssl provider", "ssl routines", "ssl security error", "tls")


_NETWORK_STATES = frozenset({"08001", "08S01", "HYT00"})


# The driver manager's own failures to load a driver: IM002 and IM003 in
# the ODBC API reference (SQLDriverConnect, "Diagnostics"). unixODBC reports
# a driver library it cannot load as SQLSTATE 01000 "Can't open lib"; 01000
# alone is only a general warning, so the text decides there.
_DRIVER_STATES = frozenset({"IM002", "IM003"})


_DRIVER_WORDS = (
    "can't open lib",
    "data source name not found",
    "specified driver could not be loaded",
)


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

    Returns ``"driver missing"``, ``"certificate rejected"``, ``"database
    missing"``, ``"login failed"``, ``"server not found"`` or ``"other"``.

    >>> classify_error("28000", 18456, "Login failed for user 'OnTimeApp'.")
    'login failed'
    """
    lowered = message.lower()
    if sqlstate in _DRIVER_STATES or any(word in lowered for word in _DRIVER_WORDS):
        return "driver missing"
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
    to do next. Password values in the driver's text are masked: always in
    key=value and URL forms, and as bare text from
    :data:`~ontime_db.connection._masking.MIN_BARE_PASSWORD` characters on.
    A driver that
    the ODBC driver manager cannot load gives a
    :class:`~ontime_db.errors.DriverNotLoadedError` with the install advice.
    """
    settings = settings_of(target)
    if database is not None:
        settings = settings.with_database(database)
    original = getattr(error, "orig", None) or error
    raw_text = str(original)
    text = mask_password(raw_text, settings.password)

    # The reason is read from the driver's own text, because masking can
    # change other words of it, and the reason shows no text.
    args = getattr(original, "args", ())
    sqlstate = args[0] if args and isinstance(args[0], str) and len(args[0]) == 5 else None
    if sqlstate is None and (state_match := _SQLSTATE.search(raw_text)):
        sqlstate = state_match.group(1)
    native_match = _NATIVE_ERROR.search(raw_text)
    native_error = int(native_match.group(1)) if native_match else None

    reason = classify_error(sqlstate, native_error, raw_text)
    where = settings.describe()
    driver = repr(settings.odbc_driver) if settings.odbc_driver else "the ODBC driver"
    advice = {
        "driver missing": f"the ODBC driver manager cannot load {driver}"
        + (f" or find the data source {settings.dsn!r}" if settings.dsn else "")
        + f". {INSTALL_HINT.rstrip('.')}",
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
    error_class = DriverNotLoadedError if reason == "driver missing" else ConnectionFailedError
    return error_class(
        f"connecting to {where} failed ({reason}): {advice}. Driver message: {text}",
        reason=reason,
        database=settings.database,
    )
