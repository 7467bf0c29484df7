"""SchemaVersion parsing and ordering."""

from __future__ import annotations

import pytest

from ontime_db.errors import InvalidSchemaVersion
from ontime_db.version import SchemaVersion


@pytest.mark.parametrize(
    ("text", "major", "minor"),
    [("15.0", 15, 0), ("15", 15, 0), ("25.8", 25, 8), (" 9.3 ", 9, 3), ("26.10", 26, 10)],
)
def test_parse_valid(text: str, major: int, minor: int) -> None:
    version = SchemaVersion.parse(text)
    assert (version.major, version.minor) == (major, minor)


@pytest.mark.parametrize("text", ["", "x", "15.", ".5", "1.2.3", "-1", "15.0a", "١٥"])
def test_parse_invalid_shows_value(text: str) -> None:
    with pytest.raises(InvalidSchemaVersion) as caught:
        SchemaVersion.parse(text)
    assert str(caught.value) == (
        f"invalid schema version {text!r}: expected MAJOR or MAJOR.MINOR, "
        "for example '15' or '25.8'"
    )
    assert isinstance(caught.value, ValueError)


def test_parse_rejects_non_string() -> None:
    with pytest.raises(InvalidSchemaVersion) as caught:
        SchemaVersion.parse(15.0)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "invalid schema version 15.0: expected a string such as '25.8'"
    )


def test_negative_part_rejected() -> None:
    with pytest.raises(InvalidSchemaVersion) as caught:
        SchemaVersion(-1, 0)
    assert str(caught.value) == "invalid schema version major -1: expected an integer >= 0"


def test_ordering_is_numeric() -> None:
    versions = [SchemaVersion.parse(t) for t in ["26.10", "9.3", "26.2", "15.0", "25.8"]]
    assert [str(v) for v in sorted(versions)] == ["9.3", "15.0", "25.8", "26.2", "26.10"]
    assert SchemaVersion.parse("15") == SchemaVersion(15, 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ontimems.25.8", SchemaVersion(25, 8)),
        ("customname.9.3", SchemaVersion(9, 3)),
        ("ontimems", None),
        ("ontimems.25", None),
        ("my-db", None),
    ],
)
def test_from_database_name(name: str, expected: SchemaVersion | None) -> None:
    assert SchemaVersion.from_database_name(name) == expected


def test_upgrade_procedure_name() -> None:
    assert SchemaVersion(9, 3).upgrade_procedure == "UPGRADE_9_3"
    assert str(SchemaVersion(15, 0)) == "15.0"
