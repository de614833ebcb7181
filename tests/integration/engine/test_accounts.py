"""Three accounts of one login in one process (`[[accounts]]`), on the simulator over HTTP and SignalR
and the real Postgres: each account's engine runs the day's open with its own size rule, its own job
run and strategy state under the same deterministic tags; a rule breach on one account (a Combine
close to its trailing floor) halts and flattens that account only; every account ends consistent with
the broker, and the notifications name the account."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, SimDay, accounts_on, sim_day
from trading.config import AccountSettings, EngineSettings, Settings
from trading.demo.day import UserEventCounter, barrier
from trading.domain import OrderRequest, OrderType, Side
from trading.engine import Engine
from trading.engine.jobs import Jobs, run_once
from trading.risk import KillMode
from trading.sim.state import WORKING
from trading.store import Store

A, B, C = "PRAC-V2-SIM-1", "PRAC-V2-SIM-2", "PRAC-V2-SIM-3"
STRATEGY = ("overnight_range",)
SETTINGS = Settings(
    engine=EngineSettings(heal_interval_s=0.05),
    accounts=(
        AccountSettings(name=A, strategies=STRATEGY),
        AccountSettings(name=B, strategies=STRATEGY, multiplier=Decimal(2)),
        # A Combine 50K (floor 48,000) that has lost nearly all its room: $30 above the floor.
        AccountSettings(name=C, strategies=STRATEGY, contracts=3, profile="tc_50k"),
    ),
)
C_BALANCE = Decimal("48030")
TAGS = [f"overnight_range:{s}:{side}:2026-02-10" for s in ("MES", "MNQ") for side in ("long", "short")]


def broker_position(day: SimDay, engine: Engine, cid: str) -> int:
    pos = day.sim.exchange.positions.get((engine.account_id, cid))
    return 0 if pos is None else pos.net


def broker_orders(day: SimDay, engine: Engine) -> dict[str, int]:
    """The account's strategy orders at the broker, by tag: their sizes."""
    return {
        o.custom_tag: o.size
        for o in day.sim.exchange.orders.values()
        if o.account_id == engine.account_id and o.custom_tag in TAGS
    }


async def caught_up(day: SimDay, engines: list[tuple[Engine, UserEventCounter]]) -> None:
    for engine, counter in engines:
        await barrier(engine, counter, None)


async def open_on_each(day: SimDay, engines: list[tuple[Engine, UserEventCounter]]) -> None:
    """The 09:30 open print (inside the range: no chase), then each account's open job, once; caught up."""
    for sym in ("MNQ", "MES"):
        await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
    for engine, counter in engines:
        await barrier(engine, counter, DAY.rth_open)
    for engine, _ in engines:
        run = await run_once(engine.store, day.clock, "open", DAY.rth_open, Jobs(engine).session("open", DAY))
        assert run == "ok", engine.account_name
    await caught_up(day, engines)


async def consistent(day: SimDay, store: Store, engine: Engine) -> None:
    """The engine, its store rows and the broker agree on the account."""
    report = await engine.reconcile()
    assert report.agrees, (engine.account_name, report)
    at_broker = {
        cid: p.net for (acc, cid), p in day.sim.exchange.positions.items() if acc == engine.account_id and p.net
    }
    ours = {cid: p.size * (1 if p.side.value == "long" else -1) for cid, p in engine.positions.items() if p.size}
    assert ours == at_broker, engine.account_name
    working = {
        o.id for o in day.sim.exchange.orders.values() if o.account_id == engine.account_id and o.status in WORKING
    }
    assert {i for i, o in engine.orders.items() if o.status.is_working} == working, engine.account_name
    broker_fills = sorted(f.id for f in day.sim.exchange.fills if f.account_id == engine.account_id)
    stored = await store.fills.between(engine.account_id, DAY.window_start, DAY.rth_open + timedelta(days=1))
    assert sorted(f.id for f in stored) == broker_fills, engine.account_name


async def test_three_accounts_trade_their_own_sizes_and_a_breach_halts_only_its_account(
    store: Store, database_url: str
) -> None:
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        day.sim.add_account(B)
        day.sim.add_account(C, balance=C_BALANCE)
        async with accounts_on(day, database_url, SETTINGS) as engines:
            (a, _), (b, _), (c, _) = engines
            assert [e.account_name for e, _ in engines] == [A, B, C]
            assert len({e.account_id for e, _ in engines}) == 3
            assert (a.risk.profile.id, c.risk.profile.id) == ("custom", "tc_50k")
            # Each account runs the open job once: its own job run, its own strategy state.
            await open_on_each(day, engines)
            # The same tags on three accounts, each sized by its account's rule (the strategy asks for 1).
            assert broker_orders(day, a) == dict.fromkeys(TAGS, 1)
            assert broker_orders(day, b) == dict.fromkeys(TAGS, 2)
            assert broker_orders(day, c) == dict.fromkeys(TAGS, 3)
            for engine, _ in engines:
                stored = await engine.store.orders.by_tag(TAGS[3])
                assert stored is not None and stored.account_id == engine.account_id
                state = await engine.store.strategy_state.for_day("overnight_range", DAY.date)
                assert state["*"]["symbols"]["MNQ"]["sides"]["buy"]["status"] == "working", engine.account_name

            # The MNQ long entries fill on all three accounts.
            cid = day.cid("MNQ")
            long_tag = "overnight_range:MNQ:long:2026-02-10"
            long_ids = {e.account_id: _tagged(day, e, long_tag)[0] for e, _ in engines}
            level = day.sim.exchange.orders[long_ids[a.account_id]].stop_price
            assert level is not None
            await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=2))
            await caught_up(day, engines)
            assert [broker_position(day, e, cid) for e, _ in engines] == [1, 2, 3]
            fill_price = day.sim.exchange.orders[long_ids[c.account_id]].filled_price
            assert fill_price is not None
            stops = [
                o.stop_price
                for o in day.sim.exchange.orders.values()
                if o.parent_id in long_ids.values() and o.type == 4 and o.stop_price is not None
            ]
            drop = fill_price - 6  # 3 MNQ x 6 points x $2 = $36 open loss on C: below its floor
            assert len(stops) == 3 and all(s < drop for s in stops), "the stop brackets must sit below the drop"

            # The market falls: C's equity goes under its trailing floor, C is halted and flattened.
            await day.sim.market.quote(cid, bid=drop - Decimal("0.25"), ask=drop + Decimal("0.25"))
            await day.trade("MNQ", drop, DAY.rth_open + timedelta(minutes=3))
            await eventually(lambda: c.risk.state.kill_mode is KillMode.HALTED, "C halted")
            await eventually(lambda: broker_position(day, c, cid) == 0, "C flattened at the broker")

            def c_has_no_working_orders() -> bool:
                return not any(
                    o.account_id == c.account_id and o.status in WORKING for o in day.sim.exchange.orders.values()
                )

            await eventually(c_has_no_working_orders, "C's orders cancelled")
            await caught_up(day, engines)
            assert "trailing max loss" in c.risk.state.kill_reason
            # A and B trade on: not halted, their positions and brackets in place.
            assert a.risk.state.kill_mode is KillMode.OFF and b.risk.state.kill_mode is KillMode.OFF
            assert [broker_position(day, e, cid) for e in (a, b)] == [1, 2]
            for e in (a, b):
                brackets = [
                    o
                    for o in day.sim.exchange.orders.values()
                    if o.parent_id == long_ids[e.account_id] and o.status in WORKING
                ]
                assert len(brackets) == 2, e.account_name
            refused = c.check_risk(OrderRequest(c.account_id, cid, Side.BUY, OrderType.MARKET, 1, "tb-c-again"))
            assert not refused.approved
            assert a.check_risk(OrderRequest(a.account_id, cid, Side.BUY, OrderType.MARKET, 1, "tb-a-again"))

            for engine, _ in engines:
                await consistent(day, store, engine)

            # The kill switch's notification names C, and only C had one.
            notes = await store.outbox.recent(300)
            kills = [m for m in notes if m.payload.get("title") == "Kill switch"]
            assert [m.payload.get("account") for m in kills] == [C]
            fills = [m for m in notes if m.kind.value == "entry_fill"]
            assert sorted(str(m.payload.get("account")) for m in fills) == sorted([A, B, C])


def _tagged(day: SimDay, engine: Engine, tag: str) -> list[int]:
    return [o.id for o in day.sim.exchange.orders.values() if o.account_id == engine.account_id and o.custom_tag == tag]
