"""OHLCV bars: bulk load by COPY, upsert of the forming bar, range reads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from trading.domain import Bar
from trading.store.executor import Executor, Record, connection

_COLUMNS = ("contract_id", "timeframe", "start", "open", "high", "low", "close", "volume")

_UPSERT = """
INSERT INTO bars (contract_id, timeframe, start, open, high, low, close, volume)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (contract_id, timeframe, start) DO UPDATE SET
    open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, volume = EXCLUDED.volume
"""


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
        """Load bars in bulk; a bar already stored (same contract, timeframe, start) is replaced.

        COPY into a temporary table, then one INSERT … ON CONFLICT: COPY alone cannot upsert, and a
        backfill overlapping stored bars must correct them rather than fail. Returns the rows written.
        """
        records = [_row(b) for b in bars]
        if not records:
            return 0
        async with connection(self._db) as conn, conn.transaction():
            await conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS bars_load (LIKE bars INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            await conn.copy_records_to_table("bars_load", records=records, columns=_COLUMNS)
            # DISTINCT ON: a batch holding the same bar twice keeps its last copy (ON CONFLICT would refuse it).
            status: str = await conn.execute(
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
        return int(status.rsplit(" ", 1)[-1])

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
