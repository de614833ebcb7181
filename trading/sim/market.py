"""The simulated market: prices driven by tests (`trade`, `quote`), a seeded random walk with CME
sessions, or a replay of one-minute bars; every print feeds the bar store, the market hub and the
matching engine."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import random
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trading.domain import Bar, Side, snap_to_tick, to_decimal
from trading.projectx import schema as s
from trading.sim.bars import BarStore, MinuteBar
from trading.sim.exchange import Exchange
from trading.sim.path import DayBars, Index, PricePath
from trading.sim.timebase import ClockLike, cme_equity_open, sleep_until


class MarketEventSink(Protocol):
    def wants(self, contract_id: str, target: str) -> bool: ...

    def market_event(self, contract_id: str, target: str, payload: Any) -> None: ...


EAGER_MINUTES = 1440  # the warm-up makes the last day at once; older history when first asked for


class Market:
    def __init__(self, exchange: Exchange, clock: ClockLike, seed: int, start_prices: dict[str, str]) -> None:
        self.exchange = exchange
        self.clock = clock
        self.bars = BarStore()
        self.sinks: list[MarketEventSink] = []
        self.rng = random.Random(seed)
        self._task: asyncio.Task[None] | None = None
        contracts = exchange.contracts
        self.paths: dict[str, PricePath] = {}  # contract id -> its index's price path (random market)
        by_index: dict[str, PricePath] = {}
        for c in contracts.active:
            product = contracts.product_of[c.id]
            start = to_decimal(start_prices.get(product.ticker, product.start_price))
            book = exchange.books[c.id]
            book.last, book.bid, book.ask = start, start - c.tick_size, start + c.tick_size
            book.prev_close = start
            index = product.index or product.root
            if index not in by_index:
                by_index[index] = PricePath(seed, Index(index, float(start), product.daily_vol))
            self.paths[c.id] = by_index[index]
        self._history_end: dict[str, datetime] = {}  # contract id -> first minute without a history bar
        self._history_from: dict[str, datetime] = {}  # contract id -> earliest history minute made so far
        self._history_floor: dict[str, datetime] = {}  # contract id -> earliest minute the warm-up serves

    # ------------------------------------------------------------------ driving prices

    async def trade(
        self, contract_id: str, price: Decimal | float | str, size: int = 1, aggressor: Side | None = None,
        at: datetime | None = None,
    ) -> None:  # fmt: skip
        """One print: updates last, volume, bars; publishes GatewayTrade and a partial GatewayQuote;
        then matches working orders."""
        self.print_(contract_id, to_decimal(price), size, aggressor, at)

    async def quote(
        self, contract_id: str, bid: Decimal | float | str | None = None, ask: Decimal | float | str | None = None,
        bid_size: int = 10, ask_size: int = 10, at: datetime | None = None,
    ) -> None:  # fmt: skip
        """Top of book: publishes a partial GatewayQuote and a GatewayDepth array; then matches."""
        self.quote_(
            contract_id, None if bid is None else to_decimal(bid), None if ask is None else to_decimal(ask),
            bid_size, ask_size, at,
        )  # fmt: skip

    def print_(self, cid: str, price: Decimal, size: int, aggressor: Side | None, at: datetime | None) -> None:
        book = self.exchange.books[cid]
        contract = self.exchange.contracts.by_id[cid]
        now = at or self.clock.now()
        if aggressor is None:
            aggressor = Side.BUY if book.ask is not None and price >= book.ask else Side.SELL
        book.last = price
        book.volume += size
        tick = contract.tick_size
        recentred = (book.ask is not None and price > book.ask) or (book.bid is not None and price < book.bid)
        if recentred:  # a print through the spread moves the book with it
            book.bid, book.ask = price - tick, price + tick
        book.open = book.open if book.open is not None else price
        book.high = price if book.high is None else max(book.high, price)
        book.low = price if book.low is None else min(book.low, price)
        self.bars.record(cid, now, price, size)
        if self._watched(cid, s.EVENT_TRADE):
            kind = s.TradeLogType.BUY if aggressor is Side.BUY else s.TradeLogType.SELL
            entry = s.GatewayTradeEntry(symbolId=contract.symbol_id, price=price, timestamp=now, type=kind, volume=size)
            self._publish(cid, s.EVENT_TRADE, [entry.to_wire()])
        if not self._watched(cid, s.EVENT_QUOTE):
            self.exchange.on_market(cid, price)
            return
        change = price - book.prev_close if book.prev_close else None
        quote = s.GatewayQuote(
            symbol=contract.symbol_id,
            lastPrice=price,
            volume=book.volume,
            bestBid=book.bid if recentred else None,
            bestAsk=book.ask if recentred else None,
            change=change,
            changePercent=None if change is None or not book.prev_close else _pct(change, book.prev_close),
            high=price if book.high == price else None,
            low=price if book.low == price else None,
            lastUpdated=now,
            timestamp=now,
        ).to_wire()  # partial: only the fields that changed
        self._publish(cid, s.EVENT_QUOTE, quote)
        self.exchange.on_market(cid, price)

    def quote_(
        self, cid: str, bid: Decimal | None, ask: Decimal | None, bid_size: int, ask_size: int, at: datetime | None
    ) -> None:
        book = self.exchange.books[cid]
        contract = self.exchange.contracts.by_id[cid]
        now = at or self.clock.now()
        if bid is not None:
            book.bid = bid
        if ask is not None:
            book.ask = ask
        if self._watched(cid, s.EVENT_QUOTE):
            quote = s.GatewayQuote(symbol=contract.symbol_id, bestBid=bid, bestAsk=ask, lastUpdated=now, timestamp=now)
            self._publish(cid, s.EVENT_QUOTE, quote.to_wire())
        if self._watched(cid, s.EVENT_DEPTH):
            depth = [_level(now, s.DomType.BEST_BID, bid, bid_size)] if bid is not None else []
            depth += [_level(now, s.DomType.BEST_ASK, ask, ask_size)] if ask is not None else []
            if depth:
                self._publish(cid, s.EVENT_DEPTH, depth)
        self.exchange.on_market(cid)

    def snapshot(self, cid: str) -> dict[str, Any] | None:
        """A full GatewayQuote for a contract (sent to a new quote subscriber), None if unknown."""
        book = self.exchange.books.get(cid)
        contract = self.exchange.contracts.get(cid)
        if book is None or contract is None or book.last is None:
            return None
        last = book.last
        prev = book.prev_close or last
        now = self.clock.now()
        return s.GatewayQuote(
            symbol=contract.symbol_id,
            symbolName="/" + self.exchange.contracts.product_of[cid].ticker,
            lastPrice=last,
            bestBid=book.bid if book.bid is not None else last,
            bestAsk=book.ask if book.ask is not None else last,
            change=last - prev,
            changePercent=_pct(last - prev, prev) if prev else 0.0,
            open=book.open if book.open is not None else prev,
            high=book.high if book.high is not None else last,
            low=book.low if book.low is not None else last,
            volume=book.volume,
            lastUpdated=now,
            timestamp=now,
        ).model_dump(mode="json")

    def _watched(self, cid: str, target: str) -> bool:
        return any(sink.wants(cid, target) for sink in self.sinks)

    def _publish(self, cid: str, target: str, payload: Any) -> None:
        for sink in self.sinks:
            sink.market_event(cid, target, payload)

    # ------------------------------------------------------------------ random walk

    def start_random(self, step_s: float, warmup_days: float) -> None:
        if warmup_days > 0:
            self.warm_up(warmup_days)
        self._task = asyncio.create_task(self._random_loop(step_s), name="sim-market-random")

    def warm_up(self, days: float, only: Collection[str] | None = None) -> None:
        """History for the last `days`: the one-minute bars of the price path (trading/sim/path.py),
        sessions respected (for every active contract, or for the contract ids in `only`). The same
        minute gives the same bar whenever it is asked for, so histories made at different times agree.
        Only the last day is made now (the book's last price); older minutes are made when a request
        first reaches them (`ensure_history`): a month of nine contracts costs nothing at start."""
        now = self.clock.now().replace(second=0, microsecond=0)
        for c in self.exchange.contracts.active:
            if only is not None and c.id not in only:
                continue
            recent = now - timedelta(minutes=min(int(days * 1440), EAGER_MINUTES))
            self._history_floor[c.id] = now - timedelta(minutes=int(days * 1440))
            self._history_from[c.id] = recent
            last = self._fill_history(c.id, recent, now)
            if last is not None:
                book = self.exchange.books[c.id]
                book.last, book.bid, book.ask = last.c, last.c - c.tick_size, last.c + c.tick_size
                book.prev_close = last.c

    def ensure_history(self, contract_id: str, start: datetime) -> None:
        """Make the history bars from `start` (not before the warm-up's first day) that are not made yet."""
        floor, made = self._history_floor.get(contract_id), self._history_from.get(contract_id)
        if floor is None or made is None or start >= made:
            return
        begin = max(start.replace(second=0, microsecond=0), floor)
        if begin < made:
            self._fill_history(contract_id, begin, made)
            self._history_from[contract_id] = begin

    def path_bar(self, contract_id: str, start: datetime) -> MinuteBar:
        """The price path's bar for one minute of one contract, on the contract's tick grid."""
        utc = start.astimezone(UTC)
        day = self.paths[contract_id].day(utc.date())
        return self._grid_bar(contract_id, day, utc.hour * 60 + utc.minute, int(utc.timestamp()))

    def _grid_bar(self, contract_id: str, day: DayBars, k: int, ts: int) -> MinuteBar:
        tick = self.exchange.contracts.by_id[contract_id].tick_size
        ft = float(tick)
        o, h, lo, c = (round(float(col[k]) / ft) * tick for col in (day.o, day.h, day.low, day.c))
        return MinuteBar(ts, o, h, lo, c, int(day.v[k]))

    def _fill_history(self, contract_id: str, start: datetime, end: datetime) -> MinuteBar | None:
        """Path bars for the open minutes in [start, end) (a live bar of those minutes is replaced by
        the path's, keeping its volume); the last one made."""
        made: list[MinuteBar] = []
        path = self.paths[contract_id]
        first = int(start.timestamp() // 60) * 60 + (60 if start.timestamp() % 60 else 0)
        stop = int(end.timestamp())
        ts = first
        while ts < stop:
            d = datetime.fromtimestamp(ts, UTC)
            day = path.day(d.date())
            k0 = d.hour * 60 + d.minute
            k1 = min(1440, k0 + (stop - ts + 59) // 60)
            for k in np.flatnonzero(day.open[k0:k1]) + k0:
                at = ts + int(k - k0) * 60
                bar = self._grid_bar(contract_id, day, int(k), at)
                live = self.bars.get(contract_id, at)
                if live is not None:
                    bar.v = live.v
                made.append(bar)
            ts += (k1 - k0) * 60
        self.bars.add_minute_bars(contract_id, made)
        self._history_end[contract_id] = max(end, self._history_end.get(contract_id, end))
        return made[-1] if made else None

    def new_session(self) -> None:
        """The 18:00 ET reopen: yesterday's last becomes the reference; open/high/low/volume restart."""
        for c in self.exchange.contracts.active:
            book = self.exchange.books[c.id]
            book.prev_close = book.last
            book.open = book.high = book.low = None
            book.volume = 0

    async def _random_loop(self, step_s: float) -> None:
        """Prints along the price path: each minute trades its path bar's open, then its low and high
        (the order its close suggests), then its close, a quarter minute each; a minute the loop missed
        (it started late, or slept through it) gets its history bar first, so the bars never have a hole."""
        contracts = self.exchange.contracts.active
        was_open = cme_equity_open(self.clock.now())
        while True:
            now = self.clock.now()
            is_open = cme_equity_open(now)
            if is_open and not was_open:
                self.new_session()
            was_open = is_open
            if is_open:
                minute = now.replace(second=0, microsecond=0)
                for c in contracts:
                    if self._history_end.get(c.id, minute) < minute:
                        self._fill_history(c.id, self._history_end[c.id], minute)
                    self._history_end[c.id] = minute
                    bar = self.path_bar(c.id, minute)
                    up = bar.c >= bar.o
                    price = (bar.o, bar.low if up else bar.h, bar.h if up else bar.low, bar.c)[min(3, now.second // 15)]
                    book = self.exchange.books[c.id]
                    move = 0 if book.last is None else price - book.last
                    self.quote_(
                        c.id,
                        price - c.tick_size,
                        price + c.tick_size,
                        self.rng.randint(1, 30),
                        self.rng.randint(1, 30),
                        now,
                    )
                    side = Side.BUY if move > 0 or (move == 0 and self.rng.random() < 0.5) else Side.SELL
                    self.print_(c.id, price, self.rng.randint(1, 12), side, now)
            await self.clock.sleep(step_s)

    # ------------------------------------------------------------------ replay

    def start_replay(self, contract_id: str, bars: list[Bar]) -> None:
        self._task = asyncio.create_task(self._replay(contract_id, bars), name="sim-market-replay")

    async def _replay(self, cid: str, bars: list[Bar]) -> None:
        """Each bar as four prints 15 s apart (open, low/high, high/low, close), at the clock's pace."""
        tick = self.exchange.contracts.by_id[cid].tick_size
        for bar in sorted(bars, key=lambda b: b.start):
            o, h, low, c = (snap_to_tick(x, tick) for x in (bar.open, bar.high, bar.low, bar.close))
            path = (o, low, h, c) if c >= o else (o, h, low, c)
            vol = max(4, int(bar.volume))
            sizes = [vol // 4] * 3 + [vol - 3 * (vol // 4)]
            for i, (price, size) in enumerate(zip(path, sizes, strict=True)):
                at = bar.start + timedelta(seconds=15 * i)
                await sleep_until(self.clock, at)
                self.quote_(cid, price - tick, price + tick, 10, 10, at)
                self.print_(cid, price, size, None, at)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _level(at: datetime, kind: s.DomType, price: Decimal, size: int) -> dict[str, Any]:
    return s.GatewayDepthEntry(timestamp=at, type=kind, price=price, volume=size, currentVolume=size).to_wire()


def _pct(change: Decimal, base: Decimal) -> float:
    return round(float(change / base * 100), 4)


def load_bars_csv(path: str | Path, contract_id: str) -> list[Bar]:
    """One-minute bars from a CSV with a header `t,o,h,l,c,v` (t ISO-8601)."""
    out: list[Bar] = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            t = s.parse_timestamp(row["t"])
            if t is None:
                continue
            out.append(
                Bar(
                    contract_id,
                    "1m",
                    t,
                    float(row["o"]),
                    float(row["h"]),
                    float(row["l"]),
                    float(row["c"]),
                    float(row["v"]),
                )
            )
    return out
