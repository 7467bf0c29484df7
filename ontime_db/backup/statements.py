"""The exact T-SQL that backup, restore and rename send, built without a server.

Statements that name a database or a path (BACKUP, RESTORE, ALTER DATABASE)
cannot take bound parameters, so every name goes through
:func:`~ontime_db.quoting.quote_identifier` and every path and text through
:func:`~ontime_db.quoting.quote_string`. Catalog queries use bound
parameters (``:name``) instead and contain no caller text at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ConfigurationError
from ..quoting import quote_identifier, quote_string

__all__ = [
    "DATABASE_FILES",
    "DATABASE_ID",
    "FILE_EXISTS",
    "HISTORY",
    "HISTORY_FOR_DATABASE",
    "REGISTRY_BACKUP_DIRECTORY",
    "SERVER_FACTS",
    "SERVICE_ACCOUNT",
    "SESSIONS",
    "STATS_PERCENT",
    "XP_FILE_EXIST",
    "backup_database",
    "filelist_only",
    "header_only",
    "modify_file_name",
    "modify_name",
    "restore_database",
    "set_multi_user",
    "set_single_user",
    "verify_only",
]

# BACKUP and RESTORE report progress every STATS_PERCENT percent.
STATS_PERCENT = 10

# SERVERPROPERTY returns sql_variant, which ODBC drivers do not all read, hence
# the casts. InstanceDefaultDataPath and InstanceDefaultLogPath exist since
# SQL Server 2012 (11.x), InstanceDefaultBackupPath since SQL Server 2019
# (15.x); an unknown property returns NULL rather than an error.
SERVER_FACTS = (
    "SELECT CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition, "
    "CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition, "
    "CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version, "
    "CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(4000)) AS backup_path, "
    "CAST(SERVERPROPERTY('InstanceDefaultDataPath') AS nvarchar(4000)) AS data_path, "
    "CAST(SERVERPROPERTY('InstanceDefaultLogPath') AS nvarchar(4000)) AS log_path, "
    "SYSDATETIME() AS server_time"
)

# Before SQL Server 2019 the default backup folder is only in the instance's
# registry key; xp_instance_regread maps the key to the current instance.
REGISTRY_BACKUP_DIRECTORY = (
    "EXEC master.dbo.xp_instance_regread N'HKEY_LOCAL_MACHINE', "
    "N'Software\\Microsoft\\MSSQLServer\\MSSQLServer', N'BackupDirectory'"
)

# sys.dm_os_file_exists exists since SQL Server 2017 (14.x) and is not
# documented by Microsoft. It checks the path with the service account's rights.
FILE_EXISTS = (
    "SELECT file_exists, file_is_a_directory, parent_directory_exists "
    "FROM sys.dm_os_file_exists(:path)"
)

# The same check for SQL Server 2016 and older, also undocumented; its columns
# are "File Exists", "File is a Directory" and "Parent Directory Exists".
XP_FILE_EXIST = "EXEC master.dbo.xp_fileexist :path"

# Needs VIEW SERVER STATE; the engine's own row is named "SQL Server (<instance>)".
SERVICE_ACCOUNT = (
    "SELECT TOP (1) service_account FROM sys.dm_server_services "
    "WHERE servicename LIKE N'SQL Server (%' ORDER BY servicename"
)

DATABASE_ID = "SELECT DB_ID(:name) AS database_id"

SESSIONS = (
    "SELECT session_id, login_name, host_name, program_name FROM sys.dm_exec_sessions "
    "WHERE database_id = DB_ID(:name) AND session_id <> @@SPID ORDER BY session_id"
)

DATABASE_FILES = (
    "SELECT name, physical_name, type_desc FROM sys.master_files "
    "WHERE database_id = DB_ID(:name) ORDER BY file_id"
)

# Full database backups (type 'D'), newest first. The variant for one
# database compares with a bound :database; a single query with
# ":database IS NULL OR ..." would need the driver to infer a type for NULL.
_HISTORY_SELECT = (
    "SELECT bs.backup_set_id, bs.database_name, bs.name, bs.description, bs.position, "
    "bs.backup_start_date, bs.backup_finish_date, bs.first_lsn, bs.last_lsn, "
    "bs.backup_size, bs.compressed_backup_size, bs.has_backup_checksums, bs.is_copy_only, "
    "bs.server_name, bmf.physical_device_name "
    "FROM msdb.dbo.backupset AS bs "
    "JOIN msdb.dbo.backupmediafamily AS bmf ON bmf.media_set_id = bs.media_set_id "
    "WHERE bs.type = 'D'"
)
_HISTORY_ORDER = " ORDER BY bs.backup_finish_date DESC, bs.backup_set_id DESC"
HISTORY = _HISTORY_SELECT + _HISTORY_ORDER
HISTORY_FOR_DATABASE = _HISTORY_SELECT + " AND bs.database_name = :database" + _HISTORY_ORDER


def backup_database(
    database: str,
    path: str,
    *,
    name: str,
    description: str,
    copy_only: bool = False,
    compression: bool | None = None,
) -> str:
    """Build ``BACKUP DATABASE`` to a new file, with checksums and progress messages.

    ``INIT`` overwrites the backup sets of an existing file, so the caller
    must pass a path that does not exist yet. ``compression`` ``None`` leaves
    the server's ``backup compression default`` in force and sends no
    option, which is the only choice an edition without compression accepts.
    """
    options = [
        f"NAME = {quote_string(name)}",
        f"DESCRIPTION = {quote_string(description)}",
        "CHECKSUM",
        "INIT",
    ]
    if copy_only:
        options.append("COPY_ONLY")
    if compression is True:
        options.append("COMPRESSION")
    elif compression is False:
        options.append("NO_COMPRESSION")
    options.append(f"STATS = {STATS_PERCENT}")
    return (
        f"BACKUP DATABASE {quote_identifier(database)} TO DISK = {quote_string(path)} "
        f"WITH {', '.join(options)}"
    )


def verify_only(path: str, *, position: int = 1) -> str:
    """Build ``RESTORE VERIFYONLY`` that also checks every page checksum."""
    return (
        f"RESTORE VERIFYONLY FROM DISK = {quote_string(path)} "
        f"WITH FILE = {_position(position)}, CHECKSUM, STATS = {STATS_PERCENT}"
    )


def header_only(path: str) -> str:
    """Build ``RESTORE HEADERONLY``: one row per backup set in the file."""
    return f"RESTORE HEADERONLY FROM DISK = {quote_string(path)}"


def filelist_only(path: str, *, position: int = 1) -> str:
    """Build ``RESTORE FILELISTONLY``: one row per database file in the backup set."""
    return (
        f"RESTORE FILELISTONLY FROM DISK = {quote_string(path)} "
        f"WITH FILE = {_position(position)}"
    )


def restore_database(
    database: str,
    path: str,
    *,
    moves: Sequence[tuple[str, str]],
    position: int = 1,
    replace: bool = False,
    checksum: bool = True,
) -> str:
    """Build ``RESTORE DATABASE`` with one ``MOVE`` per (logical name, server path).

    ``checksum`` makes the restore check the page checksums again; pass
    ``False`` for a backup written without ``CHECKSUM``, which SQL Server
    would otherwise reject.
    """
    options = [f"FILE = {_position(position)}"]
    options.extend(
        f"MOVE {quote_string(logical)} TO {quote_string(target)}" for logical, target in moves
    )
    if checksum:
        options.append("CHECKSUM")
    if replace:
        options.append("REPLACE")
    options.append("RECOVERY")
    options.append(f"STATS = {STATS_PERCENT}")
    return (
        f"RESTORE DATABASE {quote_identifier(database)} FROM DISK = {quote_string(path)} "
        f"WITH {', '.join(options)}"
    )


def set_single_user(database: str) -> str:
    """Build the statement that ends other sessions and keeps one connection in."""
    return f"ALTER DATABASE {quote_identifier(database)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE"


def set_multi_user(database: str) -> str:
    """Build the statement that lets every session back in."""
    return f"ALTER DATABASE {quote_identifier(database)} SET MULTI_USER"


def modify_name(old: str, new: str) -> str:
    """Build ``ALTER DATABASE ... MODIFY NAME``.

    >>> modify_name("ontimems.25.8", "ontimems")
    'ALTER DATABASE [ontimems.25.8] MODIFY NAME = [ontimems]'
    """
    return f"ALTER DATABASE {quote_identifier(old)} MODIFY NAME = {quote_identifier(new)}"


def modify_file_name(database: str, logical: str, new_logical: str) -> str:
    """Build ``ALTER DATABASE ... MODIFY FILE`` that renames one logical file."""
    return (
        f"ALTER DATABASE {quote_identifier(database)} MODIFY FILE "
        f"(NAME = {quote_string(logical)}, NEWNAME = {quote_string(new_logical)})"
    )


def _position(position: int) -> int:
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        raise ConfigurationError(
            f"invalid backup set position {position!r}: expected an integer >= 1"
        )
    return position
