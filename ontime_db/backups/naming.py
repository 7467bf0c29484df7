"""Names of backup files and of restored data files, as server-side path strings.

Every path here is a path on the SQL Server's machine. That machine may run
Windows (``C:\\SqlServerBackups``) or Linux (``/var/opt/mssql/backups``)
whatever the client runs, so paths are joined as strings in the server's own
separator style and never passed through :mod:`os.path` or :mod:`pathlib`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..errors import BackupError

__all__ = [
    "DEFAULT_DATABASE",
    "VENDOR_FOLDER",
    "DataFile",
    "backup_file_name",
    "join_server_path",
    "moved_files",
    "new_logical_names",
    "safe_file_part",
    "separator_of",
    "unique_backup_path",
]

# The vendor's default database name since product 2.8; its backups carry no name part.
DEFAULT_DATABASE = "ontimems"
# The folder the vendor's migration tool requires on the SQL Server's machine.
VENDOR_FOLDER = "C:\\SqlServerBackups"
# Suffixes -2 .. -99 are tried before giving up on a free file name.
MAX_SUFFIX = 99

# Characters Windows rejects in file names, plus control characters.
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class DataFile:
    """One file of a backup as ``RESTORE FILELISTONLY`` lists it.

    ``file_type`` is the listing's ``Type`` column: ``D`` data, ``L`` log,
    ``F`` full-text catalog, ``S`` FILESTREAM or memory-optimized container.
    """

    logical_name: str
    physical_name: str
    file_type: str


def separator_of(path: str) -> str:
    """Return ``\\`` for a Windows server path and ``/`` for a Linux one.

    >>> separator_of("C:\\\\Backups")
    '\\\\'
    >>> separator_of("/var/opt/mssql/data/")
    '/'
    """
    if _WINDOWS_DRIVE.match(path) or path.startswith("\\\\") or "\\" in path:
        return "\\"
    return "/"


def join_server_path(folder: str, name: str) -> str:
    """Join ``folder`` and a file ``name`` with the folder's own separator.

    >>> join_server_path("/var/opt/mssql/backups/", "OnTime(2026-12-04-193000).bak")
    '/var/opt/mssql/backups/OnTime(2026-12-04-193000).bak'
    """
    if not folder:
        raise BackupError("empty server folder: expected a path such as C:\\SqlServerBackups")
    separator = separator_of(folder)
    if folder.endswith(("\\", "/")):
        return folder + name
    return folder + separator + name


def safe_file_part(name: str) -> str:
    """Return ``name`` with characters Windows rejects in file names replaced by ``_``.

    >>> safe_file_part("we:ird/name")
    'we_ird_name'
    """
    return _UNSAFE.sub("_", name)


def backup_file_name(database: str, when: datetime, *, attempt: int = 1) -> str:
    """Return the vendor-style file name of a backup of ``database`` taken at ``when``.

    The default database gets the vendor's own ``OnTime(<date>-<time>).bak``;
    any other database name goes after ``OnTime-`` so backups of several
    databases in one folder stay apart. ``attempt`` 2 and above append
    ``-2``, ``-3``... so an existing file is never reused.

    >>> backup_file_name("ontimems", datetime(2026, 12, 4, 19, 30))
    'OnTime(2026-12-04-193000).bak'
    >>> backup_file_name("my db", datetime(2026, 12, 4, 19, 30), attempt=2)
    'OnTime-my db(2026-12-04-193000)-2.bak'
    """
    stamp = when.strftime("%Y-%m-%d-%H%M%S")
    prefix = "OnTime" if database == DEFAULT_DATABASE else f"OnTime-{safe_file_part(database)}"
    suffix = "" if attempt == 1 else f"-{attempt}"
    return f"{prefix}({stamp}){suffix}.bak"


def unique_backup_path(
    folder: str, database: str, when: datetime, *, exists: Callable[[str], bool]
) -> str:
    """Return the first backup path in ``folder`` for which ``exists`` is false.

    ``exists`` checks on the server whether a file is there. Raises
    :class:`~ontime_db.errors.BackupError` when the names up to suffix ``-99``
    are all taken.
    """
    for attempt in range(1, MAX_SUFFIX + 1):
        path = join_server_path(folder, backup_file_name(database, when, attempt=attempt))
        if not exists(path):
            return path
    raise BackupError(
        f"no free backup file name in {folder!r} for database {database!r} at "
        f"{when:%Y-%m-%d %H:%M:%S}: {MAX_SUFFIX} names are taken; "
        "move old backups away or pass another folder",
        database=database,
    )


def _derived_names(base: str, files: Sequence[DataFile]) -> list[str]:
    """Name each file after ``base``: ``<b>``, ``<b>_log``, ``<b>_2``, ``<b>_log2``."""
    data_count = 0
    log_count = 0
    names: list[str] = []
    for file in files:
        if file.file_type == "L":
            log_count += 1
            names.append(f"{base}_log" if log_count == 1 else f"{base}_log{log_count}")
        else:
            data_count += 1
            names.append(base if data_count == 1 else f"{base}_{data_count}")
    return names


def moved_files(
    target: str, files: Sequence[DataFile], *, data_folder: str, log_folder: str
) -> list[tuple[DataFile, str]]:
    """Pair each file of a backup with its new server path for a restore as ``target``.

    The first data file becomes ``<target>.mdf``, the first log file
    ``<target>_log.ldf``, further data files ``<target>_<n>.ndf`` and further
    log files ``<target>_log<n>.ldf``. Full-text and FILESTREAM entries are
    folders and get no extension. Because every name derives from the target
    name, a restore beside the original database never reuses its files.
    """
    pairs: list[tuple[DataFile, str]] = []
    first_data = True
    physical = _derived_names(safe_file_part(target), files)
    for file, name in zip(files, physical, strict=True):
        if file.file_type == "L":
            path = join_server_path(log_folder, name + ".ldf")
        elif file.file_type == "D":
            path = join_server_path(data_folder, name + (".mdf" if first_data else ".ndf"))
            first_data = False
        else:
            path = join_server_path(data_folder, name)
        pairs.append((file, path))
    return pairs


def new_logical_names(target: str, files: Sequence[DataFile]) -> list[tuple[str, str]]:
    """Pair each logical file name with the one a database called ``target`` gets.

    The scheme is the one :func:`moved_files` uses for physical names, without
    extensions: ``ontimems.25.8`` and ``ontimems.25.8_log`` become
    ``ontimems`` and ``ontimems_log``. Pairs whose name does not change are
    left out.
    """
    renamed = zip(files, _derived_names(target, files), strict=True)
    return [(file.logical_name, new) for file, new in renamed if file.logical_name != new]
