"""Roll a database back to the backup taken before its last migrate or upgrade."""

from __future__ import annotations

import logging
import shlex
from typing import TYPE_CHECKING

from ..errors import RollbackPointNotFoundError
from .backups import history, verify_backup
from .restores import restore_backup
from .results import RollbackResult
from .server import Session
from .shared import (
    ProgressCallback,
    VersionReader,
    database_exists,
    database_name,
    master_session,
    release_pooled_connections,
    version_reader,
)

if TYPE_CHECKING:
    from ..connection import Target

__all__ = ["rollback", "rollback_command"]

log = logging.getLogger(__name__)


def rollback(
    target: Target,
    database: str | None = None,
    *,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
) -> RollbackResult:
    """Restore the newest backup taken before a migrate or upgrade of ``database``.

    The backup is verified with ``RESTORE VERIFYONLY`` first and must still be
    the backup set ``msdb`` recorded; the database is then replaced. When
    ``target`` is an Engine on ``database`` (``rollback(engine)``), its idle
    pooled connections are closed first, so they do not count as sessions.

    Raises :class:`~ontime_db.errors.RollbackPointNotFoundError`,
    :class:`~ontime_db.errors.BackupVerificationError`,
    :class:`~ontime_db.errors.DatabaseInUseError` (without ``force``) and
    :class:`~ontime_db.errors.RestoreError`.
    """
    name = database_name(target, database)
    release_pooled_connections(target, name)
    with master_session(target) as session:
        return roll_back(
            session,
            name,
            force=force,
            on_progress=on_progress,
            read_version=version_reader(target),
        )


def roll_back(
    session: Session,
    database: str,
    *,
    force: bool,
    on_progress: ProgressCallback | None,
    read_version: VersionReader,
) -> RollbackResult:
    """Run the steps of :func:`rollback` on ``session``."""
    points = [record for record in history(session, database) if record.is_rollback_point]
    if not points:
        raise RollbackPointNotFoundError(
            f"no backup of database {database!r} taken before a migrate or upgrade is recorded "
            "in this server's msdb history; list all backups with `ontime-db backups` and "
            f"restore one with `ontime-db restore PATH --as {database} --replace`",
            database=database,
        )
    chosen = verify_backup(session, points[0], on_progress)

    before = read_version(database) if database_exists(session, database) else None
    log.info(
        "rolling back %r (schema version %s) to backup %r (%s)",
        database,
        before or "none",
        chosen.path,
        chosen.purpose,
    )
    restored = restore_backup(
        session,
        chosen.path,
        as_name=database,
        replace=True,
        force=force,
        on_progress=on_progress,
        read_version=read_version,
        expected=chosen,
    )
    return RollbackResult(
        database=database,
        backup=chosen,
        version_before=before,
        version_after=restored.schema_version,
        restore=restored,
    )


def rollback_command(target: Target, database: str) -> str:
    """Build the ``python -m ontime_db rollback`` command line for ``database``, without a password.

    The command names the server, instance, port, login and the
    ``--extra`` properties for integrated security and encryption. It
    contains no password, so it prompts for one (or reads
    ``ONTIME_DB_PASSWORD``) when it runs.
    """
    from ..connection import settings_of

    settings = settings_of(target)
    server = settings.host
    if settings.port is not None:
        server += f",{settings.port}"
    words = ["python", "-m", "ontime_db", "rollback", "--server", server]
    if settings.user and not settings.integrated_security:
        words += ["--user", settings.user]

    extra = []
    if settings.integrated_security:
        extra.append("integratedSecurity=true;")
    if settings.encrypt is not None:
        extra.append(f"encrypt={settings.encrypt};")
    if settings.trust_server_certificate is not None:
        extra.append(f"trustServerCertificate={str(settings.trust_server_certificate).lower()};")
    if extra:
        words += ["--extra", "".join(extra)]
    # NOTE: further ODBC keywords of the connection (settings.properties) are
    # not repeated in the command; add them by hand when the server needs them.
    if settings.driver != "pyodbc":
        words += ["--driver", settings.driver]
    if settings.odbc_driver:
        words += ["--odbc-driver", settings.odbc_driver]
    words += ["--database", database]
    return shlex.join(words)
