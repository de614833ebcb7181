"""A simulated trading day for engine tests: the simulator on a SimClock with weeks of seeded history
and the demo day's overnight already in its bar store, and an engine wired to it over the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from trading import native
from trading.calendar import trading_day
from trading.clock import SimClock
from trading.config import Settings, SimSettings
from trading.demo.day import UserEventCounter, barrier, seed_history
from trading.domain import Bar, to_decimal
from trading.engine import Engine
from trading.engine.copy import Copier, copiers_for, running
from trading.engine.jobs import Jobs, run_once
from trading.engine.setup import build_engine, close_engine, sim_gateway
from trading.sim.bars import MinuteBar
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.store import Store, close_pool, create_pool

DAY = trading_day(date(2026, 2, 10))


@dataclass
class SimDay:
    sim: SimGateway
    clock: SimClock
    bars: dict[str, list[Bar]]
    history: dict[str, list[Bar]]

    async def preload(self, store: Store) -> None:
        """The weeks before the day into the store (as earlier runs would have left them)."""
        for rows in self.history.values():
            await store.bars.insert_many(rows)

    def cid(self, symbol: str) -> str:
        return self.sim.contract(symbol)

    def tagged(self) -> dict[str, list[int]]:
        """Broker order ids by customTag (a tag placed twice would list two ids)."""
        out: dict[str, list[int]] = {}
        for o in self.sim.exchange.orders.values():
            if o.custom_tag:
                out.setdefault(o.custom_tag, []).append(o.id)
        return out

    async def trade(self, symbol: str, price: Decimal | str, at: datetime | None = None) -> None:
        when = at or self.clock.now()
        if when > self.clock.now():
            self.clock.set(when)
        await self.sim.market.trade(self.cid(symbol), str(price), 1, at=when)


@contextmanager
def rust_active(on: bool) -> Iterator[None]:
    """The Rust components (executor and streams) on or off for the engine built inside."""
    before = native.enabled()
    native.set_enabled(on)
    try:
        yield
    finally:
        native.set_enabled(before)


@asynccontextmanager
async def sim_day(at: datetime, seed: int = 7) -> AsyncIterator[SimDay]:
    clock = SimClock(DAY.window_start - timedelta(minutes=1))
    sim = SimGateway(SimSettings(port=0, seed=seed), clock=clock, options=SimOptions(token_lifetime_s=30 * 86400))
    await sim.start(port=0)
    try:
        past: dict[str, list[Bar]] = {}
        bars = seed_history(sim, DAY, seed, past)
        for sym, rows in bars.items():
            cid = sim.contract(sym)
            overnight = [b for b in rows if b.start < DAY.rth_open]
            for b in overnight:
                o, h, lo, c = (to_decimal(x) for x in (b.open, b.high, b.low, b.close))
                sim.market.bars.add_minute_bar(cid, MinuteBar(int(b.start.timestamp()), o, h, lo, c, 100))
            last = to_decimal(overnight[-1].close)
            book = sim.exchange.books[cid]
            book.last, book.bid, book.ask = last, last - Decimal("0.25"), last + Decimal("0.25")
        clock.set(at)
        yield SimDay(sim, clock, bars, past)
    finally:
        await sim.stop()


@asynccontextmanager
async def engine_on(
    day: SimDay, store: Store, settings: Settings | None = None, *, prefer_rust: bool = True
) -> AsyncIterator[tuple[Engine, UserEventCounter]]:
    engine = await build_engine(
        settings or Settings(),
        store,
        day.clock,
        sim_gateway(day.sim),
        strategies=["overnight_range"],
        prefer_rust=prefer_rust,
    )
    await day.preload(store)
    counter = UserEventCounter(engine.account_id)
    day.sim.exchange.sinks.append(counter)
    try:
        await engine.start()
        await barrier(engine, counter, None)
        yield engine, counter
    finally:
        day.sim.exchange.sinks.remove(counter)
        await close_engine(engine)


async def open_and_fill(day: SimDay, engine: Engine, counter: UserEventCounter) -> int:
    """The 09:30 open print, the open job (four entries placed), then a print through the MNQ long's
    stop level: that entry fills. Returns its broker order id once the engine has handled the fill."""
    for sym in ("MNQ", "MES"):
        await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
    await barrier(engine, counter, DAY.rth_open)
    outcome = await run_once(engine.store, day.clock, "open", DAY.rth_open, Jobs(engine).session("open", DAY))
    assert outcome == "ok", outcome
    await barrier(engine, counter, None)
    long_id = day.tagged()["overnight_range:MNQ:long:2026-02-10"][0]
    level = day.sim.exchange.orders[long_id].stop_price
    assert level is not None
    await day.trade("MNQ", level + 2, DAY.rth_open + timedelta(minutes=2))
    await barrier(engine, counter, None)
    return long_id


@asynccontextmanager
async def accounts_on(
    day: SimDay, database_url: str, settings: Settings, *, prefer_rust: bool = True
) -> AsyncIterator[list[tuple[Engine, UserEventCounter]]]:
    """One engine per `settings.accounts` table on the day's simulator (the accounts must exist there),
    each started and caught up, as `tradebot run` with `[[accounts]]` builds them: on a pool of its own,
    grown by a connection per account for the leases (trading/engine/accounts.py)."""
    pool = await create_pool(database_url, min_size=1, max_size=4 + len(settings.accounts))
    store = Store(pool)
    await day.preload(store)
    engines: list[tuple[Engine, UserEventCounter]] = []
    try:
        for plan in settings.accounts:
            engine = await build_engine(
                settings, store, day.clock, sim_gateway(day.sim), plan=plan, prefer_rust=prefer_rust
            )
            counter = UserEventCounter(engine.account_id)
            day.sim.exchange.sinks.append(counter)
            engines.append((engine, counter))
            await engine.start()
        for engine, counter in engines:
            await barrier(engine, counter, None)
        yield engines
    finally:
        for engine, counter in engines:
            day.sim.exchange.sinks.remove(counter)
            await close_engine(engine)
        await close_pool(pool)


@asynccontextmanager
async def copying(engines: list[tuple[Engine, UserEventCounter]], settings: Settings) -> AsyncIterator[list[Copier]]:
    """Copy mode over started engines, as `tradebot run` with `follow` in [[accounts]] runs it."""
    async with running(
        copiers_for({e.account_name.lower(): e for e, _ in engines}, list(settings.accounts))
    ) as copiers:
        yield copiers
