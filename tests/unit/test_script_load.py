"""Decoding and loading script files."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from ontime_db.cli import main
from ontime_db.errors import ScriptDecodeError, ScriptError
from ontime_db.script import decode, load
from ontime_db.script.splitter import is_flyway_script


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbfSELECT 1;\r\nGO\r\n",
        codecs.BOM_UTF16_LE + "SELECT 1;\r\nGO\r\n".encode("utf-16-le"),
        codecs.BOM_UTF16_BE + "SELECT 1;\r\nGO\r\n".encode("utf-16-be"),
        b"SELECT 1;\r\nGO\r\n",
    ],
    ids=["bom-utf8", "bom-utf16", "bom-utf16-be", "utf8"],
)
def test_decode_marks(data: bytes) -> None:
    assert decode(data) == "SELECT 1;\r\nGO\r\n"


def test_decode_non_ascii() -> None:
    assert decode("SELECT N'Größe_版本'".encode()) == "SELECT N'Größe_版本'"


def test_decode_invalid_utf8() -> None:
    with pytest.raises(ScriptDecodeError) as caught:
        decode(b"\xef\xbb\xbfSELECT '\xe9'", file="legacy.sql")

    assert str(caught.value) == (
        "cannot decode 'legacy.sql' as utf-8: invalid byte 0xE9 at byte offset 11 "
        "(invalid continuation byte); save the script as UTF-8, or as UTF-16 with a "
        "byte-order mark"
    )
    assert caught.value.offset == 11
    assert caught.value.encoding == "utf-8"
    assert caught.value.file == "legacy.sql"


def test_decode_invalid_utf16() -> None:
    with pytest.raises(ScriptDecodeError) as caught:
        decode(codecs.BOM_UTF16_LE + b"S\x00E", file="odd.sql")

    assert caught.value.encoding == "utf-16-le"
    assert caught.value.offset == 4


def test_load_utf16_file(tmp_path: Path) -> None:
    path = tmp_path / "create.sql"
    path.write_bytes(codecs.BOM_UTF16_LE + "USE [x]\r\nGO\r\nSELECT 1;\r\n".encode("utf-16-le"))

    script = load(path, use="retarget", database="ontimems")

    assert script.file == str(path)
    assert [(b.text, b.line, b.file) for b in script.batches] == [
        ("USE [ontimems]", 1, str(path)),
        ("SELECT 1;", 3, str(path)),
    ]


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.sql"

    with pytest.raises(ScriptError) as caught:
        load(path)

    assert str(caught.value) == (
        f"cannot read script {str(path)!r}: No such file or directory; check the path and "
        "its permissions"
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("migrations/V1__init.sql", True),
        ("V2.1__add_table.sql", True),
        ("V3_1__x.sql", True),
        ("R__views.sql", True),
        ("U2__undo.sql", True),
        ("db/flyway/sql/create.sql", True),
        ("db/Flyway-scripts/create.sql", True),
        ("ontimems.sql", False),
        ("V__x.sql", False),
        ("v1__lower.sql", False),
    ],
)
def test_flyway_detection(path: str, expected: bool) -> None:
    assert is_flyway_script(path) is expected


def test_load_flyway_default_on(tmp_path: Path) -> None:
    path = tmp_path / "V1__init.sql"
    path.write_text("SELECT '${who}'", encoding="utf-8")

    assert load(path, placeholders={"who": "me"}).batches[0].text == "SELECT 'me'"
    assert load(path, flyway_placeholders=False).batches[0].text == "SELECT '${who}'"


def test_load_other_file_placeholders_off(tmp_path: Path) -> None:
    path = tmp_path / "create.sql"
    path.write_text("SELECT '${who}'", encoding="utf-8")

    assert load(path).batches[0].text == "SELECT '${who}'"


def test_decode_utf16_be_bom() -> None:
    data = codecs.BOM_UTF16_BE + "SELECT N'Größe';\r\nGO\r\n".encode("utf-16-be")

    assert decode(data) == "SELECT N'Größe';\r\nGO\r\n"


@pytest.mark.parametrize(
    ("data", "encoding", "offset"),
    [
        ("SELECT 1".encode("utf-16-le"), "utf-8", 1),
        ("SELECT 1".encode("utf-16-be"), "utf-8", 0),
        (codecs.BOM_UTF32_LE + "SELECT 1".encode("utf-32-le"), "utf-16-le", 2),
        (b"SELECT 1;\x00", "utf-8", 9),
    ],
    ids=["utf16-le-without-bom", "utf16-be-without-bom", "utf32-bom", "nul-in-utf8"],
)
def test_decode_nul_rejected(data: bytes, encoding: str, offset: int) -> None:
    with pytest.raises(ScriptDecodeError) as caught:
        decode(data, file="wide.sql")

    assert str(caught.value) == (
        f"cannot decode 'wide.sql' as {encoding}: NUL character at byte offset {offset}, "
        "which T-SQL text never contains, so the file is in another encoding (UTF-16 "
        "without a byte-order mark, or UTF-32); save it as UTF-8, or as UTF-16 with a "
        "byte-order mark"
    )
    assert (caught.value.encoding, caught.value.offset) == (encoding, offset)


def test_decode_nul_offset_after_non_ascii() -> None:
    with pytest.raises(ScriptDecodeError) as caught:
        decode("SELECT N'é'".encode() + b"\x00")

    assert caught.value.offset == 12


def test_decode_utf16_odd_length() -> None:
    data = codecs.BOM_UTF16_LE + "SELECT 1".encode("utf-16-le") + b"\x00"

    with pytest.raises(ScriptDecodeError) as caught:
        decode(data, file="cut.sql")

    assert str(caught.value) == (
        "cannot decode 'cut.sql' as utf-16-le: invalid byte 0x00 at byte offset 18 (the file "
        "has an odd number of bytes, 19, so its last character is cut off); save the script "
        "as UTF-8, or as UTF-16 with a byte-order mark"
    )
    assert caught.value.offset == 18


def test_decode_invalid_utf8_without_file() -> None:
    with pytest.raises(ScriptDecodeError) as caught:
        decode(b"SELECT \xff")

    assert str(caught.value).startswith(
        "cannot decode 'script' as utf-8: invalid byte 0xFF at byte offset 7 (invalid start byte)"
    )
    assert caught.value.file is None


def test_decode_only_bom() -> None:
    assert decode(codecs.BOM_UTF16_LE) == ""


def test_load_utf16_be_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "be.sql"
    text = "-- one\r\nSELECT 1;\r\nGO\r\n\r\nSELECT 2;\r\n"
    path.write_bytes(codecs.BOM_UTF16_BE + text.encode("utf-16-be"))

    script = load(path)

    assert [(b.text, b.line) for b in script.batches] == [
        ("-- one\r\nSELECT 1;", 1),
        ("SELECT 2;", 5),
    ]


WIDE_MESSAGE = (
    "cannot decode {name!r} as utf-8: NUL character at byte offset 1, which T-SQL text "
    "never contains, so the file is in another encoding (UTF-16 without a byte-order mark, "
    "or UTF-32); save it as UTF-8, or as UTF-16 with a byte-order mark"
)


def test_load_utf16_without_bom(tmp_path: Path) -> None:
    path = tmp_path / "wide.sql"
    path.write_bytes("SELECT 1;\r\nGO\r\n".encode("utf-16-le"))

    with pytest.raises(ScriptDecodeError) as caught:
        load(path)

    assert str(caught.value) == WIDE_MESSAGE.format(name=str(path))
    assert (caught.value.file, caught.value.encoding, caught.value.offset) == (
        str(path),
        "utf-8",
        1,
    )


def test_load_utf16_without_bom_non_ascii(tmp_path: Path) -> None:
    path = tmp_path / "wide.sql"
    path.write_bytes("éSELECT 1;".encode("utf-16-le"))

    with pytest.raises(ScriptDecodeError) as caught:
        load(path)

    assert str(caught.value) == (
        f"cannot decode {str(path)!r} as utf-8: invalid byte 0xE9 at byte offset 0 (invalid "
        "continuation byte); save the script as UTF-8, or as UTF-16 with a byte-order mark"
    )


def test_split_cli_utf16_without_bom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "wide.sql"
    path.write_bytes("SELECT 1;\r\nGO\r\n".encode("utf-16-le"))

    assert main(["split", str(path)]) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "error: " + WIDE_MESSAGE.format(name=str(path)) + "\n"
