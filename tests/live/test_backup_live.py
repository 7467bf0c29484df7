"""Backup, restore, rename and rollback against a live SQL Server, checked through catalog views.

Backup files go to ``ONTIME_DB_TEST_BACKUP_DIR`` (a folder on the server; the
compose file's server uses /var/opt/mssql/backups) or else the instance's
default backup folder. Each test removes the databases and the msdb history
it creates.
NOTE: the backup files themselves stay in that folder: T-SQL has no
documented statement that deletes a file, and xp_delete_file is undocumented,
so the tests do not rely on it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import URL, Engine, create_engine, text

from ontime_db.backups import backup, list_backups, rename, restore, rollback
from ontime_db.backups.naming import DataFile, join_server_path, moved_files
from ontime_db.errors import (
    BackupFolderError,
    DatabaseExistsError,
    DatabaseInUseError,
    RestoreError,
)
from ontime_db.quoting import quote_identifier, quote_string
from ontime_db.testing import drop_database

pytestmark = pytest.mark.mssql

BACKUP_DIR = os.environ.get("ONTIME_DB_TEST_BACKUP_DIR") or None


def _run(url: URL, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for sql in statements:
                connection.execute(text(sql))
    finally:
        # A pooled connection would count as a session in the database.
        engine.dispose()


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def _rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(text(sql), params).all())


def _database_row(engine: Engine, database: str) -> tuple[str, str] | None:
    rows = _rows(
        engine,
        "SELECT state_desc, user_access_desc FROM sys.databases WHERE name = :name",
        name=database,
    )
    return (rows[0][0], rows[0][1]) if rows else None


def _file_names(engine: Engine, database: str) -> list[tuple[str, str]]:
    rows = _rows(
        engine,
        "SELECT name, physical_name FROM sys.master_files "
        "WHERE database_id = DB_ID(:name) ORDER BY file_id",
        name=database,
    )
    return [(row[0], row[1]) for row in rows]


@pytest.fixture
def cleanup(mssql_engine: Engine) -> Iterator[list[str]]:
    """Names of databases to drop, with their msdb backup history, after the test."""
    names: list[str] = []
    yield names
    for name in names:
        drop_database(mssql_engine, name)
    for name in names:
        with mssql_engine.connect() as connection:
            connection.execute(
                text("EXEC msdb.dbo.sp_delete_database_backuphistory @database_name = :name"),
                {"name": name},
            )


@pytest.fixture
def database(fresh_database: str, fresh_database_url: URL, cleanup: list[str]) -> str:
    """A fresh database with one table ``t`` holding the row 1."""
    cleanup.append(fresh_database)
    _run(
        fresh_database_url,
        "CREATE TABLE dbo.t (i int NOT NULL)",
        "INSERT INTO dbo.t (i) VALUES (1)",
    )
    return fresh_database


def test_backup_verified(database: str, fresh_database_url: URL, mssql_engine: Engine) -> None:
    record = backup(fresh_database_url, folder=BACKUP_DIR, purpose="manual backup")

    assert record.verified is True
    assert record.database == database
    row = _rows(
        mssql_engine,
        "SELECT bs.name, bs.description, bs.has_backup_checksums, bs.is_copy_only, bs.position "
        "FROM msdb.dbo.backupset AS bs "
        "JOIN msdb.dbo.backupmediafamily AS bmf ON bmf.media_set_id = bs.media_set_id "
        "WHERE bs.database_name = :name AND bmf.physical_device_name = :path",
        name=database,
        path=record.path,
    )
    assert len(row) == 1
    assert row[0][0] == "ontime_db"
    assert row[0][1].endswith("; schema=none; purpose=manual backup")
    assert row[0][2] == 1
    assert row[0][3] == 0
    assert row[0][4] == 1
    assert f"OnTime-{database}(" in record.path


def test_backup_copy_only_listed(database: str, fresh_database_url: URL) -> None:
    record = backup(fresh_database_url, folder=BACKUP_DIR, copy_only=True, verify=False)

    listed = list_backups(fresh_database_url, database)

    assert [item.path for item in listed] == [record.path]
    assert listed[0].copy_only is True
    assert listed[0].has_checksums is True


def test_backup_twice_new_files(database: str, fresh_database_url: URL) -> None:
    first = backup(fresh_database_url, folder=BACKUP_DIR, verify=False)
    second = backup(fresh_database_url, folder=BACKUP_DIR, verify=False)

    assert first.path != second.path


def test_backup_missing_folder(
    database: str, fresh_database_url: URL, mssql_engine: Engine
) -> None:
    base = BACKUP_DIR or _default_backup_dir(mssql_engine)
    missing = join_server_path(base, f"missing_{uuid.uuid4().hex[:8]}")

    with pytest.raises(BackupFolderError) as caught:
        backup(fresh_database_url, folder=missing)

    assert caught.value.folder == missing
    assert f"backup folder {missing!r} does not exist" in str(caught.value)
    assert "SQL Server service account" in str(caught.value)
    assert list_backups(fresh_database_url, database) == []


def test_restore_beside_original(
    database: str, fresh_database_url: URL, mssql_engine: Engine, cleanup: list[str]
) -> None:
    record = backup(fresh_database_url, folder=BACKUP_DIR)
    copy = f"{database}_copy"
    cleanup.append(copy)

    result = restore(fresh_database_url, record.path, as_name=copy)

    states = _rows(
        mssql_engine,
        "SELECT name, state_desc FROM sys.databases WHERE name IN (:a, :b) ORDER BY name",
        a=database,
        b=copy,
    )
    assert [(row[0], row[1]) for row in states] == [(database, "ONLINE"), (copy, "ONLINE")]
    original_files = {path for _, path in _file_names(mssql_engine, database)}
    copy_files = {path for _, path in _file_names(mssql_engine, copy)}
    assert original_files.isdisjoint(copy_files)
    assert {path for _, path in result.files} == copy_files
    assert result.source_database == database
    assert _scalar(mssql_engine, f"SELECT COUNT(*) FROM {quote_identifier(copy)}.dbo.t") == 1


def test_restore_beside_renamed_aside(
    database: str, fresh_database_url: URL, mssql_engine: Engine, cleanup: list[str]
) -> None:
    """A database renamed aside keeps its files; a restore under the old name avoids them."""
    record = backup(fresh_database_url, folder=BACKUP_DIR)
    aside = f"{database}_before"
    cleanup.append(aside)
    rename(fresh_database_url, database, aside)

    result = restore(fresh_database_url, record.path, as_name=database)

    aside_files = {path.casefold() for _, path in _file_names(mssql_engine, aside)}
    restored_files = {path.casefold() for _, path in _file_names(mssql_engine, database)}
    assert aside_files.isdisjoint(restored_files)
    assert {path.casefold() for _, path in result.files} == restored_files
    assert _database_row(mssql_engine, database) == ("ONLINE", "MULTI_USER")
    assert _database_row(mssql_engine, aside) == ("ONLINE", "MULTI_USER")


def test_restore_hard_name(
    database: str, fresh_database_url: URL, mssql_engine: Engine, cleanup: list[str]
) -> None:
    """Dot, quote, bracket and non-ASCII letters in one name, in RESTORE, MOVE and DB_ID."""
    record = backup(fresh_database_url, folder=BACKUP_DIR)
    copy = f"{database} O'Hare]Größe_版本.25.8"
    cleanup.append(copy)

    result = restore(fresh_database_url, record.path, as_name=copy)

    assert _database_row(mssql_engine, copy) == ("ONLINE", "MULTI_USER")
    assert {path for _, path in _file_names(mssql_engine, copy)} == {
        path for _, path in result.files
    }
    assert _scalar(mssql_engine, f"SELECT COUNT(*) FROM {quote_identifier(copy)}.dbo.t") == 1


def test_restore_replace(database: str, fresh_database_url: URL, mssql_engine: Engine) -> None:
    record = backup(fresh_database_url, folder=BACKUP_DIR)
    _run(fresh_database_url, "INSERT INTO dbo.t (i) VALUES (2)")

    with pytest.raises(DatabaseExistsError):
        restore(fresh_database_url, record.path, as_name=database)
    result = restore(fresh_database_url, record.path, as_name=database, replace=True)

    assert result.replaced is True
    assert _scalar(mssql_engine, f"SELECT COUNT(*) FROM {quote_identifier(database)}.dbo.t") == 1
    assert _database_row(mssql_engine, database) == ("ONLINE", "MULTI_USER")


def test_restore_force_ends_sessions(
    database: str, fresh_database_url: URL, mssql_engine: Engine
) -> None:
    record = backup(fresh_database_url, folder=BACKUP_DIR)
    holder = create_engine(fresh_database_url)
    open_connection = holder.connect()
    try:
        open_connection.execute(text("SELECT 1")).scalar()

        with pytest.raises(DatabaseInUseError) as caught:
            restore(fresh_database_url, record.path, as_name=database, replace=True)
        assert any("(this process, id " in item for item in caught.value.sessions)

        result = restore(
            fresh_database_url, record.path, as_name=database, replace=True, force=True
        )
    finally:
        # The forced restore ended this session on the server; drop it without a rollback.
        open_connection.invalidate()
        open_connection.close()
        holder.dispose()

    assert len(result.ended_sessions) == 1
    assert _database_row(mssql_engine, database) == ("ONLINE", "MULTI_USER")


def test_restore_bad_path(database: str, fresh_database_url: URL, mssql_engine: Engine) -> None:
    missing = join_server_path(
        BACKUP_DIR or _default_backup_dir(mssql_engine), f"missing_{uuid.uuid4().hex[:8]}.bak"
    )

    with pytest.raises(RestoreError) as caught:
        restore(fresh_database_url, missing, as_name=f"{database}_never")

    assert caught.value.file == missing
    assert _database_row(mssql_engine, f"{database}_never") is None


def test_drop_restoring_database(
    database: str, fresh_database_url: URL, mssql_engine: Engine, cleanup: list[str]
) -> None:
    """drop_database removes a database left RESTORING, on which ALTER DATABASE fails."""
    record = backup(fresh_database_url, folder=BACKUP_DIR, verify=False)
    pending = f"{database}_pending"
    cleanup.append(pending)
    folder = str(
        _scalar(
            mssql_engine,
            "SELECT CAST(SERVERPROPERTY('InstanceDefaultDataPath') AS nvarchar(4000))",
        )
    )
    files = [
        DataFile(name, path, "L" if name.endswith("_log") else "D")
        for name, path in _file_names(mssql_engine, database)
    ]
    moves = ", ".join(
        f"MOVE {quote_string(file.logical_name)} TO {quote_string(path)}"
        for file, path in moved_files(pending, files, data_folder=folder, log_folder=folder)
    )
    _run(
        fresh_database_url,
        f"RESTORE DATABASE {quote_identifier(pending)} FROM DISK = {quote_string(record.path)} "
        f"WITH {moves}, NORECOVERY",
    )
    assert _database_row(mssql_engine, pending) == ("RESTORING", "MULTI_USER")

    drop_database(mssql_engine, pending)

    assert _database_row(mssql_engine, pending) is None


def _default_backup_dir(engine: Engine) -> str:
    return str(
        _scalar(
            engine, "SELECT CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(4000))"
        )
    )


def test_rename_without_files(
    database: str, fresh_database_url: URL, mssql_engine: Engine, cleanup: list[str]
) -> None:
    new = f"{database}.25.8"
    cleanup.append(new)
    before = _file_names(mssql_engine, database)

    result = rename(fresh_database_url, database, new)

    assert _scalar(mssql_engine, "SELECT DB_ID(:n)", n=database) is None
    assert _file_names(mssql_engine, new) == before
    assert _database_row(mssql_engine, new) == ("ONLINE", "MULTI_USER")
    assert result.files == ()


def test_rename_with_files(
    database: str, fresh_database_url: URL, mssql_engine: Engine, cleanup: list[str]
) -> None:
    new = f"{database} we]ird"
    cleanup.append(new)

    result = rename(fresh_database_url, database, new, files=True)

    assert [name for name, _ in _file_names(mssql_engine, new)] == [new, f"{new}_log"]
    assert [new_name for _, new_name in result.files] == [new, f"{new}_log"]


def test_rename_to_existing(database: str, fresh_database_url: URL, cleanup: list[str]) -> None:
    other = f"{database}_other"
    cleanup.append(other)
    _run(fresh_database_url, f"CREATE DATABASE {quote_identifier(other)}")

    with pytest.raises(DatabaseExistsError):
        rename(fresh_database_url, database, other)


def test_rename_in_use(
    database: str, fresh_database_url: URL, mssql_engine: Engine, cleanup: list[str]
) -> None:
    new = f"{database}_renamed"
    cleanup.append(new)
    holder = create_engine(fresh_database_url)
    open_connection = holder.connect()
    try:
        open_connection.execute(text("SELECT 1")).scalar()

        with pytest.raises(DatabaseInUseError) as caught:
            rename(fresh_database_url, database, new)
        assert len(caught.value.sessions) >= 1
        assert _scalar(mssql_engine, "SELECT DB_ID(:n)", n=database) is not None

        result = rename(fresh_database_url, database, new, force=True)
        assert len(result.ended_sessions) >= 1
    finally:
        # The forced rename ended this session on the server; drop it without a rollback.
        open_connection.invalidate()
        open_connection.close()
        holder.dispose()

    assert _database_row(mssql_engine, new) == ("ONLINE", "MULTI_USER")
    assert _database_row(mssql_engine, database) is None


def test_rollback_after_change(
    database: str, fresh_database_url: URL, mssql_engine: Engine
) -> None:
    from ontime_db.catalog import write_schema_version

    _set_version(fresh_database_url, "25.8", write_schema_version)
    record = backup(fresh_database_url, folder=BACKUP_DIR, purpose="before migrate 25.8 -> 27.0")
    _run(fresh_database_url, "INSERT INTO dbo.t (i) VALUES (2)")
    _set_version(fresh_database_url, "27.0", write_schema_version)

    result = rollback(fresh_database_url)

    assert result.backup.path == record.path
    assert result.version_before == "27.0"
    assert result.version_after == "25.8"
    assert _scalar(mssql_engine, f"SELECT COUNT(*) FROM {quote_identifier(database)}.dbo.t") == 1
    assert _database_row(mssql_engine, database) == ("ONLINE", "MULTI_USER")


def test_rollback_caller_engine(
    database: str, fresh_database_url: URL, mssql_engine: Engine
) -> None:
    """rollback(engine) on the caller's own engine needs no force: its idle pool is closed."""
    from ontime_db.catalog import write_schema_version

    _set_version(fresh_database_url, "25.8", write_schema_version)
    backup(fresh_database_url, folder=BACKUP_DIR, purpose="before upgrade from 2.6.1")
    engine = create_engine(fresh_database_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("INSERT INTO dbo.t (i) VALUES (2)"))
        assert engine.pool.checkedin() == 1

        result = rollback(engine)

        assert result.version_after == "25.8"
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM dbo.t")).scalar() == 1
    finally:
        engine.dispose()
    assert _database_row(mssql_engine, database) == ("ONLINE", "MULTI_USER")


def test_backup_history_rows(database: str, fresh_database_url: URL, mssql_engine: Engine) -> None:
    """Each backup adds exactly one msdb row, which the cleanup fixture deletes again."""
    first = backup(fresh_database_url, folder=BACKUP_DIR, verify=False)
    second = backup(fresh_database_url, folder=BACKUP_DIR, verify=False)

    count = _scalar(
        mssql_engine,
        "SELECT COUNT(*) FROM msdb.dbo.backupset WHERE database_name = :name AND type = 'D'",
        name=database,
    )
    assert count == 2
    assert [item.path for item in list_backups(fresh_database_url, database)] == [
        second.path,
        first.path,
    ]


def _set_version(url: URL, version: str, write: Any) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("IF SCHEMA_ID(N'api') IS NULL EXEC (N'CREATE SCHEMA api')"))
            write(connection, version)
    finally:
        engine.dispose()
