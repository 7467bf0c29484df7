"""Command-line verbs for T-SQL scripts: ``split`` shows the batches, ``run-script`` runs them."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import (
    EXIT_OK,
    EXIT_USAGE,
    add_connection_options,
    connection_settings,
    fail,
    name_value,
    pluralise,
    say,
    say_json,
    script_file,
)

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``split`` and ``run-script`` verbs to ``subparsers``."""
    split = subparsers.add_parser(
        "split",
        help="show the batches a T-SQL script is split into, without connecting",
        description=(
            "Split a T-SQL script on its GO lines as sqlcmd does and list each batch with "
            "its number, first line, repeat count and whether it may run in a transaction."
        ),
    )
    split.add_argument(
        "file", type=script_file, metavar="FILE", help="T-SQL script (UTF-8, or UTF-16 with BOM)"
    )
    _add_script_options(split)
    output = split.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the batches as JSON")
    output.add_argument(
        "--text", action="store_true", help="print each batch's text under its summary line"
    )
    split.set_defaults(handler=_split)

    run = subparsers.add_parser(
        "run-script",
        help="run a T-SQL script batch by batch, like sqlcmd",
        description=(
            "Run a T-SQL script on one connection, batch by batch, printing the server's "
            "messages in order. A script whose batches all may run in a transaction runs "
            "in one transaction that is committed at the end; any other script runs in "
            "autocommit mode."
        ),
    )
    run.add_argument(
        "file", type=script_file, metavar="FILE", help="T-SQL script (UTF-8, or UTF-16 with BOM)"
    )
    _add_script_options(run)
    run.add_argument(
        "--allow-mixed",
        action="store_true",
        help=(
            "run a script that mixes batches SQL Server rejects in a transaction (CREATE "
            "DATABASE, BACKUP ...) with other batches, in autocommit mode"
        ),
    )
    add_connection_options(run)
    run.set_defaults(handler=_run)


def _add_script_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--var",
        type=name_value,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of the sqlcmd variable $(NAME), as sqlcmd -v sets it (repeatable)",
    )
    parser.add_argument(
        "--placeholder",
        type=name_value,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value of the Flyway placeholder ${NAME} (repeatable)",
    )
    parser.add_argument(
        "--no-flyway-placeholders",
        action="store_true",
        help="leave ${name} as written, even in a Flyway migration file",
    )


def _load(args: argparse.Namespace) -> Any:
    from ..script import load

    return load(
        args.file,
        variables=dict(args.var),
        placeholders=dict(args.placeholder),
        flyway_placeholders=False if args.no_flyway_placeholders else None,
    )


def _split(args: argparse.Namespace) -> int:
    script = _load(args)
    if args.json:
        say_json(
            {
                "file": script.file,
                "transactional": script.transactional,
                "mixed": script.mixed,
                "batches": [
                    {
                        "number": batch.number,
                        "line": batch.line,
                        "repeat": batch.repeat,
                        "transactional": batch.transactional,
                        "text": batch.text,
                    }
                    for batch in script.batches
                ],
            }
        )
        return EXIT_OK

    for batch in script.batches:
        mode = "transaction" if batch.transactional else "autocommit only"
        say(f"batch {batch.number}: line {batch.line}, run {batch.repeat}x, {mode}")
        if args.text:
            say(batch.text)
            say()
    say(f"{pluralise(len(script.batches), 'batch')} in {script.file}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from ..connection import connect, describe
    from ..errors import MixedTransactionModeError
    from ..script import run
    from ..script.splitter import check_not_mixed

    # The script is read, split and checked first, so a fault in it shows
    # before the password prompt and before any connection.
    script = _load(args)
    if not args.allow_mixed:
        try:
            check_not_mixed(script, allow="--allow-mixed", mode="autocommit mode")
        except MixedTransactionModeError as error:
            fail(str(error))
            return EXIT_USAGE
    settings = connection_settings(args)
    transactional = script.transactional
    engine = connect(settings, autocommit=not transactional)
    batches = pluralise(len(script.batches), "batch")
    # Without --database the engine connects to master, so the line names it.
    target = settings if settings.database else settings.with_database("master")
    say(f"running {script.file} ({batches}) on {describe(target)}")

    def show(message: Any) -> None:
        say(message.text)

    try:
        # The engine from connect() raises ConnectionFailedError itself when connecting fails.
        with engine.connect() as connection:
            result = run(connection, script, on_message=show, allow_mixed=args.allow_mixed)
            if transactional:
                connection.commit()
    finally:
        engine.dispose()
    say(
        f"done: {pluralise(result.batches, 'batch')}, "
        f"{pluralise(result.executions, 'execution')}"
    )
    return EXIT_OK
