"""Records of backups on the server, and the queries that find them again.

A backup records itself in ``msdb`` through BACKUP's own options, so a roll
back from another machine finds it and a restore of the database itself
cannot erase it:

- ``NAME`` (``msdb.dbo.backupset.name``, nvarchar(128)) is the marker
  ``ontime_db``;
- ``DESCRIPTION`` (``backupset.description``, nvarchar(255)) contains
  ``tool=<version>; schema=<version>; purpose=<text>``, the purpose last and
  cut to fit.

``msdb`` stores the rest: the path (``backupmediafamily.physical_device_name``),
size, start and end, first and last LSN, ``has_backup_checksums`` and
``is_copy_only``. SQL Server writes the row only when BACKUP succeeds, so an
interrupted backup leaves no record. ``msdb.dbo.sp_delete_backuphistory``
and maintenance plans that clean history delete these rows, and with them
every record of this module: the files stay, and ``restore`` still takes
them by path, but ``rollback`` no longer finds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..quoting import utf16_length
from .statements import DESCRIPTION_LIMIT

__all__ = [
    "DESCRIPTION_LIMIT",
    "MARKER",
    "ROLLBACK_PURPOSES",
    "BackupRecord",
    "format_description",
    "parse_description",
    "record_from_row",
]

MARKER = "ontime_db"
# Purposes the migration engine and the upgrade give the backups rollback restores.
ROLLBACK_PURPOSES = ("before migrate", "before upgrade")

_FIELDS = ("tool", "schema", "purpose")


@dataclass(frozen=True)
class BackupRecord:
    """One full database backup as ``msdb`` history records it.

    ``purpose``, ``schema_version`` and ``tool_version`` are ``None`` for
    backups made by other tools. ``verified`` is ``True`` once
    ``RESTORE VERIFYONLY`` accepted the file in this process and ``None``
    when it has not been checked here (``msdb`` does not record it).
    Sizes are in bytes.
    """

    path: str
    database: str
    started: datetime | None
    finished: datetime | None
    size: int | None
    compressed_size: int | None
    first_lsn: int | None
    last_lsn: int | None
    has_checksums: bool
    copy_only: bool
    name: str | None = None
    purpose: str | None = None
    schema_version: str | None = None
    tool_version: str | None = None
    position: int = 1
    backup_set_id: int | None = None
    server: str | None = None
    verified: bool | None = None

    @property
    def made_by_ontime_db(self) -> bool:
        """Whether ontime_db wrote this backup (its ``NAME`` is the marker)."""
        return self.name == MARKER

    @property
    def is_rollback_point(self) -> bool:
        """Whether ``rollback`` may restore this backup.

        Only ontime_db's own backups taken before a migrate or an upgrade count.
        """
        return (
            self.made_by_ontime_db
            and self.purpose is not None
            and self.purpose.startswith(ROLLBACK_PURPOSES)
        )

    def as_verified(self) -> BackupRecord:
        """Return a copy marked as accepted by ``RESTORE VERIFYONLY``."""
        return replace(self, verified=True)

    def as_dict(self) -> dict[str, Any]:
        """Return the record as plain values for JSON output."""
        return {
            "path": self.path,
            "database": self.database,
            "started": self.started.isoformat() if self.started else None,
            "finished": self.finished.isoformat() if self.finished else None,
            "size": self.size,
            "compressed_size": self.compressed_size,
            "first_lsn": self.first_lsn,
            "last_lsn": self.last_lsn,
            "has_checksums": self.has_checksums,
            "copy_only": self.copy_only,
            "purpose": self.purpose,
            "schema_version": self.schema_version,
            "tool_version": self.tool_version,
            "made_by_ontime_db": self.made_by_ontime_db,
            "verified": self.verified,
            "position": self.position,
            "server": self.server,
        }


def format_description(*, purpose: str, schema_version: str | None, tool_version: str) -> str:
    """Build the backup set description, at most 255 UTF-16 code units.

    The purpose goes last so that cutting it to fit keeps the other fields.
    The limit counts UTF-16 code units, as ``BACKUP`` does, so a character
    outside the BMP (an emoji) takes two, and a cut never splits it.

    >>> format_description(purpose="before migrate 25.8 -> 27.0", schema_version="25.8",
    ...                    tool_version="0.1.0")
    'tool=0.1.0; schema=25.8; purpose=before migrate 25.8 -> 27.0'
    """
    schema = schema_version if schema_version is not None else "none"
    text = f"tool={tool_version}; schema={schema}; purpose={purpose}"
    if utf16_length(text) <= DESCRIPTION_LIMIT:
        return text
    units = text.encode("utf-16-le", errors="surrogatepass")[: 2 * DESCRIPTION_LIMIT]
    # "ignore" drops the high surrogate that a cut between the two halves of a pair leaves.
    return units.decode("utf-16-le", errors="ignore")


def parse_description(text: str | None) -> dict[str, str]:
    """Read the fields of a description written by :func:`format_description`.

    Returns an empty mapping for text in any other form. A purpose may itself
    contain ``;``, because everything after ``purpose=`` belongs to it.

    >>> parse_description("tool=0.1.0; schema=none; purpose=manual backup")
    {'tool': '0.1.0', 'schema': 'none', 'purpose': 'manual backup'}
    """
    if not text:
        return {}
    head, marker, purpose = text.partition("; purpose=")
    if not marker:
        return {}
    fields: dict[str, str] = {}
    for part in head.split("; "):
        key, equals, value = part.partition("=")
        if not equals or key not in _FIELDS:
            return {}
        fields[key] = value
    if set(fields) != {"tool", "schema"}:
        return {}
    fields["purpose"] = purpose
    return fields


def record_from_row(row: Mapping[str, Any]) -> BackupRecord:
    """Build a record from one row of the ``msdb`` history query."""
    name = row["name"]
    fields = parse_description(row["description"]) if name == MARKER else {}
    schema = fields.get("schema")
    return BackupRecord(
        path=row["physical_device_name"],
        database=row["database_name"],
        started=row["backup_start_date"],
        finished=row["backup_finish_date"],
        size=_integer(row["backup_size"]),
        compressed_size=_integer(row["compressed_backup_size"]),
        first_lsn=_integer(row["first_lsn"]),
        last_lsn=_integer(row["last_lsn"]),
        has_checksums=bool(row["has_backup_checksums"]),
        copy_only=bool(row["is_copy_only"]),
        name=name,
        purpose=fields.get("purpose"),
        schema_version=None if schema in (None, "none") else schema,
        tool_version=fields.get("tool"),
        position=int(row["position"] or 1),
        backup_set_id=_integer(row["backup_set_id"]),
        server=row["server_name"],
    )


def _integer(value: int | Decimal | None) -> int | None:
    # msdb stores LSNs as numeric(25,0) and sizes as numeric(20,0).
    return None if value is None else int(value)
