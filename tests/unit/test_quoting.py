"""Quoting of names and string values: the rules every built statement relies on."""

from __future__ import annotations

import pytest

from ontime_db.errors import InvalidNameError, OnTimeDbError
from ontime_db.quoting import check_name, quote_identifier, quote_string, utf16_length

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


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a\nb", "invalid database name 'a\\nb': it contains the control character '\\n' "
         "(U+000A); use a name without tabs, line breaks or other control characters"),
        ("a\tb", "invalid database name 'a\\tb': it contains the control character '\\t' "
         "(U+0009); use a name without tabs, line breaks or other control characters"),
        ("a\u2029b", "invalid database name 'a\\u2029b': it contains the control character "
         "'\\u2029' (U+2029); use a name without tabs, line breaks or other control characters"),
        ("   ", "invalid database name '   ': a name must not consist of white space only"),
        ("😀" * 65, f"invalid database name {'😀' * 65!r}: 65 characters that take 130 UTF-16 "
         "code units, SQL Server allows at most 128"),
        ("a\ud800", "invalid database name 'a\\ud800': it contains the lone surrogate U+D800, "
         "which cannot be encoded as UTF-16 for the driver"),
    ],
    ids=["newline", "tab", "paragraph-separator", "spaces-only", "emoji-too-long", "surrogate"],
)
def test_check_name_rejects_more(name: str, message: str) -> None:
    with pytest.raises(InvalidNameError) as caught:
        check_name(name)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    "name",
    ["😀" * 64, "\u200fdb", "x;GO", "$(Db)", "N'x"],
    ids=["emoji-128-units", "right-to-left-mark", "semicolon-go", "sqlcmd-variable", "n-prefix"],
)
def test_check_name_accepts(name: str) -> None:
    assert check_name(name) == name


def test_utf16_length() -> None:
    assert utf16_length("ontimems") == 8
    assert utf16_length("Größe_版本") == 8
    assert utf16_length("😀db") == 4
