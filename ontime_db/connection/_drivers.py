"""Lookup of the installed ODBC driver; pyodbc is imported here and only here."""

from __future__ import annotations

import importlib
import logging
import re

from ..errors import DriverNotFoundError

__all__ = ["INSTALL_HINT", "MSSQL_PYTHON_HINT", "find_odbc_driver"]

log = logging.getLogger(__name__)


_MICROSOFT_DRIVER = re.compile(r"^ODBC Driver (\d+) for SQL Server$")


_FREETDS = "FreeTDS"


INSTALL_HINT = (
    "Install unixODBC and Microsoft's ODBC Driver 18 for SQL Server: on Debian/Ubuntu "
    "`apt-get install unixodbc` and the `msodbcsql18` package from Microsoft's "
    "repository; on RHEL `dnf install unixODBC` and `msodbcsql18`; on Windows run "
    "the \"Microsoft ODBC Driver 18 for SQL Server\" installer. FreeTDS "
    "(`apt-get install tdsodbc`) works as a fallback. Or install mssql-python "
    "(`python -m pip install mssql-python`) and pass --driver mssql-python."
)


MSSQL_PYTHON_HINT = (
    "Install Microsoft's mssql-python driver with `python -m pip install mssql-python` "
    "(it brings its own ODBC layer), or use the default pyodbc driver."
)


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
