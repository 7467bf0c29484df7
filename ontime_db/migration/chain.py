"""Load a migration set with Alembic and map its revisions to schema versions.

A migration set is an Alembic script directory whose revision ids are the
schema versions themselves ("25.8", "26.0", ...), in one linear chain. Each
revision module also names the T-SQL script it runs (``script``), whether
that script can run inside a transaction (``transactional``) and a one-line
``description``. Loading a set imports the revision modules but never
connects to a server.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import logging
import os
import re
import threading
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigurationError, InvalidSchemaVersion, UnknownVersionError
from ..version import SchemaVersion

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory

__all__ = [
    "Migration",
    "MigrationSet",
    "MigrationSetError",
    "alembic_config",
    "known_versions",
    "load_set",
    "newest_version",
    "resolve_script",
    "set_code_error",
]

log = logging.getLogger(__name__)

MigrationsArgument = str | os.PathLike[str] | None

# Loaded sets by folder, each with the fingerprint of its Python files when it
# was loaded. Importing the revision modules is the slow part of loading, and
# planning and rendering one migration would otherwise import them twice.
_loaded_sets: dict[Path, tuple[tuple[tuple[str, int, int], ...], MigrationSet]] = {}
_loaded_sets_lock = threading.Lock()


class MigrationSetError(ConfigurationError):
    """A migration folder is not a valid linear chain of schema-version revisions."""


@dataclass(frozen=True)
class Migration:
    """One revision of a migration set: the step that brings a database to ``version``."""

    version: SchemaVersion
    description: str
    script_name: str
    script: Path
    transactional: bool
    revision_file: Path
    previous: SchemaVersion | None

    @property
    def revision(self) -> str:
        """The Alembic revision id, which is the schema version as text."""
        return str(self.version)


@dataclass(frozen=True)
class MigrationSet:
    """A loaded migration set, oldest revision first."""

    directory: Path
    migrations: tuple[Migration, ...]
    script_directory: ScriptDirectory = field(repr=False, compare=False)
    _by_version: dict[SchemaVersion, Migration] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._by_version.update((migration.version, migration) for migration in self.migrations)

    @property
    def versions(self) -> list[SchemaVersion]:
        return [migration.version for migration in self.migrations]

    @property
    def newest(self) -> SchemaVersion:
        return self.migrations[-1].version

    @property
    def oldest(self) -> SchemaVersion:
        return self.migrations[0].version

    def get(self, version: SchemaVersion) -> Migration:
        """Return the migration that reaches ``version``.

        Raises :class:`~ontime_db.errors.UnknownVersionError` listing the
        known versions and what to do when the set has no such revision.
        """
        migration = self._by_version.get(version)
        if migration is not None:
            return migration
        raise UnknownVersionError(
            self.unknown_message(version), version=version, known=self.versions
        )

    def unknown_message(self, version: SchemaVersion, *, shown: str | None = None) -> str:
        """Describe why ``version`` is not in the set.

        ``shown`` is the version as the user typed it, when that differs.
        """
        known = ", ".join(str(item) for item in self.versions)
        if version < self.oldest:
            advice = (
                f"it is older than the first migration {self.oldest}; upgrade it with "
                "`python -m ontime_db upgrade`, which copies the data into a new "
                f"database at {self.oldest} (the legacy route)"
            )
        elif version > self.newest:
            advice = (
                f"it is newer than the newest migration {self.newest}; use a newer "
                "release of ontime_db"
            )
        else:
            advice = "check the version, or point --migrations at the set that contains it"
        return (
            f"schema version {shown if shown is not None else str(version)!r} is not in the "
            f"migration set {self.directory} (known versions: {known}): {advice}"
        )

    def between(
        self, start: SchemaVersion | None, end: SchemaVersion
    ) -> tuple[Migration, ...]:
        """Return the migrations after ``start`` up to and including ``end``.

        ``start`` ``None`` means an empty database, so the first migration
        (the create script) is included.
        """
        return tuple(
            migration
            for migration in self.migrations
            if (start is None or migration.version > start) and migration.version <= end
        )


def alembic_config(directory: Path) -> Config:
    """Build an in-memory Alembic configuration for the migration set at ``directory``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(directory))
    # Only the set's own versions/ folder contains revisions: the main set
    # contains the add-on sets as sub-folders, which must not be scanned.
    config.set_main_option("version_locations", str(directory / "versions"))
    config.set_main_option("path_separator", "os")
    return config


def load_set(migrations: MigrationsArgument = None) -> MigrationSet:
    """Load and check the migration set in ``migrations`` (default: the shipped main set).

    A set already loaded in this process is reused while its ``env.py`` and
    revision files keep their size and modification time.

    Raises :class:`MigrationSetError` when the folder is missing, when two
    revisions share a version, when the chain branches, when a revision
    lacks its script, when a revision file fails to import, or when
    ``env.py`` does not compile or imports a module that is not installed.
    """
    directory = _set_directory(migrations)
    fingerprint = _fingerprint(directory)
    with _loaded_sets_lock:
        cached = _loaded_sets.get(directory)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]

    loaded = _load_set(directory)
    with _loaded_sets_lock:
        _loaded_sets[directory] = (fingerprint, loaded)
    return loaded


def _load_set(directory: Path) -> MigrationSet:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        with warnings.catch_warnings():
            # Alembic only warns about two files with one revision id; a
            # migration chain with a duplicated version must not load.
            warnings.filterwarnings("error", message="Revision .* is present more than once")
            # Alembic also only warns about a down_revision that names no
            # revision, and then fails with a bare KeyError.
            warnings.filterwarnings("error", message="Revision .* referenced from .* not present")
            script_directory = ScriptDirectory.from_config(alembic_config(directory))
            revisions = list(script_directory.walk_revisions())
    except UserWarning as err:
        missing = re.match(r"Revision (\S+) referenced from", str(err))
        if missing is not None:
            files = _files_naming(directory, "down_revision", missing.group(1))
            raise MigrationSetError(
                f"invalid migration set {directory}: {files} names down_revision "
                f"{missing.group(1)!r}, which no revision file of the set has; correct the "
                "down_revision or add the missing revision"
            ) from None
        raise MigrationSetError(
            f"invalid migration set {directory}: {err}; give every revision file its own "
            "schema version"
        ) from err
    except CommandError as err:
        looped = re.search(r"Self-loop is detected in revisions \((\S+)\)", str(err))
        if looped is not None:
            files = _files_naming(directory, "revision", looped.group(1))
            raise MigrationSetError(
                f"invalid migration set {directory}: {files} has revision "
                f"{looped.group(1)!r} equal to its down_revision or to another file's "
                "revision; give every revision file its own schema version"
            ) from None
        raise MigrationSetError(f"invalid migration set {directory}: {err}") from err
    except Exception as err:
        # Alembic imports every revision module, so a syntax error or a
        # missing import in one of them surfaces here.
        raise set_code_error(directory, err) from err
    _check_environment(directory)

    resolved_folders: dict[Path, Path] = {}
    migrations_found = tuple(
        _migration(directory, script, resolved_folders) for script in reversed(revisions)
    )
    _check_linear(directory, migrations_found, script_directory)
    log.debug("loaded %d migrations from %s", len(migrations_found), directory)
    return MigrationSet(directory, migrations_found, script_directory)


def _files_naming(directory: Path, name: str, value: str) -> str:
    """Return the revision files that assign ``value`` to ``name``, for a message."""
    assignment = re.compile(rf"^{name}\s*(?::[^=]*)?=\s*['\"]{re.escape(value)}['\"]", re.MULTILINE)
    found = [
        str(path)
        for path in sorted((directory / "versions").glob("*.py"))
        if assignment.search(path.read_text("utf-8", errors="replace"))
    ]
    return ", ".join(found) if found else "a revision file"


def set_code_error(directory: Path, error: BaseException) -> MigrationSetError:
    """Wrap an error raised by the Python code of a migration set in a MigrationSetError.

    The message names the file and line inside ``directory`` where the error
    was raised (for a syntax error, where Python found it), and the error.
    """
    location = _error_location(directory, error)
    where = f" in {location}" if location else ""
    # A SyntaxError's str() repeats the file and line that ``where`` names.
    detail = error.msg if isinstance(error, SyntaxError) else str(error)
    advice = "correct the file"
    if isinstance(error, ImportError):
        advice += ", or install the module it imports"
    return MigrationSetError(
        f"invalid migration set {directory}: {type(error).__name__}{where}: {detail}; {advice}"
    )


def _error_location(directory: Path, error: BaseException) -> str:
    if isinstance(error, SyntaxError) and error.filename:
        return f"{error.filename}, line {error.lineno}" if error.lineno else error.filename
    location = ""
    for frame, line in traceback.walk_tb(error.__traceback__):
        filename = Path(frame.f_code.co_filename)
        if filename.is_relative_to(directory):
            # The innermost frame in the set is where its code failed.
            location = f"{filename}, line {line}"
    return location


def _check_environment(directory: Path) -> None:
    """Check that ``env.py`` compiles and that the modules it imports at top level exist.

    Alembic runs ``env.py`` only when it migrates or renders, so without this
    check a broken ``env.py`` would show only after connecting.
    """
    path = directory / "env.py"
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as err:
        raise set_code_error(directory, err) from err

    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            try:
                found = importlib.util.find_spec(name) is not None
            except ImportError:
                found = False
            if not found:
                raise MigrationSetError(
                    f"invalid migration set {directory}: {path}, line {node.lineno} imports "
                    f"the module {name!r}, which is not installed; install it or correct "
                    "the import"
                )


def _fingerprint(directory: Path) -> tuple[tuple[str, int, int], ...]:
    entries = []
    for folder in (directory, directory / "versions"):
        with os.scandir(folder) as found:
            for entry in found:
                if entry.name.endswith(".py") and entry.is_file():
                    status = entry.stat()
                    entries.append((entry.path, status.st_mtime_ns, status.st_size))
    return tuple(sorted(entries))


def known_versions(migrations: MigrationsArgument = None) -> list[SchemaVersion]:
    """Return the schema versions of a migration set, oldest first.

    >>> [str(v) for v in known_versions()][:2]
    ['25.8', '26.0']
    """
    return load_set(migrations).versions


def newest_version(migrations: MigrationsArgument = None) -> SchemaVersion:
    """Return the newest schema version a migration set reaches."""
    return load_set(migrations).newest


def resolve_script(
    revision_file: Path, name: str, resolved_folders: dict[Path, Path] | None = None
) -> Path:
    """Find the script ``name`` (relative to a ``sql/`` folder) for a revision file.

    The nearest ``sql/`` folder above the revision file that contains the
    script wins, so the same revision works from a source checkout
    (``migrations/`` beside ``sql/``), from an installed package
    (``ontime_db/migrations`` beside ``ontime_db/sql``) and from a set with
    its own ``sql/`` folder. ``resolved_folders`` caches the resolved
    parent folders between calls, because resolving a path is slow.
    """
    resolved_folders = {} if resolved_folders is None else resolved_folders
    parent = resolved_folders.get(revision_file.parent)
    if parent is None:
        parent = resolved_folders[revision_file.parent] = revision_file.parent.resolve()
    for folder in (parent, *parent.parents):
        candidate = folder / "sql" / name
        if candidate.is_file():
            return candidate
    raise MigrationSetError(
        f"script {name!r} named by revision file {revision_file} was not found in any "
        "sql/ folder above it; add the script or correct the name"
    )


def _set_directory(migrations: MigrationsArgument) -> Path:
    if migrations is None:
        from ..resources import migrations_dir

        return migrations_dir()
    directory = Path(migrations)
    if not directory.exists():
        raise MigrationSetError(
            f"migration set folder {str(directory)!r} does not exist; check the path given "
            "to --migrations"
        )
    if not (directory / "env.py").is_file() or not (directory / "versions").is_dir():
        raise MigrationSetError(
            f"invalid migration set {str(directory)!r}: expected a folder with env.py "
            "and versions/ (an Alembic script directory)"
        )
    return directory.resolve()


def _migration(directory: Path, script: Script, resolved_folders: dict[Path, Path]) -> Migration:
    revision_file = Path(script.path)
    try:
        version = SchemaVersion.parse(script.revision)
    except InvalidSchemaVersion as err:
        raise MigrationSetError(
            f"invalid revision id {script.revision!r} in {revision_file}: revision ids of "
            "a migration set are schema versions such as '26.0'"
        ) from err
    if str(version) != script.revision:
        raise MigrationSetError(
            f"invalid revision id {script.revision!r} in {revision_file}: write it as "
            f"{str(version)!r}"
        )

    module = script.module
    script_name = getattr(module, "script", None)
    if not isinstance(script_name, str):
        raise MigrationSetError(
            f"revision file {revision_file} has no `script = \"...\"` naming its T-SQL file"
        )
    previous = script.down_revision
    if isinstance(previous, (tuple, list)):
        raise MigrationSetError(
            f"revision {script.revision!r} in {revision_file} merges {list(previous)}: "
            "a migration set must be one linear chain"
        )
    return Migration(
        version=version,
        description=str(getattr(module, "description", "") or script.doc or ""),
        script_name=script_name,
        script=resolve_script(revision_file, script_name, resolved_folders),
        transactional=bool(getattr(module, "transactional", True)),
        revision_file=revision_file,
        previous=SchemaVersion.parse(previous) if previous else None,
    )


def _check_linear(
    directory: Path, migrations: tuple[Migration, ...], script_directory: ScriptDirectory
) -> None:
    if not migrations:
        raise MigrationSetError(f"invalid migration set {directory}: versions/ has no revision")
    heads = script_directory.get_heads()
    if len(heads) != 1:
        raise MigrationSetError(
            f"invalid migration set {directory}: {len(heads)} newest revisions {sorted(heads)}; "
            "a migration set must be one linear chain"
        )
    for earlier, later in itertools.pairwise(migrations):
        if later.version <= earlier.version:
            raise MigrationSetError(
                f"invalid migration set {directory}: revision {later.revision!r} "
                f"({later.revision_file.name}) follows {earlier.revision!r} but is not newer"
            )
