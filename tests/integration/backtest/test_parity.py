"""Backtest/paper parity: the same day (history, overnight, session) through `trading/backtest/runner.py` and
through the engine on the simulator (the same 1-minute bars replayed on a SimClock) gives the same
orders and the same fills.

The replay prints each bar inside itself only (open, then the two extremes in the order the bar's
direction implies, then the close) and, on the way between two of those prices, every working order
level the move crosses, with the book's bid and ask at the print: so a stop fills at its level, or at
the open when the bar opens beyond it, exactly as the backtest's fill conventions say.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from trading.backtest.bars_csv import arrays_from_bars
from trading.backtest.runner import BACKTEST_CONTRACTS, Backtest
from trading.config import Settings
from trading.demo.day import UserEventCounter, barrier
from trading.domain import Bar, to_decimal
from trading.engine import Engine
from trading.engine.jobs import Jobs, day_plan, run_once
from trading.store import Store
from trading.strategies.overnight_range import OvernightRange

SYMBOLS = ("MES", "MNQ")


def backtest_day(day: SimDay) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    bars = [Bar(sym, "1m", b.start, b.open, b.high, b.low, b.close, b.volume) for sym in SYMBOLS
            for b in day.history[sym] + day.bars[sym]]  # fmt: skip
    settings = Settings()
    bt = Backtest(
        lambda ctx: OvernightRange(OvernightRange.config_from(settings.strategies.overnight_range), ctx),
        arrays_from_bars(bars),
        contracts={s: BACKTEST_CONTRACTS[s] for s in SYMBOLS},
    )
    result = bt.run(DAY.date, DAY.date)
    placed = sorted(
        (o["customTag"], o["side"], o["type"], o["price"] and Decimal(o["price"]), o["qty"], o.get("sl_ticks"),
         o.get("tp_ticks"))
        for o in result.orders
        if o["action"] == "placed" and not o["customTag"].endswith((":sl", ":tp"))
    )  # fmt: skip
    fills = sorted(
        (f["symbol"], f["side"], Decimal(f["price"]), f["qty"], datetime.fromisoformat(f["time"]).replace(second=0))
        for f in result.fills
    )
    return placed, fills


def levels_between(day: SimDay, cid: str, a: Decimal, b: Decimal) -> list[Decimal]:
    """Working order prices strictly between a and b, in the order a move from a to b meets them."""
    out = set()
    for o in day.sim.exchange.orders.values():
        if o.contract_id != cid or o.status.name != "OPEN":
            continue
        for p in (o.stop_price, o.limit_price):
            if p is not None and min(a, b) < p < max(a, b):
                out.add(p)
    return sorted(out, reverse=b < a)


async def print_at(day: SimDay, cid: str, price: Decimal, at: datetime) -> None:
    book = day.sim.exchange.books[cid]
    book.bid = book.ask = price  # fills at the print: no spread in the backtest either
    if at > day.clock.now():
        day.clock.set(at)
    await day.sim.market.trade(cid, str(price), 1, at=at)


async def replay_day(day: SimDay, engine: Engine, counter: UserEventCounter, store: Store) -> None:
    jobs = Jobs(engine)
    plan = sorted(day_plan(DAY, Settings()), key=lambda o: o.at)
    rth = {sym: {b.start: b for b in day.bars[sym] if b.start >= DAY.rth_open} for sym in SYMBOLS}
    t = DAY.rth_open - timedelta(minutes=5)
    while plan:
        minute = [(sym, rth[sym][t]) for sym in SYMBOLS if t in rth[sym]]
        for sym, bar in minute:
            await print_at(day, day.cid(sym), to_decimal(bar.open), t)
        if t > day.clock.now():
            day.clock.set(t)
        await barrier(engine, counter, t if minute else None)
        while plan and plan[0].at <= t:
            occ = plan.pop(0)
            await run_once(store, day.clock, occ.job, occ.at, jobs.session(occ.job, DAY))
            await barrier(engine, counter, None)
        for sym, bar in minute:
            cid = day.cid(sym)
            o, h, lo, c = (to_decimal(x) for x in (bar.open, bar.high, bar.low, bar.close))
            path = [o, lo, h, c] if c >= o else [o, h, lo, c]
            for i in range(1, 4):
                at = t + timedelta(seconds=15 * i)
                fills_before = len(day.sim.exchange.fills)
                for level in levels_between(day, cid, path[i - 1], path[i]):
                    await print_at(day, cid, level, at)
                    if len(day.sim.exchange.fills) != fills_before:  # let the strategy react (OCO)
                        await barrier(engine, counter, at)
                        fills_before = len(day.sim.exchange.fills)
                await print_at(day, cid, path[i], at)
                await barrier(engine, counter, at)
        t += timedelta(minutes=1)


def paper_result(day: SimDay, engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    orders = day.sim.exchange.orders
    placed = sorted(
        (o.custom_tag, "buy" if o.buy else "sell", {1: "limit", 2: "market", 4: "stop"}[int(o.type)],
         o.stop_price or o.limit_price, o.size, o.sl_ticks, o.tp_ticks)
        for o in orders.values()
        if o.custom_tag
    )  # fmt: skip
    symbol_of = {day.cid(s): s for s in SYMBOLS}
    fills = sorted(
        (symbol_of[f.contract_id], "buy" if int(f.side) == 0 else "sell", f.price, f.size,
         f.created.replace(second=0, microsecond=0))
        for f in day.sim.exchange.fills
    )  # fmt: skip
    return placed, fills


@pytest.mark.parametrize("impl", ["python", "rust"])
async def test_backtest_and_paper_give_the_same_orders_and_fills(store: Store, impl: str) -> None:
    """Paper runs the strategy's `impl` (the Rust one in the live engine, over the simulator's hubs);
    the backtest runs the Python one: same orders, same fills."""
    settings = Settings(strategies={"overnight_range": {"impl": impl}})
    async with (
        sim_day(DAY.rth_open - timedelta(minutes=6)) as day,
        engine_on(day, store, settings) as (engine, counter),
    ):
        assert type(engine.strategies["overnight_range"]).__name__ == (
            "RustOvernightRange" if impl == "rust" else "OvernightRange"
        )
        await replay_day(day, engine, counter, store)
        paper_placed, paper_fills = paper_result(day, engine)
    bt_placed, bt_fills = backtest_day(day)
    assert len(bt_placed) == 5 and len(bt_fills) == 2  # four entries and the flatten; entry and exit
    assert paper_placed == bt_placed
    assert paper_fills == bt_fills
