"""Split a T-SQL script into batches with sqlcmd's rules, in one pass over the text.

A compiled pattern finds the next position that matters: a block comment,
a line that starts with ``GO`` or a sqlcmd command, or a string left open.
Everything between those positions, strings and line comments included, is
plain text that the loop never visits, which keeps splitting at C speed for
most of the input.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, NamedTuple, NoReturn

from ..errors import MixedTransactionModeError, SeparatorError
from .classify import is_transactional
from .lexer import LineCounter, skip_block_comment, skip_quoted, where
from .loader import read_script
from .model import Batch, Script
from .sqlcmd import Substitution, check_use_choice, parse_command, retarget_use

__all__ = ["check_not_mixed", "is_flyway_script", "load", "parse"]

log = logging.getLogger(__name__)

UseChoice = Literal["keep", "retarget", "reject"]


# A plain token is text that the loop never visits: a run of ordinary
# characters, a complete string or quoted identifier, a line comment, a lone
# "-" or "/", or a newline or carriage return. The loop stops where no token
# matches:
# - a block comment, because comments nest and a pattern cannot follow that;
# - a newline whose next line starts with GO or a sqlcmd command, also after
#   white space other than spaces and tabs, which the loop rejects;
# - a carriage return without a line feed before a GO, which the loop rejects;
# - a quote whose string has no end or more than ``limit`` doubled quotes,
#   which skip_quoted reads.
# After "GO", an identifier character makes a word such as GOTO or gone_at
# instead of a separator. The "(?!')" after a closing quote keeps a bounded
# match from ending between the two quotes of a doubled quote.
def _plain_token(limit: int) -> str:
    return (
        r"""(?:[^'"\[\-/\n\r]+"""
        rf"""|'[^']*(?:''[^']*){{0,{limit}}}'(?!')"""
        rf"""|"[^"]*(?:""[^"]*){{0,{limit}}}"(?!")"""
        rf"""|\[[^\]]*(?:\]\][^\]]*){{0,{limit}}}\](?!\])"""
        r"""|--[^\n]*|-|/(?!\*)"""
        r"""|\r(?![^\S\n]*[gG][oO](?![\w@#$]))"""
        r"""|\n(?![^\S\n]*[gG][oO](?![\w@#$])|[ \t]*(?::[A-Za-z]|!!)))"""
    )


class _Scanner(NamedTuple):
    """The scan patterns: ``plain`` matches a run of plain tokens, ``token`` one token."""

    plain: re.Pattern[str]
    token: re.Pattern[str]


# Python's re keeps a backtracking point for each repetition of a group, more
# than 100 bytes each on CPython 3.10 and 3.11, so an unbounded "*" over a
# 10 MB batch without GO takes hundreds of MB. Every repeat of a group here
# is therefore bounded, and the loop resumes where a bounded match ended.
# NOTE: a possessive repeat ("*+", Python 3.11+) keeps no backtracking points
# and splits one long batch about 12% faster (bench/bench_split.py), but it is
# not used. CPython 3.11.0 to 3.11.4 return wrong match ends for it when the
# repeated group can backtrack, as this one can: on 3.11.2 the scan ran past
# the newline before a GO. The fix is in CPython 3.11.5 and 3.12.0
# (python/cpython gh-106052).
_REPEAT_LIMIT = 1000


def _compile_scanner(limit: int = _REPEAT_LIMIT) -> _Scanner:
    """Compile the scan patterns with every repeat of a group bounded by ``limit``."""
    token = _plain_token(limit)
    return _Scanner(plain=re.compile(f"{token}{{0,{limit}}}"), token=re.compile(token))


_SCANNER = _compile_scanner()
# White space and line comments: what a batch without code consists of, apart
# from block comments, which the loop skips itself. _blank_end resumes the
# bounded repeat.
_BLANK = re.compile(rf"(?:\s+|--[^\n]*){{0,{_REPEAT_LIMIT}}}")
# Microsoft's GO page (https://learn.microsoft.com/sql/t-sql/language-elements/sql-server-utilities-statements-go)
# states only that no statement may share the GO line, that comments may, and
# that the count is a positive integer. It does not state which white space
# may surround GO. Spaces and tabs are accepted. Any other white space (form
# feed, no-break space) next to GO is rejected ("odd"), so that a line that
# looks like a separator is never sent to the server as text.
_LINE_START = re.compile(
    r"[ \t]*(?:(?P<go>[gG][oO])(?![\w@#$])|(?P<command>:(?=[A-Za-z])|!!))"
    r"|[^\S\n]*(?P<odd>[gG][oO])(?![\w@#$])"
)
_GO_AFTER_COMMENT = re.compile(r"[ \t]*go(?![\w@#$])", re.IGNORECASE)
# The rest of a GO line: an optional repeat count, then an optional -- comment.
# Only ASCII digits count: int() would also read "GO ٣" (ARABIC-INDIC THREE) as 3.
_GO_TAIL = re.compile(r"[ \t]*(?P<count>-?[0-9]+)?[ \t]*(?:--[^\n]*)?\r?(?:\n|\Z)")
_MAX_REPEAT = 2**31 - 1


def _blank_end(text: str, start: int, end: int) -> int:
    """Return where the white space and line comments from ``start`` end, at most ``end``."""
    position = start
    while True:
        reached = _BLANK.match(text, position, end)
        if reached is None or reached.end() == position:
            return position
        position = reached.end()


class _Splitter:
    """The state of one pass over one script; ``run`` returns the batches."""

    def __init__(
        self,
        text: str,
        *,
        file: str | None,
        substitution: Substitution,
        scanner: _Scanner | None = None,
    ) -> None:
        self.text = text
        self.file = file
        self.substitution = substitution
        self.scanner = scanner if scanner is not None else _SCANNER
        self.lines = LineCounter(text)
        self.batches: list[tuple[str, int, int]] = []  # (text, line, repeat)
        # End of the last block comment that only comments and white space
        # precede on its line.
        self.clear_until = -1
        self._start_batch(0)

    def _start_batch(self, position: int) -> None:
        self.batch_start = position
        self.chunk_start = position
        self.parts: list[str] = []
        self.part_lines: list[int] = []
        self.has_code = False
        self.code_checked = position

    def _note_code(self, end: int) -> None:
        # Block comments never reach this check, so white space and line
        # comments are all that an empty batch may contain here.
        if not self.has_code:
            self.has_code = _blank_end(self.text, self.code_checked, end) < end
        self.code_checked = max(self.code_checked, end)

    def _flush_chunk(self, end: int) -> None:
        if end > self.chunk_start:
            line = self.lines.line_at(self.chunk_start)
            chunk = self.substitution.apply(self.text[self.chunk_start : end], line=line)
            self.parts.append(chunk)
            self.part_lines.append(line)

    def _end_batch(self, end: int, *, repeat: int) -> None:
        self._flush_chunk(end)
        if not self.has_code:
            return
        body = "".join(self.parts)
        first_line = self.part_lines[0] if self.part_lines else self.lines.line_at(end)
        stripped = body.lstrip()
        skipped = body[: len(body) - len(stripped)]
        cut = skipped.rfind("\n") + 1
        self.batches.append((body[cut:].rstrip(), first_line + skipped.count("\n"), repeat))

    def run(self) -> list[tuple[str, int, int]]:
        text = self.text
        end = len(text)
        plain, token = self.scanner.plain, self.scanner.token
        position = self._line_start(0)
        while position < end:
            run = plain.match(text, position)
            stop = run.end() if run is not None else position
            if stop >= end:
                break
            if token.match(text, stop) is not None:
                # The repeat limit ended the match, not text that needs the loop.
                position = stop
                continue

            self._note_code(stop)
            if text[stop] == "\n":
                position = self._line_start(stop + 1)
            elif text[stop] == "\r":
                self._lone_carriage_return(stop)
            elif text.startswith("/*", stop):
                position = self._block_comment(stop)
            else:
                # A quote whose string or identifier has no end (skip_quoted
                # raises), or has more doubled quotes than one match takes.
                position = skip_quoted(text, stop, file=self.file, lines=self.lines)

        self._note_code(end)
        self._end_batch(end, repeat=1)
        return self.batches

    def _line_start(self, line_start: int) -> int:
        """Handle a GO or command line at ``line_start``; return where scanning goes on."""
        match = _LINE_START.match(self.text, line_start)
        if match is None:
            return line_start
        self._note_code(line_start)
        if match.group("go") is not None:
            return self._separator(match.start("go"), batch_end=line_start)
        if match.group("odd") is not None:
            self._invalid_separator(match.start("odd"))
        return self._command(line_start, match.start("command"))

    def _lone_carriage_return(self, position: int) -> NoReturn:
        # GO must start a line, and lines end at a line feed (LF or CRLF).
        # Sending "SELECT 1\rGO\rSELECT 2" as one batch would make GO a
        # column alias, so two batches would run as one without an error.
        line = self.lines.line_at(position)
        raise SeparatorError(
            f"{where(self.file, line)}: carriage return without a line feed next to GO; "
            "GO separates batches only on a line of its own, and lines end at line feeds "
            "(LF or CRLF); convert the file's line endings to CRLF or LF",
            file=self.file,
            line=line,
        )

    def _invalid_separator(self, go_start: int) -> NoReturn:
        text = self.text
        line_start = text.rfind("\n", 0, go_start) + 1
        line_end = text.find("\n", go_start)
        written = text[line_start : len(text) if line_end < 0 else line_end].rstrip(" \t\r")
        if not text[line_start:go_start].strip():
            written = written.lstrip(" \t")
        line = self.lines.line_at(go_start)
        odd = next((c for c in written if c.isspace() and c not in " \t"), None)
        if odd == "\r":
            self._lone_carriage_return(text.index("\r", line_start))
        if odd is not None:
            reason = (
                f"only spaces and tabs may stand around GO, but the line contains "
                f"U+{ord(odd):04X}; replace it with a space"
            )
        else:
            reason = (
                "GO must stand alone on its line, optionally followed by a repeat count "
                "(GO 3) and a -- comment"
            )
        raise SeparatorError(
            f"{where(self.file, line)}: invalid batch separator {written!r}; {reason}",
            file=self.file,
            line=line,
        )

    def _block_comment(self, start: int) -> int:
        text = self.text
        end = skip_block_comment(text, start, file=self.file, lines=self.lines)
        self.code_checked = end

        # "/*note*/GO" is a separator when nothing but comments and white
        # space precede GO on its line.
        line_start = text.rfind("\n", 0, start) + 1
        spans_lines = text.find("\n", start, end) >= 0
        clear_before = not text[line_start:start].strip() or (
            self.clear_until >= line_start and not text[self.clear_until : start].strip()
        )
        if not (spans_lines or clear_before):
            return end
        self.clear_until = end

        glued = _GO_AFTER_COMMENT.match(text, end)
        if glued is None:
            return end
        return self._separator(glued.end() - 2, batch_end=end)

    def _separator(self, go_start: int, *, batch_end: int) -> int:
        text = self.text
        tail = _GO_TAIL.match(text, go_start + 2)
        if tail is None:
            self._invalid_separator(go_start)
        line = self.lines.line_at(go_start)

        repeat = 1
        if tail.group("count") is not None:
            repeat = int(tail.group("count"))
            if not 1 <= repeat <= _MAX_REPEAT:
                raise SeparatorError(
                    f"{where(self.file, line)}: invalid repeat count {tail.group('count')} "
                    f"after GO; expected a whole number from 1 to {_MAX_REPEAT}",
                    file=self.file,
                    line=line,
                )

        self._end_batch(batch_end, repeat=repeat)
        self._start_batch(tail.end())
        # Scanning goes on from the newline that ends the GO line, so that a
        # GO or command on the next line is seen as a line start too.
        return tail.end() - 1 if text.endswith("\n", 0, tail.end()) else tail.end()

    def _command(self, line_start: int, command_start: int) -> int:
        text = self.text
        line_end = text.find("\n", command_start)
        if line_end < 0:
            line_end = len(text)
        line = self.lines.line_at(command_start)
        command = text[command_start:line_end].rstrip("\r")
        if command.startswith(":"):
            command = command[1:]

        action = parse_command(command, file=self.file, line=line)
        # The command line becomes an empty line of the batch, so the lines
        # after it keep their numbers.
        self._flush_chunk(line_start)
        self.chunk_start = line_end
        self.code_checked = line_end
        if action is not None:
            self.substitution.setvar(*action)
        return line_end


def parse(
    text: str,
    *,
    file: str | None = None,
    variables: Mapping[str, str] | None = None,
    placeholders: Mapping[str, str] | None = None,
    flyway_placeholders: bool = False,
    database: str | None = None,
    use: UseChoice = "keep",
    allow_mixed: bool = True,
) -> Script:
    """Split ``text`` into the batches sqlcmd would send; nothing is sent to a server.

    ``GO`` separates batches when it is alone on its line (any letter case,
    spaces or tabs around it, an optional repeat count and ``--`` comment).
    Inside strings, quoted identifiers and comments it is text.
    Batches of only white space and comments are dropped. ``:setvar`` lines
    and ``$(NAME)`` references are handled like sqlcmd; ``variables`` are
    the values sqlcmd takes from ``-v`` and rank below ``:setvar``.
    ``placeholders`` fill Flyway's ``${name}`` when ``flyway_placeholders``
    is true. ``use`` decides what happens to a leading ``USE [db]``:
    ``"keep"`` it, ``"retarget"`` it to ``database``, or ``"reject"`` it
    when it names another database. With ``allow_mixed=False`` a script
    that mixes transactional and non-transactional batches is rejected here.

    Raises :class:`~ontime_db.errors.SeparatorError` (``GO;``, ``GO x``,
    ``GO 0``, white space other than spaces and tabs around GO, a carriage
    return without a line feed next to GO), :class:`~ontime_db.errors.VariableError`,
    :class:`~ontime_db.errors.DirectiveError`,
    :class:`~ontime_db.errors.MixedTransactionModeError`, and
    :class:`~ontime_db.errors.ScriptError` for a string, identifier or
    comment left open at the end of the text; each names the file and line.

    >>> [batch.text for batch in parse("SELECT 1\\nGO\\nSELECT 2").batches]
    ['SELECT 1', 'SELECT 2']
    """
    check_use_choice(use, database)
    substitution = Substitution(
        file=file,
        variables=variables,
        placeholders=placeholders,
        flyway_placeholders=flyway_placeholders,
        database=database,
    )
    pieces = _Splitter(text, file=file, substitution=substitution).run()

    batches = []
    for number, (body, line, repeat) in enumerate(pieces, start=1):
        if number == 1:
            body = retarget_use(body, use=use, database=database, file=file, line=line)
        batches.append(
            Batch(
                text=body,
                number=number,
                line=line,
                repeat=repeat,
                file=file,
                transactional=is_transactional(body),
            )
        )
    script = Script(file=file, batches=tuple(batches))

    noun = "batch" if len(batches) == 1 else "batches"
    log.info("split %s into %d %s", file or "script text", len(batches), noun)
    if not allow_mixed:
        check_not_mixed(script)
    return script


def check_not_mixed(
    script: Script,
    *,
    allow: str = "allow_mixed=True",
    mode: str = "the connection's current mode",
) -> None:
    """Raise :class:`~ontime_db.errors.MixedTransactionModeError` when ``script`` is mixed.

    ``allow`` names the switch that permits mixing and ``mode`` the mode the
    batches then run in, so a command line can name its own option.
    """
    if not script.mixed:
        return
    outside = [batch for batch in script.batches if not batch.transactional]
    listed = ", ".join(f"batch {batch.number} (line {batch.line})" for batch in outside)
    name = script.file or "the script"
    raise MixedTransactionModeError(
        f"{name} mixes batches that can run inside a transaction with batches that SQL "
        f"Server rejects inside one: {listed}; split the script in two, or allow mixing "
        f"({allow}) to run every batch in {mode}",
        file=script.file,
        batch=outside[0].number,
        line=outside[0].line,
    )


# Flyway's versioned (V1__x.sql, V2.1__x.sql), undo (U1__x.sql) and
# repeatable (R__x.sql) migration file names.
_FLYWAY_NAME = re.compile(r"^(?:[VU]\d+(?:[._]\d+)*|R)__.+\.sql$")


def is_flyway_script(path: str | os.PathLike[str]) -> bool:
    """Return whether ``path`` is named like a Flyway migration or sits in a Flyway folder.

    A Flyway folder is any parent folder whose name contains ``flyway``.
    """
    location = Path(path)
    if _FLYWAY_NAME.match(location.name):
        return True
    return any("flyway" in part.casefold() for part in location.parent.parts)


def load(
    path: str | os.PathLike[str],
    *,
    variables: Mapping[str, str] | None = None,
    placeholders: Mapping[str, str] | None = None,
    flyway_placeholders: bool | None = None,
    database: str | None = None,
    use: UseChoice = "keep",
    allow_mixed: bool = True,
) -> Script:
    """Read, decode and split the script file at ``path``; nothing is sent to a server.

    The options are those of :func:`parse`. ``flyway_placeholders=None``
    turns ``${name}`` placeholders on for a file that
    :func:`is_flyway_script` recognises and off for any other file.

    Raises :class:`~ontime_db.errors.ScriptError` when the file cannot be
    read, :class:`~ontime_db.errors.ScriptDecodeError` when it cannot be
    decoded, and whatever :func:`parse` raises.
    """
    name, text = read_script(path)
    if flyway_placeholders is None:
        flyway_placeholders = is_flyway_script(name)
    return parse(
        text,
        file=name,
        variables=variables,
        placeholders=placeholders,
        flyway_placeholders=flyway_placeholders,
        database=database,
        use=use,
        allow_mixed=allow_mixed,
    )
