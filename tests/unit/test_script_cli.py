"""The ``split`` and ``run-script`` verbs, up to the point where a connection would be made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ontime_db.cli import main

SCRIPT = (
    "USE [x]\nGO\n:setvar T items\nCREATE TABLE $(T) (i int)\nGO 2\n"
    "BACKUP DATABASE x TO DISK = 'x'\n"
)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "create.sql"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def test_split_lists_batches(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", str(script)]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "batch 1: line 1, run 1x, transaction",
        "batch 2: line 4, run 2x, transaction",
        "batch 3: line 6, run 1x, autocommit only",
        f"3 batches in {script}",
    ]


def test_split_json(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", str(script), "--json", "--var", "T=other"]) == 0

    data = json.loads(capsys.readouterr().out)
    assert data["mixed"] is True
    assert data["transactional"] is False
    assert [(b["number"], b["line"], b["repeat"], b["transactional"]) for b in data["batches"]] == [
        (1, 1, 1, True),
        (2, 4, 2, True),
        (3, 6, 1, False),
    ]
    assert data["batches"][1]["text"] == "CREATE TABLE items (i int)"


def test_split_var_needed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "v.sql"
    path.write_text("SELECT '$(Who)'", encoding="utf-8")

    assert main(["split", str(path), "--var", "who=me", "--text"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "SELECT 'me'"

    assert main(["split", str(path)]) == 1
    assert "sqlcmd variable $(Who) is not defined" in capsys.readouterr().err


def test_split_invalid_var(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", str(script), "--var", "novalue"]) == 2
    _usage_error(
        capsys.readouterr().err, "split", "argument --var: invalid value 'novalue': expected "
        "NAME=VALUE"
    )


def test_split_invalid_placeholder(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", str(script), "--placeholder", "=x"]) == 2
    _usage_error(
        capsys.readouterr().err, "split", "argument --placeholder: invalid value '=x': expected "
        "NAME=VALUE"
    )


def _usage_error(err: str, verb: str, message: str) -> None:
    assert err.startswith(f"usage: ontime-db {verb} [-h] ")
    assert err.endswith(f"\nontime-db {verb}: error: {message}\n")


@pytest.mark.parametrize("verb", ["split", "run-script"])
def test_script_missing(
    verb: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([verb, "nosuch.sql"]) == 2
    _usage_error(
        capsys.readouterr().err,
        verb,
        f"argument FILE: script file 'nosuch.sql' does not exist; check the path (the current "
        f"folder is {str(tmp_path)!r})",
    )


@pytest.mark.parametrize("verb", ["split", "run-script"])
def test_script_is_folder(
    verb: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([verb, str(tmp_path)]) == 2
    _usage_error(
        capsys.readouterr().err,
        verb,
        f"argument FILE: script file {str(tmp_path)!r} is not a file; give the path of a .sql "
        "file",
    )


def test_split_one_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "one.sql"
    path.write_text("SELECT 1;\nGO\n", encoding="utf-8")

    assert main(["split", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "batch 1: line 1, run 1x, transaction",
        f"1 batch in {path}",
    ]


def test_split_no_batches(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.sql"
    path.write_text("GO\n", encoding="utf-8")

    assert main(["split", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"0 batches in {path}"]


def test_run_script_checks_script_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fault in the script is reported before the password prompt and the connection."""
    from ontime_db.cli import script_cmd

    def connection_settings(args: Any) -> Any:
        raise AssertionError("the script is read before connecting")

    monkeypatch.setattr(script_cmd, "connection_settings", connection_settings)
    path = tmp_path / "bad.sql"
    path.write_text("SELECT 1\nGO;\n", encoding="utf-8")

    assert main(["run-script", str(path), "--server", "db1"]) == 1
    assert capsys.readouterr().err.startswith(f"error: {path}, line 2: invalid batch separator")


def test_split_bad_separator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.sql"
    path.write_text("SELECT 1\nGO;\n", encoding="utf-8")

    assert main(["split", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {path}, line 2: invalid batch separator")


def test_run_script_options(script: Path) -> None:
    from ontime_db.cli import build_parser

    args = build_parser().parse_args(
        ["run-script", str(script), "--allow-mixed", "--var", "A=1", "--server", "db1"]
    )

    assert (args.file, args.allow_mixed, args.var, args.server) == (
        str(script),
        True,
        [("A", "1")],
        "db1",
    )


MIXED = "CREATE TABLE t (i int)\nGO\nBACKUP DATABASE [x] TO DISK = N'x.bak'\n"


@pytest.fixture
def no_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if run-script reaches the password prompt or the connection."""
    from ontime_db.cli import script_cmd

    def connection_settings(args: Any) -> Any:
        raise AssertionError("the script is checked before connecting")

    monkeypatch.setattr(script_cmd, "connection_settings", connection_settings)


def test_run_script_mixed(
    tmp_path: Path, no_connection: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mixed.sql"
    path.write_text(MIXED, encoding="utf-8")
    arguments = ["run-script", str(path), "--server", "localhost", "--database", "x"]

    assert main([*arguments, "--user", "sa"]) == 2
    output = capsys.readouterr()
    assert output.out == ""
    assert output.err == (
        f"error: {path} mixes batches that can run inside a transaction with batches that "
        "SQL Server rejects inside one: batch 2 (line 3); split the script in two, or allow "
        "mixing (--allow-mixed) to run every batch in autocommit mode\n"
    )


def test_run_script_mixed_allowed(
    tmp_path: Path, no_connection: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --allow-mixed the check is skipped, so the verb goes on to connect."""
    path = tmp_path / "mixed.sql"
    path.write_text(MIXED, encoding="utf-8")

    with pytest.raises(AssertionError, match="checked before connecting"):
        main(["run-script", str(path), "--server", "localhost", "--allow-mixed"])


def test_split_json_and_text(script: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["split", str(script), "--json", "--text"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ontime-db split [-h] ")
    assert err.endswith(
        "\nontime-db split: error: argument --text: not allowed with argument --json\n"
    )


def test_split_log_one_batch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "one.sql"
    path.write_text("SELECT 1\n", encoding="utf-8")

    with caplog.at_level("INFO", logger="ontime_db.script.splitter"):
        assert main(["split", str(path)]) == 0
    assert f"split {path} into 1 batch" in caplog.messages


def test_run_script_names_master(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --database the line before connecting names master, where it connects."""
    import ontime_db.connection

    class StoppingEngine:
        def connect(self) -> Any:
            raise AssertionError("stop before connecting")

        def dispose(self) -> None:
            pass

    monkeypatch.setattr(ontime_db.connection, "connect", lambda settings, **o: StoppingEngine())
    monkeypatch.setenv("ONTIME_DB_PASSWORD", "pw")
    path = tmp_path / "one.sql"
    path.write_text("SELECT 1\n", encoding="utf-8")

    with pytest.raises(AssertionError, match="stop before connecting"):
        main(["run-script", str(path), "--server", "localhost", "--user", "sa"])
    assert capsys.readouterr().out == f"running {path} (1 batch) on localhost/master as sa\n"
