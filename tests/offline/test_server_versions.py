"""Every T-SQL text ontime_db ships or builds works on SQL Server 2016 RTM (13.0.1601) and later.

OnTime bundles SQL Server Express 2016, which customers may run without a
service pack, and SQL Server 2016 to 2022 still run databases at
compatibility level 100 (ALTER DATABASE compatibility level, SQL Server
2016 documentation). The table :data:`FEATURES` lists T-SQL that needs a
newer server or a higher compatibility level, with what each needs.

The scan covers the shipped ``.sql`` files batch by batch, the string
constants of every module under ``ontime_db`` (docstrings left out), and the
offline scripts that ``render_sql`` builds with SQLAlchemy and Alembic.
Comments are skipped. String literals are scanned as T-SQL of their own,
because the UPGRADE procedures run their copy statements as dynamic SQL. A
message that only names a feature does not match, because each pattern needs
the feature's syntax: a following parenthesis, or the object type after
CREATE OR ALTER.

A finding is accepted in two cases only. In a ``.sql`` batch that compares
``SERVERPROPERTY('ProductMajorVersion')``, findings inside its dynamic SQL
strings count as version-gated. A module constant may be listed in
:data:`ALLOWED` with the reason it is safe on SQL Server 2016 RTM; each entry
must still match, so a stale entry fails too.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import ontime_db
from ontime_db.errors import ScriptError
from ontime_db.migration import render_sql
from ontime_db.resources import migrations_dir, sql_dir
from ontime_db.script import load
from ontime_db.script.lexer import LineCounter, skip_block_comment, skip_line_comment, skip_quoted

PACKAGE = Path(ontime_db.__file__).resolve().parent
ROOT = PACKAGE.parent


@dataclass(frozen=True)
class Feature:
    """T-SQL that SQL Server 2016 RTM rejects, or rejects at a compatibility level it supports."""

    name: str
    pattern: re.Pattern[str]
    needs: str


def _feature(name: str, pattern: str, needs: str) -> Feature:
    return Feature(name, re.compile(pattern, re.IGNORECASE), needs)


def _function(name: str, needs: str) -> Feature:
    return _feature(name, rf"(?<![\w@#$.]){name}\s*\(", needs)


FEATURES = [
    # KB3190548: CREATE OR ALTER came with SQL Server 2016 SP1.
    _feature(
        "CREATE OR ALTER",
        r"\bCREATE\s+OR\s+ALTER\s+(?:PROC|PROCEDURE|FUNCTION|VIEW|TRIGGER)\b",
        "SQL Server 2016 SP1",
    ),
    _function("STRING_AGG", "SQL Server 2017"),
    _function("TRIM", "SQL Server 2017"),
    _function("CONCAT_WS", "SQL Server 2017"),
    _function("TRANSLATE", "SQL Server 2017"),
    _feature("graph tables (AS NODE, AS EDGE)", r"\)\s*AS\s+(?:NODE|EDGE)\b", "SQL Server 2017"),
    _feature("sys.dm_os_file_exists", r"\bdm_os_file_exists\b", "SQL Server 2017"),
    _function("APPROX_COUNT_DISTINCT", "SQL Server 2019"),
    _feature(
        "SERVERPROPERTY('InstanceDefaultBackupPath')",
        r"\bSERVERPROPERTY\s*\(\s*N?'InstanceDefaultBackupPath'",
        "SQL Server 2019",
    ),
    _feature("UTF-8 collations", r"\bCOLLATE\s+\w+_UTF8\b", "SQL Server 2019"),
    _function("GREATEST", "SQL Server 2022"),
    _function("LEAST", "SQL Server 2022"),
    _function("GENERATE_SERIES", "SQL Server 2022"),
    _function("DATETRUNC", "SQL Server 2022"),
    _function("DATE_BUCKET", "SQL Server 2022"),
    _function("JSON_OBJECT", "SQL Server 2022"),
    _function("JSON_ARRAY", "SQL Server 2022"),
    _feature("IS [NOT] DISTINCT FROM", r"\bIS\s+(?:NOT\s+)?DISTINCT\s+FROM\b", "SQL Server 2022"),
    # Keywords of compatibility level 110 (TRY_CONVERT documentation, SQL Server 2012).
    _function("TRY_CONVERT", "database compatibility level 110"),
    _function("TRY_PARSE", "database compatibility level 110"),
    # Both need compatibility level 130 (STRING_SPLIT and OPENJSON documentation).
    _function("STRING_SPLIT", "database compatibility level 130"),
    _function("OPENJSON", "database compatibility level 130"),
]

# Module constants that match a feature, with the reason each is safe on SQL
# Server 2016 RTM. Keyed by (path under the repository, feature name).
ALLOWED = {
    ("ontime_db/backups/statements.py", "SERVERPROPERTY('InstanceDefaultBackupPath')"): (
        "SERVERPROPERTY returns NULL for a property the server does not know, and "
        "backups.default_backup_folder then reads the registry value BackupDirectory"
    ),
    ("ontime_db/backups/backups.py", "SERVERPROPERTY('InstanceDefaultBackupPath')"): (
        "the error message that names the property when neither source has a folder"
    ),
    ("ontime_db/backups/statements.py", "sys.dm_os_file_exists"): (
        "backups.path_state runs xp_fileexist when this query fails, as it does before "
        "SQL Server 2017 (test_backup_xp_fileexist_fallback)"
    ),
    ("ontime_db/backups/backups.py", "sys.dm_os_file_exists"): (
        "the debug message logged before the xp_fileexist fallback"
    ),
}

_GATE = re.compile(r"\bSERVERPROPERTY\s*\(\s*N?'ProductMajorVersion'\s*\)", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z_][\w$#@]*\Z")


@dataclass(frozen=True)
class Finding:
    feature: Feature
    where: str
    in_string: bool


@dataclass
class Scanned:
    """T-SQL with comments removed, and the contents of its string literals."""

    code: str
    strings: list[str]


def scan_text(text: str) -> Scanned:
    """Split ``text`` into code and string contents, with the project's lexer.

    Strings and quoted identifiers keep their content in the code when it is
    one word (a property or object name); other literals become empty. A
    string that does not end (a fragment of a Python constant) runs to the end.
    """
    lines = LineCounter(text)
    code: list[str] = []
    strings: list[str] = []
    position = 0
    start = 0
    while position < len(text):
        char = text[position]
        if text.startswith("--", position):
            code.append(text[start:position] + " ")
            position = start = skip_line_comment(text, position)
        elif text.startswith("/*", position):
            code.append(text[start:position] + " ")
            try:
                position = start = skip_block_comment(text, position, file=None, lines=lines)
            except ScriptError:
                position = start = len(text)
        elif char in "'[\"":
            try:
                end = skip_quoted(text, position, file=None, lines=lines)
                content = text[position + 1 : end - 1]
            except ScriptError:
                end = len(text)
                content = text[position + 1 :]
            closer = {"'": "'", "[": "]", '"': '"'}[char]
            content = content.replace(closer * 2, closer)
            if char == "'":
                strings.append(content)
            word = content if _WORD.match(content) else ""
            quote = "'" if char == "'" else ""
            code.append(text[start:position] + f"{quote}{word}{quote}")
            position = start = end
        else:
            position += 1
    code.append(text[start:])
    return Scanned("".join(code), strings)


def find_features(text: str, where: str, *, gated: bool = False) -> list[Finding]:
    """Return the features used in ``text`` and, recursively, in its string literals.

    With ``gated``, a finding inside a string literal is accepted, because a
    version check decides whether that dynamic SQL runs.
    """
    found: list[Finding] = []

    def visit(part: str, in_string: bool) -> None:
        scanned = scan_text(part)
        for feature in FEATURES:
            if feature.pattern.search(scanned.code):
                found.append(Finding(feature, where, in_string))
        for content in scanned.strings:
            visit(content, True)

    visit(text, False)
    return [finding for finding in found if not (gated and finding.in_string)]


def batch_findings(path: Path) -> list[Finding]:
    findings = []
    for batch in load(path).batches:
        scanned = scan_text(batch.text)
        where = f"{path.relative_to(ROOT)}, batch {batch.number} (line {batch.line})"
        findings += find_features(batch.text, where, gated=bool(_GATE.search(scanned.code)))
    return findings


def _docstring_nodes(tree: ast.Module) -> set[int]:
    nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                nodes.add(id(body[0].value))
    return nodes


def module_findings(path: Path) -> list[Finding]:
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = _docstring_nodes(tree)
    findings = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            where = f"{path.relative_to(ROOT)}, line {node.lineno}"
            findings += find_features(node.value, where)
    return findings


def describe(findings: list[Finding]) -> list[str]:
    return [f"{item.where}: {item.feature.name} needs {item.feature.needs}" for item in findings]


SQL_FILES = sorted(sql_dir().rglob("*.sql"))
MODULES = sorted(PACKAGE.rglob("*.py"))
MIGRATION_SETS = {
    "ontimems": migrations_dir(),
    "pollarity": migrations_dir() / "pollarity",
    "catering": migrations_dir() / "catering",
}


# -- the shipped and built SQL ---------------------------------------------------


SQL_FILE_IDS = [path.relative_to(sql_dir()).as_posix() for path in SQL_FILES]


@pytest.mark.parametrize("path", SQL_FILES, ids=SQL_FILE_IDS)
def test_sql_file_portable(path: Path) -> None:
    assert describe(batch_findings(path)) == []


@pytest.mark.parametrize("folder", list(MIGRATION_SETS), ids=list(MIGRATION_SETS))
def test_offline_script_portable(folder: str) -> None:
    """The offline script includes what SQLAlchemy and Alembic compile: audit table, versions."""
    rendered = render_sql(from_version=None, migrations=MIGRATION_SETS[folder], database="x")
    findings = []
    for batch in load_text(rendered):
        findings += find_features(batch, f"render_sql of {folder}")
    assert describe(findings) == []


def load_text(text: str) -> list[str]:
    from ontime_db.script import parse

    return [batch.text for batch in parse(text).batches]


def test_modules_portable() -> None:
    findings = [item for path in MODULES for item in module_findings(path)]
    allowed = {
        item
        for item in findings
        if (item.where.split(",")[0], item.feature.name) in ALLOWED
    }
    assert describe([item for item in findings if item not in allowed]) == []


def test_allowed_entries_still_match() -> None:
    """Each allowed occurrence is still in its module, so a stale entry fails."""
    found = {
        (item.where.split(",")[0], item.feature.name)
        for path in MODULES
        for item in module_findings(path)
    }
    assert set(ALLOWED) <= found


# -- the scanner itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CREATE OR ALTER PROCEDURE dbo.p AS SELECT 1", ["CREATE OR ALTER"]),
        ("create  or\nalter view v as select 1 as a", ["CREATE OR ALTER"]),
        ("SELECT STRING_AGG(name, N',') FROM sys.databases", ["STRING_AGG"]),
        ("SELECT TRIM (name) FROM t", ["TRIM"]),
        ("SELECT LTRIM(RTRIM(name)) FROM t", []),
        ("SELECT CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(4000))",
         ["SERVERPROPERTY('InstanceDefaultBackupPath')"]),
        ("SELECT * FROM sys.dm_os_file_exists(N'C:\\x')", ["sys.dm_os_file_exists"]),
        ("SELECT * FROM [sys].[dm_os_file_exists](N'C:\\x')", ["sys.dm_os_file_exists"]),
        ("SELECT 1 WHERE a IS NOT DISTINCT FROM b", ["IS [NOT] DISTINCT FROM"]),
        ("SELECT TRY_CONVERT(int, N'1')", ["TRY_CONVERT"]),
        ("SELECT value FROM STRING_SPLIT(N'a,b', N',')", ["STRING_SPLIT"]),
        ("SELECT GREATEST(1, 2), LEAST(1, 2)", ["GREATEST", "LEAST"]),
        ("CREATE TABLE n (i int) AS NODE", ["graph tables (AS NODE, AS EDGE)"]),
        ("SELECT name COLLATE Latin1_General_100_CI_AS_SC_UTF8 FROM t", ["UTF-8 collations"]),
        ("EXEC (N'CREATE OR ALTER VIEW v AS SELECT 1 AS a');", ["CREATE OR ALTER"]),
        ("EXEC (N'EXEC (N''SELECT TRIM(N''''x'''')'')');", ["TRIM"]),
    ],
    ids=[
        "create-or-alter", "create-or-alter-case", "string-agg", "trim-space", "ltrim-rtrim",
        "backup-path", "file-exists", "file-exists-brackets", "distinct-from", "try-convert",
        "string-split", "greatest-least", "graph", "utf8", "dynamic-sql", "nested-dynamic-sql",
    ],
)
def test_scanner_finds(text: str, expected: list[str]) -> None:
    assert [item.feature.name for item in find_features(text, "case")] == expected


@pytest.mark.parametrize(
    "text",
    [
        "-- CREATE OR ALTER needs SQL Server 2016 SP1\nSELECT 1",
        "/* STRING_AGG(x, y) /* nested TRIM(x) */ */ SELECT 1",
        "RAISERROR(N'CREATE OR ALTER needs SQL Server 2016 SP1', 10, 1);",
        "SELECT N'TRIM and GREATEST came later' AS note",
        "SELECT [trim] FROM t",
        "SELECT my_trim(x), x.TRIM FROM t",
        "SELECT @TRIM",
        "IF OBJECT_ID(N'api.p', N'P') IS NULL EXEC (N'CREATE PROCEDURE api.p AS RETURN 0;');",
    ],
    ids=[
        "line-comment", "block-comment", "message", "string-words", "bracketed-column",
        "other-names", "variable", "stub",
    ],
)
def test_scanner_ignores(text: str) -> None:
    assert find_features(text, "case") == []


def test_scanner_accepts_version_gate(tmp_path: Path) -> None:
    """Dynamic SQL under a ProductMajorVersion check is gated; the same text alone is not."""
    gated = tmp_path / "gated.sql"
    gated.write_text(
        "IF CAST(SERVERPROPERTY('ProductMajorVersion') AS int) >= 14\n"
        "    EXEC (N'SELECT STRING_AGG(name, N'','') FROM sys.databases');\n"
        "GO\n"
        "EXEC (N'SELECT STRING_AGG(name, N'','') FROM sys.databases');\n"
        "GO\n",
        "utf-8",
    )
    findings = [(item.feature.name, item.where.rsplit(", ", 1)[1]) for item in _scan(gated)]
    assert findings == [("STRING_AGG", "batch 2 (line 4)")]


def test_scanner_gate_ignores_code() -> None:
    """A version check does not excuse the feature outside dynamic SQL."""
    text = (
        "IF CAST(SERVERPROPERTY('ProductMajorVersion') AS int) >= 14\n"
        "    SELECT STRING_AGG(name, N',') FROM sys.databases;"
    )
    assert [item.feature.name for item in find_features(text, "case", gated=True)] == [
        "STRING_AGG"
    ]


def _scan(path: Path) -> list[Finding]:
    findings = []
    for batch in load(path).batches:
        gated = bool(_GATE.search(scan_text(batch.text).code))
        where = f"{path.name}, batch {batch.number} (line {batch.line})"
        findings += find_features(batch.text, where, gated=gated)
    return findings


def test_modules_scan_finds_fallbacks() -> None:
    """The module scan reads the backup statements, so it would find a new feature there too."""
    names = {item.feature.name for item in module_findings(PACKAGE / "backups" / "statements.py")}
    assert names == {"SERVERPROPERTY('InstanceDefaultBackupPath')", "sys.dm_os_file_exists"}


def test_create_or_alter_gone() -> None:
    """Each procedure of the two scripts is a stub batch followed by its ALTER PROCEDURE batch."""
    stubs = {
        "ontimems/V26_3__replace_list_users.sql": ["api.list_users"],
        "legacy/upgrade_procedures.sql": ["dbo.UPGRADE_9_3", "dbo.UPGRADE_15_0"],
    }
    for relative, procedures in stubs.items():
        texts = [batch.text for batch in load(sql_dir() / relative).batches]
        for name in procedures:
            stub = (
                f"IF OBJECT_ID(N'{name}', N'P') IS NULL\n"
                f"    EXEC (N'CREATE PROCEDURE {name} AS RETURN 0;');"
            )
            index = [text.endswith(stub) for text in texts].index(True)
            assert texts[index + 1].startswith(f"ALTER PROCEDURE {name}\n")
