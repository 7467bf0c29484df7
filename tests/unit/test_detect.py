"""The version detection rule, and the records it reads, checked without a server.

A recording stand-in for the connection returns set rows for the catalog
queries. It shows which records detection reads and how it decides, not
what SQL Server stores. The live tests cover that.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from ontime_db import detect
from ontime_db.detect import (
    DetectedVersion,
    VersionEvidence,
    database_kind,
    decide_version,
    detect_version,
    discover,
    gather_evidence,
)
from ontime_db.errors import (
    ConfigurationError,
    DatabaseNotFoundError,
    NotOnTimeDatabaseError,
    VersionConflictError,
)
from ontime_db.version import SchemaVersion

V258 = SchemaVersion(25, 8)
V260 = SchemaVersion(26, 0)


class Answer:
    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def all(self) -> list[Any]:
        return self.rows

    def scalars(self) -> list[Any]:
        return [row[0] for row in self.rows]

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None

    def scalar_one(self) -> Any:
        return self.rows[0][0]


class RecordingConnection:
    """A stand-in for a SQLAlchemy Connection: it records the SQL sent and returns set rows.

    ``answers`` maps a piece of SQL text to rows, or to a function of the
    bound parameters that returns rows. It checks what detection sends and
    how it decides, not what SQL Server does.
    """

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.sent: list[str] = []
        self.database = "master"

    def execute(self, clause: Any, parameters: dict[str, Any] | None = None) -> Answer:
        sql = str(clause)
        self.sent.append(sql)
        for marker, rows in self.answers.items():
            if marker in sql:
                return Answer(rows(self, parameters or {}) if callable(rows) else rows)
        return Answer([])

    def exec_driver_sql(self, sql: str) -> None:
        self.sent.append(sql)
        self.database = sql.removeprefix("USE [").removesuffix("]").replace("]]", "]")


class FakeDriverError(Exception):
    """Shaped like pyodbc's errors: args are (SQLSTATE, message)."""


def prop(name: str, value: str, base_type: str = "int") -> SimpleNamespace:
    return SimpleNamespace(name=name, value=value, base_type=base_type)


def table(schema: str, name: str) -> SimpleNamespace:
    return SimpleNamespace(schema_name=schema, table_name=name)


def flyway_row(rank: int, version: str | None, success: int = 1, kind: str = "SQL") -> Any:
    return SimpleNamespace(
        installed_rank=rank,
        version=version,
        description="d",
        type=kind,
        script=f"V{version}__d.sql",
        checksum=1,
        installed_by="sa",
        installed_on=datetime(2024, 1, 1),
        execution_time=5,
        success=success,
    )


def properties(major: str, minor: str) -> dict[str, Any]:
    return {
        "sys.extended_properties": [
            prop("compatibility_major", major),
            prop("compatibility_minor", minor),
        ]
    }


def flyway(*rows: Any) -> dict[str, Any]:
    return {
        "FROM sys.tables": lambda _c, p: (
            [table("dbo", "flyway_schema_history")]
            if p.get("name") == "flyway_schema_history"
            else []
        ),
        "ORDER BY installed_rank": list(rows),
    }


def alembic(*revisions: str) -> dict[str, Any]:
    return {
        "FROM sys.tables": lambda _c, p: (
            [table("dbo", "alembic_version")] if p.get("name") == "alembic_version" else []
        ),
        "SELECT version_num": [(revision,) for revision in revisions],
    }


def evidence_of(answers: dict[str, Any], database: str = "ontimems") -> tuple[VersionEvidence, ...]:
    return gather_evidence(RecordingConnection(answers), database=database)  # type: ignore[arg-type]


# -- reading each source ---------------------------------------------------------


def test_evidence_properties() -> None:
    assert evidence_of(properties("25", "8")) == (
        VersionEvidence(
            "extended properties",
            V258,
            "schema api: compatibility_major = '25' (int), compatibility_minor = '8' (int)",
        ),
    )


def test_evidence_properties_incomplete() -> None:
    found = evidence_of({"sys.extended_properties": [prop("compatibility_minor", "8")]})
    assert found[0].version is None
    assert found[0].detail.startswith("incomplete schema version in the 'api' schema's")


def test_evidence_flyway() -> None:
    found = evidence_of(
        flyway(
            flyway_row(1, "0", kind="SCHEMA"),
            flyway_row(2, "25.8"),
            flyway_row(3, "26.0", success=0),
        )
    )
    assert found == (
        VersionEvidence(
            "flyway history",
            V258,
            "dbo.flyway_schema_history: 3 rows, 1 successful, 1 failed, highest successful "
            "version 25.8; failed migrations: 26.0",
        ),
    )


def test_evidence_flyway_not_schema_version() -> None:
    found = evidence_of(flyway(flyway_row(1, "3.9.2")))
    assert found[0].version is None
    assert found[0].detail.endswith(
        "Flyway version '3.9.2' in dbo.flyway_schema_history is "
        "not a schema version: expected MAJOR or MAJOR.MINOR, "
        "for example 25.8"
    )


def test_evidence_alembic() -> None:
    assert evidence_of(alembic("25.8")) == (
        VersionEvidence("alembic", V258, "dbo.alembic_version revision '25.8'"),
    )


@pytest.mark.parametrize(
    ("revisions", "detail"),
    [
        ((), "dbo.alembic_version is empty"),
        (("ae1027a6acf",), "dbo.alembic_version revision 'ae1027a6acf' is not a schema version"),
        (
            ("25.8", "26.0"),
            "dbo.alembic_version contains several revisions ['25.8', '26.0'], expected one",
        ),
    ],
    ids=["empty", "hash", "several"],
)
def test_evidence_alembic_unusable(revisions: tuple[str, ...], detail: str) -> None:
    assert evidence_of(alembic(*revisions)) == (VersionEvidence("alembic", None, detail),)


def test_evidence_alembic_query_quotes_schema() -> None:
    answers = {
        "FROM sys.tables": lambda _c, p: (
            [table("o]t", "alembic_version")] if p.get("name") == "alembic_version" else []
        ),
    }
    connection = RecordingConnection(answers)
    gather_evidence(connection, database="x")  # type: ignore[arg-type]
    assert "SELECT version_num FROM [o]]t].[alembic_version]" in connection.sent


def test_evidence_unreadable(caplog: pytest.LogCaptureFixture) -> None:
    denied = FakeDriverError("42000", "The SELECT permission was denied on the object (229)")

    def deny(_connection: RecordingConnection, _parameters: dict[str, Any]) -> list[Any]:
        raise DBAPIError("SELECT ...", None, denied)

    answers = flyway(flyway_row(1, "25.8"))
    answers["ORDER BY installed_rank"] = deny
    found = evidence_of(answers)
    assert found == (
        VersionEvidence("flyway history", None, f"cannot be read: {denied}"),
    )
    assert caplog.messages == [f"cannot read the flyway history of ontimems: {denied}"]


def test_evidence_name() -> None:
    assert evidence_of({}, database="ontimems.25.8") == (
        VersionEvidence(
            "database name", V258, "the name 'ontimems.25.8' ends in .25.8, a weak record"
        ),
    )


def test_evidence_none() -> None:
    assert evidence_of({}, database="ontimems") == ()


# -- the rule --------------------------------------------------------------------------

PROPS = VersionEvidence("extended properties", V258, "p")
FLY = VersionEvidence("flyway history", V258, "f")
ALEM = VersionEvidence("alembic", V258, "a")
NAME = VersionEvidence("database name", V258, "n")


@pytest.mark.parametrize(
    ("evidence", "source"),
    [
        ((NAME, ALEM, FLY, PROPS), "extended properties"),
        ((NAME, ALEM, FLY), "flyway history"),
        ((NAME, ALEM), "alembic"),
        ((NAME,), "database name"),
        ((VersionEvidence("alembic", None, "empty"), FLY), "flyway history"),
    ],
    ids=["properties-first", "flyway-second", "alembic-third", "name-only", "unusable-ignored"],
)
def test_decide_agreeing(evidence: tuple[VersionEvidence, ...], source: str) -> None:
    detected = decide_version("ontimems", evidence)
    assert detected == DetectedVersion("ontimems", V258, source, evidence)
    assert detected.weak is (source == "database name")


def test_decide_conflict() -> None:
    newer = VersionEvidence("flyway history", V260, "dbo.flyway_schema_history")
    with pytest.raises(VersionConflictError) as raised:
        decide_version("ontimems", (PROPS, newer))
    assert raised.value.evidence == (PROPS, newer)
    assert raised.value.database == "ontimems"
    assert str(raised.value) == (
        "database 'ontimems' states different schema versions: extended properties: 25.8 (p); "
        "flyway history: 26.0 (dbo.flyway_schema_history). ontime_db does not guess between "
        "them: find out which record is right (the extended properties are what OnTime reads), "
        "correct the others, then run again"
    )


def test_decide_name_lags_behind() -> None:
    kept_name = VersionEvidence("database name", V258, "n")
    newer = VersionEvidence("extended properties", V260, "p")
    detected = decide_version("ontimems.25.8", (newer, kept_name))
    assert (detected.version, detected.source) == (V260, "extended properties")
    assert detected.evidence == (newer, kept_name)


def test_decide_flyway_before_baseline() -> None:
    baselined = VersionEvidence("flyway history", V258, "f")
    alembic = VersionEvidence("alembic", V260, "a")
    properties = VersionEvidence("extended properties", V260, "p")
    detected = decide_version("ontimems", (properties, baselined, alembic))
    assert (detected.version, detected.source) == (V260, "extended properties")


def test_decide_flyway_after_alembic_conflicts() -> None:
    vendor_ran_later = VersionEvidence("flyway history", V260, "f")
    alembic = VersionEvidence("alembic", V258, "a")
    with pytest.raises(VersionConflictError) as raised:
        decide_version("ontimems", (vendor_ran_later, alembic))
    assert raised.value.evidence == (vendor_ran_later, alembic)


def test_decide_nothing() -> None:
    with pytest.raises(NotOnTimeDatabaseError) as raised:
        decide_version("customname", ())
    assert raised.value.database == "customname"
    assert str(raised.value) == (
        "database 'customname' is not an OnTime database: looked for the 'api' schema's "
        "extended properties compatibility_major and compatibility_minor, a "
        "flyway_schema_history table, an alembic_version table and a version in the database "
        "name (such as ontimems.25.8) and found none. Check the database name; "
        "`ontime-db discover` lists the server's OnTime databases"
    )


def test_decide_only_unusable() -> None:
    with pytest.raises(NotOnTimeDatabaseError) as raised:
        decide_version("x", (VersionEvidence("alembic", None, "dbo.alembic_version is empty"),))
    assert str(raised.value) == (
        "database 'x' states no usable OnTime schema version: alembic: no usable version "
        "(dbo.alembic_version is empty). Correct the record, or set the version with "
        "`ontime-db migrate`"
    )


# -- entry points --------------------------------------------------------------------------


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> dict[str, RecordingConnection]:
    """Replace the connection opener with recording connections, one per database name."""
    connections: dict[str, RecordingConnection] = {}

    @contextmanager
    def connected(target: Any, database: str, *, autocommit: bool = False) -> Iterator[Any]:
        yield connections[database]

    monkeypatch.setattr(detect, "_connected", connected)
    return connections


def test_detect_target(server: dict[str, RecordingConnection]) -> None:
    server["master"] = RecordingConnection({"DB_ID": [(5,)]})
    server["ontimems"] = RecordingConnection(properties("25", "8"))
    detected = detect_version("jdbc:sqlserver://h;databaseName=ontimems;user=u;password=p")
    assert (detected.database, detected.version, detected.source) == (
        "ontimems",
        V258,
        "extended properties",
    )
    assert server["master"].sent == ["SELECT DB_ID(:name)"]


def test_detect_database_argument(server: dict[str, RecordingConnection]) -> None:
    server["master"] = RecordingConnection({"DB_ID": [(5,)]})
    server["ontimems.25.8"] = RecordingConnection({})
    detected = detect_version("Server=h;UID=u;PWD=p;Database=other", database="ontimems.25.8")
    assert (detected.version, detected.source, detected.weak) == (V258, "database name", True)


def test_detect_missing_database(server: dict[str, RecordingConnection]) -> None:
    server["master"] = RecordingConnection({"DB_ID": [(None,)]})
    with pytest.raises(DatabaseNotFoundError) as raised:
        detect_version("jdbc:sqlserver://h;databaseName=nope;user=u;password=p")
    assert raised.value.database == "nope"
    assert str(raised.value) == (
        "database 'nope' not found on h/nope as u: check the name; `ontime-db discover` "
        "lists the server's OnTime databases"
    )


def test_detect_no_database() -> None:
    with pytest.raises(ConfigurationError) as raised:
        detect_version("jdbc:sqlserver://h;user=u;password=p")
    assert str(raised.value) == (
        "no database named for h/(default database) as u: give --database (or a URL that "
        "names one); `ontime-db discover` lists the server's OnTime databases"
    )


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ontimems", "main"),
        ("customname", "main"),
        ("ontimems_Pollarity", "pollarity"),
        ("OnTimeCatering", "catering"),
        ("ontimems.25.8", "main"),
    ],
    ids=["default", "custom", "pollarity", "catering", "versioned"],
)
def test_database_kind(name: str, kind: str) -> None:
    assert database_kind(name) == kind


def test_discover(server: dict[str, RecordingConnection]) -> None:
    databases = [
        SimpleNamespace(name="ontimems", state_desc="ONLINE", accessible=1),
        SimpleNamespace(name="ontime_pollarity", state_desc="ONLINE", accessible=1),
        SimpleNamespace(name="payroll", state_desc="ONLINE", accessible=1),
        SimpleNamespace(name="ontime_catering", state_desc="OFFLINE", accessible=None),
        SimpleNamespace(name="ontimems.25.8", state_desc="ONLINE", accessible=1),
        SimpleNamespace(name="secret", state_desc="ONLINE", accessible=0),
    ]

    def props_by_database(connection: RecordingConnection, _: dict[str, Any]) -> list[Any]:
        values = {
            "ontimems": ("26", "0"),
            "ontime_pollarity": ("3", "1"),
            "ontimems.25.8": ("25", "9"),
        }
        if connection.database not in values:
            return []
        major, minor = values[connection.database]
        return [prop("compatibility_major", major), prop("compatibility_minor", minor)]

    server["master"] = RecordingConnection(
        {"FROM sys.databases": databases, "sys.extended_properties": props_by_database}
    )
    found = discover("Server=h;UID=u;PWD=p")
    summary = [(entry.name, entry.kind, entry.version, entry.source) for entry in found]
    assert summary == [
        ("ontimems", "main", V260, "extended properties"),
        ("ontime_pollarity", "pollarity", SchemaVersion(3, 1), "extended properties"),
        ("ontime_catering", "catering", None, None),
        ("ontimems.25.8", "main", SchemaVersion(25, 9), "extended properties"),
    ]
    assert found[2].problem == "the database is offline"
    assert found[3].problem is None
    assert "USE [payroll]" in server["master"].sent
    assert "USE [secret]" not in server["master"].sent
    assert server["master"].sent[-1] == "USE [master]"


def test_discover_kinds_skips_others(server: dict[str, RecordingConnection]) -> None:
    databases = [
        SimpleNamespace(name="ontimems", state_desc="ONLINE", accessible=1),
        SimpleNamespace(name="ontime_pollarity", state_desc="ONLINE", accessible=1),
        SimpleNamespace(name="payroll", state_desc="ONLINE", accessible=1),
    ]
    server["master"] = RecordingConnection(
        {
            "FROM sys.databases": databases,
            "sys.extended_properties": [
                prop("compatibility_major", "3"),
                prop("compatibility_minor", "1"),
            ],
        }
    )
    found = discover("Server=h;UID=u;PWD=p", kinds=("pollarity", "catering"))
    summary = [(entry.name, entry.kind, entry.version) for entry in found]
    assert summary == [("ontime_pollarity", "pollarity", SchemaVersion(3, 1))]
    sent = server["master"].sent
    assert "USE [ontime_pollarity]" in sent
    assert "USE [ontimems]" not in sent
    assert "USE [payroll]" not in sent
