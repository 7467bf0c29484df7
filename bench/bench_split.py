"""Benchmark: split a generated T-SQL script with ontime_db.script.parse and with sqlparse.split.

Run from the repository root:

    python bench/bench_split.py               # 2 MB and 20 MB inputs
    python bench/bench_split.py --sizes 2     # one size, in MB
    python bench/bench_split.py --crlf        # CRLF line endings, as SSMS writes them
    python bench/bench_split.py --inserts     # one batch of INSERTs, no GO
    python bench/bench_split.py --possessive  # compare with a "*+" scan (Python 3.11.5+)

For each size it prints the throughput in MB/s, the peak memory that
tracemalloc records while splitting (as a multiple of the input's size in
memory), and the throughput of ``sqlparse.split``, measured in the same run.
sqlparse is much slower, so it splits only a 1 MB prefix and its rate is
taken from that.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
import tracemalloc
from collections.abc import Callable

from ontime_db.script import parse, splitter

PROCEDURE = '''/* Procedure {n}: returns the bookings of one room.
   GO inside this comment is text, and so is /* a nested */ comment. */
CREATE PROCEDURE [api].[GetBookings_{n}]
    @RoomId int,
    @From datetime2 = NULL
AS
BEGIN
    SET NOCOUNT ON;
    -- don't stop at GO here
    DECLARE @note nvarchar(200) = N'O''Brien''s room; GO
    later';
    SELECT b.[Id], b.[Title], b.gone_at, "Room ""A""" AS label
    FROM [dbo].[Bookings] AS b
    WHERE b.RoomId = @RoomId AND (@From IS NULL OR b.StartsAt >= @From);
    IF @@ROWCOUNT = 0 GOTO done;
done:
    RETURN 0;
END
GO
'''

INSERTS = "INSERT INTO [dbo].[Settings] ([Name], [Value]) VALUES (N'key{n}_{i}', N'{text}');\n"

TABLE = """CREATE TABLE [dbo].[T{n}] (
    [Id] int IDENTITY(1,1) NOT NULL PRIMARY KEY,
    [Name] nvarchar(100) NOT NULL DEFAULT (N'unnamed'),
    [Path] nvarchar(260) NULL -- 'C:\\temp\\' has no escapes
);
GO
"""


def generate_inserts(size: int) -> str:
    """Return one batch of ``INSERT`` statements of about ``size`` characters, without GO.

    The scanner stops at no position in it, so this is the worst case for
    the memory of its regular expression.
    """
    line = INSERTS.format(n=1, i=1, text="O''Brien")
    return line * (size // len(line) + 1)


def generate(size: int, *, seed: int = 1) -> str:
    """Return realistic T-SQL of about ``size`` characters with thousands of GO lines."""
    rng = random.Random(seed)
    parts: list[str] = []
    total = 0
    n = 0
    while total < size:
        n += 1
        choice = rng.random()
        if choice < 0.5:
            piece = PROCEDURE.format(n=n)
        elif choice < 0.8:
            text = "x" * rng.randint(20, 400)
            piece = "".join(INSERTS.format(n=n, i=i, text=text) for i in range(20)) + "GO\n"
        else:
            piece = TABLE.format(n=n)
        parts.append(piece)
        total += len(piece)
    return "".join(parts)


def peak_memory(split: Callable[[str], object], text: str) -> int:
    """Return the peak of memory allocated while ``split(text)`` runs, in bytes."""
    tracemalloc.start()
    result = split(text)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak


def use_possessive_scan() -> None:
    """Make the splitter scan with an unbounded possessive repeat, for comparison only.

    CPython 3.11.0 to 3.11.4 return wrong match ends for this pattern, so the
    splitter itself always uses the bounded repeat.
    """
    if sys.version_info < (3, 11, 5):
        raise SystemExit("--possessive needs Python 3.11.5 or later")
    token = splitter._plain_token(splitter._REPEAT_LIMIT)
    splitter._SCANNER = splitter._Scanner(plain=re.compile(token + "*+"), token=re.compile(token))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=float,
        nargs="+",
        default=[2.0, 20.0],
        help="input sizes in MB (default: 2 20)",
    )
    parser.add_argument(
        "--crlf", action="store_true", help="write the generated script with CRLF line endings"
    )
    parser.add_argument(
        "--inserts",
        action="store_true",
        help="split one batch of INSERT statements without GO lines instead",
    )
    parser.add_argument(
        "--possessive",
        action="store_true",
        help="scan with a possessive repeat instead of the bounded one (Python 3.11.5+)",
    )
    args = parser.parse_args(argv)

    import sqlparse

    scan = "possessive" if args.possessive else f"bounded ({splitter._REPEAT_LIMIT})"
    if args.possessive:
        use_possessive_scan()
    print(f"python {sys.version.split()[0]}, sqlparse {sqlparse.__version__}, {scan} scan")
    for megabytes in args.sizes:
        size = int(megabytes * 1_000_000)
        text = generate_inserts(size) if args.inserts else generate(size)
        if args.crlf:
            text = text.replace("\n", "\r\n")
        size_mb = len(text.encode("utf-8")) / 1_000_000
        input_bytes = sys.getsizeof(text)

        # Best of three runs without tracemalloc (it slows allocation), then
        # one run under tracemalloc for the peak memory.
        elapsed = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            script = parse(text)
            elapsed = min(elapsed, time.perf_counter() - started)
        peak = peak_memory(parse, text)

        # sqlparse splits the first 1 MB, cut after a GO line, or after a
        # line when the script has no GO.
        line_end = "\r\n" if args.crlf else "\n"
        cut = text.rfind(f"{line_end}GO{line_end}", 0, 1_000_000) + len(line_end) * 2 + 2
        if args.inserts:
            cut = text.rfind(line_end, 0, 1_000_000) + len(line_end)
        sample = text[:cut]
        started = time.perf_counter()
        sqlparse.split(sample)
        sqlparse_rate = (len(sample) / 1_000_000) / (time.perf_counter() - started)

        rate = size_mb / elapsed
        print(
            f"{size_mb:6.1f} MB, {len(script.batches)} batches: ontime_db {rate:7.1f} MB/s "
            f"({elapsed:.2f} s), peak memory {peak / input_bytes:.2f}x input; "
            f"sqlparse.split {sqlparse_rate:.2f} MB/s; ratio {rate / sqlparse_rate:.0f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
