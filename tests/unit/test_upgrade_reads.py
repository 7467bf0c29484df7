"""What ``plan_upgrade`` reads and how it turns that into a plan.

The detected version, the database lookup and the engine are replaced by
stand-ins, so these tests check the planning glue (default login, add-on
names, shipped scripts and migration sets), not what SQL Server returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from ontime_db.errors import ConfigurationError
from ontime_db.migration import known_versions, newest_version
from ontime_db.resources import migrations_dir
from ontime_db.upgrades import plan_upgrade
from ontime_db.version import SchemaVersion


class StandInEngine:
    def __init__(self, url: Any) -> None:
        self.url = url
        self.disposed = False

    @contextmanager
    def connect(self) -> Iterator[str]:
        yield "connection"

    def dispose(self) -> None:
        self.disposed = True


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Stand-ins for the server: its database names, the detected version and the engines."""
    import ontime_db.catalog
    import ontime_db.connection
    import ontime_db.detect

    state = SimpleNamespace(version=SchemaVersion(9, 3), taken=set(), engines=[])

    def engine_for(target: Any, *, database: str | None = None, autocommit: bool = False) -> Any:
        from sqlalchemy import make_url

        engine = StandInEngine(make_url(target).set(database=database))
        state.engines.append(engine)
        return engine

    monkeypatch.setattr(ontime_db.connection, "engine_for", engine_for)
    monkeypatch.setattr(
        ontime_db.detect,
        "detect_version",
        lambda target, database=None: SimpleNamespace(version=state.version),
    )
    monkeypatch.setattr(
        ontime_db.catalog, "database_exists", lambda connection, name: name in state.taken
    )
    return state


SQL_LOGIN = "mssql+pyodbc://OnTimeApp:pw@db1/ontimems?driver=ODBC+Driver+18+for+SQL+Server"
INTEGRATED = (
    "mssql+pyodbc://db1/ontimems?driver=ODBC+Driver+18+for+SQL+Server&Trusted_Connection=yes"
)


def test_legacy_with_sql_login(server: SimpleNamespace) -> None:
    plan = plan_upgrade(SQL_LOGIN, today=date(2026, 12, 4))
    newest = newest_version()
    assert plan.route == "legacy"
    assert plan.app_user == "OnTimeApp"
    assert plan.to_version == newest
    assert plan.new_database == f"ontimems.{newest}"
    assert [path.name for path in plan.steps[2].scripts] == [
        "ontimems.sql",
        "upgrade_procedures.sql",
    ]
    assert all(engine.disposed for engine in server.engines)
    assert str(server.engines[0].url.database) == "master"


def test_integrated_default_user(server: SimpleNamespace) -> None:
    plan = plan_upgrade(INTEGRATED, today=date(2026, 12, 4))
    assert plan.app_user == "NT AUTHORITY\\SYSTEM"


def test_app_user_given(server: SimpleNamespace) -> None:
    plan = plan_upgrade(SQL_LOGIN, app_user="OnTimeService")
    assert plan.app_user == "OnTimeService"


def test_incremental_from_chain(server: SimpleNamespace) -> None:
    server.version = known_versions()[1]
    plan = plan_upgrade(SQL_LOGIN)
    assert plan.route == "incremental"
    assert plan.from_version == known_versions()[1]


def test_addon_names_and_sets(server: SimpleNamespace) -> None:
    server.version = newest_version()
    server.taken = {"ontimems_pollarity"}
    plan = plan_upgrade(SQL_LOGIN, pollarity=True, catering="Catering DB", from_product="3.9.4")
    pollarity, catering = plan.addons
    assert (pollarity.database, pollarity.exists) == ("ontimems_pollarity", True)
    assert (catering.database, catering.exists) == ("Catering DB", False)
    assert pollarity.migrations == migrations_dir() / "pollarity"
    assert pollarity.newest == newest_version(migrations_dir() / "pollarity")
    assert catering.newest == newest_version(migrations_dir() / "catering")
    assert (pollarity.required, catering.required) == (False, False)


def test_addons_required_by_product(server: SimpleNamespace) -> None:
    server.version = SchemaVersion(15, 0)
    plan = plan_upgrade(SQL_LOGIN, pollarity=True, catering=True, from_product="2.6.2")
    assert [addon.required for addon in plan.addons] == [True, True]


def test_no_database(server: SimpleNamespace) -> None:
    with pytest.raises(ConfigurationError) as caught:
        plan_upgrade("mssql+pyodbc://OnTimeApp:pw@db1?driver=x")
    assert str(caught.value) == (
        "the connection names no database to upgrade; give --database or a URL with one"
    )
