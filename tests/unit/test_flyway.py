"""Flyway's checksum and history table, computed and read without Java or a server.

Expected checksums are derived in the tests themselves: the CRC-32 check
value of "123456789" (0xCBF43926, the standard test vector) and zlib's
CRC-32 over the joined line bytes, which is what Flyway's reader feeds to
java.util.zip.CRC32.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from ontime_db.errors import InvalidSchemaVersion, ScriptDecodeError
from ontime_db.flyway import (
    FlywayEntry,
    FlywayHistory,
    checksum_mismatches,
    flyway_checksum,
    flyway_version_key,
    history_query_sql,
    read_flyway_history,
)
from ontime_db.version import SchemaVersion

SCRIPT = "CREATE TABLE t (i int);\nINSERT t VALUES (1);\n"


def signed(value: int) -> int:
    return value - (1 << 32) if value >= (1 << 31) else value


def crc_of_lines(*lines: str) -> int:
    return signed(zlib.crc32("".join(lines).encode("utf-8")))


# -- checksum ------------------------------------------------------------------


def test_checksum_standard_check_value() -> None:
    # 0xCBF43926 is CRC-32's published check value; as a signed int it is negative.
    assert flyway_checksum("123456789") == 0xCBF43926 - (1 << 32)
    assert flyway_checksum("123456789") == -873187034


def test_checksum_matches_crc_of_lines() -> None:
    expected = crc_of_lines("CREATE TABLE t (i int);", "INSERT t VALUES (1);")
    assert flyway_checksum(SCRIPT) == expected


@pytest.mark.parametrize(
    "variant",
    [
        "CREATE TABLE t (i int);\r\nINSERT t VALUES (1);\r\n",
        "CREATE TABLE t (i int);\rINSERT t VALUES (1);\r",
        "CREATE TABLE t (i int);\nINSERT t VALUES (1);",
        "\ufeffCREATE TABLE t (i int);\nINSERT t VALUES (1);\n",
        "CREATE TABLE t (i int);\n\n\nINSERT t VALUES (1);\n\n",
    ],
    ids=["crlf", "cr", "no-final-newline", "bom-text", "blank-lines"],
)
def test_checksum_ignores_line_endings(variant: str) -> None:
    assert flyway_checksum(variant) == flyway_checksum(SCRIPT)


def test_checksum_bom_bytes() -> None:
    data = b"\xef\xbb\xbf" + SCRIPT.replace("\n", "\r\n").encode("utf-8")
    assert flyway_checksum(data) == flyway_checksum(SCRIPT)


def test_checksum_utf16_bytes() -> None:
    data = SCRIPT.encode("utf-16")  # with its byte-order mark
    assert flyway_checksum(data, encoding="utf-16") == flyway_checksum(SCRIPT)


def test_checksum_cp1252_bytes() -> None:
    text = "INSERT t VALUES (N'Größe');\n"
    assert flyway_checksum(text.encode("cp1252"), encoding="cp1252") == crc_of_lines(text[:-1])


@pytest.mark.parametrize(
    "variant",
    [
        "CREATE TABLE t (i  int);\nINSERT t VALUES (1);\n",
        "CREATE TABLE t (i int); \nINSERT t VALUES (1);\n",
        "\tCREATE TABLE t (i int);\nINSERT t VALUES (1);\n",
        "create table t (i int);\nINSERT t VALUES (1);\n",
    ],
    ids=["double-space", "trailing-space", "leading-tab", "case"],
)
def test_checksum_sees_whitespace(variant: str) -> None:
    assert flyway_checksum(variant) != flyway_checksum(SCRIPT)


def test_checksum_joins_lines() -> None:
    # Terminators are dropped before hashing, so splitting a line in two
    # at any point gives the same value: Flyway behaves this way.
    assert flyway_checksum("SELECT 1;") == flyway_checksum("SELECT\n 1;")


def test_checksum_empty_script() -> None:
    assert flyway_checksum("") == 0
    assert flyway_checksum(b"") == 0
    assert flyway_checksum(b"\xef\xbb\xbf") == 0
    assert flyway_checksum("\n\r\n") == 0


def test_checksum_bom_only_first_line() -> None:
    assert flyway_checksum("a\n\ufeffb") == crc_of_lines("a", "\ufeffb")
    assert flyway_checksum("a\n\ufeffb") != flyway_checksum("a\nb")


@pytest.mark.parametrize(
    "separator", ["\v", "\f", "\x85", "\u2028", "\u2029"], ids=["vt", "ff", "nel", "ls", "ps"]
)
def test_checksum_other_separators_kept(separator: str) -> None:
    assert flyway_checksum(f"a{separator}b") == crc_of_lines(f"a{separator}b")


def test_checksum_lone_surrogate() -> None:
    assert flyway_checksum("a\udc80b") == crc_of_lines("a?b")


def test_checksum_invalid_utf8() -> None:
    with pytest.raises(ScriptDecodeError) as raised:
        flyway_checksum(b"SELECT 1;\n\xff")
    assert raised.value.offset == 10
    assert raised.value.encoding == "utf-8"
    assert str(raised.value) == (
        "cannot compute the Flyway checksum: byte 10 is not valid utf-8; "
        "pass the encoding the vendor's tool was configured with (flyway.encoding)"
    )


def test_checksum_unknown_encoding() -> None:
    with pytest.raises(ScriptDecodeError, match="unknown encoding 'klingon'"):
        flyway_checksum(b"x", encoding="klingon")


# -- versions and history ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("1", (1,)),
        ("1.0", (1,)),
        ("25.8", (25, 8)),
        ("25_8", (25, 8)),
        ("1.10", (1, 10)),
        ("2.0.1", (2, 0, 1)),
        ("abc", None),
        ("1.x", None),
        ("", None),
        ("25.²", None),
    ],
    ids=[
        "one",
        "trailing-zero",
        "pair",
        "underscore",
        "ten",
        "three",
        "word",
        "part",
        "empty",
        "superscript-digit",
    ],
)
def test_version_key(text: str, key: tuple[int, ...] | None) -> None:
    assert flyway_version_key(text) == key


def entry(
    rank: int,
    version: str | None,
    *,
    success: bool = True,
    kind: str = "SQL",
    script: str | None = None,
    checksum: int | None = 0,
) -> FlywayEntry:
    return FlywayEntry(
        installed_rank=rank,
        version=version,
        description="d",
        type=kind,
        script=script or f"V{version}__d.sql",
        checksum=checksum,
        installed_by="OnTimeApp",
        installed_on=datetime(2024, 1, 2, 3, 4, 5),
        execution_time=10,
        success=success,
    )


def test_history_counts() -> None:
    history = FlywayHistory(
        schema="dbo",
        table="flyway_schema_history",
        entries=(
            entry(0, "0", kind="SCHEMA", checksum=None, script="[dbo]"),
            entry(1, "25.8"),
            entry(2, "25.9"),
            entry(3, "25.10", success=False),
        ),
    )
    assert history.rows == 4
    assert history.successes == 2
    assert [failed.version for failed in history.failures] == ["25.10"]
    assert history.highest_version == "25.9"
    assert history.schema_version == SchemaVersion(25, 9)


def test_history_orders_numerically() -> None:
    history = FlywayHistory("dbo", "flyway_schema_history", (entry(1, "25.9"), entry(2, "25.10")))
    assert history.highest_version == "25.10"


def test_history_skips_nonnumeric_and_repeatable() -> None:
    history = FlywayHistory(
        "dbo", "flyway_schema_history", (entry(1, "7"), entry(2, None), entry(3, "beta"))
    )
    assert history.highest_version == "7"
    assert history.schema_version == SchemaVersion(7, 0)


def test_history_empty() -> None:
    history = FlywayHistory("dbo", "flyway_schema_history", ())
    assert history.highest_version is None
    assert history.schema_version is None


def test_history_three_part_version() -> None:
    history = FlywayHistory("dbo", "flyway_schema_history", (entry(1, "3.9.2"),))
    with pytest.raises(InvalidSchemaVersion) as raised:
        _ = history.schema_version
    assert str(raised.value) == (
        "Flyway version '3.9.2' in dbo.flyway_schema_history is not a schema version: "
        "expected MAJOR or MAJOR.MINOR, for example 25.8"
    )


def test_checksum_mismatches() -> None:
    good = "SELECT 1;\n"
    history = FlywayHistory(
        "dbo",
        "flyway_schema_history",
        (
            entry(1, "1", script="V1__a.sql", checksum=flyway_checksum(good)),
            entry(2, "2", script="V2__b.sql", checksum=5),
            entry(3, "3", script="V3__c.sql", checksum=7),
            entry(4, "4", script="V4__d.sql", checksum=None),
            entry(5, "5", script="V5__e.sql", checksum=9, success=False),
        ),
    )
    scripts: dict[str, bytes | str] = {
        "V1__a.sql": good.replace("\n", "\r\n").encode(),
        "V2__b.sql": "SELECT 2;",
    }
    assert checksum_mismatches(history, scripts) == [
        f"V2__b.sql (version 2) has checksum {flyway_checksum('SELECT 2;')}, "
        "but the database recorded 5 when it was applied",
        "V3__c.sql (version 3) is recorded as applied but no script with that name was given",
    ]


# -- reading the table through a connection -------------------------------------


class RecordingConnection:
    """A stand-in for a SQLAlchemy Connection: it records the SQL sent and returns set rows.

    It checks which statements the reader sends, not what SQL Server does.
    """

    def __init__(self, answers: dict[str, list[Any]]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, dict[str, Any] | None]] = []

    def execute(self, clause: Any, parameters: dict[str, Any] | None = None) -> Any:
        sql = str(clause)
        self.sent.append((sql, parameters))
        for marker, rows in self.answers.items():
            if marker in sql:
                return SimpleNamespace(all=lambda rows=rows: rows)
        raise AssertionError(f"unexpected SQL: {sql}")


def test_read_history_absent() -> None:
    connection = RecordingConnection({"FROM sys.tables": []})
    assert read_flyway_history(connection) is None  # type: ignore[arg-type]
    assert connection.sent[0][1] == {"name": "flyway_schema_history"}
    assert len(connection.sent) == 1


def test_read_history_rows() -> None:
    row = SimpleNamespace(
        installed_rank=1,
        version="25.8",
        description="init",
        type="SQL",
        script="V25_8__init.sql",
        checksum=-873187034,
        installed_by="sa",
        installed_on=datetime(2024, 5, 6),
        execution_time=120,
        success=1,
    )
    table = SimpleNamespace(schema_name="ot]db", table_name="flyway_schema_history")
    connection = RecordingConnection({"FROM sys.tables": [table], "ORDER BY installed_rank": [row]})
    history = read_flyway_history(connection)  # type: ignore[arg-type]
    assert history is not None
    assert history.schema == "ot]db"
    assert history.entries[0].checksum == -873187034
    assert history.entries[0].success is True
    assert connection.sent[1] == (
        "SELECT installed_rank, version, description, type, script, checksum, installed_by, "
        "installed_on, execution_time, success FROM [ot]]db].[flyway_schema_history] "
        "ORDER BY installed_rank",
        None,
    )


def test_history_query_sql() -> None:
    assert history_query_sql("dbo", "flyway_schema_history").endswith(
        "FROM [dbo].[flyway_schema_history] ORDER BY installed_rank"
    )
