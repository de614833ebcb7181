"""Several accounts in one process (`[[accounts]]`): what each extra account costs, and copy mode's
mirror latency.

- cost: `tradebot run --paper --sim-url` with 1, 5 and 20 accounts (each running overnight_range on
  MNQ and MES) against a simulator with a random market in this process; once every account's
  engine runs, the child's CPU (utime + stime from /proc over a steady window) and resident memory.
  The per-account figure is the slope from 1 to the largest count.
- mirror: a leader and one follower in this process (copy mode), the leader traded by hand at the
  simulator (market orders, alternately buy and sell); the latency from the simulator emitting the
  leader's fill on the user hub to the follower's copy order reaching the simulator's REST handler,
  over the wire both ways: on the Rust path (Rust hub client and executor) and the Python path
  (signalrcore and httpx), same run, interleaved by block.

Needs a Postgres server: TRADEBOT_TEST_DATABASE_URL or TRADEBOT_DATABASE__URL (a scratch database is
created on it and dropped at the end).
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import time as dtime
from pathlib import Path
from typing import Any

from bench.bars_pg import server_url
from bench.stats import fmt, pct
from trading import native
from trading.clock import LiveClock
from trading.config import (
    AccountSettings,
    DatabaseSettings,
    ProtectionSettings,
    RiskSettings,
    Settings,
    SimSettings,
)
from trading.engine.copy import Copier, running
from trading.engine.core import Engine
from trading.engine.setup import build_engine, close_engine, sim_gateway
from trading.projectx import schema as s
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.store import Store, close_pool, create_pool, migrate
from trading.store.admin import create_database, drop_database

COUNTS = (1, 5, 20)
READY_S = 600.0  # liveness bound on a child's start-up


def _server_url() -> str:
    url = server_url()
    if not url:
        raise SystemExit("bench accounts: set TRADEBOT_BENCH_DATABASE_URL (or TRADEBOT_TEST_DATABASE_URL) to a server")
    return url


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# ------------------------------------------------------------------ cost per account
async def _cost(n: int, window_s: float, server: str) -> tuple[float, float, float]:
    """(start-up s, CPU % over the window, RSS MB) of one process running `n` accounts."""
    names = [f"PRAC-V2-SIM-{i + 1}" for i in range(n)]
    db = await create_database(server, "tradebot_bench")
    sim = SimGateway(
        SimSettings(port=0, extra_accounts=tuple(names[1:])),
        options=SimOptions(market_mode="random", warmup_days=3, token_lifetime_s=86400),
    )
    await sim.start(port=0)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "accounts.toml"
        config.write_text(
            "".join(f'[[accounts]]\nname = "{name}"\nstrategies = ["overnight_range"]\n\n' for name in names)
        )
        env = {
            **os.environ,
            "TRADEBOT_DATABASE__URL": db,
            "TRADEBOT_APP__DATA_DIR": tmp,
            "TRADEBOT_APP__LOG_LEVEL": "ERROR",
        }
        cmd = [
            sys.executable,
            "-m",
            "trading.cli",
            "--config",
            str(config),
            "run",
            "--paper",
            "--sim-url",
            sim.base_url,
        ]
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *cmd, env=env, stdout=asyncio.subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            assert proc.stdout is not None
            running_ = 0
            while running_ < n:
                line = (await asyncio.wait_for(proc.stdout.readline(), READY_S)).decode()
                if not line:
                    raise RuntimeError(f"the {n}-account process ended before every account ran")
                running_ += "engine running" in line
            startup = time.monotonic() - t0
            drain = asyncio.create_task(_drain(proc.stdout))
            await asyncio.sleep(2.0)  # the first bars and quotes settle
            c0, w0 = _cpu_s(proc.pid), time.monotonic()
            await asyncio.sleep(window_s)
            cpu = (_cpu_s(proc.pid) - c0) / (time.monotonic() - w0) * 100
            rss = _rss_mb(proc.pid)
            drain.cancel()
            return startup, cpu, rss
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 60)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            await sim.stop()
            await drop_database(server, db)


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.readline():
        pass


# ------------------------------------------------------------------ mirror latency
class _Timing:
    """Wall-clock marks in the simulator: the leader's fill emitted, the follower's copy order received."""

    def __init__(self, leader_id: int) -> None:
        self.leader_id = leader_id
        self.emitted: dict[int, int] = {}  # leader fill id -> ns
        self.received: dict[int, int] = {}  # leader fill id -> ns

    def user_event(self, account_id: int, target: str, build: Callable[[], Any]) -> None:
        if account_id == self.leader_id and target == s.EVENT_USER_TRADE:
            self.emitted[build().id] = time.perf_counter_ns()


async def _mirror(path: str, trades: int, server: str) -> list[float]:
    native.set_enabled(path == "rust")
    db = await create_database(server, "tradebot_bench")
    pool = await create_pool(db, max_size=8)
    await migrate(pool)
    store = Store(pool)
    sim = SimGateway(SimSettings(port=0, extra_accounts=("FOLLOWER",)), options=SimOptions(token_lifetime_s=86400))
    await sim.start(port=0)
    cid = sim.contract("MNQ")
    await sim.market.quote(cid, "21000", "21000.25")
    await sim.market.trade(cid, "21000", 1)
    leader_plan = AccountSettings(name="PRAC-V2-SIM-1", strategies=())
    follower_plan = AccountSettings(name="FOLLOWER", strategies=(), follow="PRAC-V2-SIM-1")
    settings = Settings(  # any hour of the day: the bench runs on the wall clock
        accounts=(leader_plan, follower_plan),
        risk=RiskSettings(trading_start=dtime(0, 0), trading_end=dtime(23, 59, 59)),
        # The leader is traded by hand without stops: its position guard would add stops (and the
        # follower twins of them) whenever a copy is slow; the bench measures the copy alone.
        protection=ProtectionSettings(enabled=False),
        database=DatabaseSettings(pool_max=8),
    )
    clock = LiveClock()
    gw = sim_gateway(sim)
    leader = await build_engine(settings, store, clock, gw, plan=leader_plan, prefer_rust=path == "rust")
    follower = await build_engine(settings, store, clock, gw, plan=follower_plan, prefer_rust=path == "rust")
    timing = _Timing(leader.account_id)
    sim.exchange.sinks.append(timing)
    place = sim.exchange.place

    def marked(req: s.PlaceOrderRequest) -> Any:
        if req.customTag and req.customTag.startswith("copy:"):
            timing.received[int(req.customTag.split(":")[1])] = time.perf_counter_ns()
        return place(req)

    sim.exchange.place = marked  # type: ignore[method-assign]
    out: list[float] = []
    try:
        await leader.start()
        await follower.start()
        copier = Copier(leader, [(follower, follower_plan)])
        async with running([copier]):
            for i in range(trades):
                before = len(timing.received)
                side = 0 if i % 2 == 0 else 1
                sim.exchange.place(
                    s.PlaceOrderRequest(accountId=leader.account_id, contractId=cid, type=2, side=side, size=1)
                )
                if not await _within(functools.partial(_more, timing.received, before), 10.0):
                    await _within(lambda: copier.idle, 10.0)  # refused by the follower (notified): no sample
                # One copy at a time: the follower has heard back about its order before the leader trades
                # again (else its risk counts a flood of unconfirmed orders as working and refuses).
                await _within(functools.partial(_settled, follower), 10.0)
        refused = [
            m.payload.get("text") for m in await store.outbox.recent(1000) if m.payload.get("title") == "Copy refused"
        ]
        if refused:
            print(f"({path}: {len(refused)} copies refused by the follower, e.g. {refused[0]})", flush=True)
        for fill_id, t1 in timing.received.items():
            t0 = timing.emitted.get(fill_id)
            if t0 is not None:
                out.append(float(t1 - t0))
        return out
    finally:
        await close_engine(follower)
        await close_engine(leader)
        await sim.stop()
        await close_pool(pool)
        await drop_database(server, db)
        native.set_enabled(True)


def _settled(engine: Engine) -> bool:
    return engine.idle and not any(o.status.is_working for o in engine.orders.values())


def _more(marks: dict[int, int], before: int) -> bool:
    return len(marks) > before


async def _within(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.0005)


# ------------------------------------------------------------------ the report
def run(quick: bool = False) -> str:
    return asyncio.run(_run(quick))


async def _run(quick: bool) -> str:
    server = _server_url()
    lines = ["\n## accounts in one process: cost per account (tradebot run --paper, overnight_range on MNQ+MES each)"]
    head = f"{'accounts':>8} {'start-up':>10} {'CPU %':>8} {'RSS MB':>8}"
    lines += [head, "-" * len(head)]
    window = 5.0 if quick else 20.0
    rows: dict[int, tuple[float, float, float]] = {}
    for n in (1, 5) if quick else COUNTS:
        rows[n] = await _cost(n, window, server)
        startup, cpu, rss = rows[n]
        lines.append(f"{n:>8} {startup:>9.1f}s {cpu:>8.1f} {rss:>8.1f}")
        print(lines[-1], flush=True)
    top = max(rows)
    if top > 1:
        per_cpu = (rows[top][1] - rows[1][1]) / (top - 1)
        per_rss = (rows[top][2] - rows[1][2]) / (top - 1)
        lines.append(f"per extra account (1 -> {top}): CPU {per_cpu:+.2f} % of a core, memory {per_rss:+.1f} MB")

    lines.append("\n## copy mode: mirror latency (leader fill on the user hub -> follower order at the broker)")
    head = f"{'path':<8} {'n':>6} {'p50':>10} {'p95':>10} {'p99':>10} {'max':>10}"
    lines += [head, "-" * len(head)]
    trades = 60 if quick else 300
    samples: dict[str, list[float]] = {"rust": [], "python": []}
    paths = ("rust", "python") if native.loaded() else ("python",)
    for _ in range(2 if quick else 3):  # interleaved blocks: machine noise hits both paths alike
        for path in paths:
            samples[path] += await _mirror(path, trades // 3 if not quick else trades // 2, server)
    for path in paths:
        xs = sorted(samples[path])
        lines.append(
            f"{path:<8} {len(xs):>6} {fmt(pct(xs, 0.5)):>10} {fmt(pct(xs, 0.95)):>10} {fmt(pct(xs, 0.99)):>10} "
            f"{fmt(xs[-1]):>10}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(run("--quick" in sys.argv[1:]))
