"""The values the script engine produces: batches, scripts, server messages, run results."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Batch", "Message", "RunResult", "Script"]


@dataclass(frozen=True)
class Batch:
    """One batch of a script, as it is sent to SQL Server.

    ``text`` has no ``GO`` line and has its variables substituted. ``number``
    counts only the batches that are sent, from 1. ``line`` is the 1-based
    line in the file where ``text`` starts, so line N of the batch, as SQL
    Server counts it, is line ``line + N - 1`` of the file. ``repeat`` is the
    count of ``GO n``. ``transactional`` is false for a batch that SQL Server
    rejects inside a user transaction (``CREATE DATABASE``, ``BACKUP`` ...).
    """

    text: str
    number: int
    line: int
    repeat: int = 1
    file: str | None = None
    transactional: bool = True

    def file_line(self, batch_line: int) -> int:
        """Return the file line of line ``batch_line`` (1-based) of this batch."""
        return self.line + batch_line - 1


@dataclass(frozen=True)
class Script:
    """A split script: its file (``None`` for text given directly) and its batches."""

    file: str | None
    batches: tuple[Batch, ...]

    @property
    def transactional(self) -> bool:
        """Whether every batch may run inside a user transaction."""
        return all(batch.transactional for batch in self.batches)

    @property
    def mixed(self) -> bool:
        """Whether the script has batches of both kinds."""
        kinds = {batch.transactional for batch in self.batches}
        return len(kinds) == 2


@dataclass(frozen=True)
class Message:
    """An informational message from the server: ``PRINT`` or ``RAISERROR`` of severity 10 or less.

    ``number`` is SQL Server's message number (0 for ``PRINT``, 50000 for
    ``RAISERROR`` with a text). ``severity`` is ``None`` when the driver
    does not report it, which is the case for pyodbc. ``batch`` is the batch
    number and ``line`` the file line where that batch starts.
    """

    number: int
    text: str
    severity: int | None
    batch: int | None
    line: int | None


@dataclass(frozen=True)
class RunResult:
    """Outcome of :func:`ontime_db.script.run`.

    ``batches`` counts the batches run, ``executions`` counts round trips
    including the repeats of ``GO n``, and ``messages`` contains every message
    in the order the server sent it.
    """

    batches: int
    executions: int
    messages: tuple[Message, ...]
