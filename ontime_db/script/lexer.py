"""T-SQL lexical rules shared by the splitter and the classifier.

Strings (``'...'`` and ``N'...'`` with ``''``), quoted identifiers
(``[...]`` with ``]]`` and ``"..."`` with ``""``), line comments and
nested block comments are skipped with ``str.find`` and compiled patterns.
The Python loop therefore runs once per token that matters, not once per
character. T-SQL has no backslash escapes.
"""

from __future__ import annotations

import re
from typing import NoReturn

from ..errors import ScriptError

__all__ = [
    "LineCounter",
    "first_code",
    "skip_block_comment",
    "skip_line_comment",
    "skip_quoted",
    "where",
]

_CLOSING = {"'": "'", '"': '"', "[": "]"}
_QUOTED_KIND = {"'": "string", '"': "quoted identifier", "[": "bracketed identifier"}
_COMMENT_MARK = re.compile(r"/\*|\*/")
_WHITE_SPACE = re.compile(r"\s*")


def where(file: str | None, line: int) -> str:
    """Return ``"FILE, line N"`` for messages, or ``"line N"`` for text without a file."""
    return f"{file}, line {line}" if file is not None else f"line {line}"


class LineCounter:
    """Line numbers of positions in a text, for positions requested in increasing order.

    A line ends at a line feed, so CRLF counts once. NOTE: a carriage return
    alone does not end a line here. SQL Server's documentation does not state
    how it counts one, so error lines in a file with CR-only line endings may
    differ from the server's.
    """

    __slots__ = ("_line", "_position", "_text")

    def __init__(self, text: str, *, position: int = 0, line: int = 1) -> None:
        self._text = text
        self._position = position
        self._line = line

    def line_at(self, position: int) -> int:
        if position < self._position:
            return self._line - self._text.count("\n", position, self._position)
        self._line += self._text.count("\n", self._position, position)
        self._position = position
        return self._line


def skip_quoted(text: str, start: int, *, file: str | None, lines: LineCounter) -> int:
    """Return the position after the string or identifier opened at ``start``.

    Raises :class:`~ontime_db.errors.ScriptError` when it does not end, and
    :class:`ValueError` when ``start`` is not at a quote or ``[``.
    """
    opener = text[start]
    closing = _CLOSING.get(opener)
    if closing is None:
        raise ValueError(f"invalid start {start}: expected a quote or '[' there, found {opener!r}")

    # One find per doubled closing character. A pattern with a repeated group
    # would keep memory for each of them until the match ends.
    position = start + 1
    while True:
        end = text.find(closing, position)
        if end < 0:
            _unterminated(_QUOTED_KIND[opener], start, file=file, lines=lines)
        if not text.startswith(closing, end + 1):
            return end + 1
        position = end + 2


def skip_line_comment(text: str, start: int) -> int:
    """Return the position of the newline that ends the ``--`` comment at ``start``."""
    end = text.find("\n", start + 2)
    return len(text) if end < 0 else end


def skip_block_comment(text: str, start: int, *, file: str | None, lines: LineCounter) -> int:
    """Return the position after the block comment at ``start``; T-SQL block comments nest."""
    depth = 1
    position = start + 2
    while depth:
        match = _COMMENT_MARK.search(text, position)
        if match is None:
            _unterminated("block comment", start, file=file, lines=lines)
        depth += 1 if match.group() == "/*" else -1
        position = match.end()
    return position


def first_code(text: str, start: int = 0) -> int:
    """Return the position of the first character from ``start`` outside white space and comments.

    Block comments nest, so they are skipped with :func:`skip_block_comment`
    instead of a pattern. Raises :class:`~ontime_db.errors.ScriptError` for a
    block comment that does not end.
    """
    lines = LineCounter(text)
    position = start
    while True:
        blank = _WHITE_SPACE.match(text, position)
        position = blank.end() if blank is not None else position
        if text.startswith("--", position):
            position = skip_line_comment(text, position)
        elif text.startswith("/*", position):
            position = skip_block_comment(text, position, file=None, lines=lines)
        else:
            return position


def _unterminated(kind: str, start: int, *, file: str | None, lines: LineCounter) -> NoReturn:
    # sqlcmd would send the rest of the file to the server. Guessing where the
    # author meant the construct to end could split a procedure in two.
    line = lines.line_at(start)
    raise ScriptError(
        f"{where(file, line)}: unterminated {kind} that starts here; close it before "
        "the end of the file",
        file=file,
        line=line,
    )
