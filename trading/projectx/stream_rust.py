"""The Rust stream (`trading._native.HubConn`, tokio-tungstenite) behind the `trading.streaming`
interface: `RustMarketStream` and `RustUserStream`.

They are the signalrcore hubs of `realtime.py` with the transport swapped: connection, framing,
handshake, pings, invocations/completions, JSON decode, quote merging and tick->bar aggregation run
in Rust; Python receives one batch of records per crossing (`HubConn.next_batch`) and builds the
same event objects. Supervision is shared with `realtime.py` (same class hierarchy): reconnect with
backoff, re-subscription after every (re)connect, the stale-feed watchdog, status events, batching
consumer. User-hub events are decoded and validated in Rust too (`signalr.rs`, the models' rules:
defaults, lax numbers, enums, flat positions) and cross as typed records, one batch per crossing;
Python only wraps them in the same event objects as the signalrcore path.

Bars: given `bar_period_ns`, trade prints feed a Rust `TickAggregator` per contract (same rules as
`trading.marketdata`); closed bars go to `on_bars(contract_id, bars)`, `forming_bar(contract_id)`
reads the forming bar and `advance_bars(now_ns)` closes bars on the clock when no tick arrives.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from trading import domain, native
from trading.marketdata import BarTuple, Zone
from trading.projectx import convert
from trading.projectx import schema as s
from trading.projectx.errors import StreamError
from trading.projectx.realtime import _LOST, MarketHub, UserHub, hub_url
from trading.streaming import (
    AccountEvent,
    DepthEvent,
    DepthKind,
    DepthLevel,
    FillEvent,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    StreamEvent,
    TradesEvent,
)

log = logging.getLogger(__name__)

BarsCallback = Callable[[str, list[BarTuple]], None]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DEPTH_KIND = {int(t): DepthKind[t.name] for t in s.DomType}
_AGGRESSOR = {int(s.TradeLogType.BUY): domain.Side.BUY, int(s.TradeLogType.SELL): domain.Side.SELL}


_DEC_CACHE: dict[float, Decimal] = {}
_DT_CACHE: dict[int, datetime] = {}


def _dt(ns: int | None, default: datetime) -> datetime:
    if ns is None:
        return default
    dt = _DT_CACHE.get(ns)
    if dt is None:
        if len(_DT_CACHE) > 4096:
            _DT_CACHE.clear()
        dt = _DT_CACHE[ns] = _EPOCH + timedelta(microseconds=ns // 1000)
    return dt


def _dec(x: float | None) -> Decimal | None:
    """Integral prices as the wire's integers (`25000`, not `25000.0`): equal either way, same text.
    Prices repeat (a tick grid): conversions are cached."""
    if x is None:
        return None
    d = _DEC_CACHE.get(x)
    if d is None:
        if len(_DEC_CACHE) > 65536:
            _DEC_CACHE.clear()
        d = _DEC_CACHE[x] = Decimal(int(x)) if x.is_integer() else Decimal(repr(x))
    return d


def _dt_opt(ns: int | None) -> datetime | None:
    return None if ns is None else _EPOCH + timedelta(microseconds=ns // 1000)


_USER_KINDS = frozenset({"o", "p", "f", "a"})
_POSITION_SIDE = {True: domain.PositionSide.LONG, False: domain.PositionSide.SHORT}


def _user_event(rec: tuple[Any, ...], now: datetime) -> StreamEvent:
    """One typed user record from `HubConn.next_batch` as the event the signalrcore path builds."""
    kind = rec[0]
    if kind == "o":
        (_, action, oid, account_id, contract_id, side, otype, size, status, tag,
         limit, stop, trail, fill_volume, filled, created, updated, parent, linked) = rec  # fmt: skip
        order = domain.Order(
            id=oid,
            account_id=account_id,
            contract_id=contract_id,
            side=convert.side_from_wire(side),
            type=convert.order_type_from_wire(otype),
            size=size,
            status=convert.order_status_from_wire(status),
            custom_tag=tag,
            limit_price=_dec(limit),
            stop_price=_dec(stop),
            trail_price=_dec(trail),
            fill_volume=fill_volume,
            filled_price=_dec(filled),
            created_at=_dt_opt(created),
            updated_at=_dt_opt(updated),
            parent_id=parent,
            linked_id=linked,
        )
        return OrderEvent(order, action=action)
    if kind == "p":
        (account_id, contract_id, long, size, avg), (opened, pid, closed) = rec[1], rec[2]
        position = domain.Position(
            account_id, contract_id, _POSITION_SIDE[long], 0 if closed else abs(size), _dec(avg) or Decimal(0),
            _dt_opt(opened), pid,
        )  # fmt: skip
        return PositionEvent(position, closed=closed)
    if kind == "f":
        (fid, order_id, account_id, contract_id, side, size), (price, ts, fees, pnl, voided) = rec[1], rec[2]
        fill = domain.Fill(
            fid, order_id, account_id, contract_id, convert.side_from_wire(side), size, _dec(price) or Decimal(0),
            _dt(ts, now), _dec(fees) or Decimal(0), _dec(pnl), voided, now,
        )  # fmt: skip
        return FillEvent(fill)
    _, aid, name, balance, can_trade, is_visible, simulated = rec
    return AccountEvent(domain.Account(aid, name, _dec(balance) or Decimal(0), can_trade, is_visible, simulated))


def ws_url(url: str) -> str:
    if url.startswith("https://"):
        return "wss://" + url.removeprefix("https://")
    if url.startswith("http://"):
        return "ws://" + url.removeprefix("http://")
    return url


class _RustTransport:
    """Overrides the transport methods of realtime's hub clients (mixin, first in the MRO)."""

    hub: Any
    url: str
    _conn: Any
    _generation: int
    _connected: bool
    _connect_timeout_s: float
    _keep_alive_s: float
    _subscriptions: dict[tuple[str, str], list[Any]]
    stats: dict[str, int]
    last_event_at: float
    _token: Callable[[], str]
    _ack: Any
    _on_close: Any
    _on_invocation: Any
    _push: Any

    def _init_rust(self, bars: dict[str, Any] | None) -> None:
        self._bar_kwargs: dict[str, Any] = bars or {}
        self._reader: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        mod = native.module()
        if mod is None:
            raise StreamError(f"Could not connect the {self.hub} feed: Rust path not active ({native.describe()})")
        self._generation += 1
        gen = self._generation
        try:
            url = ws_url(hub_url(self.url, self._token()))
        except Exception as exc:
            raise StreamError(f"Could not connect the {self.hub} feed: no session token ({exc})") from exc
        try:
            conn = await asyncio.wait_for(
                mod.HubConn.connect(
                    url, timeout_s=self._connect_timeout_s, keep_alive_s=self._keep_alive_s, **self._bar_kwargs
                ),
                self._connect_timeout_s + 1,
            )
        except Exception as exc:
            self._generation += 1
            raise StreamError(f"Could not connect the {self.hub} feed: {exc or type(exc).__name__}") from exc
        self._conn = conn
        self._connected = True
        self.stats["connects"] += 1
        self.last_event_at = time.monotonic()
        self._reader = asyncio.create_task(self._read(conn, gen), name=f"{self.hub}-rust-reader")
        subs = list(self._subscriptions.items())
        results = await asyncio.gather(*(self._ack(self._send(method, args)) for (method, _k), args in subs))
        for ((method, _key), args), error in zip(subs, results, strict=True):
            if error is not None:
                log.warning("%s hub: re-subscribing %s%s failed: %s", self.hub, method, args, error)

    def _send(self, method: str, args: list[Any]) -> asyncio.Future[str | None] | None:
        conn = self._conn
        if conn is None:
            return None

        async def invoke() -> str | None:
            err: str | None = await conn.invoke(method, json.dumps(args), self._connect_timeout_s)
            return _LOST if err == "lost" else err

        return asyncio.ensure_future(invoke())

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._generation += 1
        self._connected = False
        if conn is not None:
            conn.close()
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _read(self, conn: Any, gen: int) -> None:
        while True:
            batch: list[tuple[Any, ...]] = await conn.next_batch()
            if gen != self._generation:
                return
            events: list[StreamEvent] = []
            closed: str | None = None
            now = datetime.now(UTC)
            for rec in batch:
                kind = rec[0]
                if kind == "closed":
                    closed = rec[1]
                elif kind == "bad":
                    self.stats["malformed"] += int(rec[1])
                elif kind in _USER_KINDS:
                    self._user_record(rec, now, events)
                elif kind == "logout":
                    self._flush(events)
                    events = []
                    self._on_invocation(s.EVENT_LOGOUT, gen, [])
                else:
                    self._market_record(rec, now, events)
            self._flush(events)
            if closed is not None:
                log.info("%s hub (rust): %s", self.hub, closed)
                self._on_close(gen)
                return

    def _flush(self, events: list[StreamEvent]) -> None:
        if events:
            self.last_event_at = time.monotonic()
            self.stats["events"] += len(events)
            self._push(events)

    def _market_record(self, rec: tuple[Any, ...], now: datetime, events: list[StreamEvent]) -> None:
        raise NotImplementedError

    def _user_record(self, rec: tuple[Any, ...], now: datetime, events: list[StreamEvent]) -> None:
        """A user-hub record decoded and validated in Rust (enums already checked there)."""
        try:
            events.append(_user_event(rec, now))
        except Exception as exc:  # a record Rust let through but Python cannot read: skipped alone
            self.stats["malformed"] += 1
            log.warning("%s hub (rust): skipping a user record (%s): %.300r", self.hub, exc, rec)


class RustMarketStream(_RustTransport, MarketHub):
    """`MarketStream` on the Rust transport, with optional streaming bars."""

    def __init__(
        self,
        url: str,
        handler: Any,
        token: Any,
        *,
        bar_period_ns: int | None = None,
        bar_origin_ns: int = 0,
        bar_zone: Zone | None = None,
        on_bars: BarsCallback | None = None,
        **kwargs: Any,
    ) -> None:
        MarketHub.__init__(self, url, handler, token, **kwargs)
        bars: dict[str, Any] | None = None
        if bar_period_ns is not None:
            bars = {"bar_period_ns": bar_period_ns, "origin_ns": bar_origin_ns}
            if bar_zone is not None:
                bars |= {"tz_utc": bar_zone.utc.tolist(), "tz_offset": bar_zone.offset.tolist()}
        self._init_rust(bars)
        self._on_bars = on_bars
        self._forming: dict[str, BarTuple | None] = {}

    def forming_bar(self, contract_id: str) -> BarTuple | None:
        return self._forming.get(contract_id)

    def advance_bars(self, now_ns: int) -> list[tuple[str, BarTuple]]:
        """Close bars whose time is over; they also go to `on_bars`."""
        conn = self._conn
        if conn is None:
            return []
        closed: list[tuple[str, BarTuple]] = conn.advance(now_ns)
        for cid, bar in closed:
            self._forming[cid] = None
            if self._on_bars is not None:
                self._on_bars(cid, [bar])
        return closed

    def _market_record(self, rec: tuple[Any, ...], now: datetime, events: list[StreamEvent]) -> None:
        kind, cid = rec[0], rec[1]
        if kind == "q":
            prev = self._quotes.get(cid)
            quote = domain.Quote(
                cid,
                _dt(rec[6], prev.ts_event if prev else now),
                _dec(rec[2]),
                _dec(rec[3]),
                _dec(rec[4]),
                rec[5],
                now,
            )
            self._quotes[cid] = quote
            events.append(QuoteEvent(quote))
        elif kind == "t":
            ticks = tuple(
                domain.Tick(cid, _dt(ts, now), _dec(price) or Decimal(0), vol, _AGGRESSOR.get(side), now)
                for price, ts, side, vol in rec[2]
            )
            if ticks:
                events.append(TradesEvent(cid, ticks))
        elif kind == "d":
            levels = tuple(
                DepthLevel(_dt(ts, now), _DEPTH_KIND[k], _dec(price) or Decimal(0), vol, cur)
                for ts, k, price, vol, cur in rec[2]
            )
            if levels:
                events.append(DepthEvent(cid, levels))
        elif kind == "bar":
            if self._on_bars is not None:
                self._on_bars(cid, [rec[2]])
        elif kind == "forming":
            self._forming[cid] = rec[2]


class RustUserStream(_RustTransport, UserHub):
    """`UserStream` on the Rust transport."""

    def __init__(self, url: str, handler: Any, token: Any, **kwargs: Any) -> None:
        UserHub.__init__(self, url, handler, token, **kwargs)
        self._init_rust(None)

    def _market_record(self, rec: tuple[Any, ...], now: datetime, events: list[StreamEvent]) -> None:
        return None


def new_market_stream(url: str, handler: Any, token: Any, **kwargs: Any) -> MarketHub:
    """The market stream on the active path: Rust when the extension is loaded and enabled, else
    signalrcore. Bar options (`bar_period_ns`, `bar_zone`, `bar_origin_ns`, `on_bars`) need Rust."""
    if native.enabled():
        return RustMarketStream(url, handler, token, **kwargs)
    for key in ("bar_period_ns", "bar_zone", "bar_origin_ns", "on_bars"):
        kwargs.pop(key, None)
    return MarketHub(url, handler, token, **kwargs)


def new_user_stream(url: str, handler: Any, token: Any, **kwargs: Any) -> UserHub:
    """The user stream on the active path."""
    if native.enabled():
        return RustUserStream(url, handler, token, **kwargs)
    return UserHub(url, handler, token, **kwargs)
