"""Parsing BACKUP and RESTORE STATS messages into progress, and drawing it."""

from __future__ import annotations

import io

import pytest

from ontime_db.backups.progress import (
    FINISHED_MESSAGE,
    Progress,
    ProgressLines,
    TerminalProgress,
    parse_percent,
)


@pytest.mark.parametrize(
    ("text", "percent"),
    [
        ("10 percent processed.", 10),
        ("100 percent processed.", 100),
        ("  5 percent processed.  ", 5),
        ("20 percent processed", 20),
        ("BACKUP DATABASE successfully processed 465 pages in 0.093 seconds (39.0 MB/sec).", 100),
        ("RESTORE DATABASE successfully processed 466 pages in 0.05 seconds (72.7 MB/sec).", 100),
    ],
    ids=["ten", "hundred", "padded", "no-period", "backup-done", "restore-done"],
)
def test_parse_percent(text: str, percent: int) -> None:
    assert parse_percent(text) == percent


@pytest.mark.parametrize(
    "text",
    [
        "Processed 456 pages for database 'ontimems', file 'ontimems' on file 1.",
        "The backup set on file 1 is valid.",
        "250 percent processed.",
        "percent processed.",
        "",
    ],
    ids=["pages", "verify-valid", "over-100", "no-number", "empty"],
)
def test_parse_percent_other_messages(text: str) -> None:
    assert parse_percent(text) is None


def test_parse_percent_finished_number() -> None:
    assert parse_percent("(localised text)", number=FINISHED_MESSAGE) == 100


def test_terminal_progress_redraws() -> None:
    stream = io.StringIO()
    draw = TerminalProgress(stream)

    draw(Progress(step="backup", target="ontimems", percent=40))
    draw(Progress(step="backup", target="ontimems", percent=100))

    assert stream.getvalue() == (
        "\rbackup ontimems: [############------------------]  40%"
        "\rbackup ontimems: [##############################] 100%\n"
    )


def test_progress_lines() -> None:
    stream = io.StringIO()
    write = ProgressLines(stream)

    write(Progress(step="restore", target="my db", percent=10))
    write(Progress(step="restore", target="my db", percent=100))

    assert stream.getvalue() == "restore my db: 10%\nrestore my db: 100%\n"


def test_progress_done() -> None:
    assert Progress(step="verify", target="x", percent=100).done
    assert not Progress(step="verify", target="x", percent=90).done
