"""The simulated market: seeded random walk (reproducible, CME sessions), warm-up history, replay of
one-minute bars driven by the project's SimClock, served back by History/retrieveBars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.sim.test_support import call, client
from trading.clock import SimClock
from trading.config import SimSettings
from trading.domain import Bar
from trading.projectx import schema as s
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.sim.timebase import cme_equity_open

MONDAY_10_ET = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)  # Monday 10:00 New York (EST)
SATURDAY = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        (datetime(2026, 1, 5, 15, 0), True),  # Monday 10:00 ET
        (datetime(2026, 1, 5, 22, 30), False),  # Monday 17:30 ET: daily halt
        (datetime(2026, 1, 5, 23, 0), True),  # Monday 18:00 ET: reopen
        (datetime(2026, 1, 9, 21, 59), True),  # Friday 16:59 ET
        (datetime(2026, 1, 9, 22, 0), False),  # Friday 17:00 ET: weekend
        (datetime(2026, 1, 10, 15, 0), False),  # Saturday
        (datetime(2026, 1, 11, 22, 59), False),  # Sunday 17:59 ET
        (datetime(2026, 1, 11, 23, 0), True),  # Sunday 18:00 ET
        (datetime(2026, 7, 6, 21, 30), False),  # Monday 17:30 EDT
        (datetime(2026, 7, 6, 22, 0), True),  # Monday 18:00 EDT
    ],
)
def test_cme_sessions(utc: datetime, open_: bool) -> None:
    assert cme_equity_open(utc.replace(tzinfo=UTC)) is open_


def bars_body(cid: str, start: datetime, end: datetime, limit: int = 20_000) -> dict[str, Any]:
    return {"contractId": cid, "live": False, "startTime": start.isoformat(), "endTime": end.isoformat(),
            "unit": 2, "unitNumber": 1, "limit": limit, "includePartialBar": True}  # fmt: skip


async def random_bars(seed: int, clock: SimClock, steps: int) -> list[dict[str, Any]]:
    opts = SimOptions(market_mode="random", warmup_days=1)
    async with SimGateway(SimSettings(port=0, seed=seed), clock=clock, options=opts) as sim, client(sim) as http:
        for _ in range(steps):
            await clock.advance_and_settle(1.0)
        body = bars_body(sim.contract("MNQ"), clock.now() - timedelta(days=2), clock.now() + timedelta(minutes=1))
        bars: list[dict[str, Any]] = (await call(http, s.RETRIEVE_BARS, body))["bars"]
        return bars


async def test_random_walk_is_reproducible_by_seed_and_respects_sessions() -> None:
    a = await random_bars(7, SimClock(MONDAY_10_ET), 90)
    b = await random_bars(7, SimClock(MONDAY_10_ET), 90)
    c = await random_bars(8, SimClock(MONDAY_10_ET), 90)
    assert a == b and a != c
    # the warm-up day (Sunday 15:00 ET → Monday 10:00 ET) has bars only from the Sunday 18:00 ET open on
    times = [datetime.fromisoformat(bar["t"]) for bar in a]
    assert min(times) == datetime(2026, 1, 4, 23, 0, tzinfo=UTC)
    assert all(cme_equity_open(t) for t in times)
    live = [t for t in times if t >= MONDAY_10_ET]
    assert len(live) == 2  # 90 one-second prints span the 15:00 and 15:01 minutes
    for bar in a:
        assert bar["l"] <= min(bar["o"], bar["c"]) <= max(bar["o"], bar["c"]) <= bar["h"]
        assert (bar["h"] * 4) == int(bar["h"] * 4)  # on the 0.25 tick grid


async def test_random_walk_is_silent_when_the_market_is_closed() -> None:
    clock = SimClock(SATURDAY)
    async with SimGateway(SimSettings(port=0), clock=clock, options=SimOptions(market_mode="random")) as sim:
        for _ in range(5):
            await clock.advance_and_settle(1.0)
        assert sim.market.bars.minute_bars(sim.contract("MNQ"), 0, 2**40) == []


async def test_orders_outside_trading_hours_when_sessions_are_enforced() -> None:
    clock = SimClock(SATURDAY)
    opts = SimOptions(enforce_sessions=True, token_lifetime_s=30 * 86400)
    async with SimGateway(SimSettings(port=0), clock=clock, options=opts) as sim, client(sim) as http:
        body = {"accountId": sim.account_id, "contractId": sim.contract("MNQ"), "type": 2, "side": 0, "size": 1}
        r = await call(http, s.ORDER_PLACE, body)
        assert (r["success"], r["errorCode"]) == (False, s.PlaceOrderErrorCode.OUTSIDE_TRADING_HOURS)
        clock.set(MONDAY_10_ET + timedelta(days=7))
        assert (await call(http, s.ORDER_PLACE, body))["success"]


async def test_replay_rebuilds_the_bars_at_the_clock_pace(tmp_path: Any) -> None:
    start = MONDAY_10_ET
    source = [
        Bar("x", "1m", start, 21000.0, 21004.0, 20999.0, 21003.0, 40),
        Bar("x", "1m", start + timedelta(minutes=1), 21003.0, 21003.5, 20990.25, 20991.0, 12),
    ]
    csv = tmp_path / "bars.csv"
    csv.write_text("t,o,h,l,c,v\n" + f"{(start + timedelta(minutes=2)).isoformat()},20991,20995,20990,20994.75,8\n")
    clock = SimClock(start - timedelta(seconds=1))
    opts = SimOptions(market_mode="replay", replay_bars=source, replay_csv=str(csv))  # the MNQ front month
    async with SimGateway(SimSettings(port=0), clock=clock, options=opts) as sim, client(sim) as http:
        contract = sim.contract("MNQ")
        body = bars_body(contract, start, start + timedelta(hours=1))
        assert (await call(http, s.RETRIEVE_BARS, body))["bars"] == []
        for _ in range(4 * 3 + 1):
            await clock.advance_and_settle(15.0)
        bars = (await call(http, s.RETRIEVE_BARS, body))["bars"]
        assert [(b["o"], b["h"], b["l"], b["c"], b["v"]) for b in reversed(bars)] == [
            (21000, 21004, 20999, 21003, 40),
            (21003, 21003.5, 20990.25, 20991, 12),
            (20991, 20995, 20990, 20994.75, 8),
        ]
        assert sim.exchange.books[contract].last == 20994.75


async def test_random_walk_starts_a_new_session_at_the_reopen() -> None:
    clock = SimClock(datetime(2026, 1, 5, 22, 59, 58, tzinfo=UTC))  # Monday 17:59:58 ET, halted
    async with SimGateway(SimSettings(port=0), clock=clock, options=SimOptions(market_mode="random")) as sim:
        cid = sim.contract("MES")
        book = sim.exchange.books[cid]
        book.volume, before = 123, book.last
        for _ in range(4):
            await clock.advance_and_settle(1.0)
        assert book.prev_close == before and 0 < book.volume < 123  # volume restarted at 18:00
        assert book.open is not None and book.high is not None and book.low is not None


def history(sim: SimGateway, symbol: str, start: datetime, end: datetime) -> dict[int, tuple[Any, ...]]:
    """The bars of [start, end) as a client would get them (made on demand, as for retrieveBars)."""
    sim.market.ensure_history(sim.contract(symbol), start)
    bars = sim.market.bars.minute_bars(sim.contract(symbol), int(start.timestamp()), int(end.timestamp()))
    return {b.start: (b.o, b.h, b.low, b.c) for b in bars}


async def test_histories_made_at_different_times_agree_minute_for_minute() -> None:
    """Two simulators warmed up a day and a half apart (two `bars backfill --sim` runs) give the same bar
    for every minute they share: stitched together, the history has no seam and no spike."""
    first, later = MONDAY_10_ET, MONDAY_10_ET + timedelta(days=1, hours=12)
    opts = SimOptions(market_mode="manual")
    async with SimGateway(SimSettings(port=0), clock=SimClock(first), options=opts) as a:
        a.market.warm_up(3)
        old = history(a, "MES", first - timedelta(days=3), first)
    async with SimGateway(SimSettings(port=0), clock=SimClock(later), options=opts) as b:
        b.market.warm_up(3)
        new = history(b, "MES", later - timedelta(days=3), later)
    shared = old.keys() & new.keys()
    # made on demand: only what was asked for exists, and no more than the warm-up's days
    assert min(old) >= int((first - timedelta(days=3)).timestamp())
    assert len(shared) == 960 and all(old[t] == new[t] for t in shared)  # Sunday 18:00 to Monday 10:00 ET


async def test_a_micro_and_its_mini_trade_the_same_index() -> None:
    async with SimGateway(SimSettings(port=0), clock=SimClock(MONDAY_10_ET), options=SimOptions()) as sim:
        sim.market.warm_up(1)
        start = MONDAY_10_ET - timedelta(hours=2)
        assert history(sim, "MNQ", start, MONDAY_10_ET) == history(sim, "NQ", start, MONDAY_10_ET)
        assert history(sim, "MES", start, MONDAY_10_ET) == history(sim, "ES", start, MONDAY_10_ET)


async def test_the_live_market_fills_the_minutes_it_missed_and_prints_its_history() -> None:
    """The simulator's clock runs on while its warm-up is built (a paper engine starting at 09:20 found
    09:20-09:24 missing): the live loop writes the missed minutes from the path before it prints, and the
    bars its prints make are the path's bars."""
    clock = SimClock(MONDAY_10_ET)
    opts = SimOptions(market_mode="random", warmup_days=1, random_step_s=1.0)
    async with SimGateway(SimSettings(port=0), clock=clock, options=opts) as sim:
        clock.set(MONDAY_10_ET + timedelta(minutes=5))  # five minutes pass before the loop's next step
        for _ in range(61):
            await clock.advance_and_settle(1.0)
        bars = history(sim, "MNQ", MONDAY_10_ET - timedelta(minutes=30), MONDAY_10_ET + timedelta(minutes=6))
        expected = [int((MONDAY_10_ET + timedelta(minutes=k)).timestamp()) for k in range(-30, 6)]
        assert sorted(bars) == expected  # no hole
        cid = sim.contract("MNQ")
        live = MONDAY_10_ET + timedelta(minutes=5)  # printed second by second through the loop
        path = sim.market.path_bar(cid, live)
        assert bars[int(live.timestamp())] == (path.o, path.h, path.low, path.c)


async def test_history_is_made_when_first_asked_and_not_before_the_warm_up() -> None:
    """A month of warm-up costs nothing at start: the last day is made, older minutes when a
    retrieveBars first reaches them, never before the warm-up's first day."""
    clock = SimClock(MONDAY_10_ET)
    opts = SimOptions(market_mode="manual")
    async with SimGateway(SimSettings(port=0), clock=clock, options=opts) as sim, client(sim) as http:
        sim.market.warm_up(30)
        cid = sim.contract("MES")
        made = sim.market.bars.minute_bars(cid, 0, 2**40)
        assert 0 < len(made) <= 1440 and made[0].start >= int((MONDAY_10_ET - timedelta(days=1)).timestamp())
        body = bars_body(cid, MONDAY_10_ET - timedelta(days=60), MONDAY_10_ET)
        served = (await call(http, s.RETRIEVE_BARS, body))["bars"]
        assert len(served) == 20_000  # the request's limit: the most recent bars of what exists
        made = sim.market.bars.minute_bars(cid, 0, 2**40)
        oldest = datetime.fromtimestamp(made[0].start, UTC)
        # the floor (30 days back) is a Saturday: the first bar is the Sunday 18:00 ET reopen after it
        assert oldest == datetime(2025, 12, 7, 23, 0, tzinfo=UTC) and len(made) > 20_000
