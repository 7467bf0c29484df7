"""Command-line verbs ``migrate``, ``history`` and ``validate``.

The handlers import the migration engine only when they run, so ``--help``
stays fast.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING, Any

from ._common import (
    EXIT_FAILURE,
    EXIT_OK,
    add_connection_options,
    ask_yes_no,
    check_schema_versions,
    connection_settings,
    is_terminal,
    say,
    say_json,
    schema_version,
    seconds,
    server_path,
    warn,
)

if TYPE_CHECKING:
    from ..migration import StepEvent

__all__ = ["register"]

SKIP_CALLBACKS_HELP = (
    "accepted so the vendor tool's command line can be pasted as it is; ontime_db has no "
    "Flyway callbacks, so both values run the same migrations"
)


def register(subparsers: Any) -> None:
    """Add ``migrate``, ``history`` and ``validate`` to ``subparsers``."""
    _register_migrate(subparsers)
    _register_history(subparsers)
    _register_validate(subparsers)


def _add_migrations_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--migrations",
        metavar="DIR",
        help=(
            "migration set folder (env.py and versions/); its revisions name scripts in a "
            "sql/ folder beside it or above it; default: the shipped main set"
        ),
    )


def _register_migrate(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="bring a database to the newest (or a chosen) schema version",
        description=(
            "Run the migrations that bring the database to the newest schema version, or to "
            "--target, each in its own transaction, under an exclusive lock, after a "
            "copy-only backup. --sql prints the whole migration as one T-SQL script instead."
        ),
    )
    add_connection_options(parser)
    _add_migrations_option(parser)
    parser.add_argument(
        "--target",
        "--to",
        type=schema_version,
        metavar="VERSION",
        help="stop at this schema version (default: the newest in the migration set)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan and change nothing"
    )
    parser.add_argument(
        "--sql",
        action="store_true",
        help="print the T-SQL script for a DBA instead of running it; needs no server",
    )
    parser.add_argument(
        "--from",
        dest="from_version",
        action=_TypedVersion,
        metavar="VERSION",
        help="with --sql: the version the database is at (default: an empty database)",
    )
    parser.add_argument(
        "--lock-timeout",
        type=seconds,
        default=60.0,
        metavar="SECONDS",
        help="seconds to wait for another migration's lock (default: 60)",
    )
    parser.add_argument(
        "--no-backup", action="store_true", help="skip the copy-only backup before migrating"
    )
    parser.add_argument(
        "--backup-folder",
        type=server_path,
        metavar="SERVER_PATH",
        help="backup folder on the SQL Server's machine (default: the instance's own)",
    )
    parser.add_argument(
        "-skipDefaultCallbacks",
        "--skip-default-callbacks",
        dest="skip_default_callbacks",
        choices=("true", "false"),
        metavar="true|false",
        help=SKIP_CALLBACKS_HELP,
    )
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help=(
            "on a terminal migrate asks before changing the database; --yes skips the "
            "question; without a terminal it does not ask"
        ),
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=_migrate)


def _register_history(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history", help="print the migrations recorded in a database's audit table"
    )
    add_connection_options(parser)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.set_defaults(handler=_history)


def _register_validate(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="compare the applied migrations with the migration set; exit 1 on a mismatch",
    )
    add_connection_options(parser)
    _add_migrations_option(parser)
    parser.add_argument(
        "--ignore-pending",
        action="store_true",
        help="do not count migrations that are not applied yet as a mismatch",
    )
    parser.add_argument("--json", action="store_true", help="print the problems as JSON")
    parser.set_defaults(handler=_validate)


class _TypedVersion(argparse.Action):
    """Store a schema version option parsed, and the text as typed in ``<dest>_text``.

    Messages about the value then show it as the user wrote it (``'25'``,
    not ``'25.0'``).
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        try:
            version = schema_version(values)
        except argparse.ArgumentTypeError as error:
            raise argparse.ArgumentError(self, str(error)) from None
        setattr(namespace, self.dest, version)
        setattr(namespace, f"{self.dest}_text", values)


def _migrate(args: argparse.Namespace) -> int:
    from ..errors import ConfigurationError

    if args.from_version is not None and not args.sql:
        raise ConfigurationError("--from VERSION applies only with --sql; remove it or add --sql")
    if args.sql and args.dry_run:
        raise ConfigurationError("--sql and --dry-run exclude each other; choose one")
    if args.sql and args.json:
        raise ConfigurationError(
            "--sql and --json exclude each other: --json reports a migration that ran, --sql "
            "prints a script and runs nothing; choose one"
        )
    check_schema_versions(args.migrations, target=args.target, start=None)
    _check_from_version(args)
    if args.sql:
        return _render(args)

    from ..migration import migrate

    settings = connection_settings(args)
    # Without a terminal migrate does not ask, as the vendor's tool runs unattended.
    asks = not args.dry_run and not args.yes and sys.stdin.isatty()
    if asks:
        from ..migration import plan_migration

        # The question comes after the plan, so it is asked only when there is
        # something to do and the user sees what a yes starts.
        plan = plan_migration(settings, to=args.target, migrations=args.migrations)
        if plan.up_to_date:
            say(f"{plan.database or settings.describe()} is up to date at {plan.target}")
            return EXIT_OK
        for line in plan.describe():
            say(line)
        if not ask_yes_no(f"Migrate {settings.describe()}?"):
            say("nothing was changed")
            return EXIT_FAILURE
    # A MigrationFailedError reaches main(), which prints it and exits with 1.
    report = migrate(
        settings,
        to=args.target,
        migrations=args.migrations,
        lock_timeout=args.lock_timeout,
        dry_run=args.dry_run,
        backup=not args.no_backup,
        backup_folder=args.backup_folder,
        on_step=_progress_printer(),
    )
    if args.json:
        say_json(dataclasses.asdict(report))
    else:
        for line in report.describe():
            say(line)
    return EXIT_OK


def _check_from_version(args: argparse.Namespace) -> None:
    """Reject a ``--from`` that the migration set lacks, showing the value as typed."""
    check_schema_versions(
        args.migrations,
        target=args.target,
        start=args.from_version,
        start_text=getattr(args, "from_version_text", None),
    )


def _render(args: argparse.Namespace) -> int:
    from ..migration import load_set, render_sql
    from ..migration.chain import set_code_error

    ignored = [
        option
        for option, value in (
            ("--server", args.server),
            ("--user", args.user),
            ("--password", args.password),
        )
        if value is not None
    ]
    if ignored:
        warn(f"--sql connects to no server, so it ignores {', '.join(ignored)}")
    database = args.database
    if database is None and args.url:
        from ..connection import ConnectionSettings

        database = ConnectionSettings.parse(args.url).database
    if database is None and args.from_version is not None:
        warn("the script has no USE line: run it in the database to migrate, or give --database")
    try:
        script = render_sql(
            from_version=args.from_version,
            to=args.target,
            migrations=args.migrations,
            database=database,
        )
    except (ImportError, SyntaxError, NameError, AttributeError) as error:
        # Alembic runs env.py only now; the errors of Python code that loads
        # go back to the set's files. Other errors are bugs and keep their traceback.
        raise set_code_error(load_set(args.migrations).directory, error) from error
    sys.stdout.write(script)
    return EXIT_OK


def _progress_printer() -> Any:
    terminal = is_terminal()

    def on_step(event: StepEvent) -> None:
        prefix = f"[{event.number}/{event.total}] {event.version} {event.description}"
        if event.phase == "start":
            # On a terminal the line is finished by the "done" event.
            if terminal:
                sys.stdout.write(f"{prefix} ...")
                sys.stdout.flush()
            return
        outcome = "failed" if event.phase == "failed" else f"done in {event.duration_ms} ms"
        if terminal:
            sys.stdout.write(f"\r{prefix} {outcome}\n")
            sys.stdout.flush()
        else:
            say(f"{prefix} {outcome}")

    return on_step


def _history(args: argparse.Namespace) -> int:
    from ..migration import history

    rows = history(connection_settings(args))
    if args.json:
        say_json([dataclasses.asdict(row) for row in rows])
        return EXIT_OK
    if not rows:
        say("no migrations recorded: the database has no ontime_db_history rows")
        return EXIT_OK
    say(f"{'rank':>4}  {'version':<8} {'type':<9} {'success':<7} {'ms':>7}  "
        f"{'installed on':<19}  installed by  description")
    for row in rows:
        milliseconds = "" if row.execution_time is None else str(row.execution_time)
        say(
            f"{row.installed_rank:>4}  {row.version!s:<8} {row.type:<9} "
            f"{'yes' if row.success else 'NO':<7} {milliseconds:>7}  "
            f"{row.installed_on:%Y-%m-%d %H:%M:%S}  {row.installed_by}  {row.description}"
        )
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from ..migration import validate

    check_schema_versions(args.migrations, target=None, start=None)
    report = validate(connection_settings(args), migrations=args.migrations)
    problems = [
        problem
        for problem in report.problems
        if not (args.ignore_pending and problem.kind == "pending")
    ]
    if args.json:
        say_json([{"kind": p.kind, "version": str(p.version), "detail": p.detail}
                  for p in problems])
    elif not problems:
        say(f"{report.database}: the applied migrations match the migration set")
    else:
        for problem in problems:
            say(str(problem))
    return EXIT_OK if not problems else EXIT_FAILURE
