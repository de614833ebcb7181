"""Control without Discord (issue 11): `tradebot status|halt --reduce-only|resume|flatten` as real
processes against a real `tradebot run --paper --sim-url ...` (the simulator of this test process), on
the test database; then, with the engine stopped (SIGTERM: it says what stays open at the broker), the
same commands straight at the broker.
"""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

from tests.integration.engine.test_restart import TAGS, start_engine, stop, tail, wait_for
from tests.support.engine_harness import DAY, SimDay, sim_day
from tests.support.processes import run_command
from trading.config import SimSettings
from trading.projectx import schema as px
from trading.sim.gateway import SimGateway
from trading.store import Store
from trading.store.control import HOST
from trading.store.lease import AccountLease
from trading.store.risk_state import KillSwitch


async def tradebot(database_url: str, *argv: str) -> tuple[int, str, str]:
    """`tradebot ARGS` as a real process on the test database (awaited: the simulator here keeps serving)."""
    return await run_command("trading.cli", *argv, TRADEBOT_DATABASE__URL=database_url)


def working(day: SimDay) -> list[Any]:
    return [o for o in day.sim.exchange.orders.values() if o.working and o.account_id == day.sim.account_id]


def positions(day: SimDay) -> dict[str, int]:
    return {cid: p.net for (acc, cid), p in day.sim.exchange.positions.items() if acc == day.sim.account_id and p.net}


async def kill_switch(store: Store, account_id: int) -> KillSwitch:
    state = await store.risk_state.get(account_id)
    return KillSwitch.NONE if state is None else state.kill_switch


async def engine_with_entries(day: SimDay, store: Store, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    """`tradebot run --paper` from the open: once the open job has placed the four entries and the engine
    publishes its status."""
    await day.preload(store)
    engine = start_engine(day, database_url, DAY.rth_open, 1.0, log)

    async def entries() -> bool:
        return set(day.tagged()) >= set(TAGS) and bool(await store.control.instances(day.sim.account_id))

    try:
        await wait_for("the four entries and the engine's status", entries, engine, log)
    except BaseException:
        await stop(engine)
        raise
    return engine


async def fill_long_entry(day: SimDay) -> int:
    """The long MNQ entry fills: a position with its bracket. The entry's order id."""
    long_id = day.tagged()["overnight_range:MNQ:long:2026-02-10"][0]
    level = day.sim.exchange.orders[long_id].stop_price
    assert level is not None
    await day.trade("MNQ", level + 1)
    return long_id


async def test_status_halt_resume_flatten_on_a_running_engine_then_straight_at_the_broker(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "engine.log"
    async with sim_day(DAY.rth_open) as day:
        account = day.sim.account_id
        engine = await engine_with_entries(day, store, database_url, log)
        try:
            long_id = await fill_long_entry(day)
            mnq = day.cid("MNQ")

            async def published_position() -> bool:  # and the opposite entry's cancel: the status has settled
                rows = await store.control.instances(account)
                status = rows[0].status if rows else {}
                orders = {o["id"] for o in status.get("orders", [])}
                has_position = any(p["contract_id"] == mnq for p in status.get("positions", []))
                return has_position and orders == {o.id for o in working(day)}

            await wait_for("the engine's status with the MNQ position and its orders", published_position, engine, log)

            code, out, err = await tradebot(database_url, "status", "--json")
            assert code == 0, err
            status = json.loads(out)
            assert status["running"] is True and status["mode"] == "paper" and status["account_id"] == account
            assert status["instance"]["role"] == "active" and status["instance"]["pid"] == engine.pid
            assert status["standby"] == []
            assert status["hubs"]["user"] == "connected" and status["hubs"]["market"] == "connected"
            [pos] = status["positions"]
            assert (pos["symbol"], pos["side"], pos["size"]) == ("MNQ", "long", 1)
            assert pos["unrealized"] is not None
            broker_working = {o.id for o in working(day)}
            assert {o["id"] for o in status["orders"]} == broker_working  # the bracket legs and the MES entries
            assert any(o["bracket_of"] == long_id for o in status["orders"])
            assert status["risk"]["kill_switch"] == "none"
            assert [j["job"] for j in status["next_jobs"]][:1] == ["last_entry"]
            code, out, err = await tradebot(database_url, "status")
            assert code == 0, err
            assert "instance: " in out and f"pid {engine.pid}" in out and "New York" in out
            assert "MNQ long 1 @ " in out and "kill switch: off" in out

            # A second instance waits as standby: status lists it; stopped, its row goes.
            standby_log = tmp_path / "standby.log"
            standby = start_engine(day, database_url, DAY.rth_open + timedelta(minutes=1), 1.0, standby_log)
            try:

                async def standing_by() -> bool:
                    rows = await store.control.instances(account, fresh_s=15)
                    return any(r.role == "standby" and r.pid == standby.pid for r in rows)

                await wait_for("the standby", standing_by, standby, standby_log)
                code, out, err = await tradebot(database_url, "status")
                assert code == 0 and f"standby: {HOST} pid {standby.pid} (seen " in out, (code, out, err)
            finally:
                await stop(standby)
            assert [r.role for r in await store.control.instances(account)] == ["active"]

            # halt --reduce-only: the kill switch, nothing cancelled or closed
            code, out, err = await tradebot(database_url, "halt", "--reduce-only", "--reason", "CPI at 08:30")
            assert code == 0, err
            assert "reduce-only (CPI at 08:30)" in out and "running instance" in out
            assert await kill_switch(store, account) is KillSwitch.REDUCE_ONLY
            assert {o.id for o in working(day)} == broker_working and positions(day) == {mnq: 1}
            code, out, err = await tradebot(database_url, "halt", "--reduce-only")
            assert code == 2 and "already reduce-only" in err and out == "", (code, out, err)

            code, out, err = await tradebot(database_url, "resume")
            assert code == 0 and "resumed" in out, (code, out, err)
            assert await kill_switch(store, account) is KillSwitch.NONE
            code, out, err = await tradebot(database_url, "resume")
            assert code == 2 and "not halted" in err, (code, out, err)
            assert await kill_switch(store, account) is KillSwitch.NONE
        finally:
            await stop(engine)
            assert engine.returncode == 0, tail(log)

        # Stopped: it said what stays open at the broker and how to flatten.
        said = log.read_text()
        assert "open at the broker" in said and "position MNQ long 1" in said, said[-3000:]
        assert "the bracket orders stay working" in said
        assert f"tradebot flatten --paper --sim-url {day.sim.base_url}" in said
        assert working(day) and positions(day) == {mnq: 1}
        assert await store.control.instances(account) == []  # the instance's row went with it

        # No instance runs: status reads the broker; flatten acts straight on it.
        code, out, err = await tradebot(database_url, "status", "--sim-url", day.sim.base_url)
        assert code == 0, err
        assert "instance: none runs this account" in out and "MNQ long 1 @ " in out
        open_now = {o.id for o in working(day) if o.status is px.OrderStatus.OPEN}  # the legs of filled entries too
        code, out, err = await tradebot(database_url, "flatten", "--sim-url", day.sim.base_url, "--json")
        assert code == 0, err
        done = json.loads(out)
        assert done["via"].startswith("the broker") and len(done["flattened"]["closed"]) == 1
        assert set(done["flattened"]["cancelled"]) == open_now
        assert working(day) == [] and positions(day) == {}
        code, out, err = await tradebot(database_url, "flatten", "--sim-url", day.sim.base_url)
        assert code == 0 and "nothing to flatten" in out, (code, out, err)


async def test_a_running_engine_flattens_when_asked(store: Store, database_url: str, tmp_path: Path) -> None:
    """`tradebot flatten` and `tradebot halt` through the running instance: the simulator is flat after each."""
    log = tmp_path / "engine.log"
    async with sim_day(DAY.rth_open) as day:
        account = day.sim.account_id
        engine = await engine_with_entries(day, store, database_url, log)
        try:
            code, out, err = await tradebot(database_url, "flatten", "--reason", "end of test")
            assert code == 0, err
            assert "cancelled 4 order(s)" in out and "running instance" in out, out
            assert working(day) == []
            code, out, err = await tradebot(database_url, "halt", "--reason", "done for the day", "--json")
            assert code == 0, err
            halted = json.loads(out)
            assert halted["risk"]["kill_switch"] == "halted" and halted["flattened"]["cancelled"] == []
            assert await kill_switch(store, account) is KillSwitch.HALTED
            code, out, err = await tradebot(database_url, "halt")
            assert code == 2 and "already halted (done for the day)" in err, (code, out, err)
            code, out, err = await tradebot(database_url, "halt", "--reduce-only")
            assert code == 2 and "resume first" in err, (code, out, err)
        finally:
            await stop(engine)
            assert engine.returncode == 0, tail(log)
        assert "nothing stays open at the broker" in log.read_text()


async def test_with_no_instance_bad_requests_change_nothing(store: Store, database_url: str) -> None:
    """No instance runs: an unknown account, a paper account without its simulator, a resume that has
    nothing to resume are one line each and a non-zero exit; a request to an instance that never answers
    is withdrawn (never carried out later)."""
    async with SimGateway(SimSettings(port=0)) as sim:
        url = sim.base_url
        code, out, err = await tradebot(database_url, "flatten", "--sim-url", url, "--account", "999")
        assert code == 2 and out == "" and "No active account #999 on this login" in err, (code, out, err)
        code, out, err = await tradebot(database_url, "status", "--paper")
        assert code == 1 and "give --sim-url URL" in err, (code, out, err)
        code, out, err = await tradebot(database_url, "resume", "--sim-url", url)
        assert code == 2 and "Trading is not halted: nothing to resume" in err, (code, out, err)
        code, out, err = await tradebot(database_url, "halt", "--sim-url", url, "--reduce-only")
        assert code == 0 and "reduce-only" in out and "no instance runs" in out, (code, out, err)
        assert await kill_switch(store, sim.account_id) is KillSwitch.REDUCE_ONLY
        code, out, err = await tradebot(database_url, "status", "--sim-url", url)
        assert code == 0 and "kill switch: REDUCE_ONLY (reduce-only by an operator)" in out, (code, out, err)

        # Something holds the account's lease (a stuck instance) and never answers: withdrawn after --timeout.
        lease = AccountLease(store.db, sim.account_id)
        assert await lease.try_acquire()
        try:
            code, out, err = await tradebot(database_url, "resume", "--sim-url", url, "--timeout", "1")
        finally:
            await lease.release()
        assert code == 1 and "did not take the request within 1 s" in err and "nothing was done" in err, err
        [row] = await store.db.fetch("SELECT * FROM control_commands")
        assert row["verb"] == "resume" and row["picked_by"] == "withdrawn" and row["ok"] is False
        assert await store.control.take(sim.account_id) is None  # an instance starting now never carries it out
        assert await kill_switch(store, sim.account_id) is KillSwitch.REDUCE_ONLY
