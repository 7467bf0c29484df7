"""Catalog access: the T-SQL that reads and writes what a database records about itself.

Two kinds of functions live here. The ``*_sql`` and ``*_statement(s)``
functions build T-SQL text and never connect, so migrations can embed the
text and offline ``--sql`` output can print it. The other functions run
that text on a SQLAlchemy :class:`~sqlalchemy.engine.Connection` the caller
gives them, in the caller's transaction.

The schema version lives in two extended properties of the ``api`` schema,
``compatibility_major`` and ``compatibility_minor``. Their values are
``sql_variant``; every read casts them to ``nvarchar`` so that a driver
without ``sql_variant`` support (FreeTDS, older pyodbc builds) reads them
too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InvalidNameError, InvalidSchemaVersion, NotOnTimeDatabaseError
from .quoting import check_name, quote_identifier, quote_string
from .version import SchemaVersion

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = [
    "API_SCHEMA",
    "MAJOR_PROPERTY",
    "MINOR_PROPERTY",
    "ExtendedProperty",
    "ServerInfo",
    "api_schema_exists",
    "current_database",
    "database_exists",
    "find_tables",
    "read_schema_properties",
    "read_schema_properties_sql",
    "read_schema_version",
    "schema_property_statement",
    "schema_version_statements",
    "server_info",
    "use_database_sql",
    "version_from_properties",
    "write_schema_property",
    "write_schema_version",
]

log = logging.getLogger(__name__)

API_SCHEMA = "api"
MAJOR_PROPERTY = "compatibility_major"
MINOR_PROPERTY = "compatibility_minor"

# sys.extended_properties.class 3 is SCHEMA (major_id is then the schema_id).
_SCHEMA_CLASS = 3
# Base types that keep an existing property's value a string when it is rewritten.
_STRING_BASE_TYPES = ("nvarchar", "varchar", "nchar", "char")


@dataclass(frozen=True)
class ExtendedProperty:
    """One extended property of a schema, its value read as text.

    ``base_type`` is the value's ``sql_variant`` base type as SQL Server
    reports it (``int``, ``nvarchar`` ...).
    """

    name: str
    value: str | None
    base_type: str | None


@dataclass(frozen=True)
class ServerInfo:
    """The server's version, edition and name, and the login of the connection."""

    product_version: str
    edition: str
    product_level: str
    server_name: str
    login: str


# -- SQL text ------------------------------------------------------------------


def read_schema_properties_sql(
    names: tuple[str, ...] = (MAJOR_PROPERTY, MINOR_PROPERTY), *, schema: str = API_SCHEMA
) -> str:
    """Build the query that reads schema extended properties as text.

    The query returns one row per property found, with the columns
    ``name``, ``value`` (cast to ``nvarchar(4000)``) and ``base_type``.

    >>> print(read_schema_properties_sql(("a",)))  # doctest: +NORMALIZE_WHITESPACE
    SELECT ep.name AS name, CAST(ep.value AS nvarchar(4000)) AS value,
    CAST(SQL_VARIANT_PROPERTY(ep.value, 'BaseType') AS nvarchar(128)) AS base_type
    FROM sys.extended_properties AS ep
    WHERE ep.class = 3 AND ep.major_id = SCHEMA_ID(N'api') AND ep.name IN (N'a')
    ORDER BY ep.name

    Raises :class:`~ontime_db.errors.InvalidNameError` when ``names`` is
    empty or a name SQL Server cannot store.
    """
    if not names:
        raise InvalidNameError(
            "invalid property names (): give at least one property name to read"
        )
    listed = ", ".join(quote_string(check_name(name, kind="property name")) for name in names)
    return (
        "SELECT ep.name AS name, CAST(ep.value AS nvarchar(4000)) AS value,\n"
        "CAST(SQL_VARIANT_PROPERTY(ep.value, 'BaseType') AS nvarchar(128)) AS base_type\n"
        "FROM sys.extended_properties AS ep\n"
        f"WHERE ep.class = {_SCHEMA_CLASS} "
        f"AND ep.major_id = SCHEMA_ID({quote_string(check_name(schema, kind='schema name'))}) "
        f"AND ep.name IN ({listed})\n"
        "ORDER BY ep.name"
    )


def schema_property_statement(
    name: str, value: str | int, *, schema: str = API_SCHEMA, keep_string_type: bool = False
) -> str:
    """Build one T-SQL batch that adds or updates an extended property of a schema.

    The batch calls ``sys.sp_updateextendedproperty`` when the property
    exists and ``sys.sp_addextendedproperty`` when it does not, deciding on
    the server, so the same text works in an offline script. ``value`` is
    written as an ``int`` or as an ``N''`` string, as given. With
    ``keep_string_type``, an ``int`` is written as a string when the
    property already contains a character value, so a rewrite keeps the
    type that the application reads.

    The batch declares variables named after the property, so give each
    statement its own batch. Statements for two properties may share a
    batch when the first 60 characters of their names still differ after
    each character other than an ASCII letter or digit becomes ``_``, as
    ``compatibility_major`` and ``compatibility_minor`` do. The batch
    contains literals only, no parameters, and runs inside a transaction.
    It fails on the server when ``schema`` does not exist.

    Raises :class:`~ontime_db.errors.InvalidNameError` for a name SQL Server
    cannot store, and ``TypeError`` for a value that is neither ``str`` nor
    ``int``.
    """
    check_name(name, kind="property name")
    check_name(schema, kind="schema name")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(
            f"invalid extended property value {value!r}: expected str or int, "
            f"got {type(value).__name__}"
        )

    # Variables named after the property keep two statements joinable into one batch.
    variable = "@ontime_db_" + "".join(
        ch if ch.isascii() and ch.isalnum() else "_" for ch in name[:60]
    )
    exists = (
        f"SELECT 1 FROM sys.extended_properties AS ep WHERE ep.class = {_SCHEMA_CLASS} "
        f"AND ep.major_id = SCHEMA_ID({quote_string(schema)}) "
        f"AND ep.name = {quote_string(name)}"
    )
    if isinstance(value, str):
        value_expression = f"CAST({quote_string(value)} AS sql_variant)"
    elif keep_string_type:
        string_types = ", ".join(quote_string(base) for base in _STRING_BASE_TYPES)
        value_expression = (
            f"CASE WHEN EXISTS ({exists} "
            # The cast makes this a plain nvarchar comparison: compared as
            # sql_variant, two strings with different collations are never equal.
            f"AND CAST(SQL_VARIANT_PROPERTY(ep.value, 'BaseType') AS nvarchar(128)) "
            f"IN ({string_types})) "
            f"THEN CAST({quote_string(str(value))} AS sql_variant) "
            f"ELSE CAST({value} AS sql_variant) END"
        )
    else:
        value_expression = f"CAST({value} AS sql_variant)"

    return (
        f"DECLARE {variable}_procedure nvarchar(128) = CASE WHEN EXISTS ({exists}) "
        "THEN N'sys.sp_updateextendedproperty' ELSE N'sys.sp_addextendedproperty' END;\n"
        f"DECLARE {variable}_value sql_variant = {value_expression};\n"
        f"EXEC {variable}_procedure @name = {quote_string(name)}, @value = {variable}_value, "
        f"@level0type = N'SCHEMA', @level0name = {quote_string(schema)};"
    )


def use_database_sql(name: str) -> str:
    """Build the ``USE`` statement that switches a connection to database ``name``.

    Raises :class:`~ontime_db.errors.InvalidNameError` for a name SQL Server
    cannot store.

    >>> use_database_sql("ontimems.25.8")
    'USE [ontimems.25.8]'
    """
    return f"USE {quote_identifier(name)}"


def schema_version_statements(version: SchemaVersion | str) -> list[str]:
    """Build the T-SQL that records ``version`` in the ``api`` schema's extended properties.

    Returns two batches, ``compatibility_major`` first: each adds its
    property or updates it, as :func:`schema_property_statement` describes.
    New values are written as ``int``, and a property that already contains
    a string is rewritten as a string. Run each as its own batch, or join them
    with a newline into one batch. Both run inside a transaction, so a
    migration's schema change and its version record commit together.

    >>> len(schema_version_statements("25.8"))
    2
    """
    version = SchemaVersion.parse(version)
    return [
        schema_property_statement(MAJOR_PROPERTY, version.major, keep_string_type=True),
        schema_property_statement(MINOR_PROPERTY, version.minor, keep_string_type=True),
    ]


# -- queries that run on the caller's connection ------------------------------


def read_schema_properties(
    connection: Connection,
    names: tuple[str, ...] = (MAJOR_PROPERTY, MINOR_PROPERTY),
    *,
    schema: str = API_SCHEMA,
) -> dict[str, ExtendedProperty]:
    """Read extended properties of ``schema`` in the connection's current database.

    Returns the properties found, by name; a missing property or schema is
    simply absent from the result.
    """
    from sqlalchemy import text

    rows = connection.execute(text(read_schema_properties_sql(names, schema=schema))).all()
    return {
        str(row.name): ExtendedProperty(
            name=str(row.name),
            value=None if row.value is None else str(row.value),
            base_type=None if row.base_type is None else str(row.base_type),
        )
        for row in rows
    }


def read_schema_version(connection: Connection) -> SchemaVersion | None:
    """Read the schema version from the current database's ``api`` extended properties.

    Returns ``None`` when neither ``compatibility_major`` nor
    ``compatibility_minor`` exists (or the ``api`` schema does not).

    Raises :class:`~ontime_db.errors.InvalidSchemaVersion` when only one of
    the two exists or a value is not a whole number, naming the values read.
    """
    return version_from_properties(read_schema_properties(connection))


def version_from_properties(found: Mapping[str, ExtendedProperty]) -> SchemaVersion | None:
    """Read a schema version from the properties :func:`read_schema_properties` returned.

    Returns ``None`` when neither property is present; raises
    :class:`~ontime_db.errors.InvalidSchemaVersion` as :func:`read_schema_version` does.
    """
    if not found:
        return None

    major = found.get(MAJOR_PROPERTY)
    minor = found.get(MINOR_PROPERTY)
    if major is None or minor is None:
        present = ", ".join(f"{name} = {prop.value!r}" for name, prop in sorted(found.items()))
        raise InvalidSchemaVersion(
            f"incomplete schema version in the {API_SCHEMA!r} schema's extended properties: "
            f"found only {present}; both {MAJOR_PROPERTY} and {MINOR_PROPERTY} are expected. "
            "Set the missing one in SSMS (Security / Schemas / api / Properties) "
            "or with `ontime-db migrate`"
        )
    return _version_from_properties(major, minor)


def _version_from_properties(major: ExtendedProperty, minor: ExtendedProperty) -> SchemaVersion:
    numbers = []
    for prop in (major, minor):
        text_value = (prop.value or "").strip()
        if not (text_value.isascii() and text_value.isdigit()):
            raise InvalidSchemaVersion(
                f"invalid schema version: extended property {prop.name} of the "
                f"{API_SCHEMA!r} schema is {prop.value!r} ({prop.base_type}); "
                "expected a whole number such as 25"
            )
        numbers.append(int(text_value))
    return SchemaVersion(numbers[0], numbers[1])


def write_schema_property(
    connection: Connection, name: str, value: str | int, *, schema: str = API_SCHEMA
) -> None:
    """Add or update one extended property of ``schema``, with ``value``'s type as given.

    Raises :class:`~ontime_db.errors.NotOnTimeDatabaseError` when the
    schema does not exist in the current database.
    """
    from sqlalchemy import text

    _require_schema(connection, schema)
    connection.execute(text(schema_property_statement(name, value, schema=schema)))
    log.debug("set extended property %s of schema %s", name, schema)


def write_schema_version(connection: Connection, version: SchemaVersion | str) -> None:
    """Record ``version`` in the current database's ``api`` extended properties.

    Runs in the caller's transaction; the caller commits.

    Raises :class:`~ontime_db.errors.NotOnTimeDatabaseError` when the
    database has no ``api`` schema.
    """
    from sqlalchemy import text

    version = SchemaVersion.parse(version)
    _require_schema(connection, API_SCHEMA)
    for statement in schema_version_statements(version):
        connection.execute(text(statement))
    log.info(
        "recorded schema version %s in the %s schema's extended properties", version, API_SCHEMA
    )


def _require_schema(connection: Connection, schema: str) -> None:
    if api_schema_exists(connection, schema=schema):
        return
    database = current_database(connection)
    raise NotOnTimeDatabaseError(
        f"database {database!r} has no {schema!r} schema, so its schema version cannot be "
        "recorded; run the OnTime create script in it first",
        database=database,
    )


def api_schema_exists(connection: Connection, *, schema: str = API_SCHEMA) -> bool:
    """Return whether the current database contains ``schema`` (default ``api``)."""
    from sqlalchemy import text

    row = connection.execute(text("SELECT SCHEMA_ID(:schema)"), {"schema": schema}).scalar()
    return row is not None


def database_exists(connection: Connection, name: str) -> bool:
    """Return whether a database called ``name`` exists on the connection's server.

    ``DB_ID`` finds every database whose metadata the login may view; by
    default that is every database on the server (``VIEW ANY DATABASE``
    is granted to public).
    """
    from sqlalchemy import text

    check_name(name)
    found = connection.execute(text("SELECT DB_ID(:name)"), {"name": name}).scalar()
    return found is not None


def current_database(connection: Connection) -> str:
    """Return the name of the connection's current database (``DB_NAME()``)."""
    from sqlalchemy import text

    return str(connection.execute(text("SELECT DB_NAME()")).scalar_one())


def find_tables(connection: Connection, name: str) -> list[tuple[str, str]]:
    """Return ``(schema, table)`` for every user table called ``name``, in any schema.

    Tools let the history table live in any schema (Flyway in the default
    schema, usually ``dbo``; Alembic in ``version_table_schema``), so every
    schema is searched. The comparison follows the database's collation.
    """
    from sqlalchemy import text

    rows = connection.execute(
        text(
            "SELECT s.name AS schema_name, t.name AS table_name "
            "FROM sys.tables AS t JOIN sys.schemas AS s ON s.schema_id = t.schema_id "
            "WHERE t.name = :name ORDER BY CASE WHEN s.name = N'dbo' THEN 0 ELSE 1 END, s.name"
        ),
        {"name": name},
    ).all()
    return [(str(row.schema_name), str(row.table_name)) for row in rows]


def server_info(connection: Connection) -> ServerInfo:
    """Read the server's version, edition and name, and the connection's login."""
    from sqlalchemy import text

    row = connection.execute(
        text(
            "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version, "
            "CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition, "
            "CAST(SERVERPROPERTY('ProductLevel') AS nvarchar(128)) AS product_level, "
            "CAST(@@SERVERNAME AS nvarchar(128)) AS server_name, "
            "SUSER_SNAME() AS login"
        )
    ).one()
    return ServerInfo(
        product_version=str(row.product_version or ""),
        edition=str(row.edition or ""),
        product_level=str(row.product_level or ""),
        server_name=str(row.server_name or ""),
        login=str(row.login or ""),
    )
