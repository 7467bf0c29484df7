"""The checks that make an offline migration script stop in the wrong database or state.

Each check is one T-SQL batch. When it finds a mismatch it raises error
50000 with severity 16, which stops ``sqlcmd -b``, and runs ``SET NOEXEC
ON``. NOEXEC stays on for the rest of the session, across ``GO``
separators, so SSMS and ``sqlcmd`` without ``-b`` compile the remaining
batches but execute none of them. NOEXEC is set when the statement runs,
not when the batch is parsed, so it takes effect only when the check fails
(SET NOEXEC, documented the same from SQL Server 2005 to 2022).

The checks read ``alembic_version`` only inside an ``IF OBJECT_ID(...)``
branch: a statement on a missing table is compiled only when it runs
(deferred name resolution), so the batch also works before the table exists.
Everything here is text; nothing connects.
"""

from __future__ import annotations

from ..quoting import quote_identifier, quote_string
from ..version import SchemaVersion

__all__ = ["previous_version_guard", "start_guard", "transaction_guard"]

# sys.extended_properties.class 3 is SCHEMA; database_id 1 to 4 are master,
# tempdb, model and msdb.
_SCHEMA_CLASS = 3
_LAST_SYSTEM_DATABASE_ID = 4
_NOT_RUN = "The batches after this one are compiled but not run."


def start_guard(start: SchemaVersion | None, database: str | None) -> str:
    """Build the first batch of a script: stop unless the database is the one it was rendered for.

    With ``start`` the database must record that schema version, in
    ``alembic_version`` or, when that table is missing, in the ``api``
    schema's extended properties. Without it the database must be empty: no
    ``api`` schema, no ``alembic_version`` table and no user table except
    the audit table. With ``database`` the current database must have that
    name. The batch first turns NOEXEC off, so a script run again in the
    session where an earlier run stopped checks the database again.

    NOTE: a database whose version only Flyway's history table records (no
    ``alembic_version``, no extended properties) fails this check, although
    an online ``migrate`` would baseline it from that history.
    """
    expected = "an empty database" if start is None else f"a database at schema version {start}"
    state = "is empty" if start is None else f"is at schema version {start}"
    where = "the current database"
    checks = [
        "SET NOEXEC OFF;",
        "DECLARE @ontime_db_found nvarchar(400) = NULL;",
    ]
    if database is not None:
        where = f"database {quote_identifier(database)}"
        checks += [
            f"IF DB_NAME() <> {quote_string(database)}",
            "    SET @ontime_db_found = N'the current database is ' + QUOTENAME(DB_NAME());",
        ]
    checks += _empty_checks() if start is None else _version_checks(start)
    before = f"ontime_db migration script stopped: it migrates {expected}, but in {where} "
    after = (
        ". Nothing was changed; render the script again with --from set to the database's "
        f"version. {_NOT_RUN}"
    )
    return "\n".join(
        [
            f"-- Stop unless {where} {state}.",
            *checks,
            "IF @ontime_db_found IS NOT NULL",
            *_stop(before, "@ontime_db_found", after),
        ]
    )


def previous_version_guard(previous: SchemaVersion, version: SchemaVersion) -> str:
    """Build the batch that stops before migration ``version`` unless at ``previous``

    ``alembic_version`` must contain exactly one row, ``previous``.
    """
    expected = quote_string(str(previous))
    before = (
        f"ontime_db migration script stopped before the migration to {version}: "
        f"alembic_version should contain {previous} but contains "
    )
    after = f", so an earlier batch failed or the database changed. {_NOT_RUN}"
    return "\n".join(
        [
            f"-- Stop unless the database is at schema version {previous}.",
            "DECLARE @ontime_db_version nvarchar(32) = NULL, @ontime_db_rows int = 0;",
            "IF OBJECT_ID(N'alembic_version', N'U') IS NOT NULL",
            "    SELECT @ontime_db_version = MAX(version_num), @ontime_db_rows = COUNT(*) "
            "FROM alembic_version;",
            "IF @ontime_db_rows = 0",
            "    SET @ontime_db_version = N'no row';",
            f"IF @ontime_db_rows <> 1 OR @ontime_db_version <> {expected}",
            *_stop(before, "@ontime_db_version", after),
        ]
    )


def transaction_guard(previous: SchemaVersion | None, version: SchemaVersion) -> str:
    """Build the batch that stops when the transaction of migration ``version`` is gone.

    Under ``SET XACT_ABORT ON`` a run-time error rolls the whole transaction
    back and ends the batch, so ``@@TRANCOUNT`` 0 after a batch of a
    transactional migration means that batch failed.

    NOTE: XACT_ABORT does not cover compile errors such as a syntax error,
    which leave the transaction open, so this check passes after them. A
    migration that runs in autocommit mode has no transaction to check. Only
    ``sqlcmd -x -b`` stops the script at those errors.
    """
    state = "empty" if previous is None else f"at schema version {previous}"
    message = (
        f"ontime_db migration script stopped: the migration to {version} failed and SQL Server "
        f"rolled back its transaction, so the database is still {state}. {_NOT_RUN}"
    )
    return "\n".join(
        [f"-- Stop if the migration to {version} was rolled back.", "IF @@TRANCOUNT = 0",
         *_stop(message)]
    )


def _version_checks(start: SchemaVersion) -> list[str]:
    major = quote_string("compatibility_major")
    minor = quote_string("compatibility_minor")
    return [
        "DECLARE @ontime_db_version nvarchar(32) = NULL, @ontime_db_rows int = 0;",
        "DECLARE @ontime_db_major nvarchar(20) = NULL, @ontime_db_minor nvarchar(20) = NULL;",
        "IF @ontime_db_found IS NULL AND OBJECT_ID(N'alembic_version', N'U') IS NOT NULL",
        "BEGIN",
        "    SELECT @ontime_db_version = MAX(version_num), @ontime_db_rows = COUNT(*) "
        "FROM alembic_version;",
        f"    IF @ontime_db_rows <> 1 OR @ontime_db_version <> {quote_string(str(start))}",
        "        SET @ontime_db_found = N'alembic_version contains ' + CASE @ontime_db_rows "
        "WHEN 0 THEN N'no row' ELSE @ontime_db_version END;",
        "END",
        "ELSE IF @ontime_db_found IS NULL",
        "BEGIN",
        "    SELECT @ontime_db_major = CAST(ep.value AS nvarchar(20)) "
        f"FROM sys.extended_properties AS ep WHERE ep.class = {_SCHEMA_CLASS} "
        f"AND ep.major_id = SCHEMA_ID(N'api') AND ep.name = {major};",
        "    SELECT @ontime_db_minor = CAST(ep.value AS nvarchar(20)) "
        f"FROM sys.extended_properties AS ep WHERE ep.class = {_SCHEMA_CLASS} "
        f"AND ep.major_id = SCHEMA_ID(N'api') AND ep.name = {minor};",
        f"    IF {_whole_number('@ontime_db_major')} <> {start.major} "
        f"OR {_whole_number('@ontime_db_minor')} <> {start.minor}",
        "        SET @ontime_db_found = N'the api schema records version ' "
        "+ ISNULL(@ontime_db_major, N'(none)') + N'.' + ISNULL(@ontime_db_minor, N'(none)');",
        "END",
    ]


def _whole_number(variable: str) -> str:
    # TRY_CONVERT is a keyword only from database compatibility level 110, and
    # SQL Server 2016 to 2022 still run databases at level 100 (ALTER DATABASE
    # compatibility level), so the digits are checked with LIKE instead. The
    # binary collation limits [0-9] to ASCII digits, and a CAST of at most 18
    # of them into bigint cannot fail.
    trimmed = f"LTRIM(RTRIM({variable}))"
    return (
        f"CASE WHEN {trimmed} COLLATE Latin1_General_BIN2 NOT LIKE N'%[^0-9]%' "
        f"AND LEN({trimmed}) BETWEEN 1 AND 18 THEN CAST({trimmed} AS bigint) ELSE -1 END"
    )


def _empty_checks() -> list[str]:
    return [
        f"IF @ontime_db_found IS NULL AND DB_ID() <= {_LAST_SYSTEM_DATABASE_ID}",
        "    SET @ontime_db_found = N'it is the system database ' + QUOTENAME(DB_NAME());",
        "IF @ontime_db_found IS NULL AND OBJECT_ID(N'alembic_version', N'U') IS NOT NULL",
        "    SET @ontime_db_found = N'it has an alembic_version table';",
        "IF @ontime_db_found IS NULL AND (SCHEMA_ID(N'api') IS NOT NULL OR EXISTS (",
        "    SELECT 1 FROM sys.objects WHERE is_ms_shipped = 0 AND type = 'U' "
        "AND name <> N'ontime_db_history'))",
        "    SET @ontime_db_found = N'it is not empty';",
    ]


def _stop(before: str, argument: str | None = None, after: str = "") -> list[str]:
    # RAISERROR reads its message as a printf-style format: a literal % (in a
    # database name, say) is doubled, and %s takes the argument.
    text = before.replace("%", "%%")
    if argument is not None:
        text += "%s" + after.replace("%", "%%")
    arguments = f", {argument}" if argument is not None else ""
    return [
        "BEGIN",
        f"    RAISERROR({quote_string(text)}, 16, 1{arguments});",
        "    SET NOEXEC ON;",
        "END",
    ]
