"""Plan a migration: which steps run from one schema version to another. Pure logic."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnknownVersionError
from ..version import SchemaVersion
from .chain import MigrationSet

__all__ = ["MigrationPlan", "PlanStep", "build_plan", "resolve_target"]


@dataclass(frozen=True)
class PlanStep:
    """One migration in a plan."""

    version: SchemaVersion
    description: str
    script: str
    transactional: bool

    @property
    def rollback_safe(self) -> bool:
        """Whether a failure leaves the database exactly at the previous version."""
        return self.transactional

    def describe(self) -> str:
        mode = "transactional" if self.transactional else "autocommit, not rollback-safe"
        return f"{self.version}  {self.description}  ({self.script}; {mode})"


@dataclass(frozen=True)
class MigrationPlan:
    """The migrations that bring a database from ``current`` to ``target``.

    ``current`` ``None`` means an empty database: the first step is then the
    create script. ``baseline`` names where an unstamped database's version
    was read from (for example ``"extended properties"``), else ``None``.
    """

    database: str | None
    current: SchemaVersion | None
    target: SchemaVersion
    steps: tuple[PlanStep, ...]
    baseline: str | None = None

    @property
    def up_to_date(self) -> bool:
        return not self.steps

    @property
    def rollback_safe(self) -> bool:
        return all(step.rollback_safe for step in self.steps)

    def describe(self) -> list[str]:
        """Return the plan as lines of text for a terminal or a log."""
        start = "an empty database" if self.current is None else f"schema version {self.current}"
        where = f"{self.database}: " if self.database else ""
        lines = [f"{where}from {start} to {self.target}, {len(self.steps)} migration(s)"]
        if self.baseline is not None:
            lines.append(
                f"baseline: the database has no alembic_version table; its version "
                f"{self.current} comes from the {self.baseline} and is stamped first"
            )
        lines.extend(f"  {number}. {step.describe()}"
                     for number, step in enumerate(self.steps, start=1))
        if self.up_to_date:
            lines.append("nothing to do: the database is up to date")
        return lines


def resolve_target(chain: MigrationSet, to: str | SchemaVersion | None) -> SchemaVersion:
    """Return the target version: ``to`` when it is in the set, else the newest."""
    if to is None:
        return chain.newest
    version = SchemaVersion.parse(to)
    chain.get(version)
    return version


def build_plan(
    chain: MigrationSet,
    *,
    current: SchemaVersion | None,
    target: SchemaVersion,
    database: str | None = None,
    baseline: str | None = None,
) -> MigrationPlan:
    """Plan the migrations after ``current`` up to ``target``.

    Raises :class:`~ontime_db.errors.UnknownVersionError` when ``current``
    is not in the set (older: use the legacy upgrade; newer: use a newer
    release) or is newer than ``target``, which would need a downgrade.
    """
    if current is not None:
        chain.get(current)
        if current > target:
            raise UnknownVersionError(
                f"database {database or ''!s} is at schema version {current}, newer than the "
                f"target {target}: migrate does not downgrade; restore a backup taken before "
                "the migration with `python -m ontime_db rollback` instead",
                database=database,
                version=current,
                known=chain.versions,
            )
    steps = tuple(
        PlanStep(
            version=migration.version,
            description=migration.description,
            script=migration.script_name,
            transactional=migration.transactional,
        )
        for migration in chain.between(current, target)
    )
    return MigrationPlan(database, current, target, steps, baseline)
