"""Latency samples, written in batches by `trading.metrics`, read back for reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from trading.domain import LatencySample
from trading.store.executor import Executor

_COLUMNS = ("operation", "path", "nanos", "at", "ok", "extra")


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Percentiles of one (operation, path) over a window, in nanoseconds."""

    operation: str
    path: str
    count: int
    p50: int
    p95: int
    p99: int
    max: int


class LatencyRepository:
    def __init__(self, db: Executor) -> None:
        self._db = db

    async def insert_batch(self, samples: Sequence[LatencySample]) -> int:
        """Write samples by COPY (a report batch may hold thousands); returns how many."""
        if not samples:
            return 0
        records = [(s.operation, s.path, s.nanos, s.at, s.ok, s.extra) for s in samples]
        await self._db.copy_records_to_table("latency_samples", records=records, columns=_COLUMNS)
        return len(records)

    async def samples(
        self, operation: str | None = None, *, since: datetime | None = None, limit: int = 10_000
    ) -> list[LatencySample]:
        rows = await self._db.fetch(
            """
            SELECT * FROM latency_samples
            WHERE ($1::text IS NULL OR operation = $1) AND ($2::timestamptz IS NULL OR at >= $2)
            ORDER BY at, id LIMIT $3
            """,
            operation,
            since,
            limit,
        )
        return [LatencySample(r["operation"], r["path"], r["nanos"], r["at"], r["ok"], r["extra"]) for r in rows]

    async def stats(self, since: datetime | None = None, *, ok_only: bool = True) -> list[LatencyStats]:
        """p50/p95/p99/max per (operation, path) since `since` (nearest-rank percentiles), by operation."""
        rows = await self._db.fetch(
            """
            SELECT operation, path, count(*) AS n,
                   percentile_disc(0.50) WITHIN GROUP (ORDER BY nanos) AS p50,
                   percentile_disc(0.95) WITHIN GROUP (ORDER BY nanos) AS p95,
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY nanos) AS p99,
                   max(nanos) AS max
            FROM latency_samples
            WHERE ($1::timestamptz IS NULL OR at >= $1) AND (ok OR NOT $2)
            GROUP BY operation, path ORDER BY operation, path
            """,
            since,
            ok_only,
        )
        return [LatencyStats(r["operation"], r["path"], r["n"], r["p50"], r["p95"], r["p99"], r["max"]) for r in rows]
