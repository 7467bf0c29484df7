"""The migration engine: bring an OnTime database to a newer schema version with Alembic.

Planning and offline rendering (``render_sql``) never connect; ``migrate``,
``history`` and ``validate`` do. The shipped main migration set is
``ontime_db.resources.migrations_dir()``; the add-on sets are its
``pollarity`` and ``catering`` sub-folders.
"""

from __future__ import annotations

import os
from typing import Any

from ..version import SchemaVersion
from .audit import AppliedMigration, ValidationProblem, ValidationReport, history, validate
from .chain import (
    Migration,
    MigrationSet,
    MigrationSetError,
    known_versions,
    load_set,
    newest_version,
)
from .engine import FailedStep, MigrationReport, migrate
from .offline import render_sql
from .plan import MigrationPlan, PlanStep, build_plan, resolve_target
from .runtime import AppliedStep, StepEvent

__all__ = [
    "AppliedMigration",
    "AppliedStep",
    "FailedStep",
    "Migration",
    "MigrationPlan",
    "MigrationReport",
    "MigrationSet",
    "MigrationSetError",
    "PlanStep",
    "StepEvent",
    "ValidationProblem",
    "ValidationReport",
    "history",
    "known_versions",
    "load_set",
    "migrate",
    "newest_version",
    "plan_migration",
    "render_sql",
    "validate",
]


def plan_migration(
    target: Any = None,
    *,
    from_version: str | SchemaVersion | None = None,
    to: str | SchemaVersion | None = None,
    migrations: str | os.PathLike[str] | None = None,
) -> MigrationPlan:
    """Plan the migrations that bring a database to ``to`` (default: the newest).

    With ``target``, the starting version is read from that database (read
    only, no lock). Without it, the plan starts at ``from_version``, or at an
    empty database when that is ``None`` too.

    >>> [str(step.version) for step in plan_migration(from_version="26.2").steps]
    ['26.3', '26.4']
    """
    chain = load_set(migrations)
    target_version = resolve_target(chain, to)
    if target is None:
        start = SchemaVersion.parse(from_version) if from_version is not None else None
        return build_plan(chain, current=start, target=target_version)

    from ..connection import engine_scope
    from .engine import read_state

    with engine_scope(target) as engine, engine.connect() as connection:
        database = connection.exec_driver_sql("SELECT DB_NAME()").scalar_one()
        start, baseline = read_state(connection, chain)
    return build_plan(chain, current=start, target=target_version, database=database,
                      baseline=baseline)
