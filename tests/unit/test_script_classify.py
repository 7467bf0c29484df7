"""Classifying batches that SQL Server rejects inside a user transaction."""

from __future__ import annotations

import pytest

from ontime_db.errors import MixedTransactionModeError
from ontime_db.script import parse
from ontime_db.script.classify import is_transactional

OUTSIDE = [
    ("create-database", "IF DB_ID(N'x_new') IS NULL CREATE DATABASE [x_new];"),
    ("alter-database-set", "ALTER DATABASE [x] SET RECOVERY SIMPLE"),
    ("alter-database-name", "alter database x modify name = y"),
    ("drop-database", "DROP DATABASE IF EXISTS [x]"),
    ("backup", "BACKUP DATABASE [x] TO DISK = N'x.bak' WITH STATS = 10"),
    ("backup-log", "backup log x to disk = 'l.trn'"),
    ("restore", "RESTORE DATABASE [x] FROM DISK = N'x.bak'"),
    ("restore-verify", "RESTORE VERIFYONLY FROM DISK = N'x.bak'"),
    ("reconfigure", "EXEC sp_configure 'show advanced options', 1;\nRECONFIGURE;"),
    ("fulltext-catalog", "CREATE FULLTEXT CATALOG ftc AS DEFAULT"),
    ("fulltext-index", "ALTER FULLTEXT INDEX ON t ENABLE"),
    ("drop-fulltext-index", "DROP FULLTEXT INDEX ON t"),
    ("after-comment", "/* setup */ -- x\nCREATE /* c */ DATABASE y"),
    ("alter-database-current-set", "ALTER DATABASE CURRENT SET READ_COMMITTED_SNAPSHOT ON"),
    ("alter-database-single-user", "ALTER DATABASE [x] SET SINGLE_USER WITH ROLLBACK IMMEDIATE"),
    ("create-fulltext-index", "CREATE FULLTEXT INDEX ON dbo.t (c) KEY INDEX pk_t"),
    ("drop-fulltext-catalog", "DROP FULLTEXT CATALOG ftc"),
    ("reconfigure-override", "RECONFIGURE WITH OVERRIDE"),
    ("lower-case-backup", "backup database [x] to disk = N'x.bak'"),
]

INSIDE = [
    ("select", "SELECT 1"),
    ("in-string", "SELECT 'BACKUP DATABASE x'"),
    ("in-comment", "-- CREATE DATABASE x\n/* RESTORE DATABASE y */ SELECT 1"),
    ("in-identifier", "SELECT [backup database] FROM [restore log]"),
    ("grant", "GRANT CREATE DATABASE, BACKUP DATABASE TO someone"),
    ("database-audit", "CREATE DATABASE AUDIT SPECIFICATION a FOR SERVER AUDIT b"),
    ("scoped-config", "ALTER DATABASE SCOPED CONFIGURATION SET MAXDOP = 1"),
    ("backup-certificate", "BACKUP CERTIFICATE c TO FILE = 'c.cer'"),
    ("column-named-database", "SELECT database_id FROM sys.databases"),
    ("backup-in-string", "INSERT dbo.log VALUES (N'BACKUP DATABASE done')"),
    ("backup-in-n-string-doubled", "SELECT N'it''s BACKUP DATABASE'"),
    ("scoped-credential", "CREATE DATABASE SCOPED CREDENTIAL c WITH IDENTITY = 'x'"),
    ("encryption-key", "ALTER DATABASE ENCRYPTION KEY REGENERATE WITH ALGORITHM = AES_256"),
    ("fulltext-stoplist", "CREATE FULLTEXT STOPLIST s"),
    ("exec-dynamic-create-database", "EXEC (N'CREATE DATABASE x')"),
]


@pytest.mark.parametrize("text", [c[1] for c in OUTSIDE], ids=[c[0] for c in OUTSIDE])
def test_classify_outside_transaction(text: str) -> None:
    assert is_transactional(text) is False


@pytest.mark.parametrize("text", [c[1] for c in INSIDE], ids=[c[0] for c in INSIDE])
def test_classify_inside_transaction(text: str) -> None:
    assert is_transactional(text) is True


def test_batches_classified() -> None:
    script = parse("CREATE TABLE t (i int)\nGO\nBACKUP DATABASE [x] TO DISK = N'x.bak'")

    assert [b.transactional for b in script.batches] == [True, False]
    assert script.mixed is True
    assert script.transactional is False


def test_mixed_rejected_early() -> None:
    text = "CREATE TABLE t (i int)\nGO\nBACKUP DATABASE [x] TO DISK = N'x.bak'"

    with pytest.raises(MixedTransactionModeError) as caught:
        parse(text, file="m.sql", allow_mixed=False)

    assert str(caught.value) == (
        "m.sql mixes batches that can run inside a transaction with batches that SQL Server "
        "rejects inside one: batch 2 (line 3); split the script in two, or allow mixing "
        "(allow_mixed=True) to run every batch in the connection's current mode"
    )
    assert caught.value.batch == 2
    assert caught.value.line == 3


def test_only_outside_not_mixed() -> None:
    script = parse("CREATE DATABASE a\nGO\nALTER DATABASE a SET RECOVERY SIMPLE", allow_mixed=False)

    assert script.mixed is False
    assert script.transactional is False
