"""Migrations against a live SQL Server, checked through sys.* views and extended properties."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import URL, Engine, create_engine, text

from ontime_db.errors import BatchError, LockError, MigrationFailedError, UnknownVersionError
from ontime_db.migration import history, migrate, render_sql, validate
from ontime_db.migration.lock import acquire, release
from ontime_db.resources import migrations_dir, sql_dir
from ontime_db.version import SchemaVersion

pytestmark = pytest.mark.mssql

NEWEST = SchemaVersion(26, 4)
ALL = ["25.8", "26.0", "26.1", "26.2", "26.3", "26.4"]


@pytest.fixture
def database(fresh_database_url: URL) -> Any:
    engine = create_engine(fresh_database_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _scalar(engine: Engine, sql: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar()


def _rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def _properties(engine: Engine) -> dict[str, str]:
    rows = _rows(
        engine,
        "SELECT name, CAST(value AS nvarchar(20)) FROM sys.extended_properties "
        "WHERE class = 3 AND major_id = SCHEMA_ID(N'api') "
        "AND name IN (N'compatibility_major', N'compatibility_minor')",
    )
    return {name: value for name, value in rows}


def _alembic_version(engine: Engine) -> str | None:
    if _scalar(engine, "SELECT OBJECT_ID(N'dbo.alembic_version', N'U')") is None:
        return None
    return _scalar(engine, "SELECT version_num FROM dbo.alembic_version")


def _table_exists(engine: Engine, name: str) -> bool:
    return _scalar(engine, f"SELECT COUNT(*) FROM sys.tables WHERE name = N'{name}'") == 1


def _column_exists(engine: Engine, table: str, column: str) -> bool:
    return (
        _scalar(
            engine,
            f"SELECT COUNT(*) FROM sys.columns WHERE object_id = OBJECT_ID(N'dbo.{table}') "
            f"AND name = N'{column}'",
        )
        == 1
    )


def _audit(engine: Engine) -> list[tuple[str, str, bool]]:
    return [
        (version, kind, bool(success))
        for version, kind, success in _rows(
            engine,
            "SELECT version, type, success FROM dbo.ontime_db_history ORDER BY installed_rank",
        )
    ]


def _run_create_script(engine: Engine, name: str) -> None:
    from ontime_db.script import load, run

    script = load(sql_dir() / "ontimems" / "ontimems.sql", database=name, use="retarget")
    with engine.connect() as connection:
        run(connection, script)


def _sample_data(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(
            text(
                "INSERT dbo.users (login, display_name, email) VALUES "
                "(N'anna', N'Anna', N'anna@example.com'), (N'jurgen', N'Jürgen Größe', NULL);"
                "INSERT dbo.calendars (owner_user_id, name, color) VALUES (1, N'Anna', '#ff0000'), "
                "(2, N'Jürgen', NULL);"
                "INSERT dbo.settings (setting_name, setting_value) VALUES "
                "(N'default.theme', N'dark'), (N'smtp.host', N'mail');"
            )
        )


def _assert_newest(engine: Engine) -> None:
    assert _properties(engine) == {"compatibility_major": "26", "compatibility_minor": "4"}
    assert _alembic_version(engine) == "26.4"
    assert _column_exists(engine, "users", "time_zone")
    assert not _column_exists(engine, "calendars", "color")
    assert _table_exists(engine, "calendar_display")
    assert _table_exists(engine, "user_settings")
    assert (
        _scalar(
            engine,
            "SELECT snapshot_isolation_state FROM sys.databases WHERE database_id = DB_ID()",
        )
        == 1
    )


def test_migrate_empty_to_newest(database: Engine, fresh_database_url: URL) -> None:
    report = migrate(fresh_database_url, backup=False)
    assert report.start is None
    assert report.reached == NEWEST
    assert [str(step.version) for step in report.applied] == ALL
    _assert_newest(database)
    assert _audit(database) == [(version, "SQL", True) for version in ALL]


def test_baseline_from_properties(
    database: Engine, fresh_database: str, fresh_database_url: URL
) -> None:
    _run_create_script(database, fresh_database)
    _sample_data(database)

    report = migrate(fresh_database_url, backup=False)

    assert report.baseline == "extended properties"
    assert report.start == SchemaVersion(25, 8)
    assert [str(step.version) for step in report.applied] == ALL[1:]
    _assert_newest(database)
    assert _rows(database, "SELECT login, time_zone FROM dbo.users ORDER BY user_id") == [
        ("anna", "UTC"),
        ("jurgen", "UTC"),
    ]
    assert _rows(
        database, "SELECT calendar_id, color FROM dbo.calendar_display ORDER BY calendar_id"
    ) == [(1, "#ff0000"), (2, None)]
    assert _rows(
        database,
        "SELECT user_id, setting_name, setting_value FROM dbo.user_settings ORDER BY user_id",
    ) == [(1, "theme", "dark"), (2, "theme", "dark")]
    assert _audit(database)[0] == ("25.8", "BASELINE", True)


def test_baseline_from_flyway_history(
    database: Engine, fresh_database: str, fresh_database_url: URL
) -> None:
    _run_create_script(database, fresh_database)
    with database.connect() as connection:
        connection.execute(
            text(
                "EXEC sys.sp_dropextendedproperty @name = N'compatibility_major', "
                "@level0type = N'SCHEMA', @level0name = N'api';"
                "EXEC sys.sp_dropextendedproperty @name = N'compatibility_minor', "
                "@level0type = N'SCHEMA', @level0name = N'api';"
                "CREATE TABLE dbo.flyway_schema_history (installed_rank int NOT NULL PRIMARY KEY, "
                "version nvarchar(50) NULL, description nvarchar(200) NOT NULL, "
                "type nvarchar(20) NOT NULL, script nvarchar(1000) NOT NULL, checksum int NULL, "
                "installed_by nvarchar(100) NOT NULL, "
                "installed_on datetime NOT NULL DEFAULT GETDATE(), "
                "execution_time int NOT NULL, success bit NOT NULL);"
                "INSERT dbo.flyway_schema_history (installed_rank, version, description, type, "
                "script, "
                "checksum, installed_by, execution_time, success) VALUES "
                "(1, N'25.8', N'create', N'SQL', N'V25_8__create.sql', 12345, N'OnTimeApp', "
                "100, 1);"
            )
        )

    report = migrate(fresh_database_url, backup=False)

    assert report.baseline == "flyway history"
    assert report.start == SchemaVersion(25, 8)
    _assert_newest(database)


@pytest.mark.parametrize("middle", ALL[:-1])
def test_migrate_from_intermediate(database: Engine, fresh_database_url: URL, middle: str) -> None:
    first = migrate(fresh_database_url, to=middle, backup=False)
    assert first.reached == SchemaVersion.parse(middle)
    major, minor = middle.split(".")
    assert _properties(database) == {"compatibility_major": major, "compatibility_minor": minor}
    assert _alembic_version(database) == middle

    second = migrate(fresh_database_url, backup=False)
    assert second.start == SchemaVersion.parse(middle)
    assert [str(step.version) for step in second.applied] == ALL[ALL.index(middle) + 1 :]
    _assert_newest(database)


def test_up_to_date_runs_nothing(database: Engine, fresh_database_url: URL) -> None:
    migrate(fresh_database_url, backup=False)
    again = migrate(fresh_database_url, backup=False)
    assert again.applied == ()
    assert len(_audit(database)) == len(ALL)


def test_dry_run_changes_nothing(database: Engine, fresh_database_url: URL) -> None:
    report = migrate(fresh_database_url, dry_run=True)
    assert report.dry_run
    assert [str(step.version) for step in report.plan.steps] == ALL
    assert _alembic_version(database) is None
    assert _scalar(database, "SELECT COUNT(*) FROM sys.tables") == 0


def _broken_set(tmp_path: Path) -> Path:
    """The main set with 26.1's script replaced by one that fails in its second batch."""
    folder = tmp_path / "broken"
    shutil.copytree(
        migrations_dir(),
        folder,
        ignore=shutil.ignore_patterns("pollarity", "catering", "__pycache__"),
    )
    shutil.copytree(sql_dir() / "ontimems", folder / "sql" / "ontimems")
    (folder / "sql" / "ontimems" / "V26_1__split_calendar_display.sql").write_text(
        "CREATE TABLE dbo.half_done (i int NOT NULL);\nGO\n"
        "INSERT INTO dbo.no_such_table (i) VALUES (1);\nGO\n",
        "utf-8",
    )
    return folder


def test_failure_leaves_previous_version(
    database: Engine, fresh_database_url: URL, tmp_path: Path
) -> None:
    with pytest.raises(MigrationFailedError) as caught:
        migrate(fresh_database_url, migrations=_broken_set(tmp_path), backup=False)

    error = caught.value
    assert [str(step.version) for step in error.applied] == ["25.8", "26.0"]
    assert error.current == SchemaVersion(26, 0)
    assert error.failed.version == SchemaVersion(26, 1)
    assert error.failed.batch == 2
    assert error.failed.line == 3
    assert error.failed.number == 208  # invalid object name
    assert "Applied in this run: 25.8, 26.0. The database is at schema version 26.0." in str(
        error
    )

    assert _alembic_version(database) == "26.0"
    assert _properties(database) == {"compatibility_major": "26", "compatibility_minor": "0"}
    assert not _table_exists(database, "half_done")
    assert _audit(database) == [
        ("25.8", "SQL", True),
        ("26.0", "SQL", True),
        ("26.1", "SQL", False),
    ]


def test_lock_held_blocks_migrate(
    database: Engine, fresh_database: str, fresh_database_url: URL
) -> None:
    with database.connect() as holder:
        acquire(holder, fresh_database, timeout=5)
        try:
            with pytest.raises(LockError) as caught:
                migrate(fresh_database_url, lock_timeout=1, backup=False)
        finally:
            release(holder, fresh_database)
    assert caught.value.code == -1
    assert _alembic_version(database) is None
    assert (
        _scalar(database, "SELECT COUNT(*) FROM sys.tables") == 0
    )


def test_concurrent_migrates_apply_once(database: Engine, fresh_database_url: URL) -> None:
    outcomes: list[Any] = []

    def run() -> None:
        try:
            outcomes.append(migrate(fresh_database_url, lock_timeout=120, backup=False))
        except LockError as error:  # a timeout is the other allowed outcome
            outcomes.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    applied = [
        str(step.version)
        for report in outcomes
        if not isinstance(report, LockError)
        for step in report.applied
    ]
    assert sorted(applied) == ALL
    assert _audit(database) == [(version, "SQL", True) for version in ALL]


def test_unknown_older_version(database: Engine, fresh_database_url: URL) -> None:
    with database.connect() as connection:
        connection.execute(
            text(
                "EXEC (N'CREATE SCHEMA api'); CREATE TABLE dbo.OT_USER (id int);"
                "EXEC sys.sp_addextendedproperty @name = N'compatibility_major', @value = N'15', "
                "@level0type = N'SCHEMA', @level0name = N'api';"
                "EXEC sys.sp_addextendedproperty @name = N'compatibility_minor', @value = N'0', "
                "@level0type = N'SCHEMA', @level0name = N'api';"
            )
        )
    with pytest.raises(UnknownVersionError) as caught:
        migrate(fresh_database_url, backup=False)
    assert "python -m ontime_db upgrade" in str(caught.value)
    assert _alembic_version(database) is None


def test_unknown_newer_version(
    database: Engine, fresh_database: str, fresh_database_url: URL
) -> None:
    _run_create_script(database, fresh_database)
    with database.connect() as connection:
        connection.execute(
            text(
                "EXEC sys.sp_updateextendedproperty @name = N'compatibility_major', "
                "@value = N'27', "
                "@level0type = N'SCHEMA', @level0name = N'api';"
            )
        )
    with pytest.raises(UnknownVersionError) as caught:
        migrate(fresh_database_url, backup=False)
    assert "use a newer release of ontime_db" in str(caught.value)


def test_history_lists_rows(fresh_database_url: URL) -> None:
    migrate(fresh_database_url, to="26.0", backup=False)
    rows = history(fresh_database_url)
    assert [(str(row.version), row.type, row.success) for row in rows] == [
        ("25.8", "SQL", True),
        ("26.0", "SQL", True),
    ]
    assert all(row.execution_time is not None for row in rows)
    assert all(row.installed_by for row in rows)


def test_validate_after_script_edit(fresh_database_url: URL, tmp_path: Path) -> None:
    folder = tmp_path / "set"
    shutil.copytree(
        migrations_dir(),
        folder,
        ignore=shutil.ignore_patterns("pollarity", "catering", "__pycache__"),
    )
    shutil.copytree(sql_dir() / "ontimems", folder / "sql" / "ontimems")
    migrate(fresh_database_url, migrations=folder, backup=False)
    assert validate(fresh_database_url, migrations=folder).ok

    script = folder / "sql" / "ontimems" / "V26_0__add_user_time_zone.sql"
    script.write_text(script.read_text("utf-8") + "-- edited after it was applied\n", "utf-8")

    report = validate(fresh_database_url, migrations=folder)
    assert not report.ok
    assert [(problem.kind, str(problem.version)) for problem in report.problems] == [
        ("checksum changed", "26.0"),
    ]


def test_add_on_sets(database: Engine, fresh_database_url: URL) -> None:
    report = migrate(fresh_database_url, migrations=migrations_dir() / "pollarity", backup=False)
    assert report.reached == SchemaVersion(1, 1)
    assert _properties(database) == {"compatibility_major": "1", "compatibility_minor": "1"}
    assert _column_exists(database, "polls", "closes_at")


def _run_like_ssms(engine: Engine, sql: str) -> list[BatchError]:
    """Send every batch of ``sql`` on one session, going on after errors as SSMS does without -b."""
    from ontime_db.script import execute, parse

    errors = []
    with engine.connect() as connection:
        for batch in parse(sql).batches:
            try:
                execute(connection, batch.text)
            except BatchError as error:
                errors.append(error)
        # NOEXEC stays on for the session; a pooled connection would carry it
        # into the checks below, whose queries would then not run.
        connection.invalidate()
    return errors


def test_sql_script_runs_at_start_version(
    database: Engine, fresh_database: str, fresh_database_url: URL
) -> None:
    migrate(fresh_database_url, to="26.2", backup=False)

    errors = _run_like_ssms(database, render_sql(from_version="26.2", database=fresh_database))

    assert errors == []
    _assert_newest(database)


def test_list_users_keeps_grant(database: Engine, fresh_database_url: URL) -> None:
    """26.3 alters api.list_users in place: a grant on it survives, and it returns the new columns.

    The migration creates a stub only when the procedure is missing and then
    runs ALTER PROCEDURE, because CREATE OR ALTER needs SQL Server 2016 SP1.
    """
    migrate(fresh_database_url, to="26.2", backup=False)
    with database.connect() as connection:
        connection.execute(
            text(
                "CREATE ROLE ontime_list_reader; "
                "GRANT EXECUTE ON OBJECT::api.list_users TO ontime_list_reader;"
            )
        )
    before = _scalar(database, "SELECT OBJECT_ID(N'api.list_users', N'P')")

    migrate(fresh_database_url, to="26.3", backup=False)

    assert before is not None
    assert _scalar(database, "SELECT OBJECT_ID(N'api.list_users', N'P')") == before
    assert _rows(
        database,
        "SELECT dp.permission_name, dp.state_desc FROM sys.database_permissions AS dp "
        "WHERE dp.class = 1 AND dp.major_id = OBJECT_ID(N'api.list_users') "
        "AND dp.grantee_principal_id = DATABASE_PRINCIPAL_ID(N'ontime_list_reader')",
    ) == [("EXECUTE", "GRANT")]
    assert _rows(
        database,
        "SELECT name FROM sys.dm_exec_describe_first_result_set_for_object("
        "OBJECT_ID(N'api.list_users'), 0) ORDER BY column_ordinal",
    ) == [
        ("user_id",), ("login",), ("display_name",), ("email",), ("time_zone",), ("created_at",)
    ]


def test_sql_script_compatibility_level_100(
    database: Engine, fresh_database: str, fresh_database_url: URL
) -> None:
    """The offline script runs in a database at compatibility level 100.

    SQL Server 2016 to 2022 still run a database at level 100 when it comes
    from an older server. TRY_CONVERT is no keyword there, so the start check
    must not use it.
    """
    from ontime_db.quoting import quote_identifier

    with database.connect() as connection:
        connection.execute(
            text(f"ALTER DATABASE {quote_identifier(fresh_database)} SET COMPATIBILITY_LEVEL = 100")
        )
    migrate(fresh_database_url, to="26.2", backup=False)
    # The online run stamps alembic_version; without it the check reads the
    # extended properties, which is the branch that converts text to numbers.
    with database.connect() as connection:
        connection.execute(text("DROP TABLE dbo.alembic_version"))

    errors = _run_like_ssms(database, render_sql(from_version="26.2", database=fresh_database))

    assert errors == []
    assert _scalar(
        database, "SELECT compatibility_level FROM sys.databases WHERE database_id = DB_ID()"
    ) == 100
    _assert_newest(database)


def test_sql_script_stops_at_wrong_version(
    database: Engine, fresh_database: str, fresh_database_url: URL
) -> None:
    """The first batch raises error 50000 and NOEXEC keeps every later batch from running."""
    migrate(fresh_database_url, to="26.0", backup=False)

    errors = _run_like_ssms(database, render_sql(from_version="26.2", database=fresh_database))

    assert [error.number for error in errors] == [50000]
    assert "alembic_version contains 26.0" in errors[0].server_message
    assert _alembic_version(database) == "26.0"
    assert _properties(database) == {"compatibility_major": "26", "compatibility_minor": "0"}
    assert not _column_exists(database, "users", "time_zone")


def test_sql_script_stops_after_failed_migration(
    database: Engine, fresh_database: str, fresh_database_url: URL
) -> None:
    """A failed batch rolls its migration back; the transaction check stops the rest."""
    migrate(fresh_database_url, to="26.2", backup=False)
    with database.connect() as connection:
        # 26.3 replaces api.list_users; a table of that name makes the migration fail.
        connection.execute(
            text("DROP PROCEDURE api.list_users; CREATE TABLE api.list_users (i int);")
        )

    errors = _run_like_ssms(database, render_sql(from_version="26.2", database=fresh_database))

    assert [error.number for error in errors][-1] == 50000
    assert "the migration to 26.3 failed" in errors[-1].server_message
    assert _alembic_version(database) == "26.2"
    assert _properties(database) == {"compatibility_major": "26", "compatibility_minor": "2"}
