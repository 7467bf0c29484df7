"""Pieces shared by the command-line verbs: connection options, output, exit codes.

User-facing output goes through :func:`say` and :func:`fail` only; the library
layers log through :mod:`logging` and never print.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..connection import ConnectionSettings

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

PASSWORD_VARIABLE = "ONTIME_DB_PASSWORD"


def say(text: str = "") -> None:
    """Print one line of user-facing output to standard output."""
    print(text, flush=True)


def fail(text: str) -> None:
    """Print an error line to standard error."""
    print(f"error: {text}", file=sys.stderr, flush=True)


def say_json(data: Any) -> None:
    """Print ``data`` as indented JSON for other tooling."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str), flush=True)


def is_terminal() -> bool:
    """Return whether standard output is an interactive terminal."""
    return sys.stdout.isatty()


def rearrange_vendor_arguments(arguments: Sequence[str], verbs: Collection[str]) -> list[str]:
    """Move the verb to the front of a command line written in the vendor tool's order.

    The vendor's ``otdbupdate -url=... migrate`` puts its options before the
    verb; pasting those options after ``python -m ontime_db`` must work too.
    Only options in the vendor's ``-name=value`` form are moved past, so an
    ordinary ``-v info`` keeps its meaning.
    """
    arguments = list(arguments)
    for index, argument in enumerate(arguments):
        if argument in verbs:
            before = arguments[:index]
            if before and all(_is_vendor_option(item) for item in before):
                return [argument, *before, *arguments[index + 1 :]]
            return arguments
    return arguments


def _is_vendor_option(argument: str) -> bool:
    return argument.startswith("-") and not argument.startswith("--") and "=" in argument


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that say which server and database to work on."""
    group = parser.add_argument_group(
        "connection",
        "Give --url (a SQLAlchemy URL, the vendor tool's jdbc:sqlserver:// URL or an "
        "ODBC connection string) or the admin console's parts.",
    )
    group.add_argument(
        "--url",
        "-url",
        metavar="URL",
        help="SQLAlchemy URL, jdbc:sqlserver:// URL or ODBC connection string",
    )
    group.add_argument("--server", metavar="HOST[\\INSTANCE][,PORT]", help="SQL Server host")
    group.add_argument("--database", "-database", metavar="NAME", help="database name")
    group.add_argument("--user", "-user", metavar="LOGIN", help="SQL Server login")
    group.add_argument(
        "--password",
        "-password",
        metavar="PASSWORD",
        help=f"password of the login; safer: set {PASSWORD_VARIABLE} or answer the prompt",
    )
    group.add_argument(
        "--extra",
        metavar="PROPERTIES",
        help="extra parameters as in the admin console, e.g. 'integratedSecurity=true;'",
    )
    group.add_argument(
        "--driver",
        choices=("pyodbc", "mssql-python"),
        default=None,
        help="Python driver (default: pyodbc)",
    )
    group.add_argument(
        "--odbc-driver",
        metavar="NAME",
        help="ODBC driver name (default: newest installed Microsoft ODBC Driver, then FreeTDS)",
    )


def connection_settings(args: argparse.Namespace) -> ConnectionSettings:
    """Build connection settings from the parsed options.

    A password comes from ``--password``, then ``ONTIME_DB_PASSWORD``, then
    a prompt when standard input is a terminal.
    """
    from ..connection import ConnectionSettings

    settings = ConnectionSettings.from_options(
        url=args.url,
        server=args.server,
        database=args.database,
        user=args.user,
        password=args.password or os.environ.get(PASSWORD_VARIABLE),
        extra=args.extra,
        driver=args.driver,
        odbc_driver=args.odbc_driver,
    )
    if settings.needs_password and sys.stdin.isatty():
        prompt = f"Password for {settings.user} on {settings.server}: "
        settings = settings.with_password(getpass.getpass(prompt))
    return settings
