"""`tradebot demo` end to end, in-process on a fresh database: the rows a whole simulated day leaves."""

from __future__ import annotations

from pathlib import Path

from trading.config import Settings
from trading.demo.day import run_demo
from trading.store import Store, close_pool, create_pool

TAGS = [f"overnight_range:{s}:{side}:2026-02-10" for s in ("MES", "MNQ") for side in ("long", "short")]


async def test_the_demo_day_leaves_orders_fills_notifications_jobs_and_latency_in_postgres(
    empty_database_url: str, tmp_path: Path
) -> None:
    lines: list[str] = []
    result = await run_demo(Settings(), tmp_path, database_url=empty_database_url, write=lines.append)
    assert result.paths[-1] == "python" and len(result.paths) in (1, 2)
    assert empty_database_url not in result.database and "@" not in result.database  # no credentials
    assert [p.name for p in result.charts] == [
        "range-MES-2026-02-10.png",
        "range-MNQ-2026-02-10.png",
        "pnl-2026-02-10.png",
        "latency-2026-02-10.png",
    ]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in result.charts)
    assert "latency (order path)" in result.summary and "python" in result.summary
    pool = await create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        store = Store(pool)
        for tag in TAGS:  # both entries of both symbols, with brackets, placed once
            row = await store.orders.by_tag(tag)
            assert row is not None and row.id is not None
        bracket = await pool.fetchval(
            "SELECT count(*) FROM orders WHERE custom_tag = ANY($1::text[]) AND stop_loss_ticks < 0 "
            "AND take_profit_ticks > 0",
            [t for t in TAGS if ":long:" in t],
        )
        assert bracket == 2
        fills = await pool.fetch("SELECT side, pnl FROM fills ORDER BY ts_event")
        assert [f["side"] for f in fills] == ["buy", "sell"]  # the MNQ breakout and the flatten
        assert fills[0]["pnl"] is None and fills[1]["pnl"] > 0
        kinds = {r["kind"] for r in await pool.fetch("SELECT DISTINCT kind FROM notification_outbox")}
        assert {"strategy", "order", "entry_fill", "exit_fill", "summary"} <= kinds
        modified = await pool.fetchval("SELECT count(*) FROM notification_outbox WHERE payload->>'event' = 'modified'")
        assert modified == 1  # breakeven moved the stop once
        runs = await pool.fetch("SELECT job, outcome FROM job_runs ORDER BY scheduled_for")
        assert [(r["job"], r["outcome"]) for r in runs] == [
            ("pre_open", "ok"), ("open", "ok"), ("last_entry", "ok"), ("flatten", "ok"), ("summary", "ok")
        ]  # fmt: skip
        paths = {r["path"] for r in await pool.fetch("SELECT DISTINCT path FROM latency_samples")}
        assert paths == set(result.paths)
        bars = await pool.fetchval("SELECT count(*) FROM bars")
        assert bars > 15 * 1380  # the warm-up history the engine backfilled, both symbols
        pending = await pool.fetchval("SELECT count(*) FROM notification_outbox WHERE status <> 'sent'")
        assert pending == 0  # every notification was delivered to the console
    finally:
        await close_pool(pool)
    assert any("range card" in line for line in lines)
    assert any(line.startswith("database:") for line in lines)
