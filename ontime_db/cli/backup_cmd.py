"""Command-line verbs ``backup``, ``restore``, ``rename``, ``backups`` and ``rollback``.

Paths given here are paths on the SQL Server's machine. Each handler
imports the backup layer only when it runs, so ``--help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ._common import (
    EXIT_OK,
    add_connection_options,
    connection_settings,
    database_name,
    say,
    say_json,
    server_path,
)

if TYPE_CHECKING:
    from ..backups import BackupRecord

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the backup verbs to ``subparsers``."""
    _register_backup(subparsers)
    _register_restore(subparsers)
    _register_rename(subparsers)
    _register_backups(subparsers)
    _register_rollback(subparsers)


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="end other sessions in the database (SINGLE_USER WITH ROLLBACK IMMEDIATE)",
    )


def _register_backup(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backup",
        help="back up a database to a new file on the SQL Server's machine and verify it",
        description=(
            "Back up the database named by --database (or the URL) with CHECKSUM to a new "
            "file OnTime(<date>-<time>).bak, then verify it with RESTORE VERIFYONLY."
        ),
    )
    add_connection_options(parser)
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--folder",
        type=server_path,
        metavar="SERVER_PATH",
        help="folder on the SQL Server's machine (default: the instance's backup folder)",
    )
    where.add_argument(
        "--vendor-layout",
        action="store_true",
        help="write to C:\\SqlServerBackups, the folder the vendor's tools use",
    )
    parser.add_argument(
        "--copy-only",
        action="store_true",
        help="take a COPY_ONLY backup that leaves the server's own backup chain as it is",
    )
    parser.add_argument(
        "--compression",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compress the backup (default: when the edition supports it; Express does not)",
    )
    parser.add_argument(
        "--no-verify", action="store_true", help="skip RESTORE VERIFYONLY after the backup"
    )
    parser.add_argument(
        "--purpose",
        default="manual backup",
        help="text recorded with the backup in msdb (default: %(default)r)",
    )
    _add_json(parser)
    parser.set_defaults(handler=_backup)


def _register_restore(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="restore a backup file under a new or existing database name",
        description=(
            "Restore a .bak file on the SQL Server's machine. Data and log files go to the "
            "instance's default folders under names derived from --as."
        ),
    )
    parser.add_argument(
        "path", type=server_path, metavar="SERVER_PATH", help="backup file on the server"
    )
    parser.add_argument(
        "--as",
        dest="as_name",
        type=database_name,
        required=True,
        metavar="NAME",
        help="database name to restore as",
    )
    parser.add_argument(
        "--replace", action="store_true", help="overwrite the database if it exists"
    )
    _add_force(parser)
    add_connection_options(parser)
    _add_json(parser)
    parser.set_defaults(handler=_restore)


def _register_rename(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rename",
        help="rename a database, for example ontimems.25.8 to ontimems",
        description="Rename a database with ALTER DATABASE ... MODIFY NAME.",
    )
    parser.add_argument("old", type=database_name, metavar="OLD", help="current database name")
    parser.add_argument("new", type=database_name, metavar="NEW", help="new database name")
    parser.add_argument(
        "--files",
        action="store_true",
        help="also rename the logical file names after the new name",
    )
    _add_force(parser)
    add_connection_options(parser)
    _add_json(parser)
    parser.set_defaults(handler=_rename)


def _register_backups(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backups",
        help="list the full backups recorded in the server's msdb history",
        description=(
            "List full database backups from msdb, newest first: those of --database, "
            "or of every database when none is given."
        ),
    )
    add_connection_options(parser)
    _add_json(parser)
    parser.set_defaults(handler=_backups)


def _register_rollback(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rollback",
        help="restore the backup taken before the last migrate or upgrade",
        description=(
            "Verify and restore the newest backup of --database whose purpose starts with "
            "'before migrate' or 'before upgrade', replacing the database."
        ),
    )
    _add_force(parser)
    add_connection_options(parser)
    _add_json(parser)
    parser.set_defaults(handler=_rollback)


# -- handlers --------------------------------------------------------------------


def _progress_display() -> Any:
    from ..backups import ProgressLines, TerminalProgress

    if sys.stderr.isatty():
        return TerminalProgress(sys.stderr)
    return ProgressLines(sys.stderr)


def _backup(args: argparse.Namespace) -> int:
    from ..backups import backup

    record = backup(
        connection_settings(args),
        folder=args.folder,
        copy_only=args.copy_only,
        compression=args.compression,
        verify=not args.no_verify,
        vendor_layout=args.vendor_layout,
        purpose=args.purpose,
        on_progress=_progress_display(),
    )
    if args.json:
        say_json(record.as_dict())
        return EXIT_OK
    state = "verified" if record.verified else "not verified"
    say(f"backed up {record.database!r} to {record.path} ({_size(record)}, {state})")
    return EXIT_OK


def _restore(args: argparse.Namespace) -> int:
    from ..backups import restore

    result = restore(
        connection_settings(args),
        args.path,
        as_name=args.as_name,
        replace=args.replace,
        force=args.force,
        on_progress=_progress_display(),
    )
    if args.json:
        say_json(result.as_dict())
        return EXIT_OK
    say(f"restored {result.path} as {result.database!r}")
    for logical, path in result.files:
        say(f"  {logical} -> {path}")
    say(f"schema version: {result.schema_version or 'none (not an OnTime database?)'}")
    return EXIT_OK


def _rename(args: argparse.Namespace) -> int:
    from ..backups import rename
    from ..errors import ConfigurationError

    # Only an exact match is rejected: a change of case alone is a valid rename
    # under a case-insensitive collation, which only the server can tell.
    if args.old == args.new:
        raise ConfigurationError(
            f"the new name {args.new!r} is the current name; nothing to rename: give "
            "another NEW name"
        )
    result = rename(
        connection_settings(args), args.old, args.new, files=args.files, force=args.force
    )
    if args.json:
        say_json(result.as_dict())
        return EXIT_OK
    say(f"renamed database {result.old!r} to {result.new!r}")
    for old, new in result.files:
        say(f"  logical file {old!r} -> {new!r}")
    return EXIT_OK


def _backups(args: argparse.Namespace) -> int:
    from ..backups import list_backups

    records = list_backups(connection_settings(args), args.database)
    if args.json:
        say_json([record.as_dict() for record in records])
        return EXIT_OK
    if not records:
        say("no full backups recorded in msdb")
        return EXIT_OK
    for record in records:
        finished = f"{record.finished:%Y-%m-%d %H:%M:%S}" if record.finished else "?"
        purpose = record.purpose if record.made_by_ontime_db else "(other tool)"
        version = record.schema_version or "-"
        say(f"{finished}  {record.database}  {version}  {purpose}  {record.path}")
    return EXIT_OK


def _rollback(args: argparse.Namespace) -> int:
    from ..backups import rollback

    result = rollback(connection_settings(args), force=args.force, on_progress=_progress_display())
    if args.json:
        say_json(result.as_dict())
        return EXIT_OK
    say(
        f"rolled back {result.database!r} from {result.backup.path} "
        f"({result.backup.purpose}, finished {result.backup.finished})"
    )
    say(
        f"schema version: {result.version_before or 'none'} before, "
        f"{result.version_after or 'none'} after"
    )
    return EXIT_OK


def _size(record: BackupRecord) -> str:
    size = record.compressed_size or record.size
    if size is None:
        return "size unknown"
    return f"{size / 1_048_576:.1f} MB"
