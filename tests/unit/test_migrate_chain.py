"""The migration sets load as linear Alembic chains whose revision ids are schema versions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ontime_db.errors import UnknownVersionError
from ontime_db.migration import MigrationSetError, known_versions, load_set, newest_version
from ontime_db.resources import migrations_dir, sql_dir
from ontime_db.version import SchemaVersion

MAIN = ["25.8", "26.0", "26.1", "26.2", "26.3", "26.4"]


def _copy_set(tmp_path: Path) -> Path:
    """Copy the main set and its scripts into tmp_path, as a set with its own sql/ folder."""
    target = tmp_path / "set"
    shutil.copytree(
        migrations_dir(),
        target,
        ignore=shutil.ignore_patterns("pollarity", "catering", "__pycache__"),
    )
    shutil.copytree(sql_dir() / "ontimems", target / "sql" / "ontimems")
    return target


def test_main_set_versions() -> None:
    assert [str(version) for version in known_versions()] == MAIN


def test_newest_version() -> None:
    assert newest_version() == SchemaVersion(26, 4)


@pytest.mark.parametrize(
    ("folder", "expected"),
    [("pollarity", ["1.0", "1.1"]), ("catering", ["1.0", "1.1"])],
    ids=["pollarity", "catering"],
)
def test_add_on_set_versions(folder: str, expected: list[str]) -> None:
    assert [str(version) for version in known_versions(migrations_dir() / folder)] == expected


def test_scripts_resolve_under_sql() -> None:
    chain = load_set()
    assert [migration.script_name for migration in chain.migrations] == [
        "ontimems/ontimems.sql",
        "ontimems/V26_0__add_user_time_zone.sql",
        "ontimems/V26_1__split_calendar_display.sql",
        "ontimems/V26_2__backfill_user_settings.sql",
        "ontimems/V26_3__replace_list_users.sql",
        "ontimems/V26_4__allow_snapshot_isolation.sql",
    ]
    for migration in chain.migrations:
        assert migration.script == sql_dir() / migration.script_name


def test_only_snapshot_step_autocommit() -> None:
    chain = load_set()
    assert [str(m.version) for m in chain.migrations if not m.transactional] == ["26.4"]


def test_previous_links_chain() -> None:
    chain = load_set()
    assert [str(m.previous) if m.previous else None for m in chain.migrations] == [
        None,
        "25.8",
        "26.0",
        "26.1",
        "26.2",
        "26.3",
    ]


def test_create_script_first_line_is_use() -> None:
    first = (sql_dir() / "ontimems" / "ontimems.sql").read_text("utf-8").splitlines()[0]
    assert first == "USE [ontimems]"


def test_unknown_older_version_message() -> None:
    with pytest.raises(UnknownVersionError) as caught:
        load_set().get(SchemaVersion(15, 0))
    assert str(caught.value) == (
        f"schema version '15.0' is not in the migration set {migrations_dir()} "
        "(known versions: 25.8, 26.0, 26.1, 26.2, 26.3, 26.4): it is older than the first "
        "migration 25.8; upgrade it with `python -m ontime_db upgrade`, which copies the data "
        "into a new database at 25.8 (the legacy route)"
    )
    assert [str(v) for v in caught.value.known] == MAIN


def test_unknown_newer_version_message() -> None:
    with pytest.raises(UnknownVersionError) as caught:
        load_set().get(SchemaVersion(27, 0))
    assert str(caught.value).endswith(
        "it is newer than the newest migration 26.4; use a newer release of ontime_db"
    )


def test_unknown_gap_version_message() -> None:
    with pytest.raises(UnknownVersionError) as caught:
        load_set().get(SchemaVersion(26, 5))
    assert "newer than the newest" in str(caught.value)
    with pytest.raises(UnknownVersionError) as caught:
        load_set().get(SchemaVersion(25, 9))
    assert str(caught.value).endswith(
        "check the version, or point --migrations at the set that contains it"
    )


def test_copied_set_uses_own_sql(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    chain = load_set(folder)
    assert (
        chain.migrations[1].script == folder / "sql" / "ontimems" / "V26_0__add_user_time_zone.sql"
    )


def test_missing_folder_rejected(tmp_path: Path) -> None:
    with pytest.raises(MigrationSetError) as caught:
        load_set(tmp_path / "nowhere")
    assert str(caught.value) == (
        f"migration set folder {str(tmp_path / 'nowhere')!r} does not exist; check the path "
        "given to --migrations"
    )


def test_folder_not_a_set_rejected(tmp_path: Path) -> None:
    (tmp_path / "versions").mkdir()
    with pytest.raises(MigrationSetError) as caught:
        load_set(tmp_path)
    assert str(caught.value) == (
        f"invalid migration set {str(tmp_path)!r}: expected a folder with env.py "
        "and versions/ (an Alembic script directory)"
    )


def test_duplicate_version_rejected(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    shutil.copy(
        folder / "versions" / "v26_0_add_user_time_zone.py", folder / "versions" / "v26_0_copy.py"
    )
    with pytest.raises(MigrationSetError) as caught:
        load_set(folder)
    assert "Revision 26.0 is present more than once" in str(caught.value)


def test_branch_rejected(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    source = (folder / "versions" / "v26_1_split_calendar_display.py").read_text("utf-8")
    (folder / "versions" / "v27_0_branch.py").write_text(
        source.replace('revision = "26.1"', 'revision = "27.0"'), "utf-8"
    )
    with pytest.raises(MigrationSetError) as caught:
        load_set(folder)
    assert str(caught.value) == (
        f"invalid migration set {folder}: 2 newest revisions ['26.4', '27.0']; a migration set "
        "must be one linear chain"
    )


def test_revision_id_must_be_version(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    path = folder / "versions" / "v26_4_allow_snapshot_isolation.py"
    source = path.read_text("utf-8")
    path.write_text(source.replace('revision = "26.4"', 'revision = "26.04"'), "utf-8")
    with pytest.raises(MigrationSetError) as caught:
        load_set(folder)
    assert str(caught.value) == f"invalid revision id '26.04' in {path}: write it as '26.4'"


def test_missing_script_rejected(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    (folder / "sql" / "ontimems" / "V26_3__replace_list_users.sql").unlink()
    with pytest.raises(MigrationSetError) as caught:
        load_set(folder)
    assert str(caught.value).startswith(
        "script 'ontimems/V26_3__replace_list_users.sql' named by revision file "
    )


@pytest.mark.parametrize(
    "subfolder", ["", "pollarity", "catering"], ids=["main", "pollarity", "catering"]
)
def test_template_makes_loadable_revision(tmp_path: Path, subfolder: str) -> None:
    """A revision written by ``alembic revision`` from a set's script.py.mako imports run_script."""
    import importlib.util

    from alembic import command

    from ontime_db.migration import runtime
    from ontime_db.migration.chain import alembic_config

    folder = tmp_path / "set"
    shutil.copytree(
        migrations_dir() / subfolder,
        folder,
        ignore=shutil.ignore_patterns("pollarity", "catering", "__pycache__"),
    )
    newest = str(newest_version(migrations_dir() / subfolder))
    script = command.revision(
        alembic_config(folder), message="next step", rev_id="99.0", head=newest
    )
    assert script is not None and not isinstance(script, list)

    spec = importlib.util.spec_from_file_location("generated_revision", script.path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.run_script is runtime.run_script
    assert module.revision == "99.0"
    assert module.down_revision == newest


# -- Python errors in a custom set ------------------------------------------------


def test_env_missing_module(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    (folder / "env.py").write_text(
        '"""Broken environment."""\n\nimport ontime_db_helpers_missing\n', encoding="utf-8"
    )

    with pytest.raises(MigrationSetError) as caught:
        load_set(folder)
    assert str(caught.value) == (
        f"invalid migration set {folder}: {folder / 'env.py'}, line 3 imports the module "
        "'ontime_db_helpers_missing', which is not installed; install it or correct the import"
    )


def test_env_syntax_error(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    (folder / "env.py").write_text("def run(:\n    pass\n", encoding="utf-8")

    with pytest.raises(MigrationSetError) as caught:
        load_set(folder)
    assert str(caught.value) == (
        f"invalid migration set {folder}: SyntaxError in {folder / 'env.py'}, line 1: "
        "invalid syntax; correct the file"
    )


def _newest_revision(folder: Path) -> Path:
    files = [path for path in (folder / "versions").glob("*.py") if "26_4" in path.name]
    assert len(files) == 1
    return files[0]


def test_revision_syntax_error(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    revision = _newest_revision(folder)
    revision.write_text(revision.read_text(encoding="utf-8") + "\nif True\n", encoding="utf-8")
    line = len(revision.read_text(encoding="utf-8").splitlines())

    with pytest.raises(MigrationSetError) as caught:
        load_set(folder)
    assert str(caught.value) == (
        f"invalid migration set {folder}: SyntaxError in {revision}, line {line}: "
        "expected ':'; correct the file"
    )


def test_revision_missing_module(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    revision = _newest_revision(folder)
    text = revision.read_text(encoding="utf-8")
    line = len(text.splitlines()) + 1
    revision.write_text(text + "import ontime_db_helpers_missing\n", encoding="utf-8")

    with pytest.raises(MigrationSetError) as caught:
        load_set(folder)
    assert str(caught.value) == (
        f"invalid migration set {folder}: ModuleNotFoundError in {revision}, line {line}: "
        "No module named 'ontime_db_helpers_missing'; correct the file, or install the "
        "module it imports"
    )


def test_unknown_down_revision_names_file(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    revision = _newest_revision(folder)
    text = revision.read_text(encoding="utf-8")
    revision.write_text(
        text.replace('down_revision = "26.3"', 'down_revision = "26.9"'), encoding="utf-8"
    )

    with pytest.raises(MigrationSetError) as caught:
        load_set(folder)
    assert str(caught.value) == (
        f"invalid migration set {folder}: {revision} names down_revision '26.9', which no "
        "revision file of the set has; correct the down_revision or add the missing revision"
    )


def test_self_loop_names_file(tmp_path: Path) -> None:
    folder = _copy_set(tmp_path)
    revision = _newest_revision(folder)
    text = revision.read_text(encoding="utf-8")
    revision.write_text(
        text.replace('down_revision = "26.3"', 'down_revision = "26.4"'), encoding="utf-8"
    )

    with pytest.raises(MigrationSetError) as caught:
        load_set(folder)
    assert str(caught.value) == (
        f"invalid migration set {folder}: {revision} has revision '26.4' equal to its "
        "down_revision or to another file's revision; give every revision file its own "
        "schema version"
    )
