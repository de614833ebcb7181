"""`tradebot demo`: a whole trading day of the overnight-range strategy against the simulator, fast.

The simulator runs in-process on a `SimClock`, speaking the real wire protocol; the engine talks to
it exactly as it talks to TopstepX (REST, the order path, both SignalR hubs). The driver walks the
clock minute by minute from the 18:00 reopen to after the 16:15 summary, feeds each minute's prints
(open, high/low, low/high, close, 15 s apart) into the simulated market, and runs the same job
functions the live scheduler runs when their time comes. After each print that matters it waits
until the engine has seen everything the simulator sent (market time and user events), so the day
is the same every run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time as walltime
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from trading import charts, native
from trading.calendar import TradingDay, to_ny, trading_day
from trading.clock import SimClock
from trading.config import Settings, SimSettings
from trading.demo.database import open_demo_database
from trading.demo.followers import copy_mode
from trading.demo.market import demo_day, history
from trading.domain import Bar, NotificationKind, OrderRequest, OrderType, Side, money_text, tick_text, to_decimal
from trading.engine import Engine
from trading.engine.jobs import Jobs, day_plan, run_once
from trading.engine.order_path import OrderPath, python_path, rust_path
from trading.engine.setup import build_engine, close_engine, sim_gateway
from trading.projectx import schema
from trading.sim.bars import MinuteBar
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.store import Store

DEMO_DAY = date(2026, 2, 10)  # a plain Tuesday: no holiday, no DST change, no early close
HISTORY_DAYS = 22  # back to the 16th session before the demo day (ATRD needs 15 complete ones)
BARRIER_TIMEOUT_S = 10.0
LATENCY_BURST = 20
SYMBOLS = ("MNQ", "MES")


_USER_EVENTS = frozenset({schema.EVENT_USER_ORDER, schema.EVENT_USER_POSITION, schema.EVENT_USER_TRADE})


class UserEventCounter:
    """Counts the order/position/trade events the simulator emits for one account."""

    def __init__(self, account_id: int) -> None:
        self.account_id = account_id
        self.count = 0

    def user_event(self, account_id: int, target: str, payload: Any) -> None:
        if account_id == self.account_id and target in _USER_EVENTS:
            self.count += 1


@dataclass
class DemoResult:
    database: str
    charts: list[Path] = field(default_factory=list)
    summary: str = ""
    orders: int = 0
    fills: int = 0
    notifications: int = 0
    wall_s: float = 0.0
    paths: list[str] = field(default_factory=list)


async def barrier(engine: Engine, counter: UserEventCounter, market_at: datetime | None) -> None:
    """Wait until the engine has handled every user event the simulator sent and the market up to `market_at`."""
    deadline = walltime.monotonic() + BARRIER_TIMEOUT_S
    while True:
        market_ok = market_at is None or (engine.market_seen_at is not None and engine.market_seen_at >= market_at)
        if market_ok and engine.events_seen >= counter.count and engine.idle:
            await asyncio.sleep(0)
            if engine.events_seen >= counter.count and engine.idle:
                return
        if walltime.monotonic() > deadline:
            raise TimeoutError(
                f"the engine did not catch up with the simulator (user events {engine.events_seen}/{counter.count}, "
                f"market {engine.market_seen_at} < {market_at})"
            )
        await asyncio.sleep(0.0005)


class ConsolePrinter:
    """Headless delivery of the outbox: one line per message (the bot's notifier does this for Discord)."""

    def __init__(self, store: Store, write: Callable[[str], None]) -> None:
        self.store = store
        self.write = write
        self.delivered = 0

    async def deliver(self) -> None:
        while batch := await self.store.outbox.claim_batch(100):
            for m in batch:
                account = f"[{m.payload['account']}] " if m.payload.get("account") else ""
                self.write(f"  [{m.channel}] {account}{describe(m.kind, m.payload)}")
                await self.store.outbox.mark_sent(m.id)
                self.delivered += 1


def _price(value: Any, tick: Any) -> str:
    """A price on the contract's tick grid (20984.50, never 20984.5), as the Discord cards write it."""
    if value in (None, ""):
        return "—"
    try:
        return tick_text(Decimal(str(value)), Decimal(str(tick))) if tick else str(value)
    except (InvalidOperation, ValueError):
        return str(value)


def _points(value: Any) -> str:
    """A distance in points, two decimals (an ATR of 6.928571 reads 6.93)."""
    try:
        return f"{Decimal(str(value)):.2f}"
    except (InvalidOperation, ValueError):
        return "—"


def _money(value: Any) -> str:
    return money_text(Decimal(str(value)))


def describe(kind: NotificationKind, p: dict[str, Any]) -> str:
    """One console line per notification: the demo's compact log (the Discord cards carry the detail).
    Prices on the tick grid, times in New York, no Python reprs."""
    tick = p.get("tick_size")
    if kind is NotificationKind.STRATEGY and p.get("card") in ("range", "open"):
        lv = p.get("levels") or {}
        head = "range card (provisional)" if p.get("card") == "range" else "at the open"
        sides = p.get("sides") or {}
        entries = ", ".join(
            f"{'long' if v.get('side', k) == 'buy' else 'short'} {v.get('status')} @ {_price(v.get('level'), tick)}"
            for k, v in sides.items()
        )
        verdict = f"no trade: {p.get('blocked') or p.get('warmup')}" if p.get("blocked") or p.get("warmup") else entries
        return (
            f"{p.get('symbol')} {head}: ONH {_price(lv.get('onh'), tick)} ONL {_price(lv.get('onl'), tick)} "
            f"range {_points(lv.get('range'))} ATR5 {_points(lv.get('atr5'))} ATRD {_points(lv.get('atrd'))}; {verdict}"
        ).rstrip("; ")
    if kind in (NotificationKind.ENTRY_FILL, NotificationKind.EXIT_FILL):
        pnl = f", P&L {_money(p['pnl'])}" if p.get("pnl") is not None else ""
        return f"fill {p.get('symbol')} {p.get('side')} {p.get('size')} @ {_price(p.get('price'), tick)}{pnl}"
    if kind is NotificationKind.ORDER:
        stop, limit = p.get("stop_price"), p.get("limit_price")
        at = f" @ {_price(stop or limit, tick)}" if stop or limit else ""
        head = f"order {p.get('event')} #{p.get('order_id')} {p.get('symbol')} {p.get('side')} {p.get('size', '')}"
        return f"{head} {p.get('type')}{at} {p.get('custom_tag') or ''}".replace("  ", " ").strip()
    if kind is NotificationKind.SUMMARY and "text" in p:
        return str(p["text"])
    if kind is NotificationKind.SUMMARY and isinstance(p.get("symbols"), dict):
        parts = []
        for sym, sd in p["symbols"].items():
            sides = sd.get("sides") or {}
            done = ", ".join(
                f"{'long' if k == 'buy' else 'short'} {v.get('status')}"
                + (f" {v.get('fill_price')} -> {v.get('exit_price')}" if v.get("exit_price") else "")
                for k, v in sides.items()
            )
            parts.append(f"{sym}: {sd.get('blocked') or done or 'no entries'}")
        return f"{p.get('strategy')} day {p.get('date')}: " + "; ".join(parts)
    if "title" in p:
        return f"{p['title']}: {p.get('text') or p.get('chart') or ''}".rstrip(": ")
    if p.get("event") in ("entry_fill", "exit_fill"):
        # the side of a strategy fill is its entry's: an exit of a long sells
        direction = "long" if p.get("side") == "buy" else "short"
        what = f"{direction} entry filled" if p["event"] == "entry_fill" else f"{direction} closed"
        pnl = f", P&L {_money(p['pnl'])}" if p.get("pnl") is not None else ""
        return f"{p.get('strategy')} {p.get('symbol')} {what} @ {_price(p.get('price'), tick)}{pnl}"
    if p.get("event"):
        return f"{p.get('strategy')} {p['event']} {p.get('symbol', '')}".strip()
    return ", ".join(f"{k} {v}" for k, v in p.items() if k not in ("filters", "symbols", "notice"))[:300]


def seed_history(
    sim: SimGateway, day: TradingDay, seed: int, past_out: dict[str, list[Bar]] | None = None
) -> dict[str, list[Bar]]:
    """Weeks of history into the simulator's bar store; the demo day's bars (to be printed) returned
    (and the history itself in `past_out` when given)."""
    out: dict[str, list[Bar]] = {}
    for sym in SYMBOLS:
        cid = sim.contract(sym)
        past = history(sym, cid, day.window_start - timedelta(days=HISTORY_DAYS), day.window_start, seed)
        if past_out is not None:
            past_out[sym] = past
        for b in past:
            o, h, lo, c = (to_decimal(x) for x in (b.open, b.high, b.low, b.close))
            sim.market.bars.add_minute_bar(cid, MinuteBar(int(b.start.timestamp()), o, h, lo, c, int(b.volume)))
        last = to_decimal(past[-1].close)
        book = sim.exchange.books[cid]
        tick = Decimal("0.25")
        book.last, book.bid, book.ask, book.prev_close = last, last - tick, last + tick, last
        out[sym] = demo_day(sym, cid, day, past[-1].close, seed)
    return out


async def latency_burst(engine: Engine, sim: SimGateway, n: int) -> list[str]:
    """Place and cancel `n` far-away limit orders through each available path (both get samples)."""
    paths: list[OrderPath] = [python_path(engine.client, engine.metrics)]
    rust = await rust_path(engine.client, engine.metrics)
    if rust is not None:
        paths.insert(0, rust)
    c = engine.contracts["MES"]
    last = sim.exchange.books[c.id].last or Decimal(1000)
    for p in paths:
        for i in range(n):
            req = OrderRequest(
                engine.account_id, c.id, Side.BUY, OrderType.LIMIT, 1, f"demo:latency:{p.path}:{i}",
                limit_price=c.snap(last * Decimal("0.8")), reason="latency sample",
            )  # fmt: skip
            oid = await p.place(req)
            await p.cancel(engine.account_id, oid)
    return [p.path for p in paths]


def prints_of(bar: Bar) -> list[tuple[datetime, float]]:
    up = bar.close >= bar.open
    path = (bar.open, bar.low, bar.high, bar.close) if up else (bar.open, bar.high, bar.low, bar.close)
    return [(bar.start + timedelta(seconds=15 * i), p) for i, p in enumerate(path)]


LATENCY_COLUMNS = ("operation", "path", "count", "p50 ms", "p95 ms", "p99 ms", "max ms")


async def report_images(store: Store, day: TradingDay, out_dir: Path) -> list[Path]:
    """The day's P&L curve (from the daily summary the engine stored) and the order path's latency
    table as PNGs beside the range charts: what the Discord cards attach, for a run without Discord."""
    made: list[Path] = []
    summaries = [m for m in await store.outbox.recent(500) if m.kind is NotificationKind.SUMMARY]
    curve = next((m.payload["pnl_curve"] for m in summaries if m.payload.get("pnl_curve")), None)
    if curve:
        points = [(datetime.fromisoformat(at), Decimal(v)) for at, v in curve]
        made.append(out_dir / f"pnl-{day.date.isoformat()}.png")
        png = await asyncio.to_thread(charts.pnl_png, f"P&L {day.date.isoformat()} (net of fees)", points)
        made[-1].write_bytes(png)
    stats = await store.latency.stats()
    if stats:
        rows = [
            [s.operation, s.path, str(s.count), *(f"{v / 1e6:.2f}" for v in (s.p50, s.p95, s.p99, s.max))]
            for s in stats
        ]
        made.append(out_dir / f"latency-{day.date.isoformat()}.png")
        png = await asyncio.to_thread(charts.table_png, "Order path latency, Rust and Python", LATENCY_COLUMNS, rows)
        made[-1].write_bytes(png)
    return made


async def run_demo(
    settings: Settings,
    out_dir: Path,
    *,
    seed: int = 7,
    write: Callable[[str], None] = print,
    database_url: str | None = None,
    followers: int = 0,
) -> DemoResult:
    started = walltime.monotonic()
    day = trading_day(DEMO_DAY)
    clock = SimClock(day.window_start - timedelta(minutes=1))
    options = SimOptions(token_lifetime_s=30 * 86400, market_pending_status=True)
    sim = SimGateway(SimSettings(port=0, seed=seed), clock=clock, options=options)
    await sim.start(port=0)
    db = await open_demo_database(settings, database_url)
    engine: Engine | None = None
    copy = contextlib.AsyncExitStack()
    try:
        store = Store(db.pool)
        write(f"database: {db.where}")
        write(f"execution path: {native.describe()}")
        bars = seed_history(sim, day, seed)
        write(f"simulator: {sim.base_url}, {HISTORY_DAYS} days of seeded history, demo day {day.date} (seed {seed})")
        engine = await build_engine(settings, store, clock, sim_gateway(sim), strategies=["overnight_range"])
        await engine.start()
        write(f"engine started, history loaded (wall {walltime.monotonic() - started:.1f} s)")
        if followers:
            await copy.enter_async_context(copy_mode(engine, sim, settings, store, clock, followers, write))
        counter = UserEventCounter(engine.account_id)
        sim.exchange.sinks.append(counter)
        printer = ConsolePrinter(store, write)
        jobs = Jobs(engine, out_dir)
        paths = await latency_burst(engine, sim, LATENCY_BURST)
        write(f"latency burst done (wall {walltime.monotonic() - started:.1f} s)")
        plan = sorted(day_plan(day, settings), key=lambda o: o.at)
        by_minute: dict[datetime, list[tuple[str, Bar]]] = {}
        for sym, rows in bars.items():
            for b in rows:
                by_minute.setdefault(b.start, []).append((sym, b))
        t = day.window_start
        end = plan[-1].at + timedelta(minutes=1)
        while t <= end:
            minute = by_minute.get(t, [])
            rth = t >= day.rth_open
            busy = day.rth_open <= t <= day.rth_open + timedelta(minutes=30)
            for step in range(4 if rth else 1):
                for sym, b in minute:
                    at, price = prints_of(b)[3 if not rth else step]
                    if at > clock.now():
                        clock.set(at)
                    cid = engine.contracts[sym].id
                    await sim.market.trade(cid, str(price), 1, at=at)
                    if not rth:  # overnight: one print a minute on the feed, the whole bar in the history
                        o, h, lo, c = (to_decimal(x) for x in (b.open, b.high, b.low, b.close))
                        sim.market.bars.add_minute_bar(cid, MinuteBar(int(b.start.timestamp()), o, h, lo, c, 100))
                if step == 0:
                    while plan and plan[0].at <= t:
                        occ = plan.pop(0)
                        await barrier(engine, counter, t if minute else None)
                        wall = walltime.monotonic() - started
                        write(f"{to_ny(occ.at):%Y-%m-%d %H:%M} ET job {occ.job} (wall {wall:.1f} s)")
                        await run_once(store, clock, occ.job, occ.at, jobs.session(occ.job, day))
                        await barrier(engine, counter, None)
                        await printer.deliver()
                if busy and minute:
                    await barrier(engine, counter, minute[-1][1].start + timedelta(seconds=15 * step))
            if minute and (t.minute % 30 == 0 or (rth and engine.positions)):
                await barrier(engine, counter, t)
                await printer.deliver()
            t += timedelta(minutes=1)
            if t > clock.now():
                clock.set(t)
        await barrier(engine, counter, None)
        await copy.aclose()  # the followers have caught up with the leader's last fill
        await printer.deliver()
        jobs.charts += await report_images(store, day, out_dir)
        orders = await store.db.fetchval("SELECT count(*) FROM orders")
        fills = await store.db.fetchval("SELECT count(*) FROM fills")
        notes = await store.db.fetchval("SELECT count(*) FROM notification_outbox")
        return DemoResult(
            db.where, jobs.charts, jobs.summary_text, int(orders), int(fills), int(notes),
            walltime.monotonic() - started, paths,
        )  # fmt: skip
    finally:
        await copy.aclose()
        if engine is not None:
            await close_engine(engine)
        await sim.stop()
        await db.close()
