"""The README's first hour on a fresh database, as real processes in its order: `tradebot sim` (the
live-like default market), `tradebot run --paper --sim-url` against it until the engine is ready and says
its next job, a clean stop, `tradebot bars backfill --sim-url`, then `tradebot backtest` on that
history: no traceback anywhere, and the backtest prints its trades and results. (`make demo` is
tests/integration/demo; `run --paper` alone trading at the open is test_paper_out_of_the_box_e2e.)"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from tests.integration.engine.test_restart import stop, wait_for
from tests.support.processes import run_command
from trading.calendar import NY, previous_trading_day


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "trading.cli", *argv], env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)  # fmt: skip


async def test_the_first_hour_on_a_fresh_database(empty_database_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "TRADEBOT_DATABASE__URL": empty_database_url, "TRADEBOT_APP__DATA_DIR": str(tmp_path)}
    sim_log = tmp_path / "sim.log"
    sim = spawn(["sim", "--port", "0"], env, sim_log)
    try:

        async def serving() -> bool:
            return "market hub:" in sim_log.read_text()

        await wait_for("the simulator serving", serving, sim, sim_log)
        found = re.search(r"on (http://127\.0\.0\.1:\d+)", sim_log.read_text())
        assert found, sim_log.read_text()
        url = found[1]

        run_log = tmp_path / "run.log"
        engine = spawn(["run", "--paper", "--sim-url", url], env, run_log)
        try:

            async def ready() -> bool:
                return "ready" in run_log.read_text().splitlines() and "next job: " in run_log.read_text()

            await wait_for("the paper engine ready with its next job", ready, engine, run_log)
        finally:
            await stop(engine)
        said = run_log.read_text()
        assert "Traceback" not in said and "engine running (paper)" in said, said[-3000:]
        assert "nothing stays open at the broker" in said or "open at the broker" in said

        code, out, err = await run_command(
            "trading.cli", "bars", "backfill", "--symbol", "MNQ", "--days", "30", "--sim-url", url,
            TRADEBOT_DATABASE__URL=empty_database_url,
        )  # fmt: skip
        assert code == 0 and "Traceback" not in err, err
        assert "MNQ: stored " in out

        last = previous_trading_day(datetime.now(NY).date())
        first = last
        for _ in range(3):
            first = previous_trading_day(first)
        code, out, err = await run_command(
            "trading.cli", "backtest", "--symbol", "mnq", "--from", first.isoformat(), "--to", last.isoformat(),
            TRADEBOT_DATABASE__URL=empty_database_url,
        )  # fmt: skip
        assert code == 0 and "Traceback" not in err, err
        lines = out.splitlines()
        assert lines[0].startswith(f"overnight_range MNQ {first.isoformat()} to {last.isoformat()}: ")
        assert any(line.startswith("entry ET") or line == "no trades" for line in lines)
        assert any(line.startswith("total") for line in lines)
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(asyncio.to_thread(sim.wait), 30)
        except TimeoutError:
            sim.kill()
        assert "Traceback" not in sim_log.read_text()
