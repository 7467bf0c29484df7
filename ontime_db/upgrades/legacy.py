"""The T-SQL and the names of the legacy upgrade route (databases from before product 2.8).

The legacy route never changes the old database until the data has been
copied: it creates a new database, runs the create script there, adds the
application user to ``api_role``, and runs ``dbo.UPGRADE_<major>_<minor>``
in the new database with the old database's name. Only then is the old
database renamed aside and the new one given the old name.

Everything here is text or pure naming; nothing connects.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from ..quoting import check_name, quote_identifier, quote_string
from ..version import SchemaVersion

__all__ = [
    "API_ROLE",
    "CREATE_SCRIPT_VERSION",
    "INTEGRATED_SECURITY_USER",
    "LIST_UPGRADE_PROCEDURES",
    "RETURN_CODE_ERROR",
    "app_user_sql",
    "aside_name",
    "base_name",
    "create_database_sql",
    "create_scripts",
    "failed_name",
    "new_database_name",
    "procedures_in_script",
    "upgrade_procedure_sql",
]

# The schema version that the shipped create script (sql/ontimems/ontimems.sql) produces.
CREATE_SCRIPT_VERSION = SchemaVersion(25, 8)
API_ROLE = "api_role"
# The login of the application's Windows services under integrated security.
INTEGRATED_SECURITY_USER = "NT AUTHORITY\\SYSTEM"
# RAISERROR with a message text and no message id raises error number 50000.
RETURN_CODE_ERROR = 50000

LIST_UPGRADE_PROCEDURES = (
    "SELECT name FROM sys.procedures "
    "WHERE schema_id = SCHEMA_ID(N'dbo') AND name LIKE N'UPGRADE[_]%' ORDER BY name;"
)

_PROCEDURE_DEFINITION = re.compile(
    r"\bCREATE\s+(?:OR\s+ALTER\s+)?PROC(?:EDURE)?\s+(?:\[?dbo\]?\s*\.\s*)?\[?(UPGRADE_[0-9]+_[0-9]+)\]?",
    re.IGNORECASE,
)
_VERSION_SUFFIX = re.compile(r"\.[0-9]+\.[0-9]+$")


def create_scripts(sql_dir: Path) -> tuple[Path, Path]:
    """Return the create script and the script that defines the UPGRADE procedures."""
    return (sql_dir / "ontimems" / "ontimems.sql", sql_dir / "legacy" / "upgrade_procedures.sql")


def create_database_sql(name: str) -> str:
    """Build the statement that creates the new, empty database ``name``."""
    return f"CREATE DATABASE {quote_identifier(name)};"


def app_user_sql(login: str) -> str:
    """Build the batch that gives ``login`` a user in the current database and adds it to api_role.

    The user is created only when no user maps to the login yet. A login
    that owns the database maps to ``dbo``, which needs no role (and cannot
    join one), so the role membership is added only to a user of that name.
    ``ALTER ROLE ... ADD MEMBER`` for an existing member changes nothing.
    """
    user = quote_identifier(login, kind="login name")
    literal = quote_string(login)
    return (
        "IF NOT EXISTS (SELECT 1 FROM sys.database_principals "
        f"WHERE sid = SUSER_SID({literal}))\n"
        f"    CREATE USER {user} FOR LOGIN {user};\n"
        f"IF DATABASE_PRINCIPAL_ID({literal}) IS NOT NULL\n"
        f"    ALTER ROLE {quote_identifier(API_ROLE)} ADD MEMBER {user};"
    )


def upgrade_procedure_sql(version: SchemaVersion, old_database: str) -> str:
    """Build the batch that runs ``dbo.UPGRADE_<major>_<minor> @olddb`` and checks its return value.

    A return value other than 0 (or none) raises error 50000 naming the
    procedure and the value, so the batch fails like any server error.
    """
    procedure = version.upgrade_procedure
    return (
        "SET NOCOUNT ON;\n"
        "DECLARE @rc int;\n"
        f"EXEC @rc = [dbo].{quote_identifier(procedure, kind='procedure name')} "
        f"@olddb = {quote_string(check_name(old_database))};\n"
        "IF @rc IS NULL OR @rc <> 0\n"
        f"    RAISERROR(N'dbo.{procedure} returned %d; 0 means success', 16, 1, @rc);"
    )


def procedures_in_script(text: str) -> tuple[str, ...]:
    """Return the names of the UPGRADE procedures that a script creates, sorted."""
    names = {match.group(1).upper() for match in _PROCEDURE_DEFINITION.finditer(text)}
    return tuple(sorted(names, key=_procedure_order))


def _procedure_order(name: str) -> tuple[int, int]:
    _, major, minor = name.split("_")
    return int(major), int(minor)


def base_name(database: str) -> str:
    """Return ``database`` without a trailing ``.<major>.<minor>``.

    >>> base_name("ontimems.9.3")
    'ontimems'
    """
    return _VERSION_SUFFIX.sub("", database) or database


def new_database_name(database: str, target: SchemaVersion) -> str:
    """Name the new database after the target version, the vendor's style before 2.8.

    >>> new_database_name("ontimems", SchemaVersion(25, 8))
    'ontimems.25.8'
    >>> new_database_name("ontimems.9.3", SchemaVersion(25, 8))
    'ontimems.25.8'
    """
    return check_name(f"{base_name(database)}.{target}")


def aside_name(database: str, target: SchemaVersion, day: date) -> str:
    """Name the old database once it is renamed aside: ``<name>_before_<version>_<yyyymmdd>``."""
    return check_name(f"{database}_before_{target}_{day:%Y%m%d}")


def failed_name(database: str, moment: datetime) -> str:
    """Name the new database a failed upgrade leaves: ``<name>_failed_<yyyymmddHHMMSS>``."""
    return check_name(f"{database}_failed_{moment:%Y%m%d%H%M%S}")
