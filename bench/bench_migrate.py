"""Benchmarks of the migration engine: round trips, offline rendering of 1,000 migrations, --help.

Run from the repository root::

    python bench/bench_migrate.py

Round trips are counted with SQLAlchemy's ``before_cursor_execute`` event on
an engine whose DB-API connection is a recording fake (no server is
involved). The fake returns what an empty database would return,
so the count shows which statements a migrate over the whole reference set
sends; it shows nothing about how SQL Server runs them.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# -- a recording fake DB-API ----------------------------------------------------


class FakeError(Exception):
    pass


class FakeDbApi:
    """Module-level names the SQLAlchemy mssql+pyodbc dialect reads from a DB-API."""

    paramstyle = "qmark"
    version = "5.0.0"
    version_info = (5, 0, 0)
    Error = DatabaseError = OperationalError = InterfaceError = ProgrammingError = FakeError
    IntegrityError = DataError = NotSupportedError = InternalError = FakeError
    Warning = Warning
    NUMBER = STRING = BINARY = DATETIME = ROWID = object()
    SQL_DBMS_VER = 18
    SQL_DRIVER_NAME = 6
    SQL_WVARCHAR = -9
    SQL_VARCHAR = 12
    SQL_VARBINARY = -3
    SQL_CHAR = 1
    SQL_WCHAR = -8
    SQL_TYPE_TIMESTAMP = 93

    @staticmethod
    def connect(*args: Any, **kwargs: Any) -> FakeConnection:
        return FakeConnection(DATABASE_STATE)


class DatabaseState:
    """State of the fake database: the tables created and the alembic_version row."""

    def __init__(self) -> None:
        self.tables: set[str] = set()
        self.version: str | None = None


DATABASE_STATE = DatabaseState()


class FakeCursor:
    def __init__(self, state: DatabaseState) -> None:
        self.state = state
        self.description: list[tuple[Any, ...]] | None = None
        self.rows: list[tuple[Any, ...]] = []
        self.rowcount = -1
        self.messages: list[Any] = []

    def execute(self, sql: str, *parameters: Any) -> FakeCursor:
        rows = self._answer(sql, parameters[0] if parameters else ())
        self.rows = list(rows) if rows is not None else []
        self.description = [("c", None, None, None, None, None, None)] if rows is not None else None
        self.rowcount = len(self.rows) if rows is not None else 1
        return self

    def _answer(self, sql: str, parameters: Any) -> list[tuple[Any, ...]] | None:
        lowered = sql.lower()
        if "scope_identity()" in lowered:
            # SQLAlchemy 2.0 appends this query to an INSERT into a table with
            # an IDENTITY key and reads the new key from its result set.
            return [(1,)]
        created = re.search(r"create table (?:dbo\.)?(\w+)", lowered)
        if created and "if object_id" not in lowered:
            self.state.tables.add(created.group(1))
        if "insert into alembic_version" in lowered:
            self.state.version = re.findall(r"'([\d.]+)'", sql)[-1] if "'" in sql else parameters[0]
            return [(self.state.version,)] if "output" in lowered else None
        if lowered.startswith("update alembic_version"):
            self.state.version = re.search(r"version_num\s*=\s*'([\d.]+)'", sql).group(1)  # type: ignore[union-attr]
            return None
        if "productversion" in lowered:
            return [("16.0.1000.6",)]
        if "schema_name()" in lowered:
            return [("dbo",)]
        if "db_name()" in lowered:
            return [("ontimems",)]
        if "sp_getapplock" in lowered or "sp_releaseapplock" in lowered:
            return [(0,)]
        if "dm_exec_sessions" in lowered or "transaction_isolation_level" in lowered:
            return [("READ COMMITTED",)]
        if "from alembic_version" in lowered:
            return [(self.state.version,)] if self.state.version else []
        if "information_schema" in lowered or "sys.tables" in lowered or "sys.objects" in lowered:
            names = [p for p in (parameters or ()) if isinstance(p, str)]
            if "count(" in lowered:
                return [(0,)]
            return [(name,) for name in names if name in self.state.tables]
        if "count(" in lowered:
            return [(0,)]
        if lowered.strip() == "select schema_id(n'api')":
            return [(None,)]
        if lowered.lstrip().startswith(("select", "with", "set nocount on", "declare", "set xact")):
            return []
        return None

    def fetchone(self) -> tuple[Any, ...] | None:
        return self.rows.pop(0) if self.rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self.rows = self.rows, []
        return rows

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        rows, self.rows = self.rows[:size], self.rows[size:]
        return rows

    def nextset(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def setinputsizes(self, *args: Any) -> None:
        pass


class FakeConnection:
    def __init__(self, state: DatabaseState) -> None:
        self.state = state
        self.autocommit = False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self.state)

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass

    def add_output_converter(self, *args: Any) -> None:
        pass

    def getinfo(self, code: int) -> str:
        return "16.00.1000" if code == FakeDbApi.SQL_DBMS_VER else "fake"


# -- benchmarks -----------------------------------------------------------------


def round_trips() -> dict[str, Any]:
    """Count the statements a migrate from an empty database to the newest version sends."""
    from ontime_db.migration import load_set, migrate
    from ontime_db.script import load

    engine = create_engine(
        "mssql+pyodbc://bench/ontimems?driver=fake", module=FakeDbApi, pool_pre_ping=False
    )
    sent: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    with engine.connect():
        pass  # the dialect's first-connect queries are not part of a migrate
    sent.clear()

    chain = load_set()
    batches = {
        batch.text.strip()
        for migration in chain.migrations
        for batch in load(migration.script, database="ontimems", use="retarget").batches
    }
    migrate(engine, backup=False)
    engine.dispose()

    kinds: Counter[str] = Counter()
    catalog_queries = 0
    bookkeeping = re.compile(
        r"^(UPDATE alembic_version|INSERT INTO alembic_version|INSERT INTO dbo.ontime_db_history"
        r"|DECLARE @ontime_db_compatibility_major)"
    )
    for statement in sent:
        if statement.strip() in batches:
            kinds["script batch"] += 1
        elif bookkeeping.match(statement.strip()):
            kinds["bookkeeping"] += 1
        else:
            kinds["per run"] += 1
            if re.search(r"\b(sys\.|information_schema)", statement, re.IGNORECASE):
                catalog_queries += 1
    migrations = len(chain.migrations)
    return {
        "migrations": migrations,
        "statements": len(sent),
        "script batches": kinds["script batch"],
        "bookkeeping": kinds["bookkeeping"],
        "per run": kinds["per run"],
        "catalog queries": catalog_queries,
        "sent": sent,
    }


def generated_chain(folder: Path, count: int) -> Path:
    """Write a migration set of ``count`` one-batch migrations to ``folder``."""
    (folder / "versions").mkdir(parents=True)
    (folder / "sql" / "gen").mkdir(parents=True)
    shutil.copy(ROOT / "migrations" / "env.py", folder / "env.py")
    previous = None
    for number in range(count):
        version = f"{100 + number // 10}.{number % 10}"
        script = f"gen/V{version.replace('.', '_')}__step.sql"
        (folder / "sql" / script).write_text(
            f"ALTER TABLE dbo.t ADD c{number} int NULL;\nGO\n", "utf-8"
        )
        (folder / "versions" / f"v{number:04d}.py").write_text(
            "from ontime_db.migration.runtime import run_script\n"
            f"revision = {version!r}\ndown_revision = {previous!r}\n"
            "branch_labels = None\ndepends_on = None\n"
            f"description = 'step {number}'\nscript = {script!r}\ntransactional = True\n"
            "def upgrade():\n    run_script(revision)\n",
            "utf-8",
        )
        previous = version
    return folder


def offline_rendering(count: int = 1000) -> dict[str, float]:
    from ontime_db.migration import plan_migration, render_sql

    with tempfile.TemporaryDirectory() as temporary:
        folder = generated_chain(Path(temporary) / "set", count)
        started = time.perf_counter()
        plan = plan_migration(migrations=folder)
        planned = time.perf_counter() - started
        started = time.perf_counter()
        script = render_sql(from_version=None, migrations=folder, database="bench")
        rendered = time.perf_counter() - started
    return {
        "steps": len(plan.steps),
        "plan s": planned,
        "render s": rendered,
        "script bytes": len(script),
    }


def help_start(repeat: int = 10) -> dict[str, float]:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ontime_db", "--help"],
            check=True,
            capture_output=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        timings.append(time.perf_counter() - started)
    return {"median s": statistics.median(timings), "max s": max(timings)}


def main() -> None:
    trips = round_trips()
    print(f"round trips over the reference set ({trips['migrations']} migrations from empty):")
    print(f"  statements sent: {trips['statements']}")
    print(f"  script batches:  {trips['script batches']}")
    print(
        f"  version bookkeeping: {trips['bookkeeping']} "
        f"({trips['bookkeeping'] / trips['migrations']:.1f} per migration)"
    )
    print(
        f"  other statements:    {trips['per run']} (lock, state, detection, audit table, "
        "isolation-level changes)"
    )
    print(f"  catalog queries among them: {trips['catalog queries']}")
    if "-v" in sys.argv:
        for statement in trips["sent"]:
            print("   >", statement.strip().splitlines()[0][:100])
    offline = offline_rendering()
    total = offline["plan s"] + offline["render s"]
    print(
        f"generated chain of {offline['steps']:.0f} migrations: plan {offline['plan s']:.3f} s, "
        f"render --sql {offline['render s']:.3f} s ({offline['script bytes']:.0f} bytes), "
        f"total {total:.3f} s (target under 0.5 s)"
    )
    startup = help_start()
    print(
        f"python -m ontime_db --help: median {startup['median s']:.3f} s, "
        f"max {startup['max s']:.3f} s over 10 runs"
    )


FakeDbApi.Cursor = FakeCursor  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
