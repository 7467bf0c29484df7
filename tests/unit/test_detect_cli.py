"""The ``info`` and ``discover`` verbs: output, JSON and exit codes.

The library calls are replaced with set results, so these tests check the
command line's wording and exit codes, not detection itself.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import ontime_db.detect
import ontime_db.migration
from ontime_db.cli import main
from ontime_db.detect import DetectedVersion, DiscoveredDatabase, VersionEvidence
from ontime_db.errors import MigrationFailedError, NotOnTimeDatabaseError, VersionConflictError
from ontime_db.version import SchemaVersion

URL = ["--url", "jdbc:sqlserver://db1:1433;databaseName=ontimems;user=OnTimeApp;password=pw"]
PROPS = VersionEvidence("extended properties", SchemaVersion(25, 8), "schema api: ...")
NAME = VersionEvidence("database name", SchemaVersion(25, 8), "the name ...")
POLLARITY = DiscoveredDatabase(
    "ontime_pollarity", "pollarity", SchemaVersion(3, 1), "extended properties", (PROPS,)
)
MAIN = DiscoveredDatabase("ontimems", "main", SchemaVersion(25, 8), "extended properties", ())


@pytest.fixture
def library(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    state: dict[str, Any] = {
        "detected": DetectedVersion(
            "ontimems", SchemaVersion(25, 8), "extended properties", (PROPS,)
        ),
        "discovered": [MAIN, POLLARITY],
        "known": [SchemaVersion(25, 8), SchemaVersion(26, 0), SchemaVersion(26, 1)],
        "calls": [],
    }

    def detect_version(target: Any, *, database: str | None = None) -> DetectedVersion:
        state["calls"].append(("detect", target))
        result = state["detected"]
        if isinstance(result, Exception):
            raise result
        return result  # type: ignore[no-any-return]

    def discover(target: Any, *, kinds: Any = None) -> list[DiscoveredDatabase]:
        state["calls"].append(("discover", target))
        state["kinds"] = kinds
        found = state["discovered"]
        return [entry for entry in found if kinds is None or entry.kind in kinds]

    def known_versions(migrations: Any = None) -> list[SchemaVersion]:
        known = state["known"]
        if isinstance(known, Exception):
            raise known
        return known  # type: ignore[no-any-return]

    monkeypatch.setattr(ontime_db.detect, "detect_version", detect_version)
    monkeypatch.setattr(ontime_db.detect, "discover", discover)
    monkeypatch.setattr(ontime_db.migration, "known_versions", known_versions)
    monkeypatch.delenv("ONTIME_DB_PASSWORD", raising=False)
    return state


def test_info_text(library: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", *URL]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "server:   db1:1433/ontimems as OnTimeApp",
        "database: ontimems",
        "version:  25.8 (from extended properties)",
        "evidence:",
        "  extended properties: 25.8 (schema api: ...)",
        "pending migrations: 26.0, 26.1",
        "add-on databases:",
        "  ontime_pollarity  [pollarity]  3.1 (from extended properties)",
    ]


def test_info_settings_passed(library: dict[str, Any]) -> None:
    main(["info", *URL])
    kind, settings = library["calls"][0]
    assert kind == "detect"
    assert (settings.server, settings.database, settings.password) == ("db1", "ontimems", "pw")


def test_info_searches_addons_only(library: dict[str, Any]) -> None:
    """info requests only the add-on kinds from discover, so no database is read twice."""
    main(["info", *URL])
    assert [kind for kind, _ in library["calls"]] == ["detect", "discover"]
    assert library["kinds"] == ("pollarity", "catering")


def test_info_json(library: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json", *URL]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "server": "db1:1433/ontimems as OnTimeApp",
        "database": "ontimems",
        "version": "25.8",
        "source": "extended properties",
        "weak": False,
        "evidence": [
            {"source": "extended properties", "version": "25.8", "detail": "schema api: ..."}
        ],
        "pending_migrations": ["26.0", "26.1"],
        "addons": [
            {
                "name": "ontime_pollarity",
                "kind": "pollarity",
                "version": "3.1",
                "source": "extended properties",
                "evidence": [
                    {
                        "source": "extended properties",
                        "version": "25.8",
                        "detail": "schema api: ...",
                    }
                ],
                "problem": None,
            }
        ],
        "addons_problem": None,
    }


def test_info_weak_name(library: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    library["detected"] = DetectedVersion(
        "ontimems.25.8", SchemaVersion(25, 8), "database name", (NAME,)
    )
    library["discovered"] = []
    library["known"] = [SchemaVersion(25, 8)]
    assert main(["info", *URL]) == 0
    out = capsys.readouterr().out
    assert "version:  25.8 (from database name) (weak: only the database name states it)\n" in out
    assert "pending migrations: none\n" in out
    assert "add-on databases: none found\n" in out


def test_info_migrations_unavailable(
    library: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    library["known"] = MigrationFailedError("the migration set cannot be loaded")
    assert main(["info", *URL]) == 0
    assert "pending migrations: unknown (migration set unavailable)\n" in capsys.readouterr().out


def test_info_not_ontime(library: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    library["detected"] = NotOnTimeDatabaseError("database 'x' is not an OnTime database: ...")
    assert main(["info", *URL]) == 1
    assert capsys.readouterr().err == "error: database 'x' is not an OnTime database: ...\n"


def test_info_conflict(library: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    library["detected"] = VersionConflictError("database 'x' states different schema versions")
    assert main(["info", *URL]) == 1
    assert "states different schema versions" in capsys.readouterr().err


def test_info_no_server(library: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info"]) == 2
    assert capsys.readouterr().err.startswith("error: no server given")


def test_info_vendor_order(library: dict[str, Any]) -> None:
    arguments = [
        "-url=jdbc:sqlserver://localhost:1433;databaseName=customname;",
        "-user=OnTimeApp",
        "-password=xxxx",
        "info",
    ]
    assert main(arguments) == 0
    settings = library["calls"][0][1]
    assert (settings.database, settings.user, settings.password) == (
        "customname",
        "OnTimeApp",
        "xxxx",
    )


def test_discover_text(library: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    library["discovered"] = [
        MAIN,
        DiscoveredDatabase(
            "ontime_catering", "catering", None, None, (), "the database is offline"
        ),
    ]
    assert main(["discover", "--server", "db1", "--user", "sa", "--password", "pw"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "ontimems  [main]  25.8 (from extended properties)",
        "ontime_catering  [catering]  version unknown: the database is offline",
    ]


def test_discover_none(library: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    library["discovered"] = []
    assert main(["discover", "--server", "db1\\OT", "--user", "sa", "--password", "pw"]) == 0
    assert capsys.readouterr().out == "no OnTime databases found on db1\\OT\n"


def test_discover_json(library: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    library["discovered"] = [MAIN]
    assert main(["discover", "--json", "--server", "db1", "--user", "sa", "--password", "p"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {
            "name": "ontimems",
            "kind": "main",
            "version": "25.8",
            "source": "extended properties",
            "evidence": [],
            "problem": None,
        }
    ]
