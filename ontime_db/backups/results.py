"""Result types of restore, rename and rollback."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .records import BackupRecord

__all__ = ["RenameResult", "RestoreResult", "RollbackResult"]


@dataclass(frozen=True)
class RestoreResult:
    """A finished restore.

    ``files`` pairs each logical file name with the server path it was
    restored to; ``ended_sessions`` describes the sessions ``force`` ended.
    """

    database: str
    path: str
    source_database: str | None
    backup_finished: datetime | None
    replaced: bool
    schema_version: str | None
    files: tuple[tuple[str, str], ...] = ()
    ended_sessions: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """Return the result as plain values for JSON output."""
        return {
            "database": self.database,
            "path": self.path,
            "source_database": self.source_database,
            "backup_finished": self.backup_finished.isoformat() if self.backup_finished else None,
            "replaced": self.replaced,
            "schema_version": self.schema_version,
            "files": [{"logical_name": name, "path": path} for name, path in self.files],
            "ended_sessions": list(self.ended_sessions),
        }


@dataclass(frozen=True)
class RenameResult:
    """A finished rename; ``files`` pairs old and new logical file names."""

    old: str
    new: str
    files: tuple[tuple[str, str], ...] = ()
    ended_sessions: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Return the result as plain values for JSON output."""
        return {
            "old": self.old,
            "new": self.new,
            "files": [{"old": old, "new": new} for old, new in self.files],
            "ended_sessions": list(self.ended_sessions),
        }


@dataclass(frozen=True)
class RollbackResult:
    """A finished roll back: the backup restored and the schema version on each side."""

    database: str
    backup: BackupRecord
    version_before: str | None
    version_after: str | None
    restore: RestoreResult

    def as_dict(self) -> dict[str, Any]:
        """Return the result as plain values for JSON output."""
        return {
            "database": self.database,
            "backup": self.backup.as_dict(),
            "version_before": self.version_before,
            "version_after": self.version_after,
            "restore": self.restore.as_dict(),
        }
