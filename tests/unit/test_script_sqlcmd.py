"""sqlcmd variables, Flyway placeholders, other sqlcmd commands and the leading USE."""

from __future__ import annotations

import pytest

from ontime_db.errors import ConfigurationError, DirectiveError, VariableError
from ontime_db.script import parse


def texts(text: str, **options: object) -> list[str]:
    return [batch.text for batch in parse(text, file="s.sql", **options).batches]  # type: ignore[arg-type]


def test_setvar_substituted() -> None:
    script = parse(":setvar Db ontimems\nSELECT DB_ID(N'$(Db)')", file="s.sql")

    assert [(b.text, b.line) for b in script.batches] == [("SELECT DB_ID(N'ontimems')", 2)]


def test_setvar_line_keeps_numbering() -> None:
    script = parse("SELECT 1,\n:setvar A 2\n$(A)\nGO\nSELECT 3")

    assert [(b.text, b.line) for b in script.batches] == [("SELECT 1,\n\n2", 1), ("SELECT 3", 5)]


def test_setvar_quoted_value() -> None:
    assert texts(':setvar Name "O""Hare x"\nSELECT N\'$(Name)\'') == ["SELECT N'O\"Hare x'"]


def test_setvar_names_ignore_case() -> None:
    assert texts(":SETVAR db Main\nSELECT '$(DB)'") == ["SELECT 'Main'"]


def test_setvar_applies_from_its_line() -> None:
    text = "SELECT '$(A)'\n:setvar A new\nSELECT '$(A)'"

    assert texts(text, variables={"A": "old"}) == ["SELECT 'old'\n\nSELECT 'new'"]


def test_setvar_outranks_python_values() -> None:
    assert texts(":setvar A script\nSELECT '$(A)'", variables={"a": "caller"}) == [
        "SELECT 'script'"
    ]


def test_setvar_without_value_removes() -> None:
    with pytest.raises(VariableError) as caught:
        parse(":setvar A\nSELECT '$(A)'", file="s.sql", variables={"A": "x"})

    assert caught.value.name == "A"
    assert caught.value.line == 2


def test_variables_from_python() -> None:
    assert texts("SELECT $(Col) FROM t", variables={"col": "Name"}) == ["SELECT Name FROM t"]


def test_variable_in_comment_substituted() -> None:
    # sqlcmd substitutes before it parses, so references in comments count too.
    assert texts("SELECT 1 -- $(A)", variables={"A": "x"}) == ["SELECT 1 -- x"]


def test_variable_missing() -> None:
    with pytest.raises(VariableError) as caught:
        parse("SELECT 1\nGO\n\nSELECT N'$(Nope)'", file="s.sql")

    assert str(caught.value) == (
        "s.sql, line 4: sqlcmd variable $(Nope) is not defined; add ':setvar Nope VALUE' "
        "before this line, or pass variables={'Nope': ...} (--var Nope=VALUE on the "
        "command line)"
    )
    assert caught.value.name == "Nope"
    assert caught.value.line == 4


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            ":setvar",
            "s.sql, line 1: invalid :setvar line ':setvar'; expected ':setvar NAME "
            "value' or ':setvar NAME \"value with spaces\"'",
        ),
        (
            ":setvar A two words",
            "s.sql, line 1: invalid :setvar value 'two words'; put a "
            'value with spaces in double quotes: :setvar A "two words"',
        ),
        (
            ':setvar A "open',
            "s.sql, line 1: invalid :setvar value '\"open'; a quoted value "
            'ends with " and writes a quote inside it as ""',
        ),
    ],
    ids=["no-name", "spaces", "open-quote"],
)
def test_setvar_invalid(line: str, message: str) -> None:
    with pytest.raises(DirectiveError) as caught:
        parse(line, file="s.sql")

    assert str(caught.value) == message
    assert caught.value.command == ":setvar"


@pytest.mark.parametrize(
    ("line", "command"),
    [
        (":r other.sql", ":r"),
        (":connect other", ":connect"),
        (":out file.txt", ":out"),
        (":on error ignore", ":on error"),
        ("!!dir", "!!"),
        (":EXIT", ":exit"),
    ],
    ids=["r", "connect", "out", "on-error-ignore", "shell", "exit"],
)
def test_command_rejected(line: str, command: str) -> None:
    with pytest.raises(DirectiveError) as caught:
        parse(f"SELECT 1\nGO\n  {line}\nSELECT 2", file="s.sql")

    assert caught.value.command == command
    assert caught.value.line == 3
    assert str(caught.value).startswith("s.sql, line 3: ")
    assert f"({command})" in str(caught.value)


def test_command_r_message() -> None:
    with pytest.raises(DirectiveError) as caught:
        parse("SELECT 1\nGO\n:r other.sql", file="s.sql")

    assert str(caught.value) == (
        "s.sql, line 3: the sqlcmd command is not supported (:r); remove the line or replace "
        "it with T-SQL, or run the script with sqlcmd"
    )


def test_command_unknown() -> None:
    with pytest.raises(DirectiveError) as caught:
        parse(":frobnicate now", file="s.sql")

    assert str(caught.value) == (
        "s.sql, line 1: unknown sqlcmd command ':frobnicate now'; remove the line, or run "
        "the script with sqlcmd"
    )


def test_on_error_exit_accepted() -> None:
    assert texts(":on error exit\nSELECT 1") == ["SELECT 1"]


def test_command_inside_string_is_text() -> None:
    assert texts("SELECT '\n:r x.sql\n'") == ["SELECT '\n:r x.sql\n'"]


def test_double_colon_is_text() -> None:
    assert texts("SELECT *\n::fn_helpcollations()") == ["SELECT *\n::fn_helpcollations()"]


def test_flyway_placeholder() -> None:
    text = "CREATE TABLE ${schema}.t (i int) -- ${flyway:filename}"

    assert texts(text, flyway_placeholders=True, placeholders={"Schema": "api"}) == [
        "CREATE TABLE api.t (i int) -- s.sql"
    ]


def test_flyway_placeholder_off() -> None:
    assert texts("SELECT '${x}'") == ["SELECT '${x}'"]


def test_flyway_placeholder_missing() -> None:
    with pytest.raises(VariableError) as caught:
        parse("SELECT 1\nSELECT '${nope}'", file="V1__a.sql", flyway_placeholders=True)

    assert str(caught.value) == (
        "V1__a.sql, line 2: Flyway placeholder ${nope} has no value; pass "
        "placeholders={'nope': ...}, or turn Flyway placeholders off (flyway_placeholders=False)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("USE [ontimems.25.8]\nGO\nSELECT 1", "USE [we]]ird]"),
        ("USE ontimems;\nGO", "USE [we]]ird];"),
        ('-- create\nUSE "x"\nGO', "-- create\nUSE [we]]ird]"),
        ("/* c */ use[x]\nGO", "/* c */ use[we]]ird]"),
    ],
    ids=["bracket", "plain", "quoted", "comment-first"],
)
def test_use_retarget(text: str, expected: str) -> None:
    assert texts(text, use="retarget", database="we]ird")[0] == expected


def test_use_retarget_only_first_statement() -> None:
    text = "SELECT 1\nUSE other\nGO\nUSE other"

    assert texts(text, use="retarget", database="db") == ["SELECT 1\nUSE other", "USE other"]


@pytest.mark.parametrize(
    "text",
    [
        "-- Every user gets a time zone\n-- because the column is NOT NULL\nALTER TABLE t",
        "/* a */ SELECT 1 /* b */ use [y]",
        "user_setting_update",
        "SELECT 1 AS [use]",
    ],
    ids=["use-in-comment", "after-code", "word-prefix", "bracketed-word"],
)
def test_use_not_leading(text: str) -> None:
    assert texts(text, use="retarget", database="db") == [text]


def test_use_keep() -> None:
    assert texts("USE [other]", database="db") == ["USE [other]"]


def test_use_reject_other() -> None:
    with pytest.raises(DirectiveError) as caught:
        parse("\nUSE [ontimems.25.8]\nGO", file="create.sql", use="reject", database="ontimems")

    assert str(caught.value) == (
        "create.sql, line 2: the script starts with USE [ontimems.25.8], but it must run in "
        "database 'ontimems'; correct the USE line, or let the script follow the target "
        "database (use='retarget')"
    )
    assert caught.value.command == "USE"
    assert caught.value.database == "ontimems"


def test_use_reject_same_name() -> None:
    assert texts("USE [OnTimeMS]\nGO", use="reject", database="ontimems") == ["USE [OnTimeMS]"]


def test_use_needs_database() -> None:
    with pytest.raises(ConfigurationError, match=r"use='retarget' needs the target database"):
        parse("USE x", use="retarget")


def test_use_invalid_choice() -> None:
    with pytest.raises(ConfigurationError, match=r"invalid use='drop'"):
        parse("USE x", use="drop")  # type: ignore[arg-type]


def test_variable_in_string() -> None:
    assert texts(":setvar A x\nSELECT N'$(A)'") == ["SELECT N'x'"]


def test_variable_in_block_comment() -> None:
    assert texts(":setvar A x\nSELECT 1 /* $(A) */") == ["SELECT 1 /* x */"]


def test_setvar_quoted_spaces() -> None:
    assert texts(":setvar Path \"C:\\Sql Server Backups\"\nSELECT N'$(Path)'") == [
        "SELECT N'C:\\Sql Server Backups'"
    ]


def test_setvar_redefined() -> None:
    script = parse(":setvar A x\nSELECT '$(A)'\nGO\n:setvar A y\nSELECT '$(A)'", file="s.sql")

    assert [(b.text, b.line) for b in script.batches] == [("SELECT 'x'", 2), ("SELECT 'y'", 5)]


def test_setvar_upper_case() -> None:
    assert texts(":SETVAR Db Main\nSELECT '$(db)'") == ["SELECT 'Main'"]


def test_command_in_block_comment_is_text() -> None:
    assert texts("/*\n:r x.sql\n:setvar A 1\n*/\nSELECT 1") == [
        "/*\n:r x.sql\n:setvar A 1\n*/\nSELECT 1"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("USE ontimems\nGO\nSELECT 1", "USE [target]"),
        ('USE "ontimems"\nGO', "USE [target]"),
        ("USE [ontimems.25.8]\nGO", "USE [target]"),
        (
            "/* header\n   /* nested */ */\nUSE [ontimems.25.8]\nGO",
            "/* header\n   /* nested */ */\nUSE [target]",
        ),
        ("USE\n  [ontimems]", "USE\n  [target]"),
    ],
    ids=["unbracketed", "double-quoted", "dotted", "nested-comment-first", "name-on-next-line"],
)
def test_use_retarget_forms(text: str, expected: str) -> None:
    assert texts(text, use="retarget", database="target")[0] == expected


def test_use_reject_after_nested_comment() -> None:
    with pytest.raises(DirectiveError) as caught:
        parse(
            "/* a /* b */ */\n\nUSE [ontimems.25.8]",
            file="c.sql",
            use="reject",
            database="ontimems",
        )

    assert caught.value.line == 3


def test_use_not_first_left_alone() -> None:
    text = "SET NOCOUNT ON;\nUSE [ontimems.25.8]"

    assert texts(text, use="reject", database="ontimems") == [text]
