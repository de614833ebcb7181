"""The README's first hour: `tradebot run --paper` on a fresh, empty database trades at the open (it used
to say "15 of the 15 daily sessions needed for ATRD are missing", then "ATR5 unavailable" because
the simulator's history had a hole where its clock ran on during the warm-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from tests.integration.engine.test_restart import stop, wait_for
from trading.calendar import NY, trading_day
from trading.store.executor import Pool

DAY = trading_day(datetime(2026, 11, 30).date())  # a Monday


def spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def test_run_paper_on_an_empty_database_places_both_entries_at_the_open(
    database_url: str, pool: Pool, tmp_path: Path
) -> None:
    # `pool` first: the run's database emptied (and any lease an earlier test left held released), so the
    # run starts on an empty database whatever ran before it in the session.
    log = tmp_path / "run.log"
    env = {**os.environ, "TRADEBOT_DATABASE__URL": database_url, "TRADEBOT_APP__DATA_DIR": str(tmp_path)}
    # The simulated clock runs from the process's start, 30 simulated seconds per real one: the start-up
    # (imports, migrations on the empty database, the warm-up) must end before the 09:25 pre-open job.
    # From 09:15 that is 20 real seconds (from 09:23 it was 4, missed once on a loaded machine).
    start = datetime(2026, 11, 30, 9, 15, tzinfo=NY)
    cmd = [sys.executable, "-m", "trading.cli", "run", "--paper", "--clock-start", start.isoformat(), "--speed", "30"]
    proc = spawn(cmd, env, log)
    try:

        async def placed() -> bool:
            text = log.read_text()
            return all(
                f"Tag: overnight_range:{s}:{side}:{DAY.date}" in text
                for s in ("MNQ", "MES")
                for side in ("long", "short")
            )

        await wait_for("both entries of MNQ and MES placed at the open", placed, proc, log)
        text = log.read_text()
        assert "sessions needed for ATRD are missing" not in text and "ATR5 unavailable" not in text
        assert "No trade" not in text, text[-3000:]
        assert "next job: open at Mon 09:30 ET" in text and "job pre_open of Mon 09:25 ET: ok" in text
        assert "log file: " in text
    finally:
        await stop(proc)
