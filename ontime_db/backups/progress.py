"""Progress of BACKUP and RESTORE, read from the messages ``WITH STATS`` sends.

With ``STATS = 10`` SQL Server sends informational message 3211,
``"10 percent processed."``, after each tenth of the work, and message
3014 (``"BACKUP DATABASE successfully processed ..."``) at the end. The
library turns them into :class:`Progress` values and hands them to the
caller's callback; :class:`TerminalProgress` draws them on one terminal
line and :class:`ProgressLines` writes one plain line each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TextIO

__all__ = [
    "FINISHED_MESSAGE",
    "PERCENT_MESSAGE",
    "Progress",
    "ProgressLines",
    "TerminalProgress",
    "parse_percent",
]

# SQL Server's message numbers for "N percent processed." and "... successfully processed ...".
PERCENT_MESSAGE = 3211
FINISHED_MESSAGE = 3014

_PERCENT = re.compile(r"\s*(\d{1,3}) percent processed\.?\s*", re.IGNORECASE)
_FINISHED = re.compile(r"\s*(BACKUP|RESTORE) \w+ successfully processed ", re.IGNORECASE)
_BAR_WIDTH = 30


@dataclass(frozen=True)
class Progress:
    """How far one step of an operation has come.

    ``step`` is ``"backup"``, ``"verify"`` or ``"restore"``; ``target`` is
    the database or file the step works on; ``percent`` runs from 0 to 100.
    """

    step: str
    target: str
    percent: int

    @property
    def done(self) -> bool:
        """Whether the step has finished."""
        return self.percent >= 100


def parse_percent(text: str, *, number: int | None = None) -> int | None:
    """Return the percentage a STATS message reports, or ``None`` for other messages.

    The closing "successfully processed" message counts as 100.

    >>> parse_percent("10 percent processed.")
    10
    >>> parse_percent("BACKUP DATABASE successfully processed 465 pages in 0.1 seconds.")
    100
    >>> parse_percent("Processed 456 pages for database 'x', file 'x' on file 1.") is None
    True
    """
    match = _PERCENT.fullmatch(text)
    if match is not None:
        percent = int(match.group(1))
        return percent if percent <= 100 else None
    if number == FINISHED_MESSAGE or _FINISHED.match(text):
        return 100
    return None


class TerminalProgress:
    """Draw progress as one line that redraws itself on an interactive terminal."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, progress: Progress) -> None:
        filled = _BAR_WIDTH * progress.percent // 100
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        end = "\n" if progress.done else ""
        self._stream.write(
            f"\r{progress.step} {progress.target}: [{bar}] {progress.percent:3d}%{end}"
        )
        self._stream.flush()


class ProgressLines:
    """Write one plain line per progress step, for logs and redirected output."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, progress: Progress) -> None:
        self._stream.write(f"{progress.step} {progress.target}: {progress.percent}%\n")
        self._stream.flush()
