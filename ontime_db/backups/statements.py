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
from ..quoting import quote_identifier, quote_string, utf16_length

__all__ = [
    "DATABASE_FILES",
    "DATABASE_ID",
    "DATABASE_STATE",
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
    "exclusive_rename",
    "exclusive_restore",
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
# BACKUP ... WITH NAME takes at most 128 characters and DESCRIPTION at most
# 255 (BACKUP (Transact-SQL), unchanged from SQL Server 2005 to 2022).
NAME_LIMIT = 128
DESCRIPTION_LIMIT = 255

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
# registry key; xp_instance_regread maps the key to the current instance and
# returns one row with the columns Value and Data. It is undocumented.
REGISTRY_BACKUP_DIRECTORY = (
    "EXEC master.dbo.xp_instance_regread N'HKEY_LOCAL_MACHINE', "
    "N'Software\\Microsoft\\MSSQLServer\\MSSQLServer', N'BackupDirectory'"
)

# sys.dm_os_file_exists exists since SQL Server 2017 (14.x), on Windows and
# Linux, and is not documented by Microsoft. It checks the path with the
# service account's rights.
FILE_EXISTS = (
    "SELECT file_exists, file_is_a_directory, parent_directory_exists "
    "FROM sys.dm_os_file_exists(:path)"
)

# The same check for SQL Server 2016 and older, also undocumented; its columns
# are "File Exists", "File is a Directory" and "Parent Directory Exists".
XP_FILE_EXIST = "EXEC master.dbo.xp_fileexist :path"

# sys.dm_server_services exists since SQL Server 2008 R2 SP1 and needs VIEW
# SERVER STATE; the engine's own row is named "SQL Server (<instance>)".
# NOTE: SQL Server on Linux runs no Windows service, and what this view
# returns there is not documented, so an empty or missing account is
# reported as unknown.
SERVICE_ACCOUNT = (
    "SELECT TOP (1) service_account FROM sys.dm_server_services "
    "WHERE servicename LIKE N'SQL Server (%' ORDER BY servicename"
)

DATABASE_ID = "SELECT DB_ID(:name) AS database_id"

DATABASE_STATE = "SELECT state_desc, user_access_desc FROM sys.databases WHERE name = :name"

# sys.dm_exec_sessions.database_id exists since SQL Server 2012. The
# library's own session (@@SPID) is left out; host_process_id is the client's
# process id, which identifies the caller's own pooled connections.
# Without VIEW SERVER STATE a login can list only its own session, and RESTORE or
# MODIFY NAME then report the others through error 3101 or 5030.
SESSIONS = (
    "SELECT session_id, login_name, host_name, host_process_id, program_name "
    "FROM sys.dm_exec_sessions "
    "WHERE database_id = DB_ID(:name) AND session_id <> @@SPID ORDER BY session_id"
)

# Physical files of every other database: a restore must not move a file
# onto one of them (for example onto the files of a database renamed aside).
FILES_OF_OTHER_DATABASES = (
    "SELECT physical_name FROM sys.master_files "
    "WHERE database_id <> ISNULL(DB_ID(:name), 0)"
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

    ``NOINIT`` appends: the file is created when it does not exist, and a
    file that appeared after the caller checked the path keeps its backup
    sets instead of being overwritten as ``INIT`` would do. ``compression``
    ``None`` leaves the server's ``backup compression default`` in force and
    sends no option, which is the only choice an edition without compression
    accepts. Raises :class:`~ontime_db.errors.ConfigurationError` for a name
    over 128 or a description over 255 UTF-16 code units.
    """
    # NAME and DESCRIPTION are nvarchar, so their limits count UTF-16 code
    # units: a character outside the BMP takes two.
    if utf16_length(name) > NAME_LIMIT:
        raise ConfigurationError(
            f"invalid backup set name {name!r}: {utf16_length(name)} UTF-16 code units, "
            f"BACKUP allows at most {NAME_LIMIT}"
        )
    if utf16_length(description) > DESCRIPTION_LIMIT:
        raise ConfigurationError(
            f"invalid backup description {description!r}: {utf16_length(description)} "
            f"UTF-16 code units, BACKUP allows at most {DESCRIPTION_LIMIT}"
        )
    options = [
        f"NAME = {quote_string(name)}",
        f"DESCRIPTION = {quote_string(description)}",
        "CHECKSUM",
        "NOINIT",
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


def verify_only(path: str, *, position: int = 1, checksum: bool = True) -> str:
    """Build ``RESTORE VERIFYONLY`` that also checks the backup and page checksums.

    Pass ``checksum=False`` for a backup set written without ``CHECKSUM``:
    ``WITH CHECKSUM`` makes SQL Server reject such a set (error 3187) instead
    of verifying what it can.
    """
    options = [f"FILE = {_position(position)}"]
    if checksum:
        options.append("CHECKSUM")
    options.append(f"STATS = {STATS_PERCENT}")
    return f"RESTORE VERIFYONLY FROM DISK = {quote_string(path)} WITH {', '.join(options)}"


def header_only(path: str) -> str:
    """Build ``RESTORE HEADERONLY``: one row per backup set in the file."""
    return f"RESTORE HEADERONLY FROM DISK = {quote_string(path)}"


def filelist_only(path: str, *, position: int = 1) -> str:
    """Build ``RESTORE FILELISTONLY``: one row per database file in the backup set."""
    return (
        f"RESTORE FILELISTONLY FROM DISK = {quote_string(path)} WITH FILE = {_position(position)}"
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
    """Build the statement that lets every session back in.

    ``ROLLBACK IMMEDIATE`` ends a stranger that took the one SINGLE_USER
    connection, which would otherwise make this statement fail (error 5064).
    """
    return f"ALTER DATABASE {quote_identifier(database)} SET MULTI_USER WITH ROLLBACK IMMEDIATE"


# SQL Server keeps a database in SINGLE_USER after the session that set it
# moves on, and then "a different user, but only one, can connect" ("Set a
# database to single-user mode", SQL Server 2016 to 2022). Sending the switch,
# the operation and the way back as one batch leaves an application no round
# trip in which to take that one connection. A failed RESTORE or MODIFY NAME
# ends only its own statement (severity 16), so the batch still reaches the
# last statement.


def exclusive_restore(database: str, restore: str) -> str:
    """Build one batch: SINGLE_USER, ``restore``, then MULTI_USER when still needed.

    The last statement acts only when the database is ONLINE in SINGLE_USER
    after the RESTORE, which is the case when the restore failed before it
    replaced the database.
    """
    return "; ".join(
        [
            set_single_user(database),
            restore,
            "IF EXISTS (SELECT 1 FROM sys.databases WHERE name = "
            f"{quote_string(database)} AND state_desc = N'ONLINE' "
            f"AND user_access_desc = N'SINGLE_USER') {set_multi_user(database)}",
        ]
    )


def exclusive_rename(old: str, new: str) -> str:
    """Build one batch: SINGLE_USER, ``MODIFY NAME``, then MULTI_USER under the name that exists."""
    return "; ".join(
        [
            set_single_user(old),
            modify_name(old, new),
            f"IF DB_ID({quote_string(new)}) IS NOT NULL {set_multi_user(new)} "
            f"ELSE {set_multi_user(old)}",
        ]
    )


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
