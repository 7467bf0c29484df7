"""sqlcmd features of a script: ``:setvar``, ``$(NAME)``, Flyway ``${name}``, other commands, USE.

Variable names are case-insensitive, as in sqlcmd. Values given by the
caller (``variables=``, the command line's ``--var``) rank below ``:setvar``
lines in the script, because sqlcmd ranks ``-v X=Y`` below ``:setvar X Y``
("Variable precedence", https://learn.microsoft.com/sql/tools/sqlcmd/sqlcmd-use-scripting-variables).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from ..errors import ConfigurationError, DirectiveError, VariableError
from ..quoting import quote_identifier
from .lexer import first_code, where

__all__ = ["Substitution", "check_use_choice", "parse_command", "retarget_use"]

_SQLCMD_VARIABLE = re.compile(r"\$\(([^()\s'\"]*)\)")
_FLYWAY_PLACEHOLDER = re.compile(r"\$\{([^{}\s]*)\}")
_SETVAR = re.compile(r"""(?is)setvar(?:[ \t]+(?P<name>[^\s'"]+)(?:[ \t]+(?P<value>.*?))?)?[ \t]*""")
_ON_ERROR = re.compile(r"(?is)on[ \t]+error[ \t]+(?P<action>\w+)[ \t]*")
# Every sqlcmd command of https://learn.microsoft.com/sql/tools/sqlcmd/sqlcmd-utility
# ("sqlcmd commands"); the ones not handled here are rejected by name.
_KNOWN_COMMANDS = frozenset(
    {"connect", "ed", "error", "exit", "help", "list", "listvar", "on", "out", "perftrace"}
    | {"quit", "r", "reset", "serverlist", "setvar", "xml"}
)


@dataclass
class Substitution:
    """Variable values and the rules for replacing ``$(NAME)`` and ``${name}`` in batch text."""

    file: str | None = None
    variables: Mapping[str, str] | None = None
    placeholders: Mapping[str, str] | None = None
    flyway_placeholders: bool = False
    database: str | None = None
    _values: dict[str, str] = field(default_factory=dict, init=False)
    _flyway: dict[str, str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for name, value in (self.variables or {}).items():
            self._values[name.casefold()] = str(value)
        self._flyway = {
            name.casefold(): str(value) for name, value in (self.placeholders or {}).items()
        }
        if self.file is not None:
            self._flyway.setdefault("flyway:filename", os.path.basename(self.file))
        if self.database is not None:
            self._flyway.setdefault("flyway:database", self.database)

    def setvar(self, name: str, value: str | None) -> None:
        """Set ``name`` as ``:setvar`` does; ``None`` removes the variable."""
        if value is None:
            self._values.pop(name.casefold(), None)
        else:
            self._values[name.casefold()] = value

    def apply(self, text: str, *, line: int) -> str:
        """Return ``text`` with its references replaced; ``text`` starts on file line ``line``."""
        if "$(" in text:
            text = self._replace(text, _SQLCMD_VARIABLE, self._values, line=line, flyway=False)
        if self.flyway_placeholders and "${" in text:
            text = self._replace(text, _FLYWAY_PLACEHOLDER, self._flyway, line=line, flyway=True)
        return text

    def _replace(
        self,
        text: str,
        pattern: re.Pattern[str],
        values: Mapping[str, str],
        *,
        line: int,
        flyway: bool,
    ) -> str:
        def value_of(match: re.Match[str]) -> str:
            name = match.group(1)
            value = values.get(name.casefold())
            if value is not None:
                return value
            at = line + text.count("\n", 0, match.start())
            raise VariableError(
                _undefined_message(name, at, file=self.file, flyway=flyway),
                name=name,
                file=self.file,
                line=at,
            )

        # NOTE: a value that contains a newline shifts the lines after it, so
        # server error lines after such a value point too far up in the file.
        return pattern.sub(value_of, text)


def _undefined_message(name: str, line: int, *, file: str | None, flyway: bool) -> str:
    if flyway:
        return (
            f"{where(file, line)}: Flyway placeholder ${{{name}}} has no value; pass "
            f"placeholders={{{name!r}: ...}}, or turn Flyway placeholders off "
            "(flyway_placeholders=False)"
        )
    return (
        f"{where(file, line)}: sqlcmd variable $({name}) is not defined; add "
        f"':setvar {name} VALUE' before this line, or pass variables={{{name!r}: ...}} "
        f"(--var {name}=VALUE on the command line)"
    )


def parse_command(command: str, *, file: str | None, line: int) -> tuple[str, str | None] | None:
    """Interpret one sqlcmd command line (without its leading ``:``, or starting with ``!!``).

    Returns ``(name, value)`` for ``:setvar``, ``None`` for a command that
    needs no action (``:on error exit``, which is what the runner does
    anyway). Raises :class:`~ontime_db.errors.DirectiveError` for every other
    command, naming it and the line, because the engine sends nothing but
    T-SQL and has no second connection, shell or output file.
    """
    if command.startswith("!!"):
        _reject("!!", "running operating-system commands", file=file, line=line)

    word = command.split(None, 1)[0].casefold() if command.strip() else ""
    if word == "setvar":
        return _parse_setvar(command, file=file, line=line)
    if word == "on":
        match = _ON_ERROR.fullmatch(command)
        if match is not None and match.group("action").casefold() == "exit":
            return None
        _reject(
            ":on error",
            "':on error ignore' (a failed batch always stops the run)",
            file=file,
            line=line,
        )
    if word in _KNOWN_COMMANDS:
        _reject(f":{word}", "the sqlcmd command", file=file, line=line)
    raise DirectiveError(
        f"{where(file, line)}: unknown sqlcmd command ':{command.strip()}'; remove the line, "
        "or run the script with sqlcmd",
        command=f":{word}",
        file=file,
        line=line,
    )


def _reject(command: str, what: str, *, file: str | None, line: int) -> NoReturn:
    raise DirectiveError(
        f"{where(file, line)}: {what} is not supported ({command}); remove the line or "
        "replace it with T-SQL, or run the script with sqlcmd",
        command=command,
        file=file,
        line=line,
    )


def _parse_setvar(command: str, *, file: str | None, line: int) -> tuple[str, str | None]:
    match = _SETVAR.fullmatch(command.rstrip())
    if match is None or match.group("name") is None:
        raise DirectiveError(
            f"{where(file, line)}: invalid :setvar line ':{command.strip()}'; expected "
            "':setvar NAME value' or ':setvar NAME \"value with spaces\"'",
            command=":setvar",
            file=file,
            line=line,
        )

    name, raw = match.group("name"), match.group("value")
    if raw is None or raw == "":
        return name, None
    if raw.startswith('"'):
        if len(raw) < 2 or not raw.endswith('"') or '"' in raw[1:-1].replace('""', ""):
            raise DirectiveError(
                f"{where(file, line)}: invalid :setvar value {raw!r}; a quoted value ends "
                'with " and writes a quote inside it as ""',
                command=":setvar",
                file=file,
                line=line,
            )
        return name, raw[1:-1].replace('""', '"')
    if any(character.isspace() for character in raw):
        raise DirectiveError(
            f"{where(file, line)}: invalid :setvar value {raw!r}; put a value with spaces "
            "in double quotes: :setvar " + name + ' "' + raw + '"',
            command=":setvar",
            file=file,
            line=line,
        )
    return name, raw


# Matched only at the batch's first code (lexer.first_code), so a USE inside a
# comment or after another statement is never taken for the leading one.
_USE = re.compile(
    r"""(?i)use(?P<space>\s*)"""
    r"""(?P<name>\[[^\]]*(?:\]\][^\]]*)*\]|"[^"]*(?:""[^"]*)*"|[^\s;\[\]"'/-]+)"""
)


def retarget_use(
    text: str,
    *,
    use: str,
    database: str | None,
    file: str | None,
    line: int,
) -> str:
    """Apply the ``use`` choice to a leading ``USE`` statement of ``text`` (the first batch).

    ``"keep"`` returns ``text`` unchanged; ``"retarget"`` puts ``database``
    in place of the name; ``"reject"`` raises
    :class:`~ontime_db.errors.DirectiveError` when the name is another
    database than ``database``. A ``USE`` that is not the first statement
    is left alone.
    """
    check_use_choice(use, database)
    if use == "keep" or database is None:
        return text

    match = _USE.match(text, first_code(text))
    if match is None or (match.group("space") == "" and match.group("name")[0] not in '["'):
        return text
    name = _unquote(match.group("name"))
    if use == "retarget":
        return text[: match.start("name")] + quote_identifier(database) + text[match.end("name") :]

    if name.casefold() != database.casefold():
        at = line + text.count("\n", 0, match.start("name"))
        raise DirectiveError(
            f"{where(file, at)}: the script starts with USE {match.group('name')}, but it "
            f"must run in database {database!r}; correct the USE line, or let the script "
            "follow the target database (use='retarget')",
            command="USE",
            database=database,
            file=file,
            line=at,
        )
    return text


def check_use_choice(use: str, database: str | None) -> None:
    """Raise :class:`~ontime_db.errors.ConfigurationError` for an invalid ``use`` option."""
    if use not in ("keep", "retarget", "reject"):
        raise ConfigurationError(f"invalid use={use!r}: expected 'keep', 'retarget' or 'reject'")
    if use != "keep" and database is None:
        raise ConfigurationError(f"use={use!r} needs the target database: pass database='NAME'")


def _unquote(name: str) -> str:
    if name.startswith("["):
        return name[1:-1].replace("]]", "]")
    if name.startswith('"'):
        return name[1:-1].replace('""', '"')
    return name
