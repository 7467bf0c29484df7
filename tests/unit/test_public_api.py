"""The lazily imported top-level API of ontime_db."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import ontime_db

FUNCTIONS = [
    "connect", "detect_version", "discover", "flyway_checksum", "migrate", "render_sql",
    "plan_migration", "backup", "restore", "rename", "rollback", "list_backups",
    "upgrade", "plan_upgrade", "quote_identifier", "quote_string",
]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_exported_function_callable(name: str) -> None:
    assert callable(getattr(ontime_db, name))
    assert not isinstance(getattr(ontime_db, name), type(ontime_db))


def test_submodule_import_keeps_functions() -> None:
    """Importing a subpackage must not replace a top-level function of the same stem."""
    for module in ("ontime_db.migration", "ontime_db.backups", "ontime_db.upgrades"):
        importlib.import_module(module)
    assert ontime_db.migrate.__module__.startswith("ontime_db.migration")
    assert ontime_db.backup.__module__.startswith("ontime_db.backups")
    assert ontime_db.upgrade.__module__.startswith("ontime_db.upgrades")


def test_all_lists_exports() -> None:
    assert set(FUNCTIONS) <= set(ontime_db.__all__)
    for name in ontime_db.__all__:
        assert getattr(ontime_db, name) is not None


def test_unknown_attribute_message() -> None:
    with pytest.raises(AttributeError) as raised:
        ontime_db.no_such_name  # noqa: B018
    assert str(raised.value) == "module 'ontime_db' has no attribute 'no_such_name'"


def test_import_loads_no_driver_or_sqlalchemy() -> None:
    code = (
        "import sys, ontime_db, ontime_db.cli; "
        "ontime_db.cli.build_parser(); "
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'pyodbc') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_error_classes_exported() -> None:
    from ontime_db import errors

    for name in errors.__all__:
        assert getattr(ontime_db, name) is getattr(errors, name)
        assert name in ontime_db.__all__
    assert issubclass(ontime_db.MigrationFailedError, ontime_db.OnTimeDbError)
