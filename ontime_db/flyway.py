"""Read what the vendor's Flyway-based tool left in a database, without Java.

The vendor's migration tool (``otdbupdate``) wraps Flyway, so a database it
migrated contains Flyway's ``flyway_schema_history`` table. This module reads
that table and computes script checksums exactly as Flyway does, so the
recorded checksums can be compared with the script files.

Flyway's checksum, as implemented in Flyway's ``ChecksumCalculator``
(versions 6 to 10): the script is decoded with the configured encoding
(UTF-8 by default) and read line by line with ``BufferedReader.readLine``,
which drops the ``\\n``, ``\\r\\n`` and ``\\r`` terminators. A byte-order
mark (U+FEFF) is removed from the start of the first line. Each line's
UTF-8 bytes update one CRC-32, and the result is stored as a signed 32-bit
integer. So line endings, a byte-order mark, a final newline and empty
lines do not change the checksum; any other character does.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from .errors import InvalidSchemaVersion, ScriptDecodeError
from .quoting import quote_identifier
from .version import SchemaVersion

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = [
    "HISTORY_TABLE",
    "FlywayEntry",
    "FlywayHistory",
    "checksum_mismatches",
    "flyway_checksum",
    "flyway_version_key",
    "history_query_sql",
    "read_flyway_history",
]

log = logging.getLogger(__name__)

HISTORY_TABLE = "flyway_schema_history"

# The terminators java.io.BufferedReader.readLine recognises, and no others:
# str.splitlines would also split on \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BYTE_ORDER_MARK = "\ufeff"
# History rows that record no migration of the schema: the row Flyway adds
# when it creates the schema, and rows that `flyway repair` marks as deleted.
_NON_MIGRATION_TYPES = frozenset({"SCHEMA", "DELETE"})


def flyway_checksum(data: bytes | str, *, encoding: str = "utf-8") -> int:
    """Compute the checksum Flyway records for a script with this content.

    ``data`` is the script file's bytes, decoded with ``encoding`` as
    Flyway's ``flyway.encoding`` setting would, or its text already decoded.
    An empty script gives 0.

    Raises :class:`~ontime_db.errors.ScriptDecodeError` when the bytes are
    not valid in ``encoding``.

    >>> flyway_checksum("SELECT 1;\\r\\n") == flyway_checksum("\\ufeffSELECT 1;")
    True
    """
    text = _decode(data, encoding) if isinstance(data, bytes) else data
    lines = _LINE_BREAK.split(text)
    if lines and lines[0].startswith(_BYTE_ORDER_MARK):
        lines[0] = lines[0][1:]

    crc = 0
    for line in lines:
        # Java's String.getBytes(UTF_8) writes '?' for a lone surrogate.
        crc = zlib.crc32(line.encode("utf-8", errors="replace"), crc)
    return crc - (1 << 32) if crc >= (1 << 31) else crc


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ScriptDecodeError(
            f"cannot compute the Flyway checksum: byte {error.start} is not valid {encoding}; "
            "pass the encoding the vendor's tool was configured with (flyway.encoding)",
            encoding=encoding,
            offset=error.start,
        ) from error
    except LookupError as error:
        raise ScriptDecodeError(
            f"cannot compute the Flyway checksum: unknown encoding {encoding!r}",
            encoding=encoding,
            offset=0,
        ) from error


def flyway_version_key(version: str) -> tuple[int, ...] | None:
    """Return the sort key Flyway uses for a migration version, or ``None`` if not numeric.

    Flyway compares versions part by part as integers, with missing parts
    counting as zero, so ``"1.10"`` is above ``"1.9"`` and ``"1"`` equals
    ``"1.0"``. Flyway turns underscores in file names into dots before
    storing a version; both are accepted here.

    >>> flyway_version_key("25.10") > flyway_version_key("25.9")
    True
    """
    parts = version.strip().replace("_", ".").split(".")
    if not all(part.isascii() and part.isdigit() for part in parts):
        return None
    key = [int(part) for part in parts]
    while len(key) > 1 and key[-1] == 0:
        key.pop()
    return tuple(key)


@dataclass(frozen=True)
class FlywayEntry:
    """One row of ``flyway_schema_history``."""

    installed_rank: int
    version: str | None
    description: str
    type: str
    script: str
    checksum: int | None
    installed_by: str
    installed_on: datetime | None
    execution_time: int
    success: bool


@dataclass(frozen=True)
class FlywayHistory:
    """The content of a ``flyway_schema_history`` table, in ``installed_rank`` order."""

    schema: str
    table: str
    entries: tuple[FlywayEntry, ...]

    @property
    def rows(self) -> int:
        """Number of rows in the table."""
        return len(self.entries)

    @property
    def migrations(self) -> tuple[FlywayEntry, ...]:
        """Rows that record a migration (not schema creation or deletion markers)."""
        return tuple(entry for entry in self.entries if entry.type not in _NON_MIGRATION_TYPES)

    @property
    def successes(self) -> int:
        """Number of migration rows with ``success = 1``."""
        return sum(1 for entry in self.migrations if entry.success)

    @property
    def failures(self) -> tuple[FlywayEntry, ...]:
        """Migration rows with ``success = 0``, which Flyway requires to be repaired first."""
        return tuple(entry for entry in self.migrations if not entry.success)

    @property
    def highest_version(self) -> str | None:
        """The highest version among successful versioned migrations, as recorded.

        Versions that are not numeric are skipped.
        """
        # NOTE: rows of Flyway Teams undo migrations (type UNDO_SQL) are not
        # subtracted, so an undone version still counts as applied here.
        best: tuple[tuple[int, ...], str] | None = None
        for entry in self.migrations:
            if not entry.success or entry.version is None:
                continue
            key = flyway_version_key(entry.version)
            if key is not None and (best is None or key > best[0]):
                best = (key, entry.version)
        return None if best is None else best[1]

    @property
    def schema_version(self) -> SchemaVersion | None:
        """:attr:`highest_version` read as an OnTime schema version, or ``None``.

        Raises :class:`~ontime_db.errors.InvalidSchemaVersion` when the
        highest version has more than two parts, because such a version
        cannot be a ``major.minor`` schema version.
        """
        # NOTE: this assumes the vendor's tool numbers its Flyway migrations
        # with the schema version (V25_8__...). The vendor does not document
        # its numbering. A history numbered otherwise either fails this parse
        # or differs from the extended properties, and detect_version then
        # reports it instead of reinterpreting it.
        highest = self.highest_version
        if highest is None:
            return None
        key = flyway_version_key(highest)
        if key is None or len(key) > 2:
            raise InvalidSchemaVersion(
                f"Flyway version {highest!r} in {self.schema}.{self.table} is not a "
                "schema version: expected MAJOR or MAJOR.MINOR, for example 25.8"
            )
        return SchemaVersion(key[0], key[1] if len(key) > 1 else 0)


def read_flyway_history(
    connection: Connection, *, table: str = HISTORY_TABLE
) -> FlywayHistory | None:
    """Read Flyway's history table from the connection's current database.

    The table is looked up by name in every schema (``dbo`` first, then by
    schema name), because Flyway creates it in its configured default
    schema. Returns ``None`` when no such table exists.
    """
    from sqlalchemy import text

    from .catalog import find_tables

    found = find_tables(connection, table)
    if not found:
        return None
    schema, table_name = found[0]
    if len(found) > 1:
        log.warning(
            "found %d tables named %s; reading %s.%s",
            len(found),
            table,
            schema,
            table_name,
        )

    rows = connection.execute(text(history_query_sql(schema, table_name))).all()
    entries = tuple(
        FlywayEntry(
            installed_rank=int(row.installed_rank),
            version=None if row.version is None else str(row.version),
            description=str(row.description or ""),
            type=str(row.type),
            script=str(row.script),
            checksum=None if row.checksum is None else int(row.checksum),
            installed_by=str(row.installed_by),
            installed_on=row.installed_on,
            execution_time=int(row.execution_time),
            success=bool(row.success),
        )
        for row in rows
    )
    log.info("read %d rows from %s.%s", len(entries), schema, table_name)
    return FlywayHistory(schema=schema, table=table_name, entries=entries)


def history_query_sql(schema: str, table: str) -> str:
    """Build the query that reads a Flyway history table in ``installed_rank`` order."""
    return (
        "SELECT installed_rank, version, description, type, script, checksum, "
        "installed_by, installed_on, execution_time, success "
        f"FROM {quote_identifier(schema, kind='schema name')}."
        f"{quote_identifier(table, kind='table name')} ORDER BY installed_rank"
    )


def checksum_mismatches(
    history: FlywayHistory, scripts: Mapping[str, bytes | str], *, encoding: str = "utf-8"
) -> list[str]:
    """Compare recorded checksums with script contents; return one line per difference.

    ``scripts`` maps a script name as Flyway records it (for example
    ``V25_8__calendar.sql``) to the file's bytes or text. Successful rows
    whose script is not in ``scripts`` are reported as missing; rows
    without a checksum (baselines, Java migrations) are skipped.
    """
    problems = []
    for entry in history.migrations:
        if not entry.success or entry.checksum is None:
            continue
        content = scripts.get(entry.script)
        if content is None:
            problems.append(
                f"{entry.script} (version {entry.version}) is recorded as applied "
                "but no script with that name was given"
            )
            continue
        actual = flyway_checksum(content, encoding=encoding)
        if actual != entry.checksum:
            problems.append(
                f"{entry.script} (version {entry.version}) has checksum {actual}, "
                f"but the database recorded {entry.checksum} when it was applied"
            )
    return problems
