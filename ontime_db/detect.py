"""Tell which OnTime schema version a database is at, and from which record.

A database can state its version in four places, from the most to the
least authoritative:

1. ``extended properties``: the ``api`` schema's ``compatibility_major`` and
   ``compatibility_minor``, which OnTime itself reads;
2. ``flyway history``: the highest successful version in the vendor tool's
   ``flyway_schema_history`` table;
3. ``alembic``: the revision in ``alembic_version``, which ontime_db's
   migration engine names after the schema version (``"25.8"``);
4. ``database name``: a name such as ``ontimems.25.8``, as the vendor named
   databases before product 2.8. A name is only a label, so it is weak
   evidence.

:func:`detect_version` reads every place. When the versions found agree,
the most authoritative source is reported; when they differ, it raises
:class:`~ontime_db.errors.VersionConflictError` listing all of them and
does not pick one. Two records are expected to lag behind and are not
counted as disagreeing:

- the database name, whenever another record exists, because a customer
  may keep the pre-2.8 name ``ontimems.25.8`` after later migrations;
- a Flyway history below the ``alembic_version`` revision, because
  ontime_db baselines a database from Flyway's history and migrates it
  further without writing Flyway's table. A Flyway version above it means
  the vendor's tool ran after ontime_db, and that is a conflict.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import (
    ConfigurationError,
    DatabaseNotFoundError,
    InvalidSchemaVersion,
    NotOnTimeDatabaseError,
    OnTimeDbError,
    VersionConflictError,
)
from .version import SchemaVersion

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from .connection import Target

__all__ = [
    "SOURCES",
    "DetectedVersion",
    "DiscoveredDatabase",
    "VersionEvidence",
    "database_kind",
    "decide_version",
    "detect_version",
    "discover",
    "gather_evidence",
    "revision_query_sql",
]

log = logging.getLogger(__name__)

PROPERTIES = "extended properties"
FLYWAY = "flyway history"
ALEMBIC = "alembic"
NAME = "database name"
# Most authoritative first.
SOURCES = (PROPERTIES, FLYWAY, ALEMBIC, NAME)

ALEMBIC_TABLE = "alembic_version"
LOOKED_FOR = (
    "the 'api' schema's extended properties compatibility_major and compatibility_minor, "
    "a flyway_schema_history table, an alembic_version table and a version in the "
    "database name (such as ontimems.25.8)"
)
# Databases whose name says OnTime even when they carry no version record.
_ONTIME_NAME = re.compile(r"ontime|pollarity|catering", re.IGNORECASE)


@dataclass(frozen=True)
class VersionEvidence:
    """One record of a database's schema version.

    ``source`` is one of :data:`SOURCES`. ``version`` is ``None`` when the
    record exists but states no usable version; ``detail`` then gives the reason.
    """

    source: str
    version: SchemaVersion | None
    detail: str

    def __str__(self) -> str:
        stated = str(self.version) if self.version is not None else "no usable version"
        return f"{self.source}: {stated} ({self.detail})"


@dataclass(frozen=True)
class DetectedVersion:
    """A database's schema version, the source it was taken from and every record found."""

    database: str
    version: SchemaVersion
    source: str
    evidence: tuple[VersionEvidence, ...]

    @property
    def weak(self) -> bool:
        """Whether only the database name states the version."""
        return self.source == NAME


@dataclass(frozen=True)
class DiscoveredDatabase:
    """A database on a server that looks like an OnTime database.

    ``kind`` is ``"main"``, ``"pollarity"`` or ``"catering"``. ``version``
    and ``source`` are ``None`` when no single version was found;
    ``problem`` then gives the reason.
    """

    name: str
    kind: str
    version: SchemaVersion | None
    source: str | None
    evidence: tuple[VersionEvidence, ...]
    problem: str | None = None


# -- evidence --------------------------------------------------------------------


def gather_evidence(connection: Connection, *, database: str) -> tuple[VersionEvidence, ...]:
    """Read every version record in the connection's current database.

    ``database`` is the current database's name, used for the name rule.
    Records that are absent give no evidence. Records that exist but state
    no usable version, or cannot be read, give evidence with ``version=None``.
    """
    from sqlalchemy.exc import DBAPIError

    readers = (
        (PROPERTIES, _properties_evidence),
        (FLYWAY, _flyway_evidence),
        (ALEMBIC, _alembic_evidence),
    )
    found: list[VersionEvidence] = []
    for source, reader in readers:
        try:
            evidence = reader(connection)
        except DBAPIError as error:
            # A login without SELECT permission on a history table, for example.
            log.warning("cannot read the %s of %s: %s", source, database, error.orig)
            evidence = VersionEvidence(source, None, f"cannot be read: {error.orig}")
        if evidence is not None:
            found.append(evidence)

    named = SchemaVersion.from_database_name(database)
    if named is not None:
        found.append(
            VersionEvidence(NAME, named, f"the name {database!r} ends in .{named}, a weak record")
        )
    return tuple(found)


def _properties_evidence(connection: Connection) -> VersionEvidence | None:
    from .catalog import API_SCHEMA, read_schema_properties, version_from_properties

    properties = read_schema_properties(connection)
    if not properties:
        return None
    shown = ", ".join(
        f"{prop.name} = {prop.value!r} ({prop.base_type})" for prop in properties.values()
    )
    try:
        version = version_from_properties(properties)
    except InvalidSchemaVersion as error:
        return VersionEvidence(PROPERTIES, None, str(error))
    return VersionEvidence(PROPERTIES, version, f"schema {API_SCHEMA}: {shown}")


def _flyway_evidence(connection: Connection) -> VersionEvidence | None:
    from .flyway import read_flyway_history

    history = read_flyway_history(connection)
    if history is None:
        return None
    detail = (
        f"{history.schema}.{history.table}: {history.rows} rows, {history.successes} "
        f"successful, {len(history.failures)} failed, highest successful version "
        f"{history.highest_version}"
    )
    if history.failures:
        failed = ", ".join(str(entry.version or entry.script) for entry in history.failures)
        detail += f"; failed migrations: {failed}"
    try:
        version = history.schema_version
    except InvalidSchemaVersion as error:
        return VersionEvidence(FLYWAY, None, f"{detail}; {error}")
    return VersionEvidence(FLYWAY, version, detail)


def _alembic_evidence(connection: Connection) -> VersionEvidence | None:
    from sqlalchemy import text

    from .catalog import find_tables

    tables = find_tables(connection, ALEMBIC_TABLE)
    if not tables:
        return None
    schema, table = tables[0]
    where = f"{schema}.{table}"
    rows = connection.execute(text(revision_query_sql(schema, table))).scalars()
    revisions = [str(value) for value in rows]
    if not revisions:
        return VersionEvidence(ALEMBIC, None, f"{where} is empty")
    if len(revisions) > 1:
        return VersionEvidence(
            ALEMBIC, None, f"{where} contains several revisions {sorted(revisions)}, expected one"
        )
    try:
        version = SchemaVersion.parse(revisions[0])
    except InvalidSchemaVersion:
        return VersionEvidence(
            ALEMBIC, None, f"{where} revision {revisions[0]!r} is not a schema version"
        )
    return VersionEvidence(ALEMBIC, version, f"{where} revision {revisions[0]!r}")


def revision_query_sql(schema: str, table: str) -> str:
    """Build the query that reads the revisions of an Alembic version table.

    >>> revision_query_sql("dbo", "alembic_version")
    'SELECT version_num FROM [dbo].[alembic_version]'
    """
    from .quoting import quote_identifier

    return (
        f"SELECT version_num FROM {quote_identifier(schema, kind='schema name')}."
        f"{quote_identifier(table, kind='table name')}"
    )


def decide_version(database: str, evidence: Sequence[VersionEvidence]) -> DetectedVersion:
    """Apply the detection rule to the records found in ``database``.

    Raises :class:`~ontime_db.errors.NotOnTimeDatabaseError` when no record
    states a version and :class:`~ontime_db.errors.VersionConflictError`
    when records state different versions.
    """
    evidence = tuple(evidence)
    stated = [item for item in evidence if item.version is not None]
    if not stated:
        if evidence:
            unusable = "; ".join(str(item) for item in evidence)
            raise NotOnTimeDatabaseError(
                f"database {database!r} states no usable OnTime schema version: {unusable}. "
                "Correct the record, or set the version with `ontime-db migrate`",
                database=database,
            )
        raise NotOnTimeDatabaseError(
            f"database {database!r} is not an OnTime database: looked for {LOOKED_FOR} "
            "and found none. Check the database name; `ontime-db discover` lists the "
            "server's OnTime databases",
            database=database,
        )

    compared = _records_to_compare(stated)
    versions = {item.version for item in compared}
    if len(versions) > 1:
        listed = "; ".join(str(item) for item in compared)
        raise VersionConflictError(
            f"database {database!r} states different schema versions: {listed}. "
            "ontime_db does not guess between them: find out which record is right "
            "(the extended properties are what OnTime reads), correct the others, "
            "then run again",
            evidence=evidence,
            database=database,
        )

    best = min(compared, key=lambda item: SOURCES.index(item.source))
    assert best.version is not None
    return DetectedVersion(database, best.version, best.source, evidence)


def _records_to_compare(stated: Sequence[VersionEvidence]) -> list[VersionEvidence]:
    """Drop the records that are expected to lag behind (see the module docstring)."""
    compared = [item for item in stated if item.source != NAME] or list(stated)
    alembic = next((item for item in compared if item.source == ALEMBIC), None)
    if alembic is None or alembic.version is None:
        return compared
    return [
        item
        for item in compared
        if not (
            item.source == FLYWAY
            and item.version is not None
            and item.version < alembic.version
        )
    ]


# -- entry points ------------------------------------------------------------------


def detect_version(
    target_or_connection: Target | Connection, *, database: str | None = None
) -> DetectedVersion:
    """Detect the schema version of a database, with its source and every record found.

    ``target_or_connection`` is anything :func:`ontime_db.connection.connect`
    accepts, or an open SQLAlchemy Connection (then its current database is
    read unless ``database`` names another).

    Raises :class:`~ontime_db.errors.ConfigurationError` when no database is
    named, :class:`~ontime_db.errors.DatabaseNotFoundError` when it does not
    exist, :class:`~ontime_db.errors.NotOnTimeDatabaseError` when it carries
    no version record, :class:`~ontime_db.errors.VersionConflictError` when
    its records disagree, and :class:`~ontime_db.errors.ConnectionFailedError`
    when the server cannot be reached.

    >>> detect_version("jdbc:sqlserver://db1;databaseName=ontimems;integratedSecurity=true")
    ... # doctest: +SKIP
    DetectedVersion(database='ontimems', version=SchemaVersion(major=25, minor=8), ...)
    """
    from sqlalchemy.engine import Connection

    from .catalog import current_database

    if isinstance(target_or_connection, Connection):
        connection = target_or_connection
        current = current_database(connection)
        if database is None or database == current:
            return _detect_on(connection, current)
        target: Target = connection.engine
    else:
        target = target_or_connection
    return _detect_on_target(target, database)


def _detect_on(connection: Connection, database: str) -> DetectedVersion:
    detected = decide_version(database, gather_evidence(connection, database=database))
    log.info(
        "database %s is at schema version %s (from %s)",
        database,
        detected.version,
        detected.source,
    )
    return detected


def _detect_on_target(target: Target, database: str | None) -> DetectedVersion:
    from .connection import database_of, describe

    name = database or database_of(target)
    if not name:
        raise ConfigurationError(
            f"no database named for {describe(target)}: give --database (or a URL that "
            "names one); `ontime-db discover` lists the server's OnTime databases"
        )

    with _connected(target, "master", autocommit=True) as connection:
        from .catalog import database_exists

        if not database_exists(connection, name):
            raise DatabaseNotFoundError(
                f"database {name!r} not found on {describe(target)}: check the name; "
                "`ontime-db discover` lists the server's OnTime databases",
                database=name,
            )
    with _connected(target, name) as connection:
        return _detect_on(connection, name)


@contextmanager
def _connected(target: Target, database: str, *, autocommit: bool = False) -> Iterator[Connection]:
    """Open a connection to ``database`` on ``target``'s server, turning driver errors plain."""
    from sqlalchemy.exc import DBAPIError

    from .connection import connection_error, engine_scope

    with engine_scope(target, database=database, autocommit=autocommit) as engine:
        try:
            connection = engine.connect()
        except DBAPIError as error:
            raise connection_error(error, target, database=database) from error
        with connection:
            yield connection


def database_kind(name: str) -> str:
    """Return ``"pollarity"``, ``"catering"`` or ``"main"`` for a database name.

    NOTE: the add-on databases are recognised by name only; the vendor's
    documentation names no record inside them that identifies the product
    they belong to.
    """
    lowered = name.lower()
    if "pollarity" in lowered:
        return "pollarity"
    if "catering" in lowered:
        return "catering"
    return "main"


def discover(
    target: Target, *, kinds: Collection[str] | None = None
) -> list[DiscoveredDatabase]:
    """List the databases on ``target``'s server that look like OnTime databases.

    A database is listed when it carries a version record or its name
    contains "ontime", "pollarity" or "catering". Each entry has its kind
    (main, Pollarity, Catering), its version and source when one was
    found, and otherwise the problem. System databases are skipped.

    ``kinds`` limits the search to those kinds of :func:`database_kind`.
    The kind follows from the name alone, so the other databases are
    skipped before any query is sent to them.

    Raises :class:`~ontime_db.errors.ConnectionFailedError` when the server
    cannot be reached.

    >>> discover("jdbc:sqlserver://db1;integratedSecurity=true",
    ...          kinds=("pollarity", "catering"))  # doctest: +SKIP
    [DiscoveredDatabase(name='ontimems_pollarity', kind='pollarity', ...)]
    """
    from sqlalchemy import text

    found: list[DiscoveredDatabase] = []
    with _connected(target, "master", autocommit=True) as connection:
        rows = connection.execute(
            text(
                "SELECT name, state_desc, HAS_DBACCESS(name) AS accessible "
                "FROM sys.databases WHERE database_id > 4 ORDER BY name"
            )
        ).all()
        for row in rows:
            name = str(row.name)
            if kinds is not None and database_kind(name) not in kinds:
                continue
            entry = _inspect(connection, name, str(row.state_desc), row.accessible)
            if entry is not None:
                found.append(entry)
    log.info("found %d OnTime databases among %d user databases", len(found), len(rows))
    return found


def _inspect(
    connection: Connection, name: str, state: str, accessible: int | None
) -> DiscoveredDatabase | None:
    from sqlalchemy.exc import DBAPIError

    from .catalog import use_database_sql

    kind = database_kind(name)
    named = _ONTIME_NAME.search(name) is not None
    if state != "ONLINE" or accessible != 1:
        if not named:
            return None
        problem = (
            f"the database is {state.lower()}"
            if state != "ONLINE"
            else "the login may not open this database"
        )
        return DiscoveredDatabase(name, kind, None, None, (), problem)

    try:
        connection.exec_driver_sql(use_database_sql(name))
        evidence = gather_evidence(connection, database=name)
    except DBAPIError as error:
        log.warning("cannot read database %s: %s", name, error.orig)
        return DiscoveredDatabase(name, kind, None, None, (), f"cannot be read: {error.orig}")
    finally:
        connection.exec_driver_sql(use_database_sql("master"))

    if not evidence and not named:
        return None
    try:
        detected = decide_version(name, evidence)
    except OnTimeDbError as error:
        return DiscoveredDatabase(name, kind, None, None, evidence, str(error))
    return DiscoveredDatabase(name, kind, detected.version, detected.source, evidence)
