"""Pieces shared by the command-line verbs: connection options, option types, prompts, output.

User-facing output goes through :func:`say` and :func:`fail` only; the library
layers log through :mod:`logging` and never print. The option types check a
value while argparse parses it, so a bad value is a usage error that names
the option, before any connection or prompt.
"""

from __future__ import annotations

import argparse
import getpass
import json
import math
import os
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..connection import PASSWORD_VARIABLE

if TYPE_CHECKING:
    from ..connection import ConnectionSettings
    from ..version import SchemaVersion

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class PromptInterrupted(KeyboardInterrupt):
    """Ctrl-C at a question or at the password prompt, before the command changed anything."""


def say(text: str = "") -> None:
    """Print one line of user-facing output to standard output."""
    print(text, flush=True)


def fail(text: str) -> None:
    """Print an error line to standard error."""
    print(f"error: {text}", file=sys.stderr, flush=True)


def warn(text: str) -> None:
    """Print a warning line to standard error."""
    print(f"warning: {text}", file=sys.stderr, flush=True)


def say_json(data: Any) -> None:
    """Print ``data`` as indented JSON for other tooling."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str), flush=True)


def is_terminal() -> bool:
    """Return whether standard output is an interactive terminal."""
    return sys.stdout.isatty()


def ask_yes_no(question: str) -> bool:
    """Ask ``question`` on the terminal and return whether the answer is yes.

    Only ``y`` and ``yes`` (any case) count as yes. End of input (Ctrl-D, or
    Ctrl-Z Enter on Windows) counts as no. Ctrl-C raises
    :class:`PromptInterrupted`, so the caller can say that nothing was changed.
    """
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        # The prompt line has no line break yet; the next output needs its own line.
        say()
        return False
    except KeyboardInterrupt:
        say()
        raise PromptInterrupted from None
    return answer.strip().lower() in {"y", "yes"}


def check_schema_versions(
    migrations: str | None,
    *,
    target: SchemaVersion | None,
    start: SchemaVersion | None,
    start_text: str | None = None,
) -> None:
    """Reject a ``--target`` or ``--from`` that the migration set lacks, before connecting.

    ``migrations`` is the ``--migrations`` folder, ``None`` for the shipped set.
    ``start_text`` is ``--from`` as typed ('25'), which the message shows in
    place of the parsed version ('25.0').
    Loading the set reads files only and raises a
    :class:`~ontime_db.errors.ConfigurationError` for a folder that is no
    migration set, so a bad ``--migrations`` is rejected here too.
    """
    from ..errors import ConfigurationError
    from ..migration import load_set

    chain = load_set(migrations)
    known = chain.versions
    if target is not None and target not in known:
        listed = ", ".join(str(version) for version in known)
        raise ConfigurationError(
            f"argument --target: schema version {str(target)!r} is not in the migration set "
            f"{chain.directory} (known versions: {listed}); choose one of them, or leave "
            f"--target out for the newest, {chain.newest}"
        )
    if start is not None and start not in known:
        raise ConfigurationError(
            f"argument --from: {chain.unknown_message(start, shown=start_text)}"
        )
    if start is not None and target is not None and start > target:
        raise ConfigurationError(
            f"argument --from: schema version {str(start)!r} is newer than --target {target}: "
            "migrate does not downgrade; give a --from at or below --target"
        )


# -- option types ----------------------------------------------------------------
# Each raises argparse.ArgumentTypeError, so argparse prints
# "argument --NAME: MESSAGE" under the verb's usage line and exits with 2.


def schema_version(text: str) -> SchemaVersion:
    """Parse a schema version option such as ``--from 25.8``."""
    from ..errors import InvalidSchemaVersion
    from ..version import SchemaVersion

    try:
        return SchemaVersion.parse(text)
    except InvalidSchemaVersion as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def product_version(text: str) -> str:
    """Check ``--from-product`` against the vendor's upgrade starting points.

    Returns the text unchanged, because the upgrade planner takes the version
    as the About box shows it.
    """
    from ..errors import InvalidProductVersion
    from ..products import starting_point

    try:
        starting_point(text)
    except InvalidProductVersion as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def seconds(text: str) -> float:
    """Parse a duration option in seconds: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"invalid number of seconds {text!r}: expected a number >= 0, for example 60 or 2.5"
        )
    return value


def database_name(text: str) -> str:
    """Check a database name option with :func:`ontime_db.quoting.check_name`."""
    return _checked_name(text, "database name")


def login_name(text: str) -> str:
    """Check a login name option with :func:`ontime_db.quoting.check_name`."""
    return _checked_name(text, "login name")


def _checked_name(text: str, kind: str) -> str:
    from ..errors import InvalidNameError
    from ..quoting import check_name

    try:
        return check_name(text, kind=kind)
    except InvalidNameError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def server_path(text: str) -> str:
    """Check a path on the SQL Server's machine; only its form can be checked here."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"invalid path {text!r}: expected a file or folder path on the SQL Server's machine"
        )
    if "\x00" in text:
        raise argparse.ArgumentTypeError(f"invalid path {text!r}: it contains a NUL character")
    return text


def script_file(text: str) -> str:
    """Check that a local T-SQL script file exists and is a file."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(
            f"script file {text!r} does not exist; check the path "
            f"(the current folder is {str(Path.cwd())!r})"
        )
    if not path.is_file():
        raise argparse.ArgumentTypeError(
            f"script file {text!r} is not a file; give the path of a .sql file"
        )
    return text


def new_file(text: str) -> str:
    """Check that a local file can be created: its folder exists and the path is no folder."""
    path = Path(text)
    folder = path.parent
    if not text.strip():
        raise argparse.ArgumentTypeError(f"invalid file path {text!r}: expected a file name")
    if path.is_dir():
        raise argparse.ArgumentTypeError(
            f"invalid file path {text!r}: it is a folder; give a file name inside it"
        )
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(
            f"invalid file path {text!r}: the folder {str(folder)!r} does not exist; "
            "create it or choose another folder"
        )
    return text


def name_value(text: str) -> tuple[str, str]:
    """Split a ``NAME=VALUE`` option such as ``--var Db=ontimems``."""
    name, separator, value = text.partition("=")
    if not separator or not name.strip():
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected NAME=VALUE")
    return name.strip(), value


def pluralise(count: int, noun: str) -> str:
    """Return ``"1 batch"`` or ``"3 batches"``: the count and the noun in agreement."""
    if count == 1:
        return f"{count} {noun}"
    suffix = "es" if noun.endswith(("s", "sh", "ch", "x", "z")) else "s"
    return f"{count} {noun}{suffix}"


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
    """Add the options that name the server and database to work on."""
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
    group.add_argument(
        "--database", "-database", type=database_name, metavar="NAME", help="database name"
    )
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
        password=args.password,
        extra=args.extra,
        driver=args.driver,
        odbc_driver=args.odbc_driver,
    )
    # The environment is read only when no option or URL gave a password, so
    # a set ONTIME_DB_PASSWORD never conflicts with one given explicitly.
    environment_password = os.environ.get(PASSWORD_VARIABLE)
    if settings.needs_password and environment_password:
        settings = settings.with_password(environment_password)
    if settings.needs_password and sys.stdin.isatty():
        settings = settings.with_password(_ask_password(settings))
    return settings


def _ask_password(settings: ConnectionSettings) -> str:
    from ..errors import ConfigurationError

    # getpass writes its prompt to the terminal or to standard error, never to
    # standard output, so the line break after Ctrl-D or Ctrl-C goes to standard error.
    try:
        return getpass.getpass(f"Password for {settings.user} on {settings.server}: ")
    except EOFError:
        print(file=sys.stderr, flush=True)
        raise ConfigurationError(
            f"no password given for {settings.user} on {settings.server}; type it at the "
            f"prompt, or set {PASSWORD_VARIABLE}"
        ) from None
    except KeyboardInterrupt:
        print(file=sys.stderr, flush=True)
        raise PromptInterrupted from None
