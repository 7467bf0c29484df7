"""Render a whole migration as one T-SQL script for a DBA (``migrate --sql``), with no server."""

from __future__ import annotations

import logging
import os

from ..quoting import quote_identifier
from ..version import SchemaVersion
from .chain import load_set
from .guards import start_guard
from .plan import build_plan, resolve_target
from .runtime import RunState, ScriptBuffer, run_upgrade

__all__ = ["render_sql"]

log = logging.getLogger(__name__)


def render_sql(
    *,
    from_version: str | SchemaVersion | None,
    to: str | SchemaVersion | None = None,
    migrations: str | os.PathLike[str] | None = None,
    database: str | None = None,
) -> str:
    """Return the T-SQL script that migrates a database from ``from_version`` to ``to``.

    The script has ``GO`` separators. Each migration's batches run inside
    ``BEGIN TRANSACTION`` / ``COMMIT``, except for migrations that cannot run
    in a transaction, and are followed by the ``alembic_version`` update,
    the version extended properties and the audit row. Running the script
    therefore leaves the database as an online ``migrate`` would.

    The script checks itself. Its first batch (after ``USE`` when
    ``database`` is given) stops unless the database is at ``from_version``,
    or empty when that is ``None``. Each migration starts with a check that
    ``alembic_version`` contains the previous version. Each batch of a
    transactional migration is followed by a check that its transaction is
    still open. A failed check raises error 50000 and sets ``NOEXEC`` on, so
    no later batch runs, also in SSMS without ``sqlcmd -b``.
    ``from_version`` ``None`` starts from an empty database and includes the
    create script. With ``database``, the create script's leading ``USE`` is
    retargeted to it and the script starts with ``USE`` of that database.

    Raises :class:`~ontime_db.errors.UnknownVersionError` for a version the
    set does not contain.

    >>> "CREATE TABLE dbo.users" in render_sql(from_version=None)
    True
    """
    chain = load_set(migrations)
    target = resolve_target(chain, to)
    start = SchemaVersion.parse(from_version) if from_version is not None else None
    plan = build_plan(chain, current=start, target=target, database=database)

    output = ScriptBuffer()
    output.write(_header(start, target, database))
    if not plan.steps:
        log.info("nothing to render: %s is the target", target)
        return output.getvalue()

    output.write(start_guard(start, database) + "\nGO\n\n")
    state = RunState(
        migrations=chain, database=database, total=len(plan.steps), start=start, output=output
    )
    run_upgrade(state, target, as_sql=True)
    log.info("rendered %d migrations from %s to %s", len(plan.steps), start or "empty", target)
    return output.getvalue()


def _header(start: SchemaVersion | None, target: SchemaVersion, database: str | None) -> str:
    origin = "an empty database" if start is None else f"schema version {start}"
    lines = [
        f"-- ontime_db migration script: from {origin} to {target}.",
        "-- Review it, then run it in SSMS or with `sqlcmd -x -b -i FILE`; -x turns off",
        "-- sqlcmd variables, which would change names that contain their syntax. Each",
        "-- migration commits on its own. A failed check or migration raises an error and",
        "-- sets NOEXEC on, so the batches after it are compiled but not run.",
        "",
    ]
    if database is not None:
        lines += [f"USE {quote_identifier(database)};", "GO", ""]
    elif start is not None:
        # From an empty database the create script's own USE picks the database.
        lines.insert(
            -1,
            "-- The script has no USE line: run it in the database to migrate, or give "
            "--database.",
        )
    return "\n".join(lines) + "\n"
