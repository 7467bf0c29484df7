"""Planning, the lock's SQL and return codes, and the audit comparison, without a server."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from ontime_db.errors import LockError, UnknownVersionError
from ontime_db.flyway import flyway_checksum
from ontime_db.migration import load_set, plan_migration
from ontime_db.migration.audit import AppliedMigration, compare
from ontime_db.migration.lock import acquire, lock_resource
from ontime_db.version import SchemaVersion


def test_plan_from_empty() -> None:
    plan = plan_migration()
    assert plan.current is None
    assert [str(step.version) for step in plan.steps] == [
        "25.8",
        "26.0",
        "26.1",
        "26.2",
        "26.3",
        "26.4",
    ]


def test_plan_from_version_to_target() -> None:
    plan = plan_migration(from_version="26.0", to="26.2")
    assert [str(step.version) for step in plan.steps] == ["26.1", "26.2"]
    assert plan.rollback_safe


def test_plan_up_to_date() -> None:
    plan = plan_migration(from_version="26.4")
    assert plan.up_to_date
    assert plan.describe() == [
        "from schema version 26.4 to 26.4, 0 migration(s)",
        "nothing to do: the database is up to date",
    ]


def test_plan_describe_dry_run() -> None:
    plan = plan_migration(from_version="26.2")
    assert plan.describe() == [
        "from schema version 26.2 to 26.4, 2 migration(s)",
        "  1. 26.3  replace api.list_users  (ontimems/V26_3__replace_list_users.sql; "
        "transactional)",
        "  2. 26.4  allow snapshot isolation  (ontimems/V26_4__allow_snapshot_isolation.sql; "
        "autocommit, not rollback-safe)",
    ]
    assert not plan.rollback_safe


def test_plan_older_version_rejected() -> None:
    with pytest.raises(UnknownVersionError) as caught:
        plan_migration(from_version="9.3")
    assert "python -m ontime_db upgrade" in str(caught.value)


def test_plan_downgrade_rejected() -> None:
    with pytest.raises(UnknownVersionError) as caught:
        plan_migration(from_version="26.3", to="26.1")
    assert "migrate does not downgrade" in str(caught.value)


def test_plan_unknown_target() -> None:
    with pytest.raises(UnknownVersionError) as caught:
        plan_migration(from_version="26.0", to="30.0")
    assert caught.value.version == SchemaVersion(30, 0)


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        ("ontimems.25.8", "ontime_db:ontimems.25.8"),
        ("we]ird", "ontime_db:we]ird"),
        ("Größe_版本", "ontime_db:Größe_版本"),
    ],
    ids=["dot", "bracket", "non-ascii"],
)
def test_lock_resource(database: str, expected: str) -> None:
    assert lock_resource(database) == expected


def test_lock_resource_long_name_hashed() -> None:
    resource = lock_resource("x" * 250)
    assert resource.startswith("ontime_db:sha256:")
    assert len(resource) == len("ontime_db:sha256:") + 64


class _FakeResult:
    def __init__(self, value: int) -> None:
        self.value = value

    def scalar_one(self) -> int:
        return self.value


class _RecordingConnection:
    """Records the statement and parameters sent; returns a fixed sp_getapplock code."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def execute(self, statement: Any, parameters: dict[str, Any]) -> _FakeResult:
        self.sent.append((str(statement), parameters))
        return _FakeResult(self.code)


@pytest.mark.parametrize("code", [0, 1], ids=["granted", "granted-after-wait"])
def test_lock_granted(code: int) -> None:
    connection = _RecordingConnection(code)
    acquire(connection, "my db", timeout=2.5)  # type: ignore[arg-type]
    assert connection.sent == [
        (
            "SET NOCOUNT ON; DECLARE @rc int; EXEC @rc = sys.sp_getapplock "
            "@Resource = :resource, @LockMode = 'Exclusive', @LockOwner = 'Session', "
            "@LockTimeout = :timeout_ms; SELECT @rc;",
            {"resource": "ontime_db:my db", "timeout_ms": 2500},
        )
    ]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (-1, "timed out"),
        (-2, "was cancelled"),
        (-3, "was chosen as a deadlock victim"),
        (-999, "was rejected as an invalid call"),
    ],
    ids=["timeout", "cancelled", "deadlock", "invalid"],
)
def test_lock_refused(code: int, reason: str) -> None:
    with pytest.raises(LockError) as caught:
        acquire(_RecordingConnection(code), "O'Hare", timeout=1)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert caught.value.database == "O'Hare"
    assert str(caught.value).startswith(
        f'the migration lock of database "O\'Hare" {reason} after waiting up to 1 s '
        f"(sp_getapplock returned {code}): "
    )


def _row(
    rank: int, version: str, *, checksum: int | None, success: bool = True, type: str = "SQL"
) -> AppliedMigration:
    return AppliedMigration(
        installed_rank=rank,
        version=SchemaVersion.parse(version),
        description="d",
        type=type,
        script="s.sql",
        checksum=checksum,
        installed_by="sa",
        installed_on=datetime(2026, 1, 2, 3, 4),
        execution_time=5,
        success=success,
    )


def _applied_rows(upto: int) -> list[AppliedMigration]:
    chain = load_set()
    return [
        _row(rank, str(m.version), checksum=flyway_checksum(m.script.read_bytes()))
        for rank, m in enumerate(chain.migrations[:upto], start=1)
    ]


def test_compare_all_applied_ok() -> None:
    report = compare(_applied_rows(6), load_set())
    assert report.ok
    assert report.problems == ()


def test_compare_pending() -> None:
    report = compare(_applied_rows(4), load_set())
    assert [str(v) for v in report.pending] == ["26.3", "26.4"]
    assert not report.ok


def test_compare_checksum_changed() -> None:
    rows = _applied_rows(6)
    rows[2] = replace(rows[2], checksum=123)
    report = compare(rows, load_set())
    assert [(p.kind, str(p.version)) for p in report.problems] == [("checksum changed", "26.1")]
    assert "has checksum" in report.problems[0].detail


def test_compare_missing_from_set() -> None:
    rows = [*_applied_rows(6), _row(7, "27.0", checksum=1)]
    report = compare(rows, load_set())
    assert [(p.kind, str(p.version)) for p in report.problems] == [("missing from the set", "27.0")]


def test_compare_failed_then_fixed() -> None:
    rows = _applied_rows(3)
    rows.append(_row(4, "26.2", checksum=None, success=False))
    assert [(p.kind, str(p.version)) for p in compare(rows, load_set()).problems] == [
        ("failed", "26.2"),
        ("pending", "26.2"),
        ("pending", "26.3"),
        ("pending", "26.4"),
    ]
    rows.extend(_applied_rows(4)[3:])
    kinds = [(p.kind, str(p.version)) for p in compare(rows, load_set()).problems]
    assert kinds == [("pending", "26.3"), ("pending", "26.4")]


def test_compare_baseline_counts_as_applied() -> None:
    rows = [_row(1, "26.1", checksum=None, type="BASELINE")]
    report = compare(rows, load_set())
    assert [str(v) for v in report.pending] == ["26.2", "26.3", "26.4"]
