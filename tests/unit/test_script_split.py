"""Splitting T-SQL scripts into batches: sqlcmd's GO rules, hard cases, and a property test."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ontime_db.errors import ScriptError, SeparatorError
from ontime_db.script import Batch, Script, parse

# (id, script, expected batches as (text, line, repeat))
CASES = [
    (
        "comment-go",
        "/* usage:\nEXEC dbo.report\nGO\n*/\nSELECT 1;",
        [("/* usage:\nEXEC dbo.report\nGO\n*/\nSELECT 1;", 1, 1)],
    ),
    (
        "nested-comment",
        "/* a /* b */ still comment\nGO\n*/\nSELECT 1;\nGO\nSELECT 2;",
        [("/* a /* b */ still comment\nGO\n*/\nSELECT 1;", 1, 1), ("SELECT 2;", 6, 1)],
    ),
    (
        "quote-in-line-comment",
        "SELECT 1 -- don't\nGO\nSELECT 2",
        [("SELECT 1 -- don't", 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "comment-glued",
        "SELECT 1\n/*a*/GO--b\nSELECT 2",
        [("SELECT 1\n/*a*/", 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "comment-glued-two",
        "SELECT 1\n/*a*/ /*b*/ GO\nSELECT 2",
        [("SELECT 1\n/*a*/ /*b*/", 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "comment-glued-multiline",
        "SELECT 1 /* a\nb */GO\nSELECT 2",
        [("SELECT 1 /* a\nb */", 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "comment-before-go-code",
        "SELECT 1 /*a*/ GO\nSELECT 2",
        [("SELECT 1 /*a*/ GO\nSELECT 2", 1, 1)],
    ),
    (
        "go-word",
        "BEGIN\nGOTO done\nEND\nSELECT gone_at AS [go]\nFROM t;\ndone:\nGO",
        [("BEGIN\nGOTO done\nEND\nSELECT gone_at AS [go]\nFROM t;\ndone:", 1, 1)],
    ),
    ("go-inline", "SELECT 1 go", [("SELECT 1 go", 1, 1)]),
    ("go-count", "INSERT t DEFAULT VALUES\nGO 3", [("INSERT t DEFAULT VALUES", 1, 3)]),
    (
        "go-count-comment",
        "SELECT 1\nGO 2 -- twice\nSELECT 2",
        [("SELECT 1", 1, 2), ("SELECT 2", 3, 1)],
    ),
    ("go-tabs", "SELECT 1\n \tGO\t\t\nSELECT 2\n", [("SELECT 1", 1, 1), ("SELECT 2", 3, 1)]),
    ("go-case", "USE db\ngo\nSELECT 1\nGo 2\n", [("USE db", 1, 1), ("SELECT 1", 3, 2)]),
    ("go-crlf", "SELECT 1\r\nGO\r\nSELECT 2\r\n", [("SELECT 1", 1, 1), ("SELECT 2", 3, 1)]),
    ("go-identifier-chars", "GO$x\nGO_1\nGO@v\nGO#t", [("GO$x\nGO_1\nGO@v\nGO#t", 1, 1)]),
    ("empty-batches", "GO\nSELECT 1\nGO", [("SELECT 1", 2, 1)]),
    ("only-go", "GO", []),
    ("empty-file", "", []),
    ("only-comments", "-- setup\nGO\n/* nothing */\n\nGO 4\n", []),
    (
        "n-strings",
        "CREATE TABLE t (v nvarchar(20) DEFAULT (N'O''Brien'))\nGO\n"
        "SELECT 1 WHERE 'a' LIKE'%a'\nGO\nSELECT 2",
        [
            ("CREATE TABLE t (v nvarchar(20) DEFAULT (N'O''Brien'))", 1, 1),
            ("SELECT 1 WHERE 'a' LIKE'%a'", 3, 1),
            ("SELECT 2", 5, 1),
        ],
    ),
    (
        "backslash",
        "SELECT 'C:\\temp\\'\nGO\nSELECT 2",
        [("SELECT 'C:\\temp\\'", 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "go-in-string",
        "SELECT 'a\nGO\nb'\nGO\nSELECT 2",
        [("SELECT 'a\nGO\nb'", 1, 1), ("SELECT 2", 5, 1)],
    ),
    (
        "go-in-bracket",
        "SELECT 1 AS [x]]\nGO\n]\nGO\nSELECT 2",
        [("SELECT 1 AS [x]]\nGO\n]", 1, 1), ("SELECT 2", 5, 1)],
    ),
    ("go-in-double-quotes", 'SELECT 1 AS "x""\nGO\n"\nGO', [('SELECT 1 AS "x""\nGO\n"', 1, 1)]),
    (
        "line-endings-kept",
        "CREATE PROCEDURE p AS\r\nSELECT 'a\r\nb'\r\nGO\r\n",
        [("CREATE PROCEDURE p AS\r\nSELECT 'a\r\nb'", 1, 1)],
    ),
    (
        "leading-blank-lines",
        "SELECT 1\nGO\n\n\n  SELECT 2\n\nGO\n",
        [("SELECT 1", 1, 1), ("  SELECT 2", 5, 1)],
    ),
    ("comment-opens-batch", "GO\n-- header\nSELECT 1", [("-- header\nSELECT 1", 2, 1)]),
    ("minus-and-slash", "SELECT 4-1/2 -- x\nGO", [("SELECT 4-1/2 -- x", 1, 1)]),
    ("go-end-no-newline", "SELECT 1\nGO", [("SELECT 1", 1, 1)]),
    (
        "go-comment-after",
        "SELECT 1\nGO -- done\nSELECT 2",
        [("SELECT 1", 1, 1), ("SELECT 2", 3, 1)],
    ),
    ("go-comment-glued", "SELECT 1\nGO--done\nSELECT 2", [("SELECT 1", 1, 1), ("SELECT 2", 3, 1)]),
    ("go-one", "SELECT 1\nGO 1\nSELECT 2", [("SELECT 1", 1, 1), ("SELECT 2", 3, 1)]),
    ("go-count-tab", "SELECT 1\nGO\t2\nSELECT 2", [("SELECT 1", 1, 2), ("SELECT 2", 3, 1)]),
    ("go-count-leading-zero", "SELECT 1\nGO 007\n", [("SELECT 1", 1, 7)]),
    ("go-count-max", "SELECT 1\nGO 2147483647\n", [("SELECT 1", 1, 2147483647)]),
    ("go-crlf-end", "SELECT 1\r\nGO\r\n", [("SELECT 1", 1, 1)]),
    ("go-crlf-count", "SELECT 1\r\nGO 2\r\nSELECT 2", [("SELECT 1", 1, 2), ("SELECT 2", 3, 1)]),
    ("cr-cr-lf", "SELECT 1\r\r\nGO\r\nSELECT 2", [("SELECT 1", 1, 1), ("SELECT 2", 3, 1)]),
    (
        "block-comment-ends-line-before-go",
        "SELECT 1 /* a\nb */\nGO\nSELECT 2",
        [("SELECT 1 /* a\nb */", 1, 1), ("SELECT 2", 4, 1)],
    ),
    (
        "block-comment-ends-right-before-go",
        "SELECT 1\n/* a\nb */GO\nSELECT 2",
        [("SELECT 1\n/* a\nb */", 1, 1), ("SELECT 2", 4, 1)],
    ),
    (
        "go-in-comment-after-code",
        "SELECT 1 /* x\nGO\n*/\nSELECT 2",
        [("SELECT 1 /* x\nGO\n*/\nSELECT 2", 1, 1)],
    ),
    (
        "quote-in-bracket",
        "SELECT 1 AS [it's]\nGO\nSELECT 2",
        [("SELECT 1 AS [it's]", 1, 1), ("SELECT 2", 3, 1)],
    ),
    ("bracket-in-string", "SELECT ']'\nGO\nSELECT 2", [("SELECT ']'", 1, 1), ("SELECT 2", 3, 1)]),
    (
        "quoted-ident-doubled",
        'SELECT 1 AS "a""b"\nGO\nSELECT 2',
        [('SELECT 1 AS "a""b"', 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "dashes-in-string",
        "SELECT '--x'\nGO\nSELECT 2",
        [("SELECT '--x'", 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "comment-open-in-string",
        "SELECT '/*x'\nGO\nSELECT 2",
        [("SELECT '/*x'", 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "lone-comment-close",
        "SELECT 1 */\nGO\nSELECT 2",
        [("SELECT 1 */", 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "string-with-newline",
        "SELECT 'a\nb'\nGO\nSELECT 2",
        [("SELECT 'a\nb'", 1, 1), ("SELECT 2", 4, 1)],
    ),
    (
        "go-in-dynamic-sql",
        "CREATE PROCEDURE p AS\nEXEC (N'SELECT 1\nGO\nSELECT 2')\nGO\nSELECT 3",
        [("CREATE PROCEDURE p AS\nEXEC (N'SELECT 1\nGO\nSELECT 2')", 1, 1), ("SELECT 3", 6, 1)],
    ),
    ("only-comments-no-go", "-- a\n/* b /* c */ */\n", []),
    ("cr-only-without-go", "SELECT 1\rSELECT 2\r", [("SELECT 1\rSELECT 2", 1, 1)]),
    ("cr-in-string-before-go", "SELECT 'a\rGO'\nGO", [("SELECT 'a\rGO'", 1, 1)]),
    ("form-feed-in-code", "SELECT 1\f\nGO", [("SELECT 1", 1, 1)]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_split_case(text: str, expected: list[tuple[str, int, int]]) -> None:
    script = parse(text, file="case.sql")

    assert [(b.text, b.line, b.repeat) for b in script.batches] == expected
    assert [b.number for b in script.batches] == list(range(1, len(expected) + 1))
    assert all(b.file == "case.sql" for b in script.batches)


INVALID = [
    (
        "go-semicolon",
        "SELECT 1\nGO;\nSELECT 2",
        2,
        "case.sql, line 2: invalid batch separator 'GO;'; GO must stand alone on its line, "
        "optionally followed by a repeat count (GO 3) and a -- comment",
    ),
    (
        "go-count-bad",
        "SELECT 1\nGO x",
        2,
        "case.sql, line 2: invalid batch separator 'GO x'; GO must stand alone on its line, "
        "optionally followed by a repeat count (GO 3) and a -- comment",
    ),
    (
        "go-count-zero",
        "SELECT 1\n\nGO 0\n",
        3,
        "case.sql, line 3: invalid repeat count 0 after GO; expected a whole number from 1 to "
        "2147483647",
    ),
    (
        "go-count-huge",
        "SELECT 1\nGO 2147483648",
        2,
        "case.sql, line 2: invalid repeat count 2147483648 after GO; expected a whole number "
        "from 1 to 2147483647",
    ),
    (
        "go-count-negative",
        "SELECT 1\nGO -1",
        2,
        "case.sql, line 2: invalid repeat count -1 after GO; expected a whole number from 1 to "
        "2147483647",
    ),
    (
        "go-count-unicode-digit",
        "SELECT 1\nGO \u0663",
        2,
        "case.sql, line 2: invalid batch separator 'GO \u0663'; GO must stand alone on its "
        "line, optionally followed by a repeat count (GO 3) and a -- comment",
    ),
    (
        "go-form-feed",
        "SELECT 1\nGO\f\nSELECT 2",
        2,
        "case.sql, line 2: invalid batch separator 'GO\\x0c'; only spaces and tabs may stand "
        "around GO, but the line contains U+000C; replace it with a space",
    ),
    (
        "go-no-break-space-after",
        "SELECT 1\nGO\u00a0\nSELECT 2",
        2,
        "case.sql, line 2: invalid batch separator 'GO\\xa0'; only spaces and tabs may stand "
        "around GO, but the line contains U+00A0; replace it with a space",
    ),
    (
        "go-no-break-space-before",
        "SELECT 1\n\u00a0GO\nSELECT 2",
        2,
        "case.sql, line 2: invalid batch separator '\\xa0GO'; only spaces and tabs may stand "
        "around GO, but the line contains U+00A0; replace it with a space",
    ),
    (
        "go-cr-only",
        "SELECT 1\rGO\rSELECT 2\r",
        1,
        "case.sql, line 1: carriage return without a line feed next to GO; GO separates "
        "batches only on a line of its own, and lines end at line feeds (LF or CRLF); "
        "convert the file's line endings to CRLF or LF",
    ),
    (
        "go-cr-only-indented",
        "SELECT 1\n\n\r  go 2\r",
        3,
        "case.sql, line 3: carriage return without a line feed next to GO; GO separates "
        "batches only on a line of its own, and lines end at line feeds (LF or CRLF); "
        "convert the file's line endings to CRLF or LF",
    ),
    (
        "go-then-cr-only",
        "SELECT 1\nGO\rSELECT 2",
        2,
        "case.sql, line 2: carriage return without a line feed next to GO; GO separates "
        "batches only on a line of its own, and lines end at line feeds (LF or CRLF); "
        "convert the file's line endings to CRLF or LF",
    ),
    (
        "go-after-comment-semicolon",
        "SELECT 1\n/*a*/GO;",
        2,
        "case.sql, line 2: invalid batch separator '/*a*/GO;'; GO must stand alone on its "
        "line, optionally followed by a repeat count (GO 3) and a -- comment",
    ),
    (
        "go-block-comment-after",
        "SELECT 1\nGO /* x */",
        2,
        "case.sql, line 2: invalid batch separator 'GO /* x */'; GO must stand alone on its "
        "line, optionally followed by a repeat count (GO 3) and a -- comment",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_split_invalid_separator(text: str, line: int, message: str) -> None:
    with pytest.raises(SeparatorError) as caught:
        parse(text, file="case.sql")

    assert str(caught.value) == message
    assert caught.value.line == line
    assert caught.value.file == "case.sql"


UNTERMINATED = [
    ("string", "SELECT 1\nGO\nSELECT 'abc\nGO\n", 3, "string"),
    ("n-string", "SELECT N'x''\n", 1, "string"),
    ("bracket", "SELECT [a\nGO", 1, "bracketed identifier"),
    ("double-quote", 'SELECT "a', 1, "quoted identifier"),
    ("block-comment", "SELECT 1\n/* a /* b */\nGO\n", 2, "block comment"),
]


@pytest.mark.parametrize(
    ("text", "line", "kind"), [c[1:] for c in UNTERMINATED], ids=[c[0] for c in UNTERMINATED]
)
def test_split_unterminated(text: str, line: int, kind: str) -> None:
    with pytest.raises(ScriptError) as caught:
        parse(text, file="case.sql")

    assert str(caught.value) == (
        f"case.sql, line {line}: unterminated {kind} that starts here; close it before "
        "the end of the file"
    )
    assert caught.value.line == line


def test_split_without_file_names_line() -> None:
    with pytest.raises(SeparatorError, match=r"^line 1: invalid batch separator 'GO;'"):
        parse("GO;")


def test_batch_file_line() -> None:
    batch = parse("SELECT 1\nGO\n\nSELECT 2\nFROM x").batches[1]

    assert batch.line == 4
    assert batch.file_line(2) == 5


def test_script_kinds() -> None:
    empty = Script(file=None, batches=())
    plain = Script(file=None, batches=(Batch("SELECT 1", 1, 1),))
    mixed = Script(
        file=None,
        batches=(
            Batch("SELECT 1", 1, 1),
            Batch("BACKUP DATABASE x TO DISK='x'", 2, 3, transactional=False),
        ),
    )

    assert (empty.transactional, empty.mixed) == (True, False)
    assert (plain.transactional, plain.mixed) == (True, False)
    assert (mixed.transactional, mixed.mixed) == (False, True)


@pytest.mark.parametrize(
    ("text", "database"),
    [("USE [we]]ird]\nGO\nSELECT 1", "we]ird"), ('USE "O""Hare"\nGO', 'O"Hare')],
    ids=["bracket", "double-quote"],
)
def test_split_use_doubled_quote(text: str, database: str) -> None:
    checked = parse(text, use="reject", database=database)
    retargeted = parse(text, use="retarget", database="ontimems")

    assert checked.batches[0].text == text.split("\n")[0]
    assert retargeted.batches[0].text == "USE [ontimems]"


# -- property test -----------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "SELECT",
        "1",
        "x",
        "GOTO",
        "gone_at",
        "go_live",
        "FROM",
        "t",
        ";",
        "(",
        ")",
        "-",
        "/",
        "+",
        "*",
        "N'x'",
        "@v",
        "#tmp",
        "$x",
        ":",
        "!",
    ]
)
_STRINGS = st.lists(
    st.sampled_from(["a", "GO", "\n", "''", " ", "--", "/*", "*/", "[", "]", '"', "\r\n"]),
    max_size=8,
).map(lambda parts: "'" + "".join(parts) + "'")
_BRACKETS = st.lists(st.sampled_from(["a", "GO", "\n", "]]", " ", "'", "--"]), max_size=6).map(
    lambda parts: "[" + "".join(parts) + "]"
)
_QUOTED = st.lists(st.sampled_from(["a", "GO", "\n", '""', "'"]), max_size=6).map(
    lambda parts: '"' + "".join(parts) + '"'
)
_LINE_COMMENTS = st.lists(st.sampled_from(["x", "GO", "'", "/*", " "]), max_size=5).map(
    lambda parts: "--" + "".join(parts) + "\n"
)


@st.composite
def _block_comments(draw: st.DrawFn) -> str:
    inner = draw(st.lists(st.sampled_from(["x", "\nGO\n", "'", "--", " ", "[", "\n"]), max_size=5))
    text = "".join(inner)
    if draw(st.booleans()):
        text += "/* nested\nGO\n */"
    return "/*" + text + "*/"


_TOKENS = st.one_of(
    _WORDS,
    _STRINGS,
    _BRACKETS,
    _QUOTED,
    _LINE_COMMENTS,
    _block_comments(),
    st.just("\n"),
    st.just(" "),
)


@st.composite
def _batch_texts(draw: st.DrawFn) -> str:
    """A batch that starts with a word, so it always has code and no leading blank lines."""
    first = draw(st.sampled_from(["SELECT", "EXEC", "PRINT", "GOTO", "gone_at"]))
    rest = draw(st.lists(_TOKENS, max_size=12))
    text = first
    for token in rest:
        text += " " + token
    return text.rstrip()


@st.composite
def _separators(draw: st.DrawFn) -> tuple[str, int]:
    word = "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in "go")
    count = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=999)))
    line = draw(st.sampled_from(["", " ", "\t", " \t"])) + word
    if count is not None:
        line += draw(st.sampled_from([" ", "\t", "  "])) + str(count)
    line += draw(st.sampled_from(["", " ", "\t"]))
    if draw(st.booleans()):
        line += "-- done GO 'x"
    return line, count or 1


@st.composite
def scripts(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, int]]]:
    """A script built from batches and GO lines, and its batches as (text, line, repeat)."""
    built = draw(st.lists(st.tuples(_batch_texts(), _separators()), min_size=1, max_size=6))
    script_text = ""
    expected = []
    for text, (separator, repeat) in built:
        expected.append((text, script_text.count("\n") + 1, repeat))
        script_text += text + "\n" + separator + "\n"
    return script_text, expected


@settings(max_examples=300, deadline=None)
@given(scripts())
def test_split_property(built: tuple[str, list[tuple[str, int, int]]]) -> None:
    """A script built from batches and GO lines splits back into exactly those batches."""
    script_text, expected = built

    script = parse(script_text)

    assert [b.text for b in script.batches] == [text for text, _, _ in expected]
    assert [b.repeat for b in script.batches] == [repeat for _, _, repeat in expected]
    assert [b.line for b in script.batches] == [line for _, line, _ in expected]
