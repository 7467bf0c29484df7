"""Every statement the package builds from a name or value, built with hostile names.

Each builder is called once with a plain placeholder name and once with the
name under test. sqlglot's T-SQL tokenizer must then see the same token
types in the same order, and every token that held the placeholder must
hold the name under test, read back exactly (``]]`` and ``''`` undone). So a
name arrives as exactly one identifier or string token and cannot add a
token, let alone a statement. Statements that sqlglot's parser understands
are parsed as well, and must stay the same number of statements.

Names that SQL Server cannot store, or that the package rejects on purpose
(control characters, white space only, more than 128 UTF-16 code units),
must raise :class:`~ontime_db.errors.InvalidNameError` from every builder
that takes them as an identifier.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.dialects.tsql import TSQL
from sqlglot.tokens import TokenType

from ontime_db import catalog, detect, flyway, testing
from ontime_db.backups import statements
from ontime_db.errors import ConfigurationError, InvalidNameError
from ontime_db.migration import known_versions, lock
from ontime_db.migration.offline import render_sql
from ontime_db.quoting import utf16_length
from ontime_db.script import runner
from ontime_db.script.sqlcmd import retarget_use
from ontime_db.upgrades import legacy
from ontime_db.version import SchemaVersion

PLACEHOLDER = "zzplaceholderzz"

# Names that must survive every statement: the vendor's own names, the
# characters that end identifiers, strings and comments, and the lengths
# and scripts at the edges of sysname.
NAMES = {
    "dot": "ontimems.25.8",
    "hyphen": "my-db",
    "space": "my db",
    "bracket": "we]ird",
    "quote": "O'Hare",
    "non-ascii": "Größe_版本",
    "injection": "x]; DROP DATABASE [y",
    "string-injection": "x'; DROP DATABASE y; --",
    "bracket-and-quote": "a]b'c",
    "bracketed": "[x]",
    "double-bracket": "]]",
    "lone-bracket": "]",
    "lone-quote": "'",
    "line-comment": "--x",
    "block-open": "/*x",
    "block-close": "x*/",
    "n-prefix": "N'x",
    "semicolon-go": "x;GO",
    "sqlcmd-variable": "$(Db)",
    "max-length": "a" * 128,
    "emoji": "😀db",
    "emoji-max-length": "😀" * 64,
    "right-to-left-mark": "\u200fdb",
    "inner-right-to-left-mark": "d\u200fb",
}

# Names every identifier builder must reject, with the start of the message.
REJECTED = {
    "newline": ("a\nb", "invalid {kind} 'a\\nb': it contains the control character '\\n'"),
    "tab": ("a\tb", "invalid {kind} 'a\\tb': it contains the control character '\\t'"),
    "carriage-return": ("a\rGO", "invalid {kind} 'a\\rGO': it contains the control character"),
    "line-separator": ("a\u2028b", "invalid {kind} 'a\\u2028b': it contains the control"),
    "nul": ("a\x00b", "invalid {kind} 'a\\x00b': it contains a NUL character"),
    "too-long": ("a" * 129, "invalid {kind} '" + "a" * 129 + "': 129 characters, SQL Server"),
    "emoji-too-long": (
        "😀" * 65,
        "invalid {kind} '" + "😀" * 65 + "': 65 characters that take 130 UTF-16 code units",
    ),
    "spaces-only": ("   ", "invalid {kind} '   ': a name must not consist of white space only"),
    "empty": ("", "invalid {kind} '': a name must not be empty"),
    "trailing-space": ("db ", "invalid {kind} 'db ': remove the leading or trailing"),
    "lone-surrogate": ("a\ud800", "invalid {kind} 'a\\ud800': it contains the lone surrogate"),
}


class RecordingEngine:
    """Stands in for an Engine: it records the SQL text sent through its connections."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def connect(self) -> RecordingEngine:
        return self

    def __enter__(self) -> RecordingEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, clause: Any, parameters: Any = None) -> None:
        self.sent.append(str(clause))

    def exec_driver_sql(self, statement: str, parameters: Any = None) -> None:
        self.sent.append(statement)


def dropped(name: str) -> str:
    engine = RecordingEngine()
    testing.drop_database(engine, name)  # type: ignore[arg-type]
    return engine.sent[0]


def error_line_probe(name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The probe batch locate_error_line sends for a batch that mentions ``name``."""
    sent: list[str] = []

    def probe(connection: Any, sql: str) -> list[list[tuple[Any, ...]]]:
        sent.append(sql)
        return []

    monkeypatch.setattr(runner, "_probe", probe)
    monkeypatch.setattr(runner, "_driver_error_class", lambda connection: RuntimeError)
    batch = f"SELECT DB_ID({quote(name)}) AS [{name.replace(']', ']]')}]"
    runner.locate_error_line(SimpleNamespace(), batch, number=102, text="x")  # type: ignore[arg-type]
    return sent[0]


def quote(value: str) -> str:
    return "N'" + value.replace("'", "''") + "'"


NEWEST = known_versions()[-1]

# Each builder puts the name in every slot it has. "identifier" builders
# must reject invalid names; "string" builders only take text values
# (paths, descriptions) and must keep any text inside one string literal.
BUILDERS: dict[str, tuple[str, Callable[[str], str]]] = {
    "catalog-read-properties": (
        "identifier",
        lambda n: catalog.read_schema_properties_sql((n, "compatibility_minor"), schema=n),
    ),
    "catalog-property-string": (
        "identifier",
        lambda n: catalog.schema_property_statement(n, n, schema=n),
    ),
    "catalog-property-int": (
        "identifier",
        lambda n: catalog.schema_property_statement(n, 15, schema=n, keep_string_type=True),
    ),
    "catalog-use": ("identifier", catalog.use_database_sql),
    "flyway-history": ("identifier", lambda n: flyway.history_query_sql(n, n)),
    "detect-revision": ("identifier", lambda n: detect.revision_query_sql(n, n)),
    "backup-database": (
        "identifier",
        lambda n: statements.backup_database(
            n, f"C:\\SqlServerBackups\\{n}.bak", name="full", description=n, copy_only=True
        ),
    ),
    "backup-set-name": (
        "string",
        lambda n: statements.backup_database("ontimems", "C:\\b\\x.bak", name=n, description=n),
    ),
    "backup-verify": ("string", lambda n: statements.verify_only(f"C:\\b\\{n}.bak")),
    "backup-header": ("string", lambda n: statements.header_only(f"C:\\b\\{n}.bak")),
    "backup-filelist": ("string", lambda n: statements.filelist_only(f"C:\\b\\{n}.bak")),
    "restore-database": (
        "identifier",
        lambda n: statements.restore_database(
            n, f"C:\\b\\{n}.bak", moves=[(n, f"D:\\data\\{n}.mdf")], replace=True
        ),
    ),
    "single-user": ("identifier", statements.set_single_user),
    "multi-user": ("identifier", statements.set_multi_user),
    "modify-name": ("identifier", lambda n: statements.modify_name(n, n)),
    "modify-file-name": ("identifier", lambda n: statements.modify_file_name(n, n, n)),
    "legacy-create": ("identifier", legacy.create_database_sql),
    "legacy-app-user": ("identifier", legacy.app_user_sql),
    "legacy-upgrade-procedure": (
        "identifier",
        lambda n: legacy.upgrade_procedure_sql(SchemaVersion(9, 3), n),
    ),
    "offline-use": ("identifier", lambda n: render_sql(from_version=NEWEST, database=n)),
    "script-retarget-use": (
        "identifier",
        lambda n: retarget_use(
            "USE [ontimems]\nGO\nSELECT 1", use="retarget", database=n, file=None, line=1
        ),
    ),
    "testing-drop": ("identifier", dropped),
}


def tokens(sql: str) -> list[tuple[TokenType, str]]:
    return [(token.token_type, token.text) for token in TSQL().tokenize(sql)]


def statement_count(sql: str) -> int | None:
    """Number of statements sqlglot's parser reads, or None when it cannot parse the text."""
    try:
        parsed = sqlglot.parse(sql, read="tsql")
    except sqlglot.errors.ParseError:
        return None
    statements_read = [node for node in parsed if node is not None]
    if any(isinstance(node, exp.Command) for node in statements_read):
        return None
    return len(statements_read)


def assert_name_survives(reference: str, actual: str, name: str) -> None:
    expected_tokens = tokens(reference)
    actual_tokens = tokens(actual)
    assert [kind for kind, _ in actual_tokens] == [kind for kind, _ in expected_tokens]

    slots = 0
    for (kind, expected_text), (_, actual_text) in zip(
        expected_tokens, actual_tokens, strict=True
    ):
        if PLACEHOLDER in expected_text and kind == TokenType.VAR:
            # A T-SQL variable named after the name keeps ASCII letters and digits only.
            assert re.fullmatch(r"ontime_db_[A-Za-z0-9_]+", actual_text)
        elif PLACEHOLDER in expected_text:
            slots += 1
            assert kind in (TokenType.IDENTIFIER, TokenType.NATIONAL_STRING, TokenType.STRING)
            assert actual_text == expected_text.replace(PLACEHOLDER, name)
        else:
            assert actual_text == expected_text
    assert slots > 0
    assert statement_count(actual) == statement_count(reference)


@pytest.mark.parametrize("builder", list(BUILDERS), ids=list(BUILDERS))
@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_name_one_token(builder: str, name: str) -> None:
    _, build = BUILDERS[builder]
    assert_name_survives(build(PLACEHOLDER), build(name), name)


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_error_probe_one_token(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = error_line_probe(PLACEHOLDER, monkeypatch)
    probe = error_line_probe(name, monkeypatch)
    expected_tokens = tokens(reference)
    actual_tokens = tokens(probe)
    assert [kind for kind, _ in actual_tokens] == [kind for kind, _ in expected_tokens]
    # The whole batch, name included, is one string literal inside EXEC (...).
    bodies = [text for kind, text in actual_tokens if kind == TokenType.NATIONAL_STRING]
    assert bodies[0].endswith(f"SELECT DB_ID({quote(name)}) AS [{name.replace(']', ']]')}]")


IDENTIFIER_BUILDERS = [key for key, (kind, _) in BUILDERS.items() if kind == "identifier"]


@pytest.mark.parametrize("builder", IDENTIFIER_BUILDERS, ids=IDENTIFIER_BUILDERS)
@pytest.mark.parametrize(("name", "message"), list(REJECTED.values()), ids=list(REJECTED))
def test_invalid_name_rejected(builder: str, name: str, message: str) -> None:
    _, build = BUILDERS[builder]
    with pytest.raises(InvalidNameError) as raised:
        build(name)
    assert str(raised.value).startswith(message.format(kind=_kind_of(str(raised.value))))


def _kind_of(message: str) -> str:
    """The kind of name a message names ("database name", "schema name" ...)."""
    kinds = ("database name", "schema name", "property name", "table name", "login name")
    for kind in (*kinds, "string value"):
        if message.startswith(f"invalid {kind} "):
            return kind
    raise AssertionError(f"unexpected message {message!r}")


STRING_BUILDERS = [key for key, (kind, _) in BUILDERS.items() if kind == "string"]


@pytest.mark.parametrize("builder", STRING_BUILDERS, ids=STRING_BUILDERS)
@pytest.mark.parametrize("text", ["a\nGO\nb", "a\tb", "x'; DROP DATABASE y; --"],
                         ids=["newline-go", "tab", "injection"])
def test_string_keeps_any_text(builder: str, text: str) -> None:
    _, build = BUILDERS[builder]
    assert_name_survives(build(PLACEHOLDER), build(text), text)


# -- exact text for the hardest names -------------------------------------------------


def test_injection_exact() -> None:
    assert statements.modify_name("x]; DROP DATABASE [y", "a]b'c") == (
        "ALTER DATABASE [x]]; DROP DATABASE [y] MODIFY NAME = [a]]b'c]"
    )
    assert catalog.use_database_sql("]]") == "USE []]]]]"
    assert legacy.create_database_sql("[x]") == "CREATE DATABASE [[x]]];"


def test_app_user_exact() -> None:
    assert legacy.app_user_sql("a]b'c") == (
        "IF NOT EXISTS (SELECT 1 FROM sys.database_principals "
        "WHERE sid = SUSER_SID(N'a]b''c'))\n"
        "    CREATE USER [a]]b'c] FOR LOGIN [a]]b'c];\n"
        "IF DATABASE_PRINCIPAL_ID(N'a]b''c') IS NOT NULL\n"
        "    ALTER ROLE [api_role] ADD MEMBER [a]]b'c];"
    )


def test_non_bmp_length() -> None:
    assert utf16_length("😀" * 64) == 128
    assert catalog.use_database_sql("😀" * 64) == "USE [" + "😀" * 64 + "]"


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_lock_resource_fits(name: str) -> None:
    """sp_getapplock's @Resource is nvarchar(255), counted in UTF-16 code units."""
    resource = lock.lock_resource(name)
    assert resource == f"ontime_db:{name}"
    assert utf16_length(resource) <= 255


def test_lock_takes_bound_parameter() -> None:
    assert ":resource" in str(lock.ACQUIRE_SQL)
    assert ":resource" in str(lock.RELEASE_SQL)


# -- gaps in other parts' builders ---------------------------------------------------


def test_offline_header_sqlcmd_variables() -> None:
    script = render_sql(from_version=NEWEST, database="$(Db)")
    assert "sqlcmd -x -b -i FILE" in script


def test_backup_set_name_utf16_limit() -> None:
    with pytest.raises(ConfigurationError) as raised:
        statements.backup_database("ontimems", "C:\\b\\x.bak", name="😀" * 65, description="d")
    assert str(raised.value) == (
        f"invalid backup set name {'😀' * 65!r}: 130 UTF-16 code units, "
        "BACKUP allows at most 128"
    )
