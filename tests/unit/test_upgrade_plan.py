"""Upgrade planning from facts read beforehand: routes, checks, step order, names."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from ontime_db.errors import (
    ConfigurationError,
    DatabaseExistsError,
    InvalidProductVersion,
    ProductVersionMismatchError,
    UnknownVersionError,
    UpgradeProcedureNotFoundError,
)
from ontime_db.upgrades import AddOn, StepKind, addon_database_name
from ontime_db.upgrades.plan import ServerFacts, build_plan
from ontime_db.version import SchemaVersion

CHAIN = tuple(SchemaVersion.parse(v) for v in ("25.8", "26.0", "26.1", "26.4"))
SCRIPTS = (Path("sql/ontimems/ontimems.sql"), Path("sql/legacy/upgrade_procedures.sql"))


def facts(version: str, *, database: str = "ontimems", taken: tuple[str, ...] = ()) -> ServerFacts:
    return ServerFacts(
        server="db1:1433/ontimems as OnTimeApp",
        database=database,
        version=SchemaVersion.parse(version),
        migration_versions=CHAIN,
        upgrade_procedures=("UPGRADE_9_3", "UPGRADE_15_0"),
        exists=lambda name: name in taken,
        create_scripts=SCRIPTS,
        today=date(2026, 12, 4),
    )


def kinds(plan_steps: tuple[object, ...]) -> list[str]:
    return [step.kind.value for step in plan_steps]  # type: ignore[attr-defined]


def test_legacy_from_schema() -> None:
    plan = build_plan(facts("9.3"))
    assert plan.route == "legacy"
    assert plan.to_version == SchemaVersion(26, 4)
    assert kinds(plan.steps) == [
        "backup",
        "create-database",
        "create-script",
        "app-user",
        "upgrade-procedure",
        "rename",
        "rename",
        "migrate",
    ]
    assert plan.new_database == "ontimems.26.4"
    assert plan.aside_database == "ontimems_before_26.4_20261204"


def test_legacy_step_targets() -> None:
    plan = build_plan(facts("15.0"), app_user="OnTimeApp")
    databases = [step.database for step in plan.steps]
    assert databases == [
        "ontimems",
        "ontimems.26.4",
        "ontimems.26.4",
        "ontimems.26.4",
        "ontimems.26.4",
        "ontimems",
        "ontimems.26.4",
        "ontimems",
    ]
    renames = [step.new_name for step in plan.steps if step.kind is StepKind.RENAME]
    assert renames == ["ontimems_before_26.4_20261204", "ontimems"]
    assert plan.steps[2].scripts == SCRIPTS
    assert plan.steps[-1].to_version == SchemaVersion(26, 4)
    assert "[dbo].[UPGRADE_15_0] @olddb = N'ontimems'" in (plan.steps[4].sql or "")


def test_legacy_reversible_throughout() -> None:
    plan = build_plan(facts("9.3"))
    assert all(step.reversible for step in plan.steps)
    assert [step.changes_original for step in plan.steps] == [
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
    ]


def test_legacy_to_create_version() -> None:
    plan = build_plan(facts("9.3"), to=SchemaVersion(25, 8))
    assert kinds(plan.steps)[-1] == "rename"
    assert plan.new_database == "ontimems.25.8"


def test_legacy_target_unknown() -> None:
    with pytest.raises(UnknownVersionError) as caught:
        build_plan(facts("9.3"), to=SchemaVersion(9, 3))
    assert str(caught.value) == (
        "target schema version 9.3 is not part of the migration set; "
        "known versions: 25.8, 26.0, 26.1, 26.4"
    )


def test_legacy_target_before_create() -> None:
    older_chain = replace(
        facts("9.3"), migration_versions=(SchemaVersion(15, 0), SchemaVersion(25, 8))
    )
    with pytest.raises(ConfigurationError) as caught:
        build_plan(older_chain, to=SchemaVersion(15, 0))
    assert str(caught.value) == (
        "target schema version 15.0 is older than 25.8, the version the create script of "
        "the legacy route produces; choose a later target"
    )


def test_legacy_versioned_old_name() -> None:
    plan = build_plan(facts("9.3", database="ontimems.9.3"))
    assert plan.new_database == "ontimems.26.4"
    assert plan.aside_database == "ontimems.9.3_before_26.4_20261204"
    assert plan.steps[-2].new_name == "ontimems.9.3"


def test_legacy_new_database_given() -> None:
    plan = build_plan(facts("9.3"), new_database="staging")
    assert plan.new_database == "staging"
    assert plan.steps[1].sql == "CREATE DATABASE [staging];"


def test_incremental_from_schema() -> None:
    plan = build_plan(facts("26.0"))
    assert plan.route == "incremental"
    assert kinds(plan.steps) == ["backup", "migrate"]
    assert plan.steps[1].reversible is False
    assert plan.steps[1].changes_original is True
    assert plan.steps[1].description == "Migrate [ontimems] from 26.0 to 26.4"
    assert plan.new_database is None
    assert plan.app_user is None


def test_incremental_at_target() -> None:
    plan = build_plan(facts("26.4"))
    assert plan.steps == ()
    assert plan.render().endswith("Nothing to do: the database is at the target version.")


def test_incremental_downgrade() -> None:
    with pytest.raises(ConfigurationError) as caught:
        build_plan(facts("26.4"), to=SchemaVersion(26, 0))
    assert str(caught.value) == (
        "database 'ontimems' is at schema version 26.4, newer than the target 26.0; "
        "ontime_db does not downgrade, use rollback to restore a backup"
    )


def test_unknown_target() -> None:
    with pytest.raises(UnknownVersionError) as caught:
        build_plan(facts("26.0"), to=SchemaVersion(27, 0))
    assert caught.value.known == CHAIN


def test_product_chooses_route() -> None:
    plan = build_plan(facts("15.0"), product="2.6.2")
    assert plan.route == "legacy"
    assert plan.product is not None
    assert plan.product.label == "2.6.2+"
    assert plan.log_name == "upgrade-from-2.6.2.log"


def test_schema_names_log() -> None:
    assert build_plan(facts("15.0")).log_name == "upgrade-from-15.0.log"


def test_product_mismatch() -> None:
    with pytest.raises(ProductVersionMismatchError) as caught:
        build_plan(facts("15.0"), product="1.5.1")
    assert str(caught.value) == (
        "database 'ontimems' is at schema version 15.0, but product 1.5.1 (starting point "
        "1.5+) expects schema 9.3; check the product version in the About box, or leave it "
        "out so that the schema version chooses the route"
    )
    assert caught.value.database == "ontimems"
    assert caught.value.version == SchemaVersion(15, 0)


def test_product_incremental_mismatch() -> None:
    with pytest.raises(ProductVersionMismatchError, match=r"expects schema 25\.8 or later"):
        build_plan(facts("15.0"), product="3.9.4")


def test_product_invalid() -> None:
    with pytest.raises(InvalidProductVersion):
        build_plan(facts("15.0"), product="2.6.1")


def test_procedure_missing() -> None:
    with pytest.raises(UpgradeProcedureNotFoundError) as caught:
        build_plan(facts("12.1"))
    assert str(caught.value) == (
        "no procedure dbo.UPGRADE_12_1 copies data from schema version 12.1 of database "
        "'ontimems'; the upgrade scripts define UPGRADE_9_3, UPGRADE_15_0"
    )
    assert caught.value.procedures == ("UPGRADE_9_3", "UPGRADE_15_0")


@pytest.mark.parametrize(
    "taken", ["ontimems.26.4", "ontimems_before_26.4_20261204"], ids=["new", "aside"]
)
def test_name_taken(taken: str) -> None:
    with pytest.raises(DatabaseExistsError) as caught:
        build_plan(facts("9.3", taken=(taken,)))
    assert str(caught.value) == (
        f"database {taken!r} already exists on db1:1433/ontimems as OnTimeApp; the upgrade "
        "needs that name, so drop or rename that database, or choose another with --new-database"
    )
    assert caught.value.database == taken


def addon(kind: str, *, exists: bool) -> AddOn:
    return AddOn(
        kind=kind,
        database=f"ontimems_{kind}",
        migrations=Path("migrations") / kind,
        newest=SchemaVersion(1, 1),
        exists=exists,
    )


def test_addons_created() -> None:
    plan = build_plan(
        facts("26.0"), addons=(addon("pollarity", exists=False), addon("catering", exists=True))
    )
    assert kinds(plan.steps) == [
        "backup",
        "migrate",
        "create-database",
        "migrate",
        "backup",
        "migrate",
    ]
    created, migrated = plan.steps[2], plan.steps[3]
    assert created.sql == "CREATE DATABASE [ontimems_pollarity];"
    assert migrated.migrations == Path("migrations/pollarity")
    assert migrated.reversible is True
    assert plan.steps[5].reversible is False
    assert plan.steps[5].changes_original is True


def test_addons_alone_at_target() -> None:
    plan = build_plan(facts("26.4"), addons=(addon("pollarity", exists=True),))
    assert kinds(plan.steps) == ["backup", "migrate"]
    assert plan.steps[0].database == "ontimems_pollarity"


@pytest.mark.parametrize(
    ("database", "kind", "expected"),
    [
        ("ontimems", "pollarity", "ontimems_pollarity"),
        ("ontimems.9.3", "catering", "ontimems_catering"),
        ("my db", "catering", "my db_catering"),
    ],
)
def test_addon_database_name(database: str, kind: str, expected: str) -> None:
    assert addon_database_name(database, kind) == expected


def test_backup_folder_in_description() -> None:
    plan = build_plan(facts("26.0"), backup_folder="C:\\SqlServerBackups")
    assert plan.steps[0].description == (
        "Back up [ontimems] to C:\\SqlServerBackups and verify the backup"
    )
    assert plan.steps[0].purpose == "before upgrade from 26.0"
