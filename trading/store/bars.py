"""OHLCV bars: bulk load by COPY, upsert of the forming bar, range reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

import asyncpg
import numpy as np

from trading.domain import Bar
from trading.store.bars_copy import F64, I64, PRICES, chunks, last_of_each
from trading.store.executor import Connection, Executor, Record, connection

_COLUMNS = ("contract_id", "timeframe", "start", "open", "high", "low", "close", "volume")

_UPSERT = """
INSERT INTO bars (contract_id, timeframe, start, open, high, low, close, volume)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (contract_id, timeframe, start) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume
"""


_DIFFERS = """(b.open, b.high, b.low, b.close, b.volume)
    IS DISTINCT FROM (s.open, s.high, s.low, s.close, s.volume)"""

_MERGE = f"""
MERGE INTO bars b USING bars_stage s
ON b.contract_id = s.contract_id AND b.timeframe = s.timeframe AND b.start = s.start
    AND b.contract_id = $1 AND b.timeframe = $2 AND b.start BETWEEN $3 AND $4
WHEN MATCHED AND {_DIFFERS} THEN
    UPDATE SET open = s.open, high = s.high, low = s.low, close = s.close, volume = s.volume
WHEN NOT MATCHED THEN
    INSERT (contract_id, timeframe, start, open, high, low, close, volume)
    VALUES (s.contract_id, s.timeframe, s.start, s.open, s.high, s.low, s.close, s.volume)
"""
# One hash join of the stage with the stored rows of the batch's range (the second ON line only narrows
# the scan of `bars` to that range: every staged row's stored twin lies in it). A stored row whose values
# are unchanged is skipped without a lock or a new row version: a backfill re-reading history writes
# nothing. INSERT … ON CONFLICT, which it replaced, locks every conflicting row (a WAL record each)
# before its WHERE. 1M rows, every one overlapping (load 5-7 on 2 cores): MERGE 47-50k rows/s changed,
# 203k unchanged; ON CONFLICT 33-42k and 77-99k; UPDATE … FROM + INSERT … WHERE NOT EXISTS 48k, 160k.
# A changed row costs a new row version; with `bars` at fillfactor 50 (migration 015) that version
# fits on the old one's page (a HOT update, no index entry): 1M changed rows 4.6 s against 27 s packed.

_MERGE_RACING = """
INSERT INTO bars (contract_id, timeframe, start, open, high, low, close, volume)
SELECT contract_id, timeframe, start, open, high, low, close, volume FROM bars_stage
ON CONFLICT (contract_id, timeframe, start) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume
WHERE (bars.open, bars.high, bars.low, bars.close, bars.volume)
    IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close, EXCLUDED.volume)
"""
# MERGE (Postgres 15) fails on the key when another writer stores one of the batch's new bars after
# the MERGE's snapshot; the batch is then merged row by row against the index, which waits for that
# writer and replaces its row.


def _work_mem(rows: int) -> str:
    """Enough for the MERGE's hash table (~90 bytes a row; hash_mem_multiplier 2) to stay in memory:
    at the default 4MB a 1M-row batch spilled to disk in batches."""
    return f"{min(1024, max(4, (rows * 64) >> 20))}MB"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _time(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)


async def _copy(
    conn: Connection, table: str, contract_id: str, timeframe: str, ts: I64, columns: tuple[F64, F64, F64, F64, F64]
) -> None:
    async def source() -> AsyncIterator[bytes]:
        for piece in chunks(contract_id, timeframe, ts, columns):
            yield piece

    await conn.copy_to_table(table, source=source(), columns=_COLUMNS, format="binary")


def _row(b: Bar) -> tuple[str, str, datetime, float, float, float, float, float]:
    return (b.contract_id, b.timeframe, b.start, b.open, b.high, b.low, b.close, b.volume)


def _bar(r: Record) -> Bar:
    return Bar(
        contract_id=r["contract_id"],
        timeframe=r["timeframe"],
        start=r["start"],
        open=r["open"],
        high=r["high"],
        low=r["low"],
        close=r["close"],
        volume=r["volume"],
    )


class BarRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def insert_many(self, bars: Iterable[Bar]) -> int:
        """Load bars in bulk; a bar already stored (same contract, timeframe, start) is replaced, and a
        batch holding the same bar twice keeps its last copy. Returns the rows written.

        Grouped by contract and timeframe into columns, then `insert_arrays` (one pass, no per-row SQL)."""
        groups: dict[tuple[str, str], list[Bar]] = {}
        for b in bars:
            groups.setdefault((b.contract_id, b.timeframe), []).append(b)
        written = 0
        for (contract_id, timeframe), group in groups.items():
            ts = np.fromiter(((b.start - _EPOCH) // _US * 1000 for b in group), np.int64, len(group))
            cols = [np.fromiter((getattr(b, f) for b in group), np.float64, len(group)) for f in PRICES]
            written += await self.insert_arrays(contract_id, timeframe, ts, *cols)
        return written

    async def insert_arrays(
        self, contract_id: str, timeframe: str, ts: I64, open: F64, high: F64, low: F64, close: F64, volume: F64
    ) -> int:
        """Load one contract's bars given as columns (`ts`: starts in ns since the epoch, UTC; a
        `BarArrays` unpacks into these). A bar already stored is replaced; a start given twice keeps its
        last copy. Returns the rows written (the distinct starts).

        When nothing is stored between the batch's first and last start (a new day, a first import), the
        rows go straight into `bars` by binary COPY: nothing to replace, so nothing to compare. Otherwise
        they are copied into a session-temporary table (unlogged, no index) and merged by one MERGE
        (changed rows updated, unchanged ones left alone, new ones inserted). A writer storing some of
        these bars between the check and the COPY makes the COPY fail on the key: its savepoint is
        rolled back and the batch takes the merge instead; one storing them during the MERGE sends the
        batch to INSERT … ON CONFLICT, which waits for that writer. Either way the batch's values win
        and it is written in one transaction."""
        columns = (open, high, low, close, volume)
        if any(len(c) != len(ts) for c in columns):
            raise ValueError("bar columns of different lengths")
        if len(ts) == 0:
            return 0
        keep = last_of_each(ts)
        if keep is not None:
            ts = ts[keep]
            columns = (open[keep], high[keep], low[keep], close[keep], volume[keep])
        first, last = _time(int(ts[0])), _time(int(ts[-1]))
        async with connection(self._db) as conn:
            stored = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM bars WHERE contract_id = $1 AND timeframe = $2"
                " AND start >= $3 AND start <= $4)",
                contract_id,
                timeframe,
                first,
                last,
            )
            if not stored:
                try:
                    async with conn.transaction():
                        await _copy(conn, "bars", contract_id, timeframe, ts, columns)
                    return len(ts)
                except asyncpg.UniqueViolationError:
                    pass  # stored meanwhile by another writer: merged below
            async with conn.transaction():
                await conn.execute("CREATE TEMP TABLE IF NOT EXISTS bars_stage (LIKE bars INCLUDING DEFAULTS)")
                await _copy(conn, "bars_stage", contract_id, timeframe, ts, columns)
                work_mem = await conn.fetchval("SELECT current_setting('work_mem')")
                await conn.execute(f"SET LOCAL work_mem = '{_work_mem(len(ts))}'")
                if conn.get_server_version().major < 15:  # no MERGE before Postgres 15: the row-by-row merge
                    await conn.execute(_MERGE_RACING)
                else:
                    try:
                        async with conn.transaction():
                            await conn.execute(_MERGE, contract_id, timeframe, first, last)
                    except asyncpg.UniqueViolationError:
                        await conn.execute(_MERGE_RACING)
                await conn.execute("SELECT set_config('work_mem', $1, true)", work_mem)
                # Emptied here, not ON COMMIT: inside a caller's transaction the next batch would see these rows.
                await conn.execute("TRUNCATE bars_stage")
        return len(ts)

    async def upsert(self, bar: Bar) -> None:
        """Write the forming bar (or correct a closed one): one row, replaced in place."""
        await self._db.execute(_UPSERT, *_row(bar))

    async def range(
        self, contract_id: str, timeframe: str, start: datetime, end: datetime, *, limit: int | None = None
    ) -> list[Bar]:
        """Bars with `start <= bar.start < end`, oldest first."""
        rows = await self._db.fetch(
            """
            SELECT * FROM bars
            WHERE contract_id = $1 AND timeframe = $2 AND start >= $3 AND start < $4
            ORDER BY start
            LIMIT $5
            """,
            contract_id,
            timeframe,
            start,
            end,
            limit,
        )
        return [_bar(r) for r in rows]

    async def range_of_symbol(self, symbol: str, timeframe: str, start: datetime, end: datetime) -> list[Bar]:
        """Bars of every contract month of a root symbol (MNQ: CON.F.US.MNQ.H25, .M25, ...; registered
        in `contracts`, active or expired) with `start <= bar.start < end`, by start then contract id.
        History survives a roll and an import stored under another month; `marketdata.continuous`
        picks one month per day."""
        rows = await self._db.fetch(
            """
            SELECT b.* FROM bars b
            JOIN contracts c ON c.id = b.contract_id
            WHERE split_part(c.symbol_id, '.', -1) = $1 AND b.timeframe = $2 AND b.start >= $3 AND b.start < $4
            ORDER BY b.start, b.contract_id
            """,
            symbol,
            timeframe,
            start,
            end,
        )
        return [_bar(r) for r in rows]

    async def latest(self, contract_id: str, timeframe: str) -> Bar | None:
        r = await self._db.fetchrow(
            "SELECT * FROM bars WHERE contract_id = $1 AND timeframe = $2 ORDER BY start DESC LIMIT 1",
            contract_id,
            timeframe,
        )
        return None if r is None else _bar(r)

    async def count(self, contract_id: str, timeframe: str) -> int:
        n: int = await self._db.fetchval(
            "SELECT count(*) FROM bars WHERE contract_id = $1 AND timeframe = $2", contract_id, timeframe
        )
        return n
