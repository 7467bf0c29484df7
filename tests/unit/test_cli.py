"""The command line's shared behaviour: help, exit codes, the vendor's argument order,
usage errors, option types and prompts. No server is contacted."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from ontime_db.cli import main
from ontime_db.cli._common import (
    PromptInterrupted,
    ask_yes_no,
    connection_settings,
    name_value,
    new_file,
    pluralise,
    rearrange_vendor_arguments,
    seconds,
)
from ontime_db.errors import ConfigurationError, InvalidProductVersion, InvalidSchemaVersion

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


# -- usage errors name the verb, the option and the value ------------------------


def test_unknown_option_shows_verb_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--frm", "25.8"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("usage: ontime-db migrate [-h] ")
    assert err.endswith("\nontime-db migrate: error: unrecognized arguments: --frm 25.8\n")


def test_unknown_option_other_verb(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rename", "old", "new", "--nope"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("usage: ontime-db rename [-h] ")
    assert err.endswith("\nontime-db rename: error: unrecognized arguments: --nope\n")


@pytest.mark.parametrize("error", [InvalidSchemaVersion, InvalidProductVersion])
def test_version_errors_are_usage_errors(error: type[Exception]) -> None:
    assert issubclass(error, ConfigurationError)
    assert issubclass(error, ValueError)


# -- option types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0.0), ("2.5", 2.5), ("60", 60.0)], ids=["zero", "fraction", "whole"]
)
def test_seconds_accepts(text: str, value: float) -> None:
    assert seconds(text) == value


@pytest.mark.parametrize(
    "text", ["-5", "-0.1", "abc", "", "nan", "inf"], ids=["negative", "small", "word", "empty",
                                                          "nan", "infinite"]
)
def test_seconds_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        seconds(text)
    assert str(raised.value) == (
        f"invalid number of seconds {text!r}: expected a number >= 0, for example 60 or 2.5"
    )


def test_new_file_folder_missing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "x.log"
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        new_file(str(path))
    assert str(raised.value) == (
        f"invalid file path {str(path)!r}: the folder {str(path.parent)!r} does not exist; "
        "create it or choose another folder"
    )


def test_new_file_is_folder(tmp_path: Path) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        new_file(str(tmp_path))
    assert str(raised.value) == (
        f"invalid file path {str(tmp_path)!r}: it is a folder; give a file name inside it"
    )


@pytest.mark.parametrize("text", ["", " "], ids=["empty", "blank"])
def test_new_file_empty(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        new_file(text)
    assert str(raised.value) == f"invalid file path {text!r}: expected a file name"


def test_new_file_accepts(tmp_path: Path) -> None:
    assert new_file(str(tmp_path / "x.log")) == str(tmp_path / "x.log")


@pytest.mark.parametrize(
    ("text", "pair"),
    [("Db=ontimems", ("Db", "ontimems")), (" Db =a=b", ("Db", "a=b")), ("Db=", ("Db", ""))],
    ids=["plain", "equals-in-value", "empty-value"],
)
def test_name_value_accepts(text: str, pair: tuple[str, str]) -> None:
    assert name_value(text) == pair


@pytest.mark.parametrize("text", ["novalue", "=x", " =x"], ids=["no-equals", "no-name", "blank"])
def test_name_value_rejects(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        name_value(text)
    assert str(raised.value) == f"invalid value {text!r}: expected NAME=VALUE"


@pytest.mark.parametrize(
    ("count", "noun", "text"),
    [(1, "batch", "1 batch"), (0, "batch", "0 batches"), (3, "execution", "3 executions")],
    ids=["one", "zero", "plain-s"],
)
def test_pluralise(count: int, noun: str, text: str) -> None:
    assert pluralise(count, noun) == text


# -- prompts ---------------------------------------------------------------------


def _answer(monkeypatch: pytest.MonkeyPatch, result: str | BaseException) -> None:
    def fake_input(prompt: str) -> str:
        if isinstance(result, BaseException):
            raise result
        return result

    monkeypatch.setattr("builtins.input", fake_input)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [("y", True), ("YES", True), (" yes \n", True), ("", False), ("n", False), ("yep", False)],
    ids=["y", "upper", "spaces", "empty", "n", "other"],
)
def test_ask_yes_no_answers(monkeypatch: pytest.MonkeyPatch, answer: str, expected: bool) -> None:
    _answer(monkeypatch, answer)
    assert ask_yes_no("Go?") is expected


def test_ask_yes_no_end_of_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _answer(monkeypatch, EOFError())
    assert ask_yes_no("Go?") is False
    assert capsys.readouterr().out == "\n"


def test_ask_yes_no_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    _answer(monkeypatch, KeyboardInterrupt())
    with pytest.raises(PromptInterrupted):
        ask_yes_no("Go?")


PASSWORD_ARGUMENTS = ["check-connection", "--server", "db1", "--user", "OnTimeApp"]


@pytest.fixture
def password_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal on standard input, no password given, and no connection allowed."""
    import ontime_db.connection

    def check_connection(*args: Any, **options: Any) -> Any:
        raise AssertionError("no connection is made without a password")

    monkeypatch.setattr(ontime_db.connection, "check_connection", check_connection)
    monkeypatch.delenv("ONTIME_DB_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)


def test_password_end_of_input(
    password_prompt: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def getpass(prompt: str) -> str:
        assert prompt == "Password for OnTimeApp on db1: "
        raise EOFError

    monkeypatch.setattr("getpass.getpass", getpass)

    assert main(PASSWORD_ARGUMENTS) == 2
    output = capsys.readouterr()
    assert output.out == ""
    assert output.err == (
        "\nerror: no password given for OnTimeApp on db1; type it at the prompt, or set "
        "ONTIME_DB_PASSWORD\n"
    )


def test_password_ctrl_c(
    password_prompt: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def getpass(prompt: str) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("getpass.getpass", getpass)

    assert main(PASSWORD_ARGUMENTS) == 130
    assert capsys.readouterr().err == "\nerror: interrupted; nothing was changed\n"


def test_ctrl_c_during_operation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ctrl-C after the prompts may leave work half done, so the message points at the log."""
    import ontime_db.connection

    def check_connection(*args: Any, **options: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(ontime_db.connection, "check_connection", check_connection)
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "S3cret")

    assert main(PASSWORD_ARGUMENTS) == 130
    assert capsys.readouterr().err == (
        "error: interrupted; see the log above for the state the operation left\n"
    )


def _connection_args(**given: str | None) -> argparse.Namespace:
    options = dict.fromkeys(
        ("url", "server", "database", "user", "password", "extra", "driver", "odbc_driver")
    )
    options.update(given)
    return argparse.Namespace(**options)


def test_environment_password_fills_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "from-env")
    settings = connection_settings(_connection_args(server="db1", user="sa"))
    assert settings.password == "from-env"
    assert "from-env" not in repr(settings)


def test_environment_password_yields_to_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "from-env")
    settings = connection_settings(
        _connection_args(server="db1", user="sa", extra="password=from-extra;")
    )
    assert settings.password == "from-extra"


def test_environment_password_unused_integrated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "from-env")
    settings = connection_settings(
        _connection_args(server="db1", extra="integratedSecurity=true;")
    )
    assert settings.integrated_security is True
    assert settings.password is None


def test_warning_without_verbose_is_plain() -> None:
    import logging

    from ontime_db.cli import _PlainWarnings

    record = logging.LogRecord(
        "ontime_db.connection._drivers", logging.WARNING, __file__, 1,
        "no Microsoft ODBC Driver for SQL Server found; using %s", ("FreeTDS",), None,
    )
    assert _PlainWarnings().format(record) == (
        "warning: no Microsoft ODBC Driver for SQL Server found; using FreeTDS"
    )
