"""The ``upgrade`` verb: plan the vendor upgrade, show the plan, confirm, and carry it out."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ._common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    add_connection_options,
    ask_yes_no,
    check_schema_versions,
    connection_settings,
    database_name,
    fail,
    login_name,
    new_file,
    product_version,
    say,
    schema_version,
    server_path,
)

if TYPE_CHECKING:
    from ..errors import UpgradeError
    from ..upgrades import UpgradeEvent, UpgradePlan, UpgradeReport

__all__ = ["register", "run"]

INTEGRATED_SECURITY_USER = "NT AUTHORITY\\SYSTEM"


def register(subparsers: Any) -> None:
    """Add the ``upgrade`` verb to ``subparsers``."""
    parser = subparsers.add_parser(
        "upgrade",
        help="upgrade an OnTime database from any product version, legacy route included",
        description=(
            "Plan the upgrade of an OnTime database, show the plan, and carry it out: "
            "before product 2.8 a new database receives the data through "
            "dbo.UPGRADE_<major>_<minor>; from 2.8 on the database is backed up and "
            "migrated. A failed run prints the rollback command."
        ),
    )
    add_connection_options(parser)
    group = parser.add_argument_group("upgrade")
    group.add_argument(
        "--from-product",
        type=product_version,
        metavar="VERSION",
        help="installed product version from the About box, e.g. 2.6.2; "
        "checked against the database's schema version",
    )
    group.add_argument(
        "--target",
        type=schema_version,
        metavar="VERSION",
        help="schema version to upgrade to (default: the newest in the migration set)",
    )
    group.add_argument(
        "--pollarity",
        type=database_name,
        nargs="?",
        const=True,
        default=False,
        metavar="DATABASE",
        help="create or upgrade the Pollarity database (default name: <database>_pollarity)",
    )
    group.add_argument(
        "--catering",
        type=database_name,
        nargs="?",
        const=True,
        default=False,
        metavar="DATABASE",
        help="create or upgrade the Catering database (default name: <database>_catering)",
    )
    group.add_argument(
        "--app-user",
        type=login_name,
        metavar="LOGIN",
        help="login of the application, added to role api_role in a new database "
        f"(default: the connection's login, or {INTEGRATED_SECURITY_USER} for "
        "integrated security)",
    )
    group.add_argument(
        "--backup-folder",
        type=server_path,
        metavar="PATH",
        help="folder on the SQL Server machine for the backup (default: the server's)",
    )
    group.add_argument(
        "--new-database",
        type=database_name,
        metavar="NAME",
        help="name of the new database on the legacy route (default: <database>.<target>)",
    )
    group.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    group.add_argument("--yes", "-y", action="store_true", help="carry out the plan without asking")
    group.add_argument(
        "--log-file",
        type=new_file,
        metavar="PATH",
        help="log file (default: upgrade-from-<version>.log in the current folder)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Plan and carry out the upgrade that ``args`` describe; return the exit status."""
    from ..errors import (
        ConfigurationError,
        OnTimeDbError,
        UpgradeCancelledError,
        UpgradeError,
    )
    from ..upgrades import plan_upgrade, upgrade

    check_schema_versions(None, target=args.target, start=None)
    settings = connection_settings(args)
    try:
        plan = plan_upgrade(
            settings,
            from_product=args.from_product,
            to=args.target,
            pollarity=args.pollarity,
            catering=args.catering,
            app_user=args.app_user,
            backup_folder=args.backup_folder,
            new_database=args.new_database,
        )
    except OnTimeDbError as error:
        # upgrade() opens the log only after planning, because the default
        # log name needs the version that planning reads from the database.
        fail(f"{error}; no log file was written because no upgrade step started")
        return EXIT_USAGE if isinstance(error, ConfigurationError) else EXIT_FAILURE
    no_question = _why_no_question()
    if not args.dry_run and plan.steps and not args.yes and no_question:
        say(plan.render())
        fail(
            f"not upgrading without confirmation: {no_question}; run again with --yes to "
            "carry out the plan above"
        )
        return EXIT_USAGE

    try:
        report = upgrade(
            settings,
            plan=plan,
            dry_run=args.dry_run,
            log_file=args.log_file,
            on_event=_print_event,
            confirm=None if args.yes or not plan.steps else _ask,
        )
    except UpgradeCancelledError as cancelled:
        say(str(cancelled))
        return EXIT_FAILURE
    except UpgradeError as error:
        _print_failure(error)
        return EXIT_FAILURE

    if args.dry_run:
        say("Dry run: nothing was changed.")
    elif plan.steps:
        _print_success(report)
    return EXIT_OK


def _why_no_question() -> str:
    """Say which standard stream is no terminal and what that prevents, or return ``""``.

    The answer comes from standard input; the plan and the question go to
    standard output.
    """
    stdin = sys.stdin.isatty()
    stdout = sys.stdout.isatty()
    if not stdin and not stdout:
        return (
            "neither standard input nor standard output is a terminal, so the question "
            "cannot be shown or answered"
        )
    if not stdin:
        return "standard input is not a terminal, so the question cannot be answered"
    if not stdout:
        return "standard output is not a terminal, so the question cannot be shown"
    return ""


def _print_event(event: UpgradeEvent) -> None:
    say(event.text)


def _ask(plan: UpgradePlan) -> bool:
    del plan
    say()
    return ask_yes_no("Carry out this plan?")


def _print_success(report: UpgradeReport) -> None:
    say()
    say("Upgrade finished.")
    for database, version in report.final_versions.items():
        say(f"  {database}: schema version {version}")
    for database, path in report.backups.items():
        say(f"  backup of {database} taken before the upgrade: {path}")
    if report.rollback_command:
        say(f"To return to the state before the upgrade: {report.rollback_command}")
    if report.log_file is not None:
        say(f"Log: {report.log_file}")


def _print_failure(error: UpgradeError) -> None:
    fail(str(error))
    say("Done:")
    for step in error.done:
        say(f"  {step.description}")
    say("Not done:")
    for step in error.not_done:
        say(f"  {step.description}")
    if error.rollback_command:
        say(f"To restore the starting state: {error.rollback_command}")
    else:
        say("Nothing needs restoring: no database that existed before was changed.")
