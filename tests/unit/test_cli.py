"""The command line's shared behaviour: help, exit codes, the vendor's argument order."""

from __future__ import annotations

import pytest

from ontime_db.cli import main
from ontime_db.cli._common import rearrange_vendor_arguments

VERBS = {"migrate", "info", "upgrade"}


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "usage: ontime-db" in capsys.readouterr().out


def test_missing_verb_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            ["-skipDefaultCallbacks=true", "-url=jdbc:sqlserver://h;databaseName=x", "migrate"],
            ["migrate", "-skipDefaultCallbacks=true", "-url=jdbc:sqlserver://h;databaseName=x"],
        ),
        (["migrate", "-url=x"], ["migrate", "-url=x"]),
        (["-v", "info"], ["-v", "info"]),
        (["--database", "info", "migrate"], ["--database", "info", "migrate"]),
        ([], []),
    ],
    ids=["vendor-order", "verb-first", "plain-option", "value-named-like-verb", "empty"],
)
def test_rearrange_vendor_arguments(arguments: list[str], expected: list[str]) -> None:
    assert rearrange_vendor_arguments(arguments, VERBS) == expected
