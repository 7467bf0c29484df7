"""Backup file names and server-side paths, built as strings for Windows and Linux servers."""

from __future__ import annotations

from datetime import datetime

import pytest

from ontime_db.backups.naming import (
    VENDOR_FOLDER,
    DataFile,
    backup_file_name,
    join_server_path,
    moved_files,
    new_logical_names,
    safe_file_part,
    separator_of,
    unique_backup_path,
)
from ontime_db.errors import BackupError

WHEN = datetime(2026, 12, 4, 19, 30, 0)


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ("ontimems", "OnTime(2026-12-04-193000).bak"),
        ("ontimems.25.8", "OnTime-ontimems.25.8(2026-12-04-193000).bak"),
        ("my-db", "OnTime-my-db(2026-12-04-193000).bak"),
        ("my db", "OnTime-my db(2026-12-04-193000).bak"),
        ("we]ird", "OnTime-we]ird(2026-12-04-193000).bak"),
        ("O'Hare", "OnTime-O'Hare(2026-12-04-193000).bak"),
        ("Größe_版本", "OnTime-Größe_版本(2026-12-04-193000).bak"),
        ("x]; DROP DATABASE [y", "OnTime-x]; DROP DATABASE [y(2026-12-04-193000).bak"),
        ('a<b>c:d"e/f\\g|h?i*j', "OnTime-a_b_c_d_e_f_g_h_i_j(2026-12-04-193000).bak"),
    ],
    ids=["default", "dot", "hyphen", "space", "bracket", "quote", "unicode", "smuggle", "unsafe"],
)
def test_backup_file_name(database: str, expected: str) -> None:
    assert backup_file_name(database, WHEN) == expected


def test_backup_file_name_suffix() -> None:
    assert backup_file_name("ontimems", WHEN, attempt=3) == "OnTime(2026-12-04-193000)-3.bak"


def test_safe_file_part_control_characters() -> None:
    assert safe_file_part("a\tb\nc") == "a_b_c"


@pytest.mark.parametrize(
    ("path", "separator"),
    [
        ("C:\\SqlServerBackups", "\\"),
        ("c:", "\\"),
        ("\\\\fileserver\\share", "\\"),
        ("/var/opt/mssql/backups", "/"),
        ("/var/opt/mssql/data/", "/"),
    ],
    ids=["windows", "drive-only", "unc", "linux", "linux-trailing"],
)
def test_separator_of(path: str, separator: str) -> None:
    assert separator_of(path) == separator


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("C:\\SqlServerBackups", "C:\\SqlServerBackups\\x.bak"),
        ("C:\\SqlServerBackups\\", "C:\\SqlServerBackups\\x.bak"),
        ("/var/opt/mssql/backups", "/var/opt/mssql/backups/x.bak"),
        ("/var/opt/mssql/backups/", "/var/opt/mssql/backups/x.bak"),
        ("\\\\nas\\backups", "\\\\nas\\backups\\x.bak"),
    ],
    ids=["windows", "windows-trailing", "linux", "linux-trailing", "unc"],
)
def test_join_server_path(folder: str, expected: str) -> None:
    assert join_server_path(folder, "x.bak") == expected


def test_join_server_path_empty_folder() -> None:
    with pytest.raises(BackupError, match="empty server folder"):
        join_server_path("", "x.bak")


def test_vendor_folder() -> None:
    assert VENDOR_FOLDER == "C:\\SqlServerBackups"


def test_unique_path_first_free() -> None:
    checked: list[str] = []

    def exists(path: str) -> bool:
        checked.append(path)
        return False

    path = unique_backup_path(VENDOR_FOLDER, "ontimems", WHEN, exists=exists)

    assert path == "C:\\SqlServerBackups\\OnTime(2026-12-04-193000).bak"
    assert checked == [path]


def test_unique_path_never_overwrites() -> None:
    existing = {
        "/backups/OnTime(2026-12-04-193000).bak",
        "/backups/OnTime(2026-12-04-193000)-2.bak",
    }

    path = unique_backup_path("/backups", "ontimems", WHEN, exists=existing.__contains__)

    assert path == "/backups/OnTime(2026-12-04-193000)-3.bak"


def test_unique_path_all_taken() -> None:
    with pytest.raises(BackupError) as caught:
        unique_backup_path("/backups", "my db", WHEN, exists=lambda path: True)

    assert str(caught.value) == (
        "no free backup file name in '/backups' for database 'my db' at 2026-12-04 19:30:00: "
        "99 names are taken; move old backups away or pass another folder"
    )


FILES = [
    DataFile("ontimems.25.8", "C:\\Data\\ontimems.25.8.mdf", "D"),
    DataFile("ontimems.25.8_log", "C:\\Data\\ontimems.25.8_log.ldf", "L"),
    DataFile("extra", "C:\\Data\\extra.ndf", "D"),
    DataFile("log2", "C:\\Data\\log2.ldf", "L"),
    DataFile("fts", "C:\\Data\\fts", "F"),
]


def test_moved_files_windows() -> None:
    moved = moved_files("ontimems", FILES, data_folder="D:\\Data\\", log_folder="L:\\Logs")

    assert [(file.logical_name, path) for file, path in moved] == [
        ("ontimems.25.8", "D:\\Data\\ontimems.mdf"),
        ("ontimems.25.8_log", "L:\\Logs\\ontimems_log.ldf"),
        ("extra", "D:\\Data\\ontimems_2.ndf"),
        ("log2", "L:\\Logs\\ontimems_log2.ldf"),
        ("fts", "D:\\Data\\ontimems_3"),
    ]


def test_moved_files_linux_unsafe_name() -> None:
    moved = moved_files(
        "a/b:c", FILES[:2], data_folder="/var/opt/mssql/data/", log_folder="/var/opt/mssql/log"
    )

    assert [path for _, path in moved] == [
        "/var/opt/mssql/data/a_b_c.mdf",
        "/var/opt/mssql/log/a_b_c_log.ldf",
    ]


def test_moved_files_beside_original() -> None:
    original = moved_files("ontimems", FILES[:2], data_folder="/d", log_folder="/d")
    copy = moved_files("ontimems_copy", FILES[:2], data_folder="/d", log_folder="/d")

    assert {path for _, path in original}.isdisjoint(path for _, path in copy)


def test_new_logical_names_vendor_rename() -> None:
    assert new_logical_names("ontimems", FILES[:2]) == [
        ("ontimems.25.8", "ontimems"),
        ("ontimems.25.8_log", "ontimems_log"),
    ]


def test_new_logical_names_keeps_raw_name() -> None:
    files = [DataFile("old", "/d/old.mdf", "D"), DataFile("old_log", "/d/old_log.ldf", "L")]

    assert new_logical_names("x]; DROP DATABASE [y", files) == [
        ("old", "x]; DROP DATABASE [y"),
        ("old_log", "x]; DROP DATABASE [y_log"),
    ]


def test_new_logical_names_unchanged_left_out() -> None:
    files = [DataFile("ontimems", "/d/a.mdf", "D"), DataFile("other_log", "/d/b.ldf", "L")]

    assert new_logical_names("ontimems", files) == [("other_log", "ontimems_log")]
