"""Find batches that SQL Server rejects inside a user transaction.

The statements are those of "Transact-SQL statements allowed in
transactions" (https://learn.microsoft.com/previous-versions/sql/sql-server-2008-r2/ms191544(v=sql.105),
unchanged up to SQL Server 2022): ALTER/CREATE/DROP DATABASE, ALTER/CREATE/DROP
FULLTEXT CATALOG and FULLTEXT INDEX, BACKUP, RESTORE and RECONFIGURE.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .lexer import LineCounter, skip_block_comment, skip_line_comment, skip_quoted

__all__ = ["is_transactional"]

# A cheap first test: most batches contain none of these words, and only the
# batches that do are tokenized. Substring tests on the upper-cased text run
# several times faster than a case-insensitive pattern.
_CANDIDATES = ("DATABASE", "BACKUP", "RESTORE", "RECONFIGURE", "FULLTEXT")
_TOKEN = re.compile(r"""['"\[]|--|/\*|[\w@#$]+|[,;]""")
# Strings and quoted identifiers stand in the token list as this token.
_QUOTED = "''"

_DDL = frozenset({"CREATE", "ALTER", "DROP"})
# CREATE DATABASE AUDIT SPECIFICATION, ALTER DATABASE SCOPED CONFIGURATION,
# DROP DATABASE ENCRYPTION KEY ... are other statements that the list does not name.
# NOTE: neither that list nor the ALTER DATABASE SCOPED CONFIGURATION page
# (SQL Server 2016 to 2022) states whether the statement is allowed in a
# transaction. It is classed as transactional, because a wrong guess then fails
# with the server's error inside a transaction that is rolled back; the live
# tier runs it inside one.
_OTHER_DATABASE_OBJECTS = frozenset({"AUDIT", "ENCRYPTION", "SCOPED"})
# GRANT CREATE DATABASE, BACKUP LOG TO ... names permissions, not statements.
_PERMISSION_CONTEXT = frozenset({"GRANT", "DENY", "REVOKE", ","})
_BACKUP_TARGETS = frozenset({"DATABASE", "LOG"})
_RESTORE_TARGETS = frozenset(
    {"DATABASE", "LOG", "FILELISTONLY", "HEADERONLY", "LABELONLY", "REWINDONLY", "VERIFYONLY"}
)


def is_transactional(text: str) -> bool:
    """Return whether the batch ``text`` may run inside a user transaction.

    Only words outside strings, comments and quoted identifiers count, so
    ``SELECT 'BACKUP DATABASE'`` is transactional.

    NOTE: a statement built as text and run with ``EXEC`` or ``sp_executesql``
    is not seen, so ``EXEC (N'CREATE DATABASE x')`` is classed as transactional.
    """
    upper = text.upper()
    if not any(word in upper for word in _CANDIDATES):
        return True

    words = list(_words(text))
    for index, word in enumerate(words):
        before = words[index - 1] if index else ""
        if before in _PERMISSION_CONTEXT:
            continue
        after = words[index + 1] if index + 1 < len(words) else ""
        later = words[index + 2] if index + 2 < len(words) else ""
        if _rejected_in_transaction(word, after, later):
            return False
    return True


def _rejected_in_transaction(word: str, after: str, later: str) -> bool:
    if word in _DDL:
        database = after == "DATABASE" and later not in _OTHER_DATABASE_OBJECTS
        fulltext = after == "FULLTEXT" and later in ("CATALOG", "INDEX")
        return database or fulltext
    if word == "BACKUP":
        return after in _BACKUP_TARGETS
    if word == "RESTORE":
        return after in _RESTORE_TARGETS
    return word == "RECONFIGURE"


def _words(text: str) -> Iterator[str]:
    """Yield the upper-cased words, commas and semicolons of ``text``, and ``''`` per string."""
    lines = LineCounter(text)
    position = 0
    while True:
        match = _TOKEN.search(text, position)
        if match is None:
            return
        token = match.group()
        if token in ("'", '"', "["):
            position = skip_quoted(text, match.start(), file=None, lines=lines)
            yield _QUOTED
        elif token == "--":
            position = skip_line_comment(text, match.start())
        elif token == "/*":
            position = skip_block_comment(text, match.start(), file=None, lines=lines)
        else:
            position = match.end()
            yield token.upper()
