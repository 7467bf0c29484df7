"""The ``ontime-db`` / ``python -m ontime_db`` command line.

Each verb lives in its own module with a ``register(subparsers)`` function
that adds its parser and sets ``handler``. Parsing imports nothing heavy:
a handler imports SQLAlchemy and the library layers only when it runs, so
``--help`` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ._common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    PromptInterrupted,
    fail,
    rearrange_vendor_arguments,
)

__all__ = ["main"]

# The shell's status for a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130

# Modules that register verbs, in the order `--help` lists them.
COMMAND_MODULES = (
    "ontime_db.cli.migrate_cmd",
    "ontime_db.cli.upgrade_cmd",
    "ontime_db.cli.info_cmd",
    "ontime_db.cli.backup_cmd",
    "ontime_db.cli.script_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every verb registered."""
    return _build()[0]


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog="ontime-db",
        description=(
            "Upgrade, migrate, back up and roll back the SQL Server database of "
            "OnTime for Microsoft."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log each step to standard error (-vv adds debug detail)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser, dict(subparsers.choices)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status.

    0 means success, 1 a failed operation, 2 invalid usage, 130 Ctrl-C.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser, verbs = _build()
    try:
        args = _parse(parser, verbs, rearrange_vendor_arguments(arguments, verbs))
    except SystemExit as stop:
        return int(stop.code or 0) if isinstance(stop.code, int) else EXIT_USAGE

    _configure_logging(args.verbose)
    from ..errors import ConfigurationError, OnTimeDbError

    try:
        return int(args.handler(args))
    except ConfigurationError as error:
        fail(str(error))
        return EXIT_USAGE
    except OnTimeDbError as error:
        fail(str(error))
        return EXIT_FAILURE
    except PromptInterrupted:
        fail("interrupted; nothing was changed")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        fail("interrupted; see the log above for the state the operation left")
        return EXIT_INTERRUPTED


def _parse(
    parser: argparse.ArgumentParser,
    verbs: dict[str, argparse.ArgumentParser],
    arguments: list[str],
) -> argparse.Namespace:
    # argparse hands the arguments a verb does not know back to the top-level
    # parser, whose error would show the top-level usage line. The verb's own
    # usage line shows the options that do exist.
    args, unknown = parser.parse_known_args(arguments)
    if unknown:
        verbs[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


class _PlainWarnings(logging.Formatter):
    """Format a record as ``warning: message``, like the CLI's own ``error:`` lines."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _configure_logging(verbosity: int) -> None:
    # Without -v only warnings and errors appear, in the CLI's own plain form;
    # -v and -vv add timestamps and logger names for following each step.
    handler = logging.StreamHandler()
    if verbosity == 0:
        level = logging.WARNING
        handler.setFormatter(_PlainWarnings())
    else:
        level = logging.INFO if verbosity == 1 else logging.DEBUG
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    logging.basicConfig(level=level, handlers=[handler])


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ontime-db")
    except PackageNotFoundError:
        return "unknown"
