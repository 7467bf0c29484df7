"""The T-SQL of the legacy route for hard names, the plan text, and the ``--dry-run`` output.

Every statement is asserted exactly and, where sqlglot's T-SQL dialect can
read it, parsed to check that a name stays one name. Nothing connects: the
CLI tests replace ``plan_upgrade`` with a plan built from fixed facts.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from ontime_db.cli import main
from ontime_db.upgrades import legacy
from ontime_db.upgrades.plan import AddOn, ServerFacts, UpgradePlan, build_plan
from ontime_db.version import SchemaVersion

# name, as a bracketed identifier, as an N'' literal
NAMES = [
    ("ontimems.25.8", "[ontimems.25.8]", "N'ontimems.25.8'"),
    ("my-db", "[my-db]", "N'my-db'"),
    ("my db", "[my db]", "N'my db'"),
    ("we]ird", "[we]]ird]", "N'we]ird'"),
    ("O'Hare", "[O'Hare]", "N'O''Hare'"),
    ("Größe_版本", "[Größe_版本]", "N'Größe_版本'"),
    ("x]; DROP DATABASE [y", "[x]]; DROP DATABASE [y]", "N'x]; DROP DATABASE [y'"),
]
IDS = ["dot", "hyphen", "space", "bracket", "quote", "non-ascii", "injection"]


@pytest.mark.parametrize(("name", "bracketed", "literal"), NAMES, ids=IDS)
def test_create_database(name: str, bracketed: str, literal: str) -> None:
    sql = legacy.create_database_sql(name)
    assert sql == f"CREATE DATABASE {bracketed};"

    statements = sqlglot.parse(sql, read="tsql")
    assert len(statements) == 1
    assert isinstance(statements[0], exp.Create)
    assert statements[0].args["kind"] == "DATABASE"
    assert statements[0].this.name == name


@pytest.mark.parametrize(("name", "bracketed", "literal"), NAMES, ids=IDS)
def test_app_user(name: str, bracketed: str, literal: str) -> None:
    sql = legacy.app_user_sql(name)
    assert sql == (
        "IF NOT EXISTS (SELECT 1 FROM sys.database_principals "
        f"WHERE sid = SUSER_SID({literal}))\n"
        f"    CREATE USER {bracketed} FOR LOGIN {bracketed};\n"
        f"IF DATABASE_PRINCIPAL_ID({literal}) IS NOT NULL\n"
        f"    ALTER ROLE [api_role] ADD MEMBER {bracketed};"
    )

    # sqlglot reads neither CREATE USER nor ALTER ROLE, so only the lookup is parsed.
    lookup = sqlglot.parse_one(
        f"SELECT 1 FROM sys.database_principals WHERE sid = SUSER_SID({literal})", read="tsql"
    )
    arguments = [node.name for node in lookup.find_all(exp.National)]
    assert arguments == [name]


@pytest.mark.parametrize(("name", "bracketed", "literal"), NAMES, ids=IDS)
def test_upgrade_procedure(name: str, bracketed: str, literal: str) -> None:
    sql = legacy.upgrade_procedure_sql(SchemaVersion(9, 3), name)
    assert sql == (
        "SET NOCOUNT ON;\n"
        "DECLARE @rc int;\n"
        f"EXEC @rc = [dbo].[UPGRADE_9_3] @olddb = {literal};\n"
        "IF @rc IS NULL OR @rc <> 0\n"
        "    RAISERROR(N'dbo.UPGRADE_9_3 returned %d; 0 means success', 16, 1, @rc);"
    )

    statements = sqlglot.parse(sql, read="tsql")
    assert [type(statement).__name__ for statement in statements] == [
        "Set",
        "Declare",
        "Execute",
        "IfBlock",
    ]
    call = statements[2]
    assert call.this.name == "UPGRADE_9_3"
    assert call.this.db == "dbo"
    assert [argument.expression.name for argument in call.expressions] == [name]


def test_upgrade_procedure_15_0() -> None:
    sql = legacy.upgrade_procedure_sql(SchemaVersion(15, 0), "ontimems")
    assert "EXEC @rc = [dbo].[UPGRADE_15_0] @olddb = N'ontimems';" in sql
    assert "RAISERROR(N'dbo.UPGRADE_15_0 returned %d; 0 means success', 16, 1, @rc);" in sql


def test_list_procedures_parses() -> None:
    statement = sqlglot.parse_one(legacy.LIST_UPGRADE_PROCEDURES, read="tsql")
    assert isinstance(statement, exp.Select)
    assert statement.find(exp.Like) is not None


@pytest.mark.parametrize(("name", "bracketed", "literal"), NAMES, ids=IDS)
def test_generated_names(name: str, bracketed: str, literal: str) -> None:
    target = SchemaVersion(26, 4)
    aside = legacy.aside_name(name, target, date(2026, 12, 4))
    assert aside == f"{name}_before_26.4_20261204"
    new = legacy.new_database_name(name, target)
    expected_base = "ontimems" if name == "ontimems.25.8" else name
    assert new == f"{expected_base}.26.4"


def test_name_too_long() -> None:
    from ontime_db.errors import InvalidNameError

    with pytest.raises(InvalidNameError, match="130 characters, SQL Server allows at most 128"):
        legacy.aside_name("d" * 109, SchemaVersion(26, 4), date(2026, 12, 4))


def test_procedures_in_script() -> None:
    text = (
        "/* EXEC @rc = dbo.UPGRADE_1_0 */\n"
        "CREATE OR ALTER PROCEDURE dbo.UPGRADE_15_0 @olddb sysname AS RETURN 0;\nGO\n"
        "create procedure [dbo].[UPGRADE_9_3] @olddb sysname AS RETURN 0;\nGO\n"
        "CREATE PROC UPGRADE_12_1 AS RETURN 0;\nGO\n"
        "CREATE PROCEDURE dbo.UPGRADE_HELPER AS RETURN 0;\n"
    )
    assert legacy.procedures_in_script(text) == ("UPGRADE_9_3", "UPGRADE_12_1", "UPGRADE_15_0")


def test_shipped_procedures() -> None:
    from ontime_db.resources import sql_dir

    path = legacy.create_scripts(sql_dir())[1]
    text = path.read_text(encoding="utf-8-sig")
    assert legacy.procedures_in_script(text) == ("UPGRADE_9_3", "UPGRADE_15_0")


# -- the plan and the --dry-run output ----------------------------------------

CHAIN = tuple(SchemaVersion.parse(v) for v in ("25.8", "26.0", "26.4"))


def plan_for(version: str, **options: Any) -> UpgradePlan:
    facts = ServerFacts(
        server="db1/ontimems as integrated security",
        database="ontimems",
        version=SchemaVersion.parse(version),
        migration_versions=CHAIN,
        upgrade_procedures=("UPGRADE_9_3", "UPGRADE_15_0"),
        exists=lambda name: name == "ontimems_catering",
        create_scripts=(Path("/s/ontimems.sql"), Path("/s/upgrade_procedures.sql")),
        today=date(2026, 12, 4),
    )
    return build_plan(facts, **options)


LEGACY_TEXT = """\
Upgrade plan for database [ontimems] on db1/ontimems as integrated security
Route: legacy, for product 1.5.2 (starting point 1.5+)
Schema version: 9.3 -> 26.4
Steps:
  1. Back up [ontimems] to C:\\SqlServerBackups and verify the backup (reversible)
  2. Create the new database [ontimems.26.4] (reversible)
       CREATE DATABASE [ontimems.26.4];
  3. Run ontimems.sql, upgrade_procedures.sql in [ontimems.26.4] (schema 25.8) (reversible)
  4. Create the user [NT AUTHORITY\\SYSTEM] in [ontimems.26.4] if missing and add it to \
role api_role (reversible)
       IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE sid = \
SUSER_SID(N'NT AUTHORITY\\SYSTEM'))
           CREATE USER [NT AUTHORITY\\SYSTEM] FOR LOGIN [NT AUTHORITY\\SYSTEM];
       IF DATABASE_PRINCIPAL_ID(N'NT AUTHORITY\\SYSTEM') IS NOT NULL
           ALTER ROLE [api_role] ADD MEMBER [NT AUTHORITY\\SYSTEM];
  5. Copy the data of [ontimems] (schema 9.3) into [ontimems.26.4] with dbo.UPGRADE_9_3; \
return value 0 means success (reversible)
       SET NOCOUNT ON;
       DECLARE @rc int;
       EXEC @rc = [dbo].[UPGRADE_9_3] @olddb = N'ontimems';
       IF @rc IS NULL OR @rc <> 0
           RAISERROR(N'dbo.UPGRADE_9_3 returned %d; 0 means success', 16, 1, @rc);
  6. Rename [ontimems] to [ontimems_before_26.4_20261204] (reversible)
  7. Rename [ontimems.26.4] to [ontimems] (reversible)
  8. Migrate [ontimems] from 25.8 to 26.4 (reversible)"""


def test_legacy_plan_text() -> None:
    plan = plan_for("9.3", product="1.5.2", backup_folder="C:\\SqlServerBackups")
    assert plan.render() == LEGACY_TEXT


INCREMENTAL_TEXT = """\
Upgrade plan for database [ontimems] on db1/ontimems as integrated security
Route: incremental
Schema version: 26.0 -> 26.4
Steps:
  1. Back up [ontimems] to the server's default backup folder and verify the backup \
(reversible)
  2. Migrate [ontimems] from 26.0 to 26.4 (not reversible: undo with rollback)
  3. Create the pollarity database [ontimems_pollarity] (reversible)
       CREATE DATABASE [ontimems_pollarity];
  4. Migrate the pollarity database [ontimems_pollarity] to 1.1 (reversible)
  5. Back up [ontimems_catering] to the server's default backup folder and verify the \
backup (reversible)
  6. Migrate the catering database [ontimems_catering] to 1.1 (not reversible: undo with \
rollback)"""


def test_incremental_plan_text() -> None:
    addons = (
        AddOn("pollarity", "ontimems_pollarity", Path("p"), SchemaVersion(1, 1), exists=False),
        AddOn("catering", "ontimems_catering", Path("c"), SchemaVersion(1, 1), exists=True),
    )
    assert plan_for("26.0", addons=addons).render() == INCREMENTAL_TEXT


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace plan_upgrade with a fixed legacy plan; record the options it was called with."""
    import ontime_db.upgrades

    calls: list[dict[str, Any]] = []

    def fake_plan_upgrade(target: Any, **options: Any) -> UpgradePlan:
        calls.append({"target": target, **options})
        return plan_for(
            "9.3", product=options["from_product"], backup_folder=options["backup_folder"]
        )

    monkeypatch.setattr(ontime_db.upgrades, "plan_upgrade", fake_plan_upgrade)
    return calls


def test_dry_run_output(planned: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "upgrade",
            "--url",
            "jdbc:sqlserver://db1;databaseName=ontimems;integratedSecurity=true",
            "--from-product",
            "1.5.2",
            "--backup-folder",
            "C:\\SqlServerBackups",
            "--dry-run",
        ]
    )
    output = capsys.readouterr()
    assert status == 0
    assert output.out == LEGACY_TEXT + "\nDry run: nothing was changed.\n"
    assert output.err == ""
    assert planned[0]["from_product"] == "1.5.2"
    assert planned[0]["pollarity"] is False
    assert planned[0]["app_user"] is None


def test_refuses_without_terminal(
    planned: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Under pytest standard output is captured, so it is not a terminal; stdin is made one."""
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    status = main(
        [
            "upgrade",
            "--server",
            "db1",
            "--database",
            "ontimems",
            "--extra",
            "integratedSecurity=true;",
            "--from-product",
            "1.5.2",
            "--backup-folder",
            "C:\\SqlServerBackups",
        ]
    )
    output = capsys.readouterr()
    assert status == 2
    assert output.out == LEGACY_TEXT + "\n"
    assert output.err == (
        "error: not upgrading without confirmation: standard output is not a terminal, so the "
        "question cannot be shown; run again with --yes to carry out the plan above\n"
    )


def test_addon_options(planned: list[dict[str, Any]]) -> None:
    main(
        [
            "upgrade",
            "--server",
            "db1",
            "--database",
            "ontimems",
            "--pollarity",
            "--catering",
            "cater db",
            "--app-user",
            "OnTimeApp",
            "--target",
            "26.0",
            "--dry-run",
        ]
    )
    assert planned[0]["pollarity"] is True
    assert planned[0]["catering"] == "cater db"
    assert planned[0]["app_user"] == "OnTimeApp"
    assert planned[0]["to"] == SchemaVersion(26, 0)
