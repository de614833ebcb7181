"""`tradebot demo` with copy mode (what `make demo` runs): a leader and two followers at 1x and 2x its
size; the followers' fills match the leader's, their notifications name them."""

from __future__ import annotations

from pathlib import Path

from trading.config import Settings
from trading.demo.day import run_demo
from trading.store import Store, close_pool, create_pool


async def test_the_demo_day_with_a_leader_and_two_followers(empty_database_url: str, tmp_path: Path) -> None:
    lines: list[str] = []
    await run_demo(Settings(), tmp_path, database_url=empty_database_url, write=lines.append, followers=2)
    assert "copy mode: PRAC-V2-SIM-1 leads PRAC-V2-SIM-2 (x1), PRAC-V2-SIM-3 (x2)" in lines
    assert "copy mode: PRAC-V2-SIM-2 2 fills match the leader's 2 (sizes x1)" in lines, lines[-12:]
    assert "copy mode: PRAC-V2-SIM-3 2 fills match the leader's 2 (sizes x2)" in lines, lines[-12:]
    assert any(line.startswith("  [fills] [PRAC-V2-SIM-3] fill MNQ buy 2") for line in lines), lines
    pool = await create_pool(empty_database_url)
    try:
        store = Store(pool)
        sizes = await store.db.fetch("SELECT account_id, sum(size) AS n FROM fills GROUP BY account_id ORDER BY 1")
        assert [int(r["n"]) for r in sizes] == [2, 2, 4]
    finally:
        await close_pool(pool)
