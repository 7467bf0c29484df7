"""Locate the T-SQL scripts and the Alembic migration set that ship with ontime_db.

An installed wheel contains them inside the package (``ontime_db/sql``,
``ontime_db/migrations``); a source checkout keeps them at the top of the
repository (``sql/``, ``migrations/``), which is also where an editable
install finds them.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigurationError

__all__ = ["migrations_dir", "sql_dir"]

_PACKAGE = Path(__file__).resolve().parent


def _locate(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise ConfigurationError(
        f"the {name!r} folder of ontime_db was not found next to {_PACKAGE}; "
        "reinstall the package with `python -m pip install .`"
    )


def sql_dir() -> Path:
    """Return the folder of the shipped T-SQL scripts."""
    return _locate("sql")


def migrations_dir() -> Path:
    """Return the folder of the shipped Alembic migration set."""
    return _locate("migrations")
