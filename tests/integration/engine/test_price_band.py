"""The price band through the engine on the simulator: a bad print of 1e15 in the overnight window makes
the strategy's long entry a stop at 1e15; risk refuses it with a readable reason and it never reaches
the broker, while the sane short entry is placed as usual."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from trading.config import Settings
from trading.demo.day import UserEventCounter, barrier
from trading.domain import NotificationKind
from trading.engine import Engine
from trading.engine.jobs import Jobs, run_once
from trading.sim.bars import MinuteBar
from trading.store import Store

pytestmark = pytest.mark.usefixtures("risk_impl")  # the engine with either risk check

ABSURD = Decimal("1e15")
LONG = "overnight_range:MNQ:long:2026-02-10"
SHORT = "overnight_range:MNQ:short:2026-02-10"


def bad_print(day: SimDay) -> str:
    """A high of 1e15 in one MNQ minute in the middle of the night; the MNQ contract id."""
    cid = day.cid("MNQ")
    bad = DAY.window_start + timedelta(hours=8)
    close = Decimal(str(next(b for b in day.bars["MNQ"] if b.start == bad).close))
    day.sim.market.bars.add_minute_bar(cid, MinuteBar(int(bad.timestamp()), close, ABSURD, close, close, 100))
    return cid


async def run_the_open(day: SimDay, store: Store, engine: Engine, counter: UserEventCounter) -> None:
    """Both symbols trade at their last price at 09:30, then the open job runs to its end."""
    for sym in ("MNQ", "MES"):
        await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
    await barrier(engine, counter, DAY.rth_open)
    jobs = Jobs(engine)
    assert await run_once(store, day.clock, "open", DAY.rth_open, jobs.session("open", DAY)) == "ok"
    await barrier(engine, counter, None)


def without_plausibility() -> Settings:
    """The strategy's own plausibility filter would block the whole day first (a 1e15 high is no range):
    off here, so the order reaches risk and the price band is what refuses it."""
    s = Settings()
    strategies = s.strategies.model_copy(
        update={"overnight_range": s.strategies.overnight_range.model_copy(update={"plausible_range_max": Decimal(0)})}
    )
    return s.model_copy(update={"strategies": strategies})


async def test_a_strategy_entry_at_an_absurd_price_never_reaches_the_broker(store: Store) -> None:
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        cid = bad_print(day)
        async with engine_on(day, store, without_plausibility()) as (engine, counter):
            last = day.sim.exchange.books[cid].last
            await run_the_open(day, store, engine, counter)

            placed = day.tagged()
            assert SHORT in placed and LONG not in placed
            assert all(o.stop_price is None or o.stop_price < ABSURD for o in day.sim.exchange.orders.values())
            assert await store.orders.by_tag(LONG) is None  # refused before any intent was written
            refusals = [m for m in await store.outbox.recent(100) if m.kind is NotificationKind.RISK]
            reasons = [str(m.payload.get("text", "")) for m in refusals if m.payload.get("custom_tag") == LONG]
            assert len(reasons) == 1
            assert "beyond the price band of 2000 ticks" in reasons[0] and f"the last trade {last}" in reasons[0]


async def test_with_plausibility_on_the_day_is_refused_as_bad_data(store: Store) -> None:
    """The default: the same bad print makes the overnight range implausible; neither MNQ entry is
    proposed, the day says why, and MES (clean data) trades as usual."""
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        bad_print(day)
        async with engine_on(day, store) as (engine, counter):
            await run_the_open(day, store, engine, counter)
            placed = day.tagged()
            assert SHORT not in placed and LONG not in placed
            assert "overnight_range:MES:long:2026-02-10" in placed
            cards = [m.payload for m in await store.outbox.recent(100) if m.payload.get("card") == "open"]
            mnq = next(c for c in cards if c.get("symbol") == "MNQ")
            assert str(mnq["blocked"]).startswith("implausible levels: the overnight range ")
