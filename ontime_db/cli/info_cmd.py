"""Command-line verbs ``check-connection``, ``info`` and ``discover``.

The handlers import SQLAlchemy and the library only when they run, so
``--help`` stays fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ._common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_connection_options,
    connection_settings,
    fail,
    say,
    say_json,
)

if TYPE_CHECKING:
    from ..detect import DetectedVersion, DiscoveredDatabase, VersionEvidence
    from ..version import SchemaVersion

__all__ = ["register"]

MIGRATIONS_UNAVAILABLE = "unknown (migration set unavailable)"


def register(subparsers: Any) -> None:
    """Add ``check-connection``, ``info`` and ``discover`` to ``subparsers``."""
    parser = subparsers.add_parser(
        "check-connection",
        help="test the connection, like the admin console's Test button",
        description=(
            "Connect to the server and print its version and edition, the login and "
            "whether the database exists. Exits with 1 and the reason when it fails."
        ),
    )
    add_connection_options(parser)
    parser.set_defaults(handler=_check_connection)

    parser = subparsers.add_parser(
        "info",
        help="show a database's schema version, its source and the pending migrations",
        description=(
            "Print the server, the database, its schema version and where that version "
            "was read, every version record found, the pending migrations and the "
            "add-on databases (Pollarity, Catering) on the server."
        ),
    )
    add_connection_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON for other tooling")
    parser.set_defaults(handler=_info)

    parser = subparsers.add_parser(
        "discover",
        help="list the OnTime databases on a server, with their versions",
        description=(
            "List the databases on the server that look like OnTime databases (main, "
            "Pollarity, Catering) with their schema versions; --database is not needed."
        ),
    )
    add_connection_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON for other tooling")
    parser.set_defaults(handler=_discover)


# -- check-connection ------------------------------------------------------------


def _check_connection(args: argparse.Namespace) -> int:
    from ..connection import check_connection

    settings = connection_settings(args)
    result = check_connection(settings)

    server = result.server
    say(f"server:   {server.server_name or settings.host}")
    say(f"version:  SQL Server {server.product_version} {server.product_level}".rstrip())
    say(f"edition:  {server.edition}")
    say(f"login:    {server.login}")
    if result.database is None:
        say("database: (none given)")
    elif result.database_exists:
        say(f"database: {result.database} (exists)")
    else:
        say(f"database: {result.database} (does not exist)")
        fail(
            f"database {result.database!r} does not exist on {settings.host}; "
            "`ontime-db discover` lists the server's OnTime databases"
        )
        return EXIT_FAILURE
    say("OK: the connection to the database works")
    return EXIT_OK


# -- info ------------------------------------------------------------------------


def _info(args: argparse.Namespace) -> int:
    from ..detect import detect_version, discover
    from ..errors import OnTimeDbError

    settings = connection_settings(args)
    detected = detect_version(settings)
    pending = _pending_migrations(detected.version)

    addon_problem = None
    try:
        addons = discover(settings, kinds=("pollarity", "catering"))
    except OnTimeDbError as error:
        addons = []
        addon_problem = str(error)

    data = _info_data(settings.describe(), detected, pending, addons, addon_problem)
    if args.json:
        say_json(data)
        return EXIT_OK

    say(f"server:   {data['server']}")
    say(f"database: {detected.database}")
    strength = " (weak: only the database name states it)" if detected.weak else ""
    say(f"version:  {detected.version} (from {detected.source}){strength}")
    say("evidence:")
    for item in detected.evidence:
        say(f"  {item}")
    if pending is None:
        say(f"pending migrations: {MIGRATIONS_UNAVAILABLE}")
    else:
        say(f"pending migrations: {', '.join(str(v) for v in pending) or 'none'}")
    if addon_problem is not None:
        say(f"add-on databases: unknown ({addon_problem})")
    elif not addons:
        say("add-on databases: none found")
    else:
        say("add-on databases:")
        for entry in addons:
            say(f"  {_discovered_line(entry)}")
    return EXIT_OK


def _pending_migrations(current: SchemaVersion) -> list[SchemaVersion] | None:
    """Return the migration set's versions above ``current``, or ``None`` if it cannot load."""
    from ..errors import OnTimeDbError
    from ..migration import known_versions

    try:
        known = known_versions()
    except OnTimeDbError:
        return None
    return [version for version in known if version > current]


def _info_data(
    server: str,
    detected: DetectedVersion,
    pending: list[SchemaVersion] | None,
    addons: list[DiscoveredDatabase],
    addon_problem: str | None,
) -> dict[str, Any]:
    return {
        "server": server,
        "database": detected.database,
        "version": str(detected.version),
        "source": detected.source,
        "weak": detected.weak,
        "evidence": [_evidence_data(item) for item in detected.evidence],
        "pending_migrations": None if pending is None else [str(v) for v in pending],
        "addons": [_discovered_data(entry) for entry in addons],
        "addons_problem": addon_problem,
    }


def _evidence_data(item: VersionEvidence) -> dict[str, Any]:
    return {
        "source": item.source,
        "version": None if item.version is None else str(item.version),
        "detail": item.detail,
    }


# -- discover --------------------------------------------------------------------


def _discover(args: argparse.Namespace) -> int:
    from ..detect import discover

    settings = connection_settings(args)
    found = discover(settings)
    if args.json:
        say_json([_discovered_data(entry) for entry in found])
        return EXIT_OK
    if not found:
        say(f"no OnTime databases found on {settings.host}")
        return EXIT_OK
    for entry in found:
        say(_discovered_line(entry))
    return EXIT_OK


def _discovered_line(entry: DiscoveredDatabase) -> str:
    if entry.version is not None:
        state = f"{entry.version} (from {entry.source})"
    else:
        state = f"version unknown: {entry.problem}"
    return f"{entry.name}  [{entry.kind}]  {state}"


def _discovered_data(entry: DiscoveredDatabase) -> dict[str, Any]:
    return {
        "name": entry.name,
        "kind": entry.kind,
        "version": None if entry.version is None else str(entry.version),
        "source": entry.source,
        "evidence": [_evidence_data(item) for item in entry.evidence],
        "problem": entry.problem,
    }
