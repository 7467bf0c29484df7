"""Back up, verify, restore, rename and roll back OnTime databases.

Paths of backup and data files are paths on the SQL Server's machine,
handled as strings in that machine's style (``C:\\SqlServerBackups`` or
``/var/opt/mssql/backups``) and never resolved on the client. Backups are
recorded in the server's ``msdb`` history (see
:mod:`ontime_db.backups.records`), so ``rollback`` finds them from any
machine.

>>> from ontime_db.backups import backup_file_name
>>> from datetime import datetime
>>> backup_file_name("ontimems", datetime(2026, 12, 4, 19, 30))
'OnTime(2026-12-04-193000).bak'
"""

from __future__ import annotations

from .backups import backup, list_backups
from .naming import VENDOR_FOLDER, backup_file_name
from .progress import Progress, ProgressLines, TerminalProgress
from .records import BackupRecord
from .renames import rename
from .restores import restore
from .results import RenameResult, RestoreResult, RollbackResult
from .rollbacks import rollback, rollback_command

__all__ = [
    "VENDOR_FOLDER",
    "BackupRecord",
    "Progress",
    "ProgressLines",
    "RenameResult",
    "RestoreResult",
    "RollbackResult",
    "TerminalProgress",
    "backup",
    "backup_file_name",
    "list_backups",
    "rename",
    "restore",
    "rollback",
    "rollback_command",
]
