"""The exception tree of ontime_db.

Every error the library raises on purpose derives from :class:`OnTimeDbError`.
Each one carries, as attributes, the objects it is about (database, schema
version, file, batch and line) so that callers can act on them without
parsing the message, and its message names the value and what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "BackupError",
    "BackupFolderError",
    "BackupVerificationError",
    "BatchError",
    "ConfigurationError",
    "ConnectionFailedError",
    "DatabaseExistsError",
    "DatabaseInUseError",
    "DatabaseNotFoundError",
    "DirectiveError",
    "DriverNotFoundError",
    "DriverNotLoadedError",
    "InvalidNameError",
    "InvalidProductVersion",
    "InvalidSchemaVersion",
    "LockError",
    "MigrationFailedError",
    "MixedTransactionModeError",
    "NotOnTimeDatabaseError",
    "OnTimeDbError",
    "ProductVersionMismatchError",
    "RestoreError",
    "RollbackPointNotFoundError",
    "ScriptDecodeError",
    "ScriptError",
    "SeparatorError",
    "UnknownVersionError",
    "UpgradeCancelledError",
    "UpgradeError",
    "UpgradeProcedureNotFoundError",
    "ValidationFailedError",
    "VariableError",
    "VersionConflictError",
]


class OnTimeDbError(Exception):
    """Root of every error raised by ontime_db.

    ``database``, ``version``, ``file``, ``batch`` and ``line`` are ``None``
    where they do not apply.
    """

    def __init__(
        self,
        message: str,
        *,
        database: str | None = None,
        version: Any = None,
        file: str | None = None,
        batch: int | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.database = database
        self.version = version
        self.file = file
        self.batch = batch
        self.line = line

    def __str__(self) -> str:
        return self.message


class ConfigurationError(OnTimeDbError):
    """An argument, option or setting is invalid or missing."""


class InvalidNameError(ConfigurationError, ValueError):
    """A database, login or file name cannot be used as written."""


class InvalidSchemaVersion(ConfigurationError, ValueError):
    """A schema version string such as ``"15.0"`` could not be parsed."""


class InvalidProductVersion(ConfigurationError, ValueError):
    """A product version string such as ``"2.6.1"`` could not be parsed or mapped."""


# -- connections -------------------------------------------------------------


class DriverNotFoundError(OnTimeDbError):
    """No usable database driver (pyodbc, an ODBC driver, mssql-python) is installed."""


class ConnectionFailedError(OnTimeDbError):
    """The server could not be reached or refused the login.

    ``reason`` is one of ``"login failed"``, ``"server not found"``,
    ``"database missing"``, ``"certificate rejected"``, ``"driver missing"``
    or ``"other"``.
    """

    def __init__(self, message: str, *, reason: str = "other", **context: Any) -> None:
        super().__init__(message, **context)
        self.reason = reason


class DatabaseNotFoundError(OnTimeDbError):
    """The named database does not exist on the server."""


class DatabaseExistsError(OnTimeDbError):
    """A database that the operation would create already exists."""


class DatabaseInUseError(OnTimeDbError):
    """Other sessions use a database that the operation needs alone.

    ``sessions`` lists the session descriptions found (login, host, program).
    """

    def __init__(self, message: str, *, sessions: Sequence[str] = (), **context: Any) -> None:
        super().__init__(message, **context)
        self.sessions = tuple(sessions)


# -- versions ----------------------------------------------------------------


class NotOnTimeDatabaseError(OnTimeDbError):
    """The database contains none of the records that state an OnTime schema version."""


class VersionConflictError(OnTimeDbError):
    """Two records in one database state different schema versions.

    ``evidence`` contains every record found, so a caller can show them all.
    """

    def __init__(self, message: str, *, evidence: Sequence[Any] = (), **context: Any) -> None:
        super().__init__(message, **context)
        self.evidence = tuple(evidence)


class UnknownVersionError(OnTimeDbError):
    """A schema version is not part of the migration set.

    ``known`` lists the versions the migration set does contain.
    """

    def __init__(self, message: str, *, known: Sequence[Any] = (), **context: Any) -> None:
        super().__init__(message, **context)
        self.known = tuple(known)


# -- scripts -----------------------------------------------------------------


class ScriptError(OnTimeDbError):
    """A T-SQL script cannot be read, split or prepared; nothing was sent."""


class ScriptDecodeError(ScriptError):
    """A script's bytes are not valid in the encoding that was tried."""

    def __init__(
        self, message: str, *, encoding: str, offset: int, **context: Any
    ) -> None:
        super().__init__(message, **context)
        self.encoding = encoding
        self.offset = offset


class SeparatorError(ScriptError):
    """A ``GO`` line is malformed, for example ``GO;`` or ``GO x``."""


class VariableError(ScriptError):
    """A sqlcmd variable or placeholder is referenced but has no value."""

    def __init__(self, message: str, *, name: str, **context: Any) -> None:
        super().__init__(message, **context)
        self.name = name


class DirectiveError(ScriptError):
    """A sqlcmd command (``:r``, ``:connect``, ``!!`` ...) or ``USE`` cannot be honoured."""

    def __init__(self, message: str, *, command: str, **context: Any) -> None:
        super().__init__(message, **context)
        self.command = command


class MixedTransactionModeError(ScriptError):
    """A script mixes batches that need a transaction with batches that refuse one."""


class BatchError(OnTimeDbError):
    """SQL Server raised an error (severity 11 or more) while running a batch.

    ``number`` and ``server_message`` are SQL Server's error number and text;
    ``line`` is the line in the script file, when it could be determined.
    """

    def __init__(
        self,
        message: str,
        *,
        number: int | None = None,
        server_message: str = "",
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self.number = number
        self.server_message = server_message


# -- migrations --------------------------------------------------------------


class LockError(OnTimeDbError):
    """The migration lock (``sp_getapplock``) could not be taken.

    ``code`` is the procedure's return code: -1 timed out, -2 cancelled,
    -3 chosen as deadlock victim, -999 invalid call.
    """

    def __init__(self, message: str, *, code: int, **context: Any) -> None:
        super().__init__(message, **context)
        self.code = code


class MigrationFailedError(OnTimeDbError):
    """A migration failed part-way through a run.

    ``applied`` lists the migrations applied in this run before the failure,
    ``failed`` names the one that failed, and ``current`` is the schema
    version the database is at now. ``__cause__`` is the underlying error.
    """

    def __init__(
        self,
        message: str,
        *,
        applied: Sequence[Any] = (),
        failed: Any = None,
        current: Any = None,
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self.applied = tuple(applied)
        self.failed = failed
        self.current = current


class ValidationFailedError(OnTimeDbError):
    """The applied migrations recorded in a database differ from the migration set."""

    def __init__(self, message: str, *, problems: Sequence[str] = (), **context: Any) -> None:
        super().__init__(message, **context)
        self.problems = tuple(problems)


# -- backup and restore ------------------------------------------------------


class BackupError(OnTimeDbError):
    """A backup could not be written."""


class BackupVerificationError(BackupError):
    """``RESTORE VERIFYONLY`` rejected a backup file; the backup is not usable."""


class RestoreError(OnTimeDbError):
    """A backup could not be restored."""


# -- upgrade -----------------------------------------------------------------


class UpgradeError(OnTimeDbError):
    """An upgrade stopped before it finished.

    ``done`` and ``not_done`` list the plan steps on each side of the stop.
    ``rollback_command`` is the command line that restores the starting
    state, or ``None`` when nothing needs restoring.
    """

    def __init__(
        self,
        message: str,
        *,
        done: Sequence[Any] = (),
        not_done: Sequence[Any] = (),
        rollback_command: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, **context)
        self.done = tuple(done)
        self.not_done = tuple(not_done)
        self.rollback_command = rollback_command


# -- backup folders and roll back --------------------------------------------


class BackupFolderError(BackupError):
    """The backup folder is missing on the server, or SQL Server cannot write to it.

    ``folder`` is the server-side path; ``account`` is the SQL Server service
    account, or ``None`` when the server does not report it.
    """

    def __init__(
        self, message: str, *, folder: str, account: str | None = None, **context: Any
    ) -> None:
        super().__init__(message, **context)
        self.folder = folder
        self.account = account


class RollbackPointNotFoundError(RestoreError):
    """No backup taken before a migrate or upgrade is recorded for the database."""


# -- upgrade planning ---------------------------------------------------------


class ProductVersionMismatchError(OnTimeDbError):
    """The database's schema version is not the one the given product version's route expects.

    ``database`` and ``version`` are the database and its schema version.
    """


class UpgradeProcedureNotFoundError(OnTimeDbError):
    """No ``dbo.UPGRADE_<major>_<minor>`` procedure copies data from the old database's version.

    ``procedures`` lists the UPGRADE procedures that do exist.
    """

    def __init__(self, message: str, *, procedures: Sequence[str] = (), **context: Any) -> None:
        super().__init__(message, **context)
        self.procedures = tuple(procedures)


class UpgradeCancelledError(UpgradeError):
    """The upgrade was not confirmed, so no step ran."""


# -- drivers at connect time --------------------------------------------------


class DriverNotLoadedError(ConnectionFailedError, DriverNotFoundError):
    """The ODBC driver manager could not load the ODBC driver that a connection names.

    ``reason`` is ``"driver missing"``. Raised on connect, for example for
    unixODBC's "Can't open lib" or Windows' SQLSTATE IM002, so both
    ``except ConnectionFailedError`` and ``except DriverNotFoundError`` catch it.
    """
