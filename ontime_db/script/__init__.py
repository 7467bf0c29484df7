"""The T-SQL script engine: load, split, classify and run batches like sqlcmd.

Loading, splitting and classifying never connect; :func:`run` and
:func:`execute` work on a SQLAlchemy ``Connection`` that the caller opened,
in the caller's transaction mode.

>>> script = parse("CREATE TABLE t (i int)\\nGO\\nINSERT t VALUES (1)\\nGO 3\\n")
>>> [(batch.number, batch.line, batch.repeat) for batch in script.batches]
[(1, 1, 1), (2, 3, 3)]
"""

from __future__ import annotations

from .loader import decode
from .model import Batch, Message, RunResult, Script
from .runner import execute, run
from .splitter import load, parse

__all__ = [
    "Batch",
    "Message",
    "RunResult",
    "Script",
    "decode",
    "execute",
    "load",
    "parse",
    "run",
]
