"""1-minute bars into Postgres: `BarRepository.insert_arrays` (binary COPY built from numpy columns;
straight into `bars` when the batch overlaps nothing stored, else a temp stage and one MERGE that
skips unchanged rows) against the path it replaced (one `Bar` object per row, `copy_records_to_table` into a temp
table, `DISTINCT ON … ORDER BY` upsert) and against a plain `copy_records_to_table` of tuples into
`bars` (no overlap handling at all: the floor the issue measured), and against the server's own floor:
the same binary payload, built beforehand, COPYed into an empty `bars` (its key index kept up row by
row) and into an unindexed copy of it (what that index costs).

Runs in a database of its own on the server named by TRADEBOT_BENCH_DATABASE_URL (else
TRADEBOT_TEST_DATABASE_URL), dropped afterwards. Each repetition starts from an empty `bars` table:
"new" loads n bars, "overlap" loads the same n starts again with other prices (every row conflicts and
changes), "unchanged" loads those again (every row conflicts, none changes: a backfill re-reading history)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from bench.goals import Figure, Goal, Section, at_least
from trading.domain import Bar
from trading.store import Store, close_pool, create_pool, migrate
from trading.store.admin import create_database, drop_database
from trading.store.bars_copy import chunks
from trading.store.executor import Pool, connection

CID = "CON.F.US.MNQ.H26"
T0 = 1_767_225_600 * 1_000_000_000  # 2026-01-01 UTC
MIN = 60 * 1_000_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COLUMNS = ("contract_id", "timeframe", "start", "open", "high", "low", "close", "volume")


def columns(n: int, shift: float = 0.0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(7)
    ts = T0 + np.arange(n, dtype=np.int64) * MIN
    o = 21000 + np.cumsum(rng.choice([-0.25, 0.0, 0.25], n)) + shift
    return ts, o, o + 1.0, o - 1.0, o + 0.25, rng.integers(1, 500, n).astype(np.float64)


def bar_objects(cols: tuple[np.ndarray, ...]) -> list[Bar]:
    ts, o, h, lo, c, v = (x.tolist() for x in cols)
    return [
        Bar(CID, "1m", EPOCH + timedelta(microseconds=t // 1000), a, b, d, e, f)
        for t, a, b, d, e, f in zip(ts, o, h, lo, c, v, strict=True)
    ]


async def before(pool: Pool, cols: tuple[np.ndarray, ...]) -> None:
    """The path `insert_many` took before arrays (kept here as the baseline): objects, tuples, a
    temp table and a DISTINCT ON upsert whose sort spills to disk at 1M rows."""
    records = [
        (b.contract_id, b.timeframe, b.start, b.open, b.high, b.low, b.close, b.volume) for b in bar_objects(cols)
    ]
    async with connection(pool) as conn, conn.transaction():
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bars_load (LIKE bars INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await conn.copy_records_to_table("bars_load", records=records, columns=COLUMNS)
        await conn.execute(
            """
            INSERT INTO bars (contract_id, timeframe, start, open, high, low, close, volume)
            SELECT DISTINCT ON (contract_id, timeframe, start)
                   contract_id, timeframe, start, open, high, low, close, volume
            FROM (SELECT *, ctid AS at FROM bars_load) AS loaded
            ORDER BY contract_id, timeframe, start, at DESC
            ON CONFLICT (contract_id, timeframe, start) DO UPDATE SET
                open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low,
                close = EXCLUDED.close, volume = EXCLUDED.volume
            """
        )


async def plain_copy(pool: Pool, cols: tuple[np.ndarray, ...]) -> None:
    records = [
        (b.contract_id, b.timeframe, b.start, b.open, b.high, b.low, b.close, b.volume) for b in bar_objects(cols)
    ]
    async with connection(pool) as conn:
        await conn.copy_records_to_table("bars", records=records, columns=COLUMNS)


async def copy_floor(pool: Pool, cols: tuple[np.ndarray, ...], table: str) -> float:
    """The server's share alone: the same binary COPY payload, built beforehand (untimed), copied
    straight into `table` without the range check. Returns the seconds the COPY took."""
    payload = b"".join(chunks(CID, "1m", cols[0], (cols[1], cols[2], cols[3], cols[4], cols[5])))

    async def source() -> AsyncIterator[bytes]:
        yield payload

    async with connection(pool) as conn:
        t0 = time.perf_counter()
        async with conn.transaction():
            await conn.copy_to_table(table, source=source(), columns=COLUMNS, format="binary")
        return time.perf_counter() - t0


async def _timed(fn: Callable[[], Awaitable[object]]) -> float:
    t0 = time.perf_counter()
    await fn()
    return time.perf_counter() - t0


async def _run(url: str, n: int, reps: int) -> Section:
    pool = await create_pool(url, min_size=1, max_size=2, command_timeout=None)  # 1M rows on a busy machine
    store = Store(pool)
    await pool.execute("CREATE TABLE bars_unindexed (LIKE bars INCLUDING DEFAULTS)")
    new_cols, other_cols = columns(n), columns(n, shift=0.5)
    rates: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        rates.setdefault(name, []).append(n / seconds)

    try:
        for _ in range(reps):
            # Each contender starts from an empty table; the order is fixed (noise spreads over reps).
            await pool.execute("TRUNCATE bars")
            add("arrays: new bars", await _timed(lambda: store.bars.insert_arrays(CID, "1m", *new_cols)))
            add("arrays: every row overlaps", await _timed(lambda: store.bars.insert_arrays(CID, "1m", *other_cols)))
            add(
                "arrays: overlaps, values unchanged",
                await _timed(lambda: store.bars.insert_arrays(CID, "1m", *other_cols)),
            )
            await pool.execute("TRUNCATE bars")
            add("before (objects + upsert): new", await _timed(lambda: before(pool, new_cols)))
            add("before: every row overlaps", await _timed(lambda: before(pool, other_cols)))
            await pool.execute("TRUNCATE bars")
            add("plain COPY of tuples: new", await _timed(lambda: plain_copy(pool, new_cols)))
            await pool.execute("TRUNCATE bars")
            add("floor: binary COPY, indexed bars", await copy_floor(pool, new_cols, "bars"))
            await pool.execute("TRUNCATE bars")
            add("floor: binary COPY, no index", await copy_floor(pool, new_cols, "bars_unindexed"))
            await pool.execute("TRUNCATE bars_unindexed")
    finally:
        await close_pool(pool)
    return _section(n, reps, rates)


def _section(n: int, reps: int, rates: dict[str, list[float]]) -> Section:
    title = f"{n:,} one-minute bars into Postgres (rows/s, {reps} repetitions, each from an empty table)"
    head = f"{'path':<34} {'median':>12} {'min..max':>22}"
    lines = [f"\n## {title}", head, "-" * len(head)]
    for name, xs in rates.items():
        f = Figure(tuple(xs), "rows/s")
        lines.append(f"{name:<34} {f.median:>12,.0f} {f.spread:>22}")
    new, over = rates["arrays: new bars"], rates["arrays: every row overlaps"]

    def ratio(a: str, b: str, of: str = "the old path") -> str:
        rs = [x / y for x, y in zip(rates[a], rates[b], strict=True)]
        return f"{np.median(rs):.2f}× {of} ({min(rs):.2f}..{max(rs):.2f}, paired per repetition)"

    lines.append(f"arrays: new bars = {ratio('arrays: new bars', 'floor: binary COPY, indexed bars', 'the floor')}")

    goals = [
        Goal(
            "bars into Postgres, new", "≥ 500k rows/s", Figure(tuple(new), "rows/s"), at_least(new, 500_000),
            baseline=ratio("arrays: new bars", "before (objects + upsert): new"),
        ),
        Goal(
            "bars into Postgres, every row overlaps", "≥ 250k rows/s", Figure(tuple(over), "rows/s"),
            at_least(over, 250_000), baseline=ratio("arrays: every row overlaps", "before: every row overlaps"),
        ),
        Goal(
            "bars into Postgres, every row overlaps unchanged (info)", "-",
            Figure(tuple(rates["arrays: overlaps, values unchanged"]), "rows/s"), None,
        ),
    ]  # fmt: skip
    return Section(title, ["\n".join(lines)], goals)


async def on_scratch_database(server: str, body: Callable[[str], Awaitable[Section]]) -> Section:
    """`body(url)` on a migrated database of its own on `server`, dropped afterwards (the Postgres sections)."""
    url = await create_database(server, "tradebot_bench")
    try:
        pool = await create_pool(url, min_size=1, max_size=1)
        try:
            await migrate(pool)
        finally:
            await close_pool(pool)
        return await body(url)
    finally:
        await drop_database(server, url)


def server_url() -> str | None:
    return os.environ.get("TRADEBOT_BENCH_DATABASE_URL") or os.environ.get("TRADEBOT_TEST_DATABASE_URL")


def run(quick: bool = False) -> Section:
    server = server_url()
    if server is None:
        return Section(
            "bars into Postgres",
            ["\n## bars into Postgres: skipped (set TRADEBOT_BENCH_DATABASE_URL to a Postgres server URL)"],
        )

    rows = 100_000 if quick else 1_000_000
    return asyncio.run(on_scratch_database(server, lambda url: _run(url, rows, 3)))
