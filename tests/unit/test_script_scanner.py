"""The splitter's scan patterns: every compiled variant splits every script the same way.

The splitter uses one pattern whose repeats are bounded, so that a long
batch does not make Python's ``re`` keep memory for each token. The
variants here differ only where a match ends, so each must give the batches
that the case tables of test_script_split expect. The variants are:

- the bounded pattern with limits as small as 1, 2 and 3, so that the
  loop resumes a scan after nearly every token and in the middle of runs of
  doubled quotes;
- the bounded pattern with the limit the splitter uses;
- the same tokens under an unbounded greedy ``*``;
- the same tokens under a possessive ``*+``, on Python 3.11.5 and later.
  CPython 3.11.0 to 3.11.4 return wrong match ends for it, which is why the
  splitter does not use it; the variant is skipped there.
"""

from __future__ import annotations

import re
import sys
import tracemalloc

import pytest
from hypothesis import given, settings
from test_script_split import CASES, INVALID, UNTERMINATED, scripts

from ontime_db.errors import ScriptError
from ontime_db.script import parse
from ontime_db.script.lexer import LineCounter, skip_quoted
from ontime_db.script.splitter import (
    _REPEAT_LIMIT,
    _compile_scanner,
    _plain_token,
    _Scanner,
    _Splitter,
)
from ontime_db.script.sqlcmd import Substitution

POSSESSIVE_WORKS = sys.version_info >= (3, 11, 5)


def unbounded(repeat: str) -> _Scanner:
    token = _plain_token(_REPEAT_LIMIT)
    return _Scanner(plain=re.compile(token + repeat), token=re.compile(token))


def scanner(name: str) -> _Scanner:
    """Compile the variant ``name``; compiled on demand, because "*+" is an error before 3.11."""
    if name == "greedy":
        return unbounded("*")
    if name == "possessive":
        return unbounded("*+")
    if name == "default":
        return _compile_scanner()
    return _compile_scanner(int(name.removeprefix("limit-")))


VARIANTS = [
    "limit-1",
    "limit-2",
    "limit-3",
    "default",
    "greedy",
    pytest.param(
        "possessive",
        marks=pytest.mark.skipif(
            not POSSESSIVE_WORKS,
            reason="re returns wrong match ends for possessive repeats before CPython 3.11.5",
        ),
    ),
]


def split(text: str, variant: str) -> list[tuple[str, int, int]]:
    substitution = Substitution(file="case.sql")
    return _Splitter(
        text, file="case.sql", substitution=substitution, scanner=scanner(variant)
    ).run()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_scanner_case(variant: str, text: str, expected: list[tuple[str, int, int]]) -> None:
    assert split(text, variant) == expected


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("text", "line", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_scanner_invalid(variant: str, text: str, line: int, message: str) -> None:
    with pytest.raises(ScriptError) as caught:
        split(text, variant)

    assert str(caught.value) == message
    assert caught.value.line == line


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("text", "line", "kind"), [c[1:] for c in UNTERMINATED], ids=[c[0] for c in UNTERMINATED]
)
def test_scanner_unterminated(variant: str, text: str, line: int, kind: str) -> None:
    with pytest.raises(ScriptError) as caught:
        split(text, variant)

    assert str(caught.value) == (
        f"case.sql, line {line}: unterminated {kind} that starts here; close it before "
        "the end of the file"
    )


# Scripts where a bounded match ends inside a run of doubled quotes or just
# before a stop, each with its exact batches.
BOUNDARY = [
    (
        "doubled-quotes",
        "SELECT 'a''b''''c'\nGO\nSELECT 2",
        [("SELECT 'a''b''''c'", 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "doubled-quote-then-go",
        "SELECT 'x''\nGO\n'\nGO\nSELECT 2",
        [("SELECT 'x''\nGO\n'", 1, 1), ("SELECT 2", 5, 1)],
    ),
    (
        "doubled-double-quotes",
        'SELECT 1 AS "a""\nGO\n""b"\nGO',
        [('SELECT 1 AS "a""\nGO\n""b"', 1, 1)],
    ),
    (
        "doubled-brackets",
        "SELECT 1 AS [a]]\nGO\n]]b]\nGO",
        [("SELECT 1 AS [a]]\nGO\n]]b]", 1, 1)],
    ),
    (
        "adjacent-strings",
        "SELECT 'a' 'b'\nGO\nSELECT 2",
        [("SELECT 'a' 'b'", 1, 1), ("SELECT 2", 3, 1)],
    ),
    (
        "many-lines",
        "SELECT 1\n" * 5 + "GO\n" + "-- c\n" * 5 + "SELECT 2",
        [("SELECT 1\n" * 4 + "SELECT 1", 1, 1), ("-- c\n" * 5 + "SELECT 2", 7, 1)],
    ),
    (
        "cr-lf-lines",
        "a\r\nb\r\nc\r\nGO\r\nd",
        [("a\r\nb\r\nc", 1, 1), ("d", 5, 1)],
    ),
]


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in BOUNDARY], ids=[c[0] for c in BOUNDARY]
)
def test_scanner_boundary(variant: str, text: str, expected: list[tuple[str, int, int]]) -> None:
    assert split(text, variant) == expected


@pytest.mark.parametrize("variant", VARIANTS)
def test_scanner_unterminated_after_doubled_quote(variant: str) -> None:
    with pytest.raises(ScriptError) as caught:
        split("SELECT 1\nGO\nSELECT 'a''b\n''c\nGO\n", variant)

    assert str(caught.value) == (
        "case.sql, line 3: unterminated string that starts here; close it before the end "
        "of the file"
    )


@settings(max_examples=200, deadline=None)
@given(scripts())
def test_scanner_variants_agree(built: tuple[str, list[tuple[str, int, int]]]) -> None:
    """Every variant splits a generated script into the batches it was built from."""
    text, expected = built
    variants = ["limit-1", "limit-2", "default", "greedy"]
    if POSSESSIVE_WORKS:
        variants.append("possessive")

    for variant in variants:
        assert split(text, variant) == expected, variant


def test_split_string_past_limit() -> None:
    body = "SELECT '" + "a''" * (_REPEAT_LIMIT + 5) + "'"

    batches = parse(body + "\nGO\nSELECT 2").batches

    assert [(b.text, b.line) for b in batches] == [(body, 1), ("SELECT 2", 3)]


def test_split_long_batch_memory() -> None:
    """A batch of 200,000 lines without GO keeps about one copy of the text in memory.

    An unbounded repeat over it would keep more than 100 bytes per line in
    the regular expression engine, over 20 MB for this 1.8 MB text.
    """
    text = "SELECT 1\n" * 200_000

    tracemalloc.start()
    try:
        script = parse(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert [(b.line, len(b.text)) for b in script.batches] == [(1, len(text) - 1)]
    assert peak < 3 * sys.getsizeof(text)


QUOTED = [
    ("string", "'abc' x", 0, 5),
    ("doubled-quote", "x 'a''b' y", 2, 8),
    ("doubled-quote-at-end", "'a'''", 0, 5),
    ("only-doubled-quotes", "''''''", 0, 6),
    ("empty-string", "'' x", 0, 2),
    ("bracket", "[a]]b] c", 0, 6),
    ("double-quote", '"a""b"', 0, 6),
]


@pytest.mark.parametrize(
    ("text", "start", "end"), [c[1:] for c in QUOTED], ids=[c[0] for c in QUOTED]
)
def test_skip_quoted(text: str, start: int, end: int) -> None:
    assert skip_quoted(text, start, file=None, lines=LineCounter(text)) == end


def test_skip_quoted_unterminated() -> None:
    text = "SELECT 1\nSELECT 'a''\nb"

    with pytest.raises(ScriptError) as caught:
        skip_quoted(text, 16, file="x.sql", lines=LineCounter(text))

    assert str(caught.value) == (
        "x.sql, line 2: unterminated string that starts here; close it before the end of the file"
    )


def test_skip_quoted_not_quote() -> None:
    with pytest.raises(
        ValueError, match=r"^invalid start 1: expected a quote or '\[' there, found '\)'$"
    ):
        skip_quoted("a)", 1, file=None, lines=LineCounter("a)"))
