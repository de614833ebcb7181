"""kill -9 of a process trading three accounts (`[[accounts]]`) in the middle of a paper session, fills
on every account while it is dead, a restart: each account ends consistent with the broker (every
missed fill stored once, its entry OCO done, its open job run once) and nothing is placed twice.

The process is `tradebot --config FILE run --paper --sim-url ... --clock-start ...`, against the
simulator in this test process, on the test database (as tests/integration/engine/test_restart.py).
"""

from __future__ import annotations

import json
import signal
from datetime import timedelta
from pathlib import Path

from tests.integration.engine.test_restart import TAGS, start_engine, stop, wait_for
from tests.support.engine_harness import DAY, SimDay, sim_day
from tests.support.processes import run_command
from trading.store import Store

NAMES = ("PRAC-V2-SIM-1", "PRAC-V2-SIM-2", "PRAC-V2-SIM-3")
SIZES = (1, 2, 3)
CONFIG = """
[[accounts]]
name = "PRAC-V2-SIM-1"
strategies = ["overnight_range"]

[[accounts]]
name = "PRAC-V2-SIM-2"
strategies = ["overnight_range"]
multiplier = 2

[[accounts]]
name = "PRAC-V2-SIM-3"
strategies = ["overnight_range"]
contracts = 3
"""
LONG = "overnight_range:MNQ:long:2026-02-10"
SHORT = "overnight_range:MNQ:short:2026-02-10"


def tagged(day: SimDay, account_id: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for o in day.sim.exchange.orders.values():
        if o.account_id == account_id and o.custom_tag:
            out.setdefault(o.custom_tag, []).append(o.id)
    return out


async def test_kill_9_of_three_accounts_then_restart_leaves_each_consistent_with_the_broker(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "engine.log"
    config = tmp_path / "accounts.toml"
    config.write_text(CONFIG)
    start = DAY.rth_open
    async with sim_day(start) as day:
        ids = [day.sim.account_id, day.sim.add_account(NAMES[1]).id, day.sim.add_account(NAMES[2]).id]
        scoped = [store.for_account(i) for i in ids]
        await day.preload(store)

        async def entries_placed() -> bool:
            for account_id, own in zip(ids, scoped, strict=True):
                n = await store.db.fetchval(
                    "SELECT count(*) FROM orders WHERE custom_tag = ANY($1::text[]) AND broker_order_id IS NOT NULL "
                    "AND account_id = $2",
                    TAGS,
                    account_id,
                )
                state = await own.strategy_state.for_day("overnight_range", DAY.date)
                sides = [
                    s["status"] for sym in state.get("*", {}).get("symbols", {}).values() for s in sym["sides"].values()
                ]
                if int(n) != 4 or sides.count("working") != 4:
                    return False
            return True

        first = start_engine(day, database_url, start, 1.0, log, config)
        try:
            await wait_for("the four entries on each account", entries_placed, first, log)
            # `tradebot status` shows every account the process runs.
            code, out, err = await run_command("trading.cli", "status", "--json", TRADEBOT_DATABASE__URL=database_url)
            assert code == 0, err
            shown = json.loads(out)
            assert [(s["account_id"], s["account_name"]) for s in shown] == list(zip(ids, NAMES, strict=True))
            code, out, err = await run_command(
                "trading.cli", "status", "--json", "--account", NAMES[1].lower(), TRADEBOT_DATABASE__URL=database_url
            )
            assert code == 0, err
            assert json.loads(out)["account_id"] == ids[1]
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL

        # While it is dead: the long MNQ entry fills on every account (and its bracket goes live).
        long_ids = [tagged(day, i)[LONG][0] for i in ids]
        level = day.sim.exchange.orders[long_ids[0]].stop_price
        assert level is not None
        await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=2))
        missed = [next(f for f in day.sim.exchange.fills if f.order_id == oid) for oid in long_ids]
        assert [f.size for f in missed] == list(SIZES)
        for f in missed:
            assert await store.fills.get(f.id) is None  # nobody saw them

        async def recovered() -> bool:
            for account_id, fill in zip(ids, missed, strict=True):
                if await store.fills.get(fill.id) is None:
                    return False
                if day.sim.exchange.orders[tagged(day, account_id)[SHORT][0]].status.name != "CANCELLED":
                    return False
                done = await store.db.fetchval(
                    "SELECT outcome FROM job_runs WHERE job = 'open' AND account_id = $1", account_id
                )
                if done is None:
                    return False
            return True

        second = start_engine(day, database_url, DAY.rth_open + timedelta(minutes=3), 1.0, log, config)
        try:
            await wait_for("each account's missed fill, entry OCO and open job", recovered, second, log)
        finally:
            await stop(second)

        for account_id, own, fill, size in zip(ids, scoped, missed, SIZES, strict=True):
            # one order per tag at the broker, sized by the account's rule; one fill stored; the open job once
            by_tag = tagged(day, account_id)
            assert {tag: len(by_tag[tag]) for tag in TAGS} == dict.fromkeys(TAGS, 1)
            assert {day.sim.exchange.orders[by_tag[tag][0]].size for tag in TAGS} == {size}
            assert len(await store.fills.for_order(fill.order_id)) == 1
            runs = await store.db.fetch(
                "SELECT outcome FROM job_runs WHERE job = 'open' AND account_id = $1", account_id
            )
            assert [r["outcome"] for r in runs] == ["ok"]
            state = await own.strategy_state.for_day("overnight_range", DAY.date)
            assert state["*"]["symbols"]["MNQ"]["sides"]["buy"]["status"] == "filled"
            # The store agrees with the broker: the account's fills and its position.
            broker_fills = sorted(f.id for f in day.sim.exchange.fills if f.account_id == account_id)
            stored = await store.fills.between(account_id, DAY.window_start, DAY.rth_open + timedelta(days=1))
            assert sorted(f.id for f in stored) == broker_fills
            assert day.sim.exchange.positions[(account_id, day.cid("MNQ"))].net == size


async def test_a_second_process_is_the_hot_standby_of_each_account_and_takes_each_over(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    """Two processes with the same [[accounts]]: the second waits as the standby of every account (each
    its own lease); after a kill -9 of the first it takes over each account, and a fill that came while
    nobody traded is stored once per account, with nothing placed twice."""
    config = tmp_path / "accounts.toml"
    config.write_text(CONFIG)
    primary_log, standby_log = tmp_path / "primary.log", tmp_path / "standby.log"
    async with sim_day(DAY.rth_open) as day:
        ids = [day.sim.account_id, day.sim.add_account(NAMES[1]).id, day.sim.add_account(NAMES[2]).id]
        await day.preload(store)

        async def opened() -> bool:
            return all(set(tagged(day, account_id)) >= set(TAGS) for account_id in ids)

        async def roles(pid: int, role: str) -> bool:
            rows = await store.control.instances(fresh_s=15.0)
            return {r.account_id for r in rows if r.pid == pid and r.role == role} == set(ids)

        primary = start_engine(day, database_url, DAY.rth_open, 1.0, primary_log, config)
        standby = None
        try:
            await wait_for("the primary's entries on each account", opened, primary, primary_log)
            standby = start_engine(day, database_url, DAY.rth_open + timedelta(minutes=1), 1.0, standby_log, config)
            await wait_for("the standby of every account", lambda: roles(standby.pid, "standby"), standby, standby_log)
            primary.send_signal(signal.SIGKILL)
            primary.wait(timeout=10)
            long_ids = [tagged(day, i)[LONG][0] for i in ids]
            level = day.sim.exchange.orders[long_ids[0]].stop_price
            assert level is not None
            await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=2))
            missed = [next(f for f in day.sim.exchange.fills if f.order_id == oid) for oid in long_ids]
            await wait_for(
                "the standby active on every account", lambda: roles(standby.pid, "active"), standby, standby_log
            )

            async def recovered() -> bool:
                return all([await store.fills.get(f.id) is not None for f in missed])

            await wait_for("each account's fill after the takeover", recovered, standby, standby_log)
        finally:
            if primary.poll() is None:
                primary.kill()
                primary.wait()
            if standby is not None:
                await stop(standby)
        for account_id in ids:
            by_tag = tagged(day, account_id)
            assert {tag: len(by_tag[tag]) for tag in TAGS} == dict.fromkeys(TAGS, 1)
        for f in missed:
            assert len(await store.fills.for_order(f.order_id)) == 1
