"""The upgrade on a live SQL Server: both routes, a failing procedure, add-ons, rollback.

Each test creates its own databases under a unique prefix and drops every
database with that prefix afterwards, even when the test fails. Results are
read back through sys.* views and the tables themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ontime_db.quoting import quote_identifier, quote_string
from ontime_db.resources import migrations_dir, sql_dir
from ontime_db.version import SchemaVersion

if TYPE_CHECKING:
    from sqlalchemy import URL, Engine

pytestmark = pytest.mark.mssql

OLD_TABLES_9_3 = ("OT_USER", "OT_GROUP", "OT_GROUP_MEMBER", "OT_CALENDAR", "OT_CONFIG")
OLD_TABLES_15_0 = ("users", "groups", "group_members", "calendars", "settings")
NEW_TABLES = ("users", "groups", "group_members", "calendars", "settings")


@pytest.fixture
def prefix(mssql_engine: Engine) -> Iterator[str]:
    """A unique database name prefix; every database starting with it is dropped afterwards."""
    from ontime_db.testing import drop_database

    name = f"ontime_up_{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        for database in _databases(mssql_engine):
            if database.startswith(name):
                drop_database(mssql_engine, database)


def _databases(engine: Engine) -> list[str]:
    from sqlalchemy import text

    with engine.connect() as connection:
        return [str(row) for row in connection.execute(text("SELECT name FROM sys.databases"))]


def _scalar(engine: Engine, sql: str) -> Any:
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def _create_old_database(mssql_engine: Engine, mssql_url: URL, name: str, script: str) -> None:
    """Create database ``name`` and fill it with a shipped legacy script (``ontimems_9_3.sql``)."""
    from sqlalchemy import create_engine, text

    from ontime_db.script import load, run

    with mssql_engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {quote_identifier(name)}"))
    loaded = load(sql_dir() / "legacy" / script, database=name, use="retarget")
    engine = create_engine(mssql_url.set(database=name), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            run(connection, loaded)
    finally:
        engine.dispose()


def _counts(engine: Engine, database: str, tables: tuple[str, ...]) -> list[int]:
    db = quote_identifier(database)
    return [
        int(_scalar(engine, f"SELECT COUNT(*) FROM {db}.dbo.{quote_identifier(table)}"))
        for table in tables
    ]


def _version(mssql_url: URL, database: str) -> SchemaVersion | None:
    from sqlalchemy import create_engine

    from ontime_db.catalog import read_schema_version

    engine = create_engine(mssql_url.set(database=database))
    try:
        with engine.connect() as connection:
            return read_schema_version(connection)
    finally:
        engine.dispose()


def _exists(engine: Engine, database: str) -> bool:
    return _scalar(engine, f"SELECT DB_ID({quote_string(database)})") is not None


def _newest() -> SchemaVersion:
    from ontime_db.migration import newest_version

    return newest_version()


def test_legacy_from_9_3(mssql_engine: Engine, mssql_url: URL, prefix: str, tmp_path: Path) -> None:
    from sqlalchemy import text

    from ontime_db.upgrades import upgrade

    old = f"{prefix}.9.3"
    login = f"{prefix}_app"
    _create_old_database(mssql_engine, mssql_url, old, "ontimems_9_3.sql")
    before = _counts(mssql_engine, old, OLD_TABLES_9_3)
    with mssql_engine.connect() as connection:
        connection.execute(
            text(
                f"CREATE LOGIN {quote_identifier(login)} WITH PASSWORD = "
                f"{quote_string('Upgr4de-' + uuid.uuid4().hex)}, CHECK_POLICY = OFF"
            )
        )
    try:
        report = upgrade(
            mssql_url.set(database=old),
            app_user=login,
            log_file=tmp_path / "upgrade.log",
        )
        target = _newest()
        final = quote_identifier(old)
        aside = report.plan.aside_database or ""
        assert aside.startswith(f"{old}_before_{target}_")

        assert report.plan.route == "legacy"
        assert report.final_versions == {old: target}
        assert _version(mssql_url, old) == target
        assert _version(mssql_url, aside) == SchemaVersion(9, 3)
        assert not _exists(mssql_engine, f"{prefix}.{target}")
        assert _counts(mssql_engine, old, NEW_TABLES) == before
        assert _counts(mssql_engine, aside, OLD_TABLES_9_3) == before

        # Rows keep their ids and values.
        olds = quote_identifier(aside)
        assert (
            _scalar(
                mssql_engine,
                f"SELECT COUNT(*) FROM {final}.dbo.users AS u JOIN {olds}.dbo.OT_USER AS o "
                "ON o.USER_ID = u.user_id AND o.LOGIN_NAME = u.login "
                "AND u.is_active = CASE o.ACTIVE WHEN 'Y' THEN 1 ELSE 0 END "
                "AND ISNULL(o.EMAIL, N'') = ISNULL(u.email, N'')",
            )
            == before[0]
        )
        assert (
            _scalar(
                mssql_engine,
                f"SELECT COUNT(*) FROM {final}.dbo.users AS u JOIN {olds}.dbo.OT_USER AS o "
                "ON o.USER_ID = u.user_id "
                "WHERE o.FIRST_NAME IS NOT NULL AND o.LAST_NAME IS NOT NULL "
                "AND u.display_name <> CONCAT(o.FIRST_NAME, N' ', o.LAST_NAME)",
            )
            == 0
        )
        assert (
            _scalar(
                mssql_engine,
                f"SELECT COUNT(*) FROM {final}.dbo.calendars AS c JOIN {olds}.dbo.OT_CALENDAR AS o "
                "ON o.CAL_ID = c.calendar_id AND o.OWNER_ID = c.owner_user_id AND o.TITLE = c.name",
            )
            == before[3]
        )

        assert (
            _scalar(
                mssql_engine,
                f"SELECT COUNT(*) FROM {final}.sys.database_role_members AS m "
                f"JOIN {final}.sys.database_principals AS r "
                "ON r.principal_id = m.role_principal_id "
                f"JOIN {final}.sys.database_principals AS u "
                "ON u.principal_id = m.member_principal_id "
                f"WHERE r.name = N'api_role' AND u.name = {quote_string(login)}",
            )
            == 1
        )

        path = report.backups[old]
        assert (
            _scalar(
                mssql_engine,
                "SELECT COUNT(*) FROM msdb.dbo.backupmediafamily "
                f"WHERE physical_device_name = {quote_string(path)}",
            )
            >= 1
        )

        log_text = (tmp_path / "upgrade.log").read_text(encoding="utf-8")
        assert "step 5/8: Copy the data of" in log_text
        assert mssql_url.password is None or str(mssql_url.password) not in log_text
    finally:
        # Dropping a login leaves its database users orphaned; the databases go afterwards.
        with mssql_engine.connect() as connection:
            connection.execute(text(f"DROP LOGIN {quote_identifier(login)}"))


def test_legacy_from_15_0(
    mssql_engine: Engine, mssql_url: URL, prefix: str, tmp_path: Path
) -> None:
    from ontime_db.upgrades import upgrade

    old = f"{prefix} my-db"
    _create_old_database(mssql_engine, mssql_url, old, "ontimems_15_0.sql")
    before = _counts(mssql_engine, old, OLD_TABLES_15_0)

    report = upgrade(mssql_url.set(database=old), log_file=tmp_path / "u.log")

    assert report.plan.from_version == SchemaVersion(15, 0)
    assert report.plan.route == "legacy"
    assert _version(mssql_url, old) == _newest()
    assert _counts(mssql_engine, old, NEW_TABLES) == before
    aside = quote_identifier(report.plan.aside_database or "")
    assert (
        _scalar(
            mssql_engine,
            f"SELECT COUNT(*) FROM {quote_identifier(old)}.dbo.users AS u "
            f"JOIN {aside}.dbo.users AS o ON o.id = u.user_id AND o.login = u.login",
        )
        == before[0]
    )
    assert (
        _scalar(
            mssql_engine,
            f"SELECT COUNT(*) FROM {quote_identifier(old)}.dbo.settings AS s "
            f"JOIN {aside}.dbo.settings AS o ON o.[key] = s.setting_name",
        )
        == before[4]
    )


FAILING_PROCEDURE = """\
CREATE OR ALTER PROCEDURE dbo.UPGRADE_9_3 @olddb sysname
AS
BEGIN
    RAISERROR(N'test procedure: refusing to copy', 10, 1);
    RETURN 1;
END
GO
"""


def test_procedure_returns_1(
    mssql_engine: Engine, mssql_url: URL, prefix: str, tmp_path: Path
) -> None:
    from ontime_db.errors import BatchError, UpgradeError
    from ontime_db.upgrades import StepKind, plan_upgrade, upgrade

    old = f"{prefix}_O'Hare"
    _create_old_database(mssql_engine, mssql_url, old, "ontimems_9_3.sql")
    before = _counts(mssql_engine, old, OLD_TABLES_9_3)
    failing = tmp_path / "failing_procedure.sql"
    failing.write_text(FAILING_PROCEDURE, encoding="utf-8")

    target = mssql_url.set(database=old)
    plan = plan_upgrade(target)
    steps = tuple(
        replace(step, scripts=(step.scripts[0], failing))
        if step.kind is StepKind.CREATE_SCRIPT
        else step
        for step in plan.steps
    )
    with pytest.raises(UpgradeError) as caught:
        upgrade(target, plan=replace(plan, steps=steps), log_file=tmp_path / "u.log")

    cause = caught.value.__cause__
    assert isinstance(cause, BatchError)
    assert cause.number == 50000
    assert "dbo.UPGRADE_9_3 returned 1; 0 means success" in cause.server_message
    assert caught.value.rollback_command is None
    assert [step.kind for step in caught.value.not_done][:3] == [
        StepKind.UPGRADE_PROCEDURE,
        StepKind.RENAME,
        StepKind.RENAME,
    ]

    # The old database is untouched, the new one is renamed as failed.
    assert _version(mssql_url, old) == SchemaVersion(9, 3)
    assert _counts(mssql_engine, old, OLD_TABLES_9_3) == before
    new = plan.new_database or ""
    assert not _exists(mssql_engine, new)
    failed = [name for name in _databases(mssql_engine) if name.startswith(f"{new}_failed_")]
    assert len(failed) == 1
    assert "test procedure: refusing to copy" in (tmp_path / "u.log").read_text("utf-8")


def _migrated_database(mssql_engine: Engine, mssql_url: URL, name: str, to: str) -> None:
    from sqlalchemy import text

    from ontime_db.migration import migrate

    with mssql_engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {quote_identifier(name)}"))
    migrate(mssql_url.set(database=name), to=to, backup=False)


def test_incremental_from_26_0(
    mssql_engine: Engine, mssql_url: URL, prefix: str, tmp_path: Path
) -> None:
    from ontime_db.upgrades import upgrade

    _migrated_database(mssql_engine, mssql_url, prefix, "26.0")

    report = upgrade(mssql_url.set(database=prefix), log_file=tmp_path / "u.log")

    assert report.plan.route == "incremental"
    assert [step.kind.value for step in report.plan.steps] == ["backup", "migrate"]
    assert _version(mssql_url, prefix) == _newest()
    assert report.final_versions == {prefix: _newest()}
    assert prefix in report.backups


def test_addons_created_and_upgraded(
    mssql_engine: Engine, mssql_url: URL, prefix: str, tmp_path: Path
) -> None:
    from sqlalchemy import text

    from ontime_db.migration import migrate, newest_version
    from ontime_db.upgrades import upgrade

    _migrated_database(mssql_engine, mssql_url, prefix, str(_newest()))
    catering = f"{prefix} Größe_版本"
    with mssql_engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {quote_identifier(catering)}"))
    migrate(
        mssql_url.set(database=catering),
        to="1.0",
        migrations=migrations_dir() / "catering",
        backup=False,
    )

    report = upgrade(
        mssql_url.set(database=prefix),
        pollarity=True,
        catering=catering,
        log_file=tmp_path / "u.log",
    )

    pollarity = f"{prefix}_pollarity"
    assert [step.kind.value for step in report.plan.steps] == [
        "create-database",
        "migrate",
        "backup",
        "migrate",
    ]
    assert _version(mssql_url, pollarity) == newest_version(migrations_dir() / "pollarity")
    assert _version(mssql_url, catering) == newest_version(migrations_dir() / "catering")
    assert catering in report.backups


def test_rollback_after_upgrade(
    mssql_engine: Engine, mssql_url: URL, prefix: str, tmp_path: Path
) -> None:
    from ontime_db.backups import rollback
    from ontime_db.upgrades import upgrade

    old = f"{prefix}.9.3"
    _create_old_database(mssql_engine, mssql_url, old, "ontimems_9_3.sql")
    before = _counts(mssql_engine, old, OLD_TABLES_9_3)
    report = upgrade(mssql_url.set(database=old), log_file=tmp_path / "u.log")
    assert _version(mssql_url, old) == _newest()
    assert report.rollback_command is not None
    assert report.rollback_command.endswith(f"--database {old}")

    rollback(mssql_url, old, force=True)

    assert _version(mssql_url, old) == SchemaVersion(9, 3)
    assert _counts(mssql_engine, old, OLD_TABLES_9_3) == before
