"""How backups are described in msdb and read back from its history rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from ontime_db.backups import statements
from ontime_db.backups.records import (
    DESCRIPTION_LIMIT,
    MARKER,
    format_description,
    parse_description,
    record_from_row,
)


def test_format_description() -> None:
    text = format_description(
        purpose="before upgrade from 2.6.1", schema_version="25.8", tool_version="0.1.0"
    )

    assert text == "tool=0.1.0; schema=25.8; purpose=before upgrade from 2.6.1"


def test_format_description_no_version() -> None:
    text = format_description(purpose="manual backup", schema_version=None, tool_version="0.1.0")

    assert text == "tool=0.1.0; schema=none; purpose=manual backup"


def test_format_description_cut_to_limit() -> None:
    text = format_description(purpose="p" * 400, schema_version="15.0", tool_version="0.1.0")

    assert len(text) == DESCRIPTION_LIMIT
    assert text.startswith("tool=0.1.0; schema=15.0; purpose=ppp")


def test_format_description_cut_emoji() -> None:
    """An emoji takes two UTF-16 code units, and the cut falls between the two halves of one."""
    purpose = "x" + "😀" * 200
    text = format_description(purpose=purpose, schema_version="15.0", tool_version="0.1.0")

    # 34 code units before the emojis leave 221 for them: 110 whole emojis.
    assert text == "tool=0.1.0; schema=15.0; purpose=x" + "😀" * 110
    assert len(text.encode("utf-16-le")) // 2 == DESCRIPTION_LIMIT - 1


def test_format_description_fits_backup() -> None:
    """The cut description is accepted by the BACKUP statement builder."""
    text = format_description(purpose="版本😀" * 150, schema_version=None, tool_version="0.1.0")

    sql = statements.backup_database("ontimems", "C:\\b.bak", name=MARKER, description=text)

    assert f"DESCRIPTION = N'{text}'" in sql


def test_description_round_trip_with_semicolon() -> None:
    purpose = "before migrate 25.8 -> 27.0; O'Hare ✓ 版本"
    text = format_description(purpose=purpose, schema_version="25.8", tool_version="1.2")

    assert parse_description(text) == {"tool": "1.2", "schema": "25.8", "purpose": purpose}


@pytest.mark.parametrize(
    "text",
    [None, "", "Full backup by Ola Hallengren", "tool=1; purpose=x", "tool=1; x=2; purpose=y"],
    ids=["none", "empty", "foreign", "missing-schema", "unknown-key"],
)
def test_parse_description_other_text(text: str | None) -> None:
    assert parse_description(text) == {}


def _row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "backup_set_id": 41,
        "database_name": "ontimems",
        "name": MARKER,
        "description": "tool=0.1.0; schema=25.8; purpose=before migrate 25.8 -> 27.0",
        "position": 1,
        "backup_start_date": datetime(2026, 12, 4, 19, 30, 0),
        "backup_finish_date": datetime(2026, 12, 4, 19, 30, 9),
        "first_lsn": Decimal("37000000012300001"),
        "last_lsn": Decimal("37000000014500001"),
        "backup_size": Decimal("3254784"),
        "compressed_backup_size": Decimal("401234"),
        "has_backup_checksums": True,
        "is_copy_only": False,
        "server_name": "SQL1",
        "physical_device_name": "C:\\SqlServerBackups\\OnTime(2026-12-04-193000).bak",
    }
    row.update(overrides)
    return row


def test_record_from_row() -> None:
    record = record_from_row(_row())

    assert record.path == "C:\\SqlServerBackups\\OnTime(2026-12-04-193000).bak"
    assert record.database == "ontimems"
    assert record.first_lsn == 37000000012300001
    assert record.last_lsn == 37000000014500001
    assert record.size == 3254784
    assert record.compressed_size == 401234
    assert record.purpose == "before migrate 25.8 -> 27.0"
    assert record.schema_version == "25.8"
    assert record.tool_version == "0.1.0"
    assert record.has_checksums is True
    assert record.copy_only is False
    assert record.verified is None
    assert record.made_by_ontime_db
    assert record.is_rollback_point


def test_record_other_tool() -> None:
    record = record_from_row(
        _row(name="ontimems-Full Database Backup", description="tool=x; schema=1; purpose=y")
    )

    assert not record.made_by_ontime_db
    assert record.purpose is None
    assert not record.is_rollback_point


@pytest.mark.parametrize(
    ("purpose", "expected"),
    [
        ("before migrate 25.8 -> 27.0", True),
        ("before upgrade from 2.6.1", True),
        ("manual backup", False),
        ("Before migrate 1 -> 2", False),
    ],
    ids=["migrate", "upgrade", "manual", "case"],
)
def test_rollback_point_purpose(purpose: str, expected: bool) -> None:
    description = f"tool=0.1.0; schema=none; purpose={purpose}"

    record = record_from_row(_row(description=description))

    assert record.is_rollback_point is expected
    assert record.schema_version is None


def test_record_as_dict_verified() -> None:
    record = record_from_row(_row()).as_verified()

    data = record.as_dict()

    assert data["verified"] is True
    assert data["finished"] == "2026-12-04T19:30:09"
    assert data["made_by_ontime_db"] is True
