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

from ._drivers import INSTALL_HINT, MSSQL_PYTHON_HINT, find_odbc_driver
from ._engines import (
    PASSWORD_VARIABLE,
    ConnectionCheck,
    check_connection,
    connect,
    database_of,
    describe,
    engine_for,
    engine_scope,
)
from ._failures import KERBEROS_HINT, classify_error, connection_error
from ._masking import MASK
from ._settings import DRIVERS, SERVER_DATABASE, ConnectionSettings, Target, settings_of

__all__ = [
    "DRIVERS",
    "INSTALL_HINT",
    "KERBEROS_HINT",
    "MASK",
    "MSSQL_PYTHON_HINT",
    "PASSWORD_VARIABLE",
    "SERVER_DATABASE",
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
    "find_odbc_driver",
    "settings_of",
]
