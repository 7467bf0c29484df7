"""Quoting of names and string values: the rules every built statement relies on."""

from __future__ import annotations

import pytest

from ontime_db.errors import InvalidNameError, OnTimeDbError
from ontime_db.quoting import check_name, quote_identifier, quote_string

NAMES = [
    ("ontimems.25.8", "[ontimems.25.8]", "N'ontimems.25.8'"),
    ("my-db", "[my-db]", "N'my-db'"),
    ("my db", "[my db]", "N'my db'"),
    ("we]ird", "[we]]ird]", "N'we]ird'"),
    ("O'Hare", "[O'Hare]", "N'O''Hare'"),
    ("Größe_版本", "[Größe_版本]", "N'Größe_版本'"),
    ("x]; DROP DATABASE [y", "[x]]; DROP DATABASE [y]", "N'x]; DROP DATABASE [y'"),
]


@pytest.mark.parametrize(("name", "identifier", "literal"), NAMES, ids=[n[0] for n in NAMES])
def test_quote_identifier_and_string(name: str, identifier: str, literal: str) -> None:
    assert quote_identifier(name) == identifier
    assert quote_string(name) == literal


@pytest.mark.parametrize(("name", "identifier", "literal"), NAMES, ids=[n[0] for n in NAMES])
def test_quoted_name_is_one_tsql_token(name: str, identifier: str, literal: str) -> None:
    sqlglot = pytest.importorskip("sqlglot")
    statement = f"SELECT DB_ID({literal}) AS id FROM {identifier}.dbo.t"
    parsed = sqlglot.parse(statement, read="tsql")
    assert len(parsed) == 1
    table = parsed[0].find(sqlglot.exp.Table)
    assert table.catalog == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "invalid database name '': a name must not be empty"),
        ("a" * 129, f"invalid database name {'a' * 129!r}: 129 characters, "
         "SQL Server allows at most 128"),
        ("a\x00b", "invalid database name 'a\\x00b': it contains a NUL character"),
        (" ontimems", "invalid database name ' ontimems': remove the leading or "
         "trailing white space"),
    ],
    ids=["empty", "too-long", "nul", "space"],
)
def test_check_name_rejects(name: str, message: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        check_name(name)
    assert str(caught.value) == message
    assert isinstance(caught.value, OnTimeDbError)
    assert isinstance(caught.value, ValueError)


def test_check_name_accepts_128_characters() -> None:
    assert check_name("a" * 128) == "a" * 128


def test_quote_string_rejects_non_string() -> None:
    with pytest.raises(InvalidNameError) as caught:
        quote_string(15)  # type: ignore[arg-type]
    assert str(caught.value) == "invalid string value 15: expected str, got int"
