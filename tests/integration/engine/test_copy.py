"""Copy mode on the simulator over HTTP and SignalR, real Postgres: a leader traded by its strategy and
by hand at the broker, two followers (one at the leader's size, one at twice it). The followers' fills
match the leader's (side, and size under their rule), their stops follow the leader's stops, a stop-out
is not exited twice, a follower's risk refusing is notified, a follower holding what the leader does
not is flattened with an alert, and the mirror latency is recorded as a latency stage."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, SimDay, accounts_on, copying, sim_day
from trading.config import AccountSettings, EngineSettings, Settings
from trading.demo.day import UserEventCounter, barrier
from trading.engine import Engine
from trading.engine.copy import MIRROR_STAGE, Copier
from trading.engine.jobs import Jobs, run_once
from trading.projectx import schema as s
from trading.risk import KillMode
from trading.sim.state import WORKING
from trading.store import Store

LEADER, SAME, DOUBLE = "PRAC-V2-SIM-1", "PRAC-V2-SIM-2", "PRAC-V2-SIM-3"
SETTINGS = Settings(
    engine=EngineSettings(heal_interval_s=0.05),
    accounts=(
        AccountSettings(name=LEADER, strategies=("overnight_range",)),
        AccountSettings(name=SAME, strategies=(), follow=LEADER),
        AccountSettings(name=DOUBLE, strategies=(), follow=LEADER, multiplier=Decimal(2)),
    ),
)
LONG = "overnight_range:MNQ:long:2026-02-10"


async def settle(engines: list[tuple[Engine, UserEventCounter]], copier: Copier) -> None:
    """The leader's events handled, the copier done with them, the followers' answers handled. (Three
    engines and a copier on a loaded machine: a longer liveness bound than one engine's barrier.)"""

    def caught_up(engine: Engine, counter: UserEventCounter) -> bool:
        return engine.events_seen >= counter.count and engine.idle

    leader, counter = engines[0]
    await eventually(lambda: caught_up(leader, counter), "the leader caught up")
    await eventually(lambda: copier.idle, "the copier idle")
    for engine, c in engines[1:]:
        await eventually(lambda e=engine, c=c: caught_up(e, c), f"{engine.account_name} caught up")


def fills(day: SimDay, engine: Engine) -> list[tuple[str, str, int]]:
    """The account's fills at the broker: (contract, side, size), in order."""
    return [
        (f.contract_id, "buy" if f.side == s.OrderSide.BID else "sell", f.size)
        for f in day.sim.exchange.fills
        if f.account_id == engine.account_id
    ]


def net(day: SimDay, engine: Engine, cid: str) -> int:
    pos = day.sim.exchange.positions.get((engine.account_id, cid))
    return 0 if pos is None else pos.net


def working_stops(day: SimDay, engine: Engine, cid: str) -> list[tuple[Decimal | None, int]]:
    return sorted(
        (o.stop_price, o.size)
        for o in day.sim.exchange.orders.values()
        if o.account_id == engine.account_id and o.contract_id == cid and o.status in WORKING and o.type == 4
    )


def by_hand(day: SimDay, engine: Engine, cid: str, side: int, size: int = 1) -> None:
    """A trader's market order straight at the broker (its platform), not through tradebot."""
    out = day.sim.exchange.place(
        s.PlaceOrderRequest(accountId=engine.account_id, contractId=cid, type=2, side=side, size=size)
    )
    assert out.ok, out


async def test_followers_match_the_leaders_fills_stops_refusals_and_divergence(store: Store, database_url: str) -> None:
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        day.sim.add_account(SAME)
        day.sim.add_account(DOUBLE)
        mnq, mes = day.cid("MNQ"), day.cid("MES")
        async with accounts_on(day, database_url, SETTINGS) as engines, copying(engines, SETTINGS) as copiers:
            [copier] = copiers
            (leader, _), (same, _), (double, _) = engines
            assert [f.engine for f in copier.followers] == [same, double]
            for sym in ("MNQ", "MES"):
                await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
            await barrier(leader, engines[0][1], DAY.rth_open)  # the followers run no strategy: no feed

            # The strategy's open on the leader: working entries there, nothing on the followers yet.
            run = await run_once(leader.store, day.clock, "open", DAY.rth_open, Jobs(leader).session("open", DAY))
            assert run == "ok"
            await settle(engines, copier)
            assert fills(day, same) == fills(day, double) == []

            # The leader's MNQ long entry fills: the followers buy, and twin its stop bracket.
            entry_id = next(o.id for o in day.sim.exchange.orders.values() if o.custom_tag == LONG)
            level = day.sim.exchange.orders[entry_id].stop_price
            assert level is not None
            await day.trade("MNQ", level + 1, DAY.rth_open + timedelta(minutes=2))
            await settle(engines, copier)
            assert [net(day, e, mnq) for e in (leader, same, double)] == [1, 1, 2]
            [(leader_stop, _)] = working_stops(day, leader, mnq)
            assert working_stops(day, same, mnq) == [(leader_stop, 1)]
            assert working_stops(day, double, mnq) == [(leader_stop, 2)]

            # Breakeven moves the leader's stop to its entry: the twins move with it.
            entry = day.sim.exchange.orders[entry_id].filled_price
            assert entry is not None
            at = DAY.rth_open + timedelta(minutes=3)
            await day.trade("MNQ", entry + 16, at)
            await barrier(leader, engines[0][1], at)
            await settle(engines, copier)
            assert working_stops(day, leader, mnq) == [(entry, 1)]
            assert working_stops(day, same, mnq) == [(entry, 1)]
            assert working_stops(day, double, mnq) == [(entry, 2)]

            # A trade by hand on the leader at the broker: in and out, mirrored.
            by_hand(day, leader, mes, side=0)
            await settle(engines, copier)
            assert [net(day, e, mes) for e in (leader, same, double)] == [1, 1, 2]
            by_hand(day, leader, mes, side=1)
            await settle(engines, copier)
            assert [net(day, e, mes) for e in (leader, same, double)] == [0, 0, 0]

            # The market falls through the breakeven stop: the leader and the twins stop out once each.
            await day.sim.market.quote(mnq, bid=entry - Decimal("1.25"), ask=entry - 1)
            await day.trade("MNQ", entry - 1, DAY.rth_open + timedelta(minutes=4))
            await settle(engines, copier)
            assert [net(day, e, mnq) for e in (leader, same, double)] == [0, 0, 0]

            # Up to here the followers' fills are the leader's: same order, same sides, their sizes.
            lead = fills(day, leader)
            assert fills(day, same) == lead
            assert fills(day, double) == [(cid, side, 2 * size) for cid, side, size in lead]

            # The double follower is halted: its risk refuses the next copy, and says so.
            double.risk.trip(KillMode.HALTED, "halted by an operator (test)", day.clock.now())
            by_hand(day, leader, mes, side=0)
            await settle(engines, copier)
            assert [net(day, e, mes) for e in (leader, same, double)] == [1, 1, 0]

            async def refusal_said() -> bool:
                notes = await store.outbox.recent(300)
                return any(
                    m.payload.get("title") == "Copy refused" and m.payload.get("account") == DOUBLE for m in notes
                )

            await eventually(refusal_said, "the refusal notified on the double follower")
            by_hand(day, leader, mes, side=1)
            await settle(engines, copier)
            assert [net(day, e, mes) for e in (leader, same, double)] == [0, 0, 0]

            # A position the leader does not have, bought by hand on a follower: flattened, alerted.
            by_hand(day, same, mes, side=0)
            await eventually(lambda: net(day, same, mes) == 0, "the follower flattened", within=30)

            async def divergence_said() -> bool:
                notes = await store.outbox.recent(300)
                return any(
                    m.payload.get("title") == "Copy divergence: follower flattened" and m.payload.get("account") == SAME
                    for m in notes
                )

            await eventually(divergence_said, "the divergence alert")

            # The mirror latency is a latency stage of the followers' order paths.
            for engine, _ in engines:
                await engine.metrics.flush()
            stages = {row.operation for row in await store.latency.stats()}
            assert MIRROR_STAGE in stages
