"""ontime_db: upgrade the SQL Server database of OnTime for Microsoft.

The public API is imported lazily, so ``import ontime_db`` and the command
line's ``--help`` stay fast and need no ODBC driver:

>>> import ontime_db
>>> ontime_db.SchemaVersion.parse("25.8")
SchemaVersion(major=25, minor=8)
"""

from __future__ import annotations

import importlib
from typing import Any

from . import errors as _errors

# Public name -> module that defines it. Every exception class of
# ontime_db.errors is exported as well; that module imports nothing heavy.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(_errors.__all__, "ontime_db.errors"),
    "SchemaVersion": "ontime_db.version",
    "quote_identifier": "ontime_db.quoting",
    "quote_string": "ontime_db.quoting",
    "ConnectionSettings": "ontime_db.connection",
    "connect": "ontime_db.connection",
    "DetectedVersion": "ontime_db.detect",
    "detect_version": "ontime_db.detect",
    "discover": "ontime_db.detect",
    "flyway_checksum": "ontime_db.flyway",
    "migrate": "ontime_db.migration",
    "render_sql": "ontime_db.migration",
    "plan_migration": "ontime_db.migration",
    "backup": "ontime_db.backups",
    "restore": "ontime_db.backups",
    "rename": "ontime_db.backups",
    "rollback": "ontime_db.backups",
    "list_backups": "ontime_db.backups",
    "upgrade": "ontime_db.upgrades",
    "plan_upgrade": "ontime_db.upgrades",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'ontime_db' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
