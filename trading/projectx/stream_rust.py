"""The Rust stream (`trading._native.HubClient`, tokio-tungstenite) behind the `trading.streaming`
interface: `RustMarketStream` and `RustUserStream`.

They are the signalrcore hubs of `realtime.py` with the transport swapped. In Rust: connection,
framing, handshake, pings, invocations/completions, JSON decode (market and user events, the
models' rules), quote merging, and the supervision: the token read from the token provider at every
(re)connect, reconnect with backoff, re-invocation of every remembered subscription,
connected/disconnected/reconnected/token_refreshed/stale status, the stale-feed watchdog (events)
and the keep-alive watchdog (frames of any kind, pings included). Python receives one batch of
typed records per crossing (`HubClient.next_batch`: `TradesRecord`, `OrderRecord`,
`StatusRecord`, ... declared in `trading/_native.pyi`), builds the same event objects as
`realtime.py`, hands each batch to the handler itself, and answers the watchdog's market-hours
question on the loop (the predicate is Python's).

Quotes, the hot kind, cross already built: Rust makes each `QuoteEvent` and its quote, a
`LazyQuote` whose event time is made on first read (`trading/projectx/lazy_quote.py`); with
`coalesce_quotes` it drops a batch's earlier quotes of a contract before anything is built.

One wake-up per batch: the reader awaits the handler on the batch it just took (under the lock the
consumer task also takes, so batches never overlap), rather than queueing it for the consumer task
(a second task step per batch). While the handler runs, Rust keeps queueing: the next batch holds
everything that came meanwhile (and, coalescing, only each contract's last quote of it). The
consumer task delivers what Python itself queues (STOPPED, the failover's RECONNECTED).

The token provider is called from a Rust worker thread (holding the GIL) at every (re)connect: it
must be a plain read such as `ProjectXClient.token`, never something that needs the event loop.

The hub carries no bars: the engine aggregates trade prints itself (`trading.marketdata`), so this
adapter never depends on the layer above it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any

from trading import domain, native
from trading.clock import from_ns
from trading.metrics import LatencyMetrics, stage
from trading.projectx import convert
from trading.projectx import schema as s
from trading.projectx.errors import StreamError
from trading.projectx.lazy_quote import LazyQuote
from trading.projectx.realtime import MarketHub, UserHub
from trading.streaming import (
    AccountEvent,
    DepthEvent,
    DepthKind,
    DepthLevel,
    FillEvent,
    Hub,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    StreamEvent,
    StreamState,
    TradesEvent,
)

if TYPE_CHECKING:
    from trading._native import (
        AccountRecord,
        DepthRecord,
        FillRecord,
        OrderRecord,
        PositionRecord,
        TradesRecord,
    )

log = logging.getLogger(__name__)

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


def _seen_at(seen_ns: int) -> datetime:
    """A batch's ts_init: when its oldest frame came off the socket (stamped in Rust before decoding),
    now for a build that did not say."""
    return from_ns(seen_ns) if seen_ns else datetime.now(UTC)


def _dt_opt(ns: int | None) -> datetime | None:
    return None if ns is None else _EPOCH + timedelta(microseconds=ns // 1000)


_RUST_LOST = "lost"  # what `HubClient.subscribe` resolves to when no completion came
_POSITION_SIDE = {True: domain.PositionSide.LONG, False: domain.PositionSide.SHORT}
Handler = Callable[[Any, datetime, list[StreamEvent]], None]


def _order_event(rec: OrderRecord) -> StreamEvent:
    order = domain.Order(
        id=rec.id,
        account_id=rec.account_id,
        contract_id=rec.contract_id,
        side=convert.side_from_wire(rec.side),
        type=convert.order_type_from_wire(rec.order_type),
        size=rec.size,
        status=convert.order_status_from_wire(rec.status),
        custom_tag=rec.custom_tag,
        limit_price=_dec(rec.limit_price),
        stop_price=_dec(rec.stop_price),
        trail_price=_dec(rec.trail_price),
        fill_volume=rec.fill_volume,
        filled_price=_dec(rec.filled_price),
        created_at=_dt_opt(rec.created_ns),
        updated_at=_dt_opt(rec.updated_ns),
        parent_id=rec.parent_order_id,
        linked_id=rec.linked_order_id,
    )
    return OrderEvent(order, action=rec.action)


def _position_event(rec: PositionRecord) -> StreamEvent:
    position = domain.Position(
        rec.account_id, rec.contract_id, _POSITION_SIDE[rec.long], 0 if rec.closed else abs(rec.size),
        _dec(rec.average_price) or Decimal(0), _dt_opt(rec.opened_ns), rec.id,
    )  # fmt: skip
    return PositionEvent(position, closed=rec.closed)


def _fill_event(rec: FillRecord, now: datetime) -> StreamEvent:
    fill = domain.Fill(
        rec.id, rec.order_id, rec.account_id, rec.contract_id, convert.side_from_wire(rec.side), rec.size,
        _dec(rec.price) or Decimal(0), _dt(rec.ts_ns, now), _dec(rec.fees) or Decimal(0), _dec(rec.profit_and_loss),
        rec.voided, now,
    )  # fmt: skip
    return FillEvent(fill)


def _account_event(rec: AccountRecord) -> StreamEvent:
    return AccountEvent(
        domain.Account(rec.id, rec.name, _dec(rec.balance) or Decimal(0), rec.can_trade, rec.is_visible, rec.simulated)
    )


_DECODED = stage("decoded")


class _RustTransport:
    """Replaces the connection, supervision and watchdog of realtime's hub clients (mixin, first in
    the MRO) by the Rust `HubClient`: Python keeps only the event objects, the consumer and the
    market-hours predicate (asked by the Rust watchdog, answered here on the loop)."""

    path = "rust"  # stage timing: this transport's samples
    # A plain ws:// hub (the simulator, a hub on the same host or LAN) is read on the event loop's own
    # thread: the loop watches the socket and Rust frames and decodes there, so a batch reaches the
    # handler with one wake-up (the socket's) instead of a tokio worker's then the loop's
    # (rust_ext/src/python/realtime/on_loop.rs). https hubs (TopstepX) keep the tokio reader.
    read_on_loop = True
    hub: Hub
    url: str
    stats: dict[str, int]
    metrics: LatencyMetrics | None
    last_event_at: float
    stale_after_s: float | None
    keepalive_stale_s: float | None
    _last_frame_at: float
    _started: bool
    _stopping: bool
    _loop: asyncio.AbstractEventLoop | None
    _consumer: asyncio.Task[None] | None
    _unfollow: Callable[[], None] | None
    _wake: asyncio.Event
    _connect_timeout_s: float
    _keep_alive_s: float
    _reconnect_delays: tuple[float, ...]
    _market_hours: Callable[[datetime], bool]
    _subscriptions: dict[tuple[str, str], list[Any]]
    _token: Callable[[], str]
    _handling: asyncio.Lock
    _push: Any
    _emit_status: Any
    _status_event: Any
    _consume: Any
    _deliver: Any
    _drain_then_cancel: Any

    def _init_rust(self) -> None:
        self._client: Any = None
        self._reader: asyncio.Task[None] | None = None
        # Told (with why) when the Rust client ends or its reader fails while nobody stopped it: the
        # failover stream (trading/projectx/failover.py) moves the hub to signalrcore then.
        self.on_death: Callable[[str], None] | None = None

    def _died(self, reason: str) -> None:
        log.error("%s hub (rust): the stream died: %s", self.hub, reason)
        if self.on_death is not None:
            self.on_death(reason)

    @property
    def connected(self) -> bool:
        client = self._client
        return client is not None and bool(client.connected)

    @property
    def last_frame_at(self) -> float:
        """`time.monotonic()` of the last frame of any kind, keep-alive pings included (or connect)."""
        client = self._client
        return self._last_frame_at if client is None else time.monotonic() - float(client.frame_silent_s)

    @property
    def frames(self) -> int:
        """Frames of any kind received so far (pings included)."""
        client = self._client
        return 0 if client is None else int(client.frames)

    async def start(self) -> None:
        if self._started:
            return
        mod = native.module()
        if mod is None:
            raise StreamError(f"Could not connect the {self.hub} feed: Rust path not active ({native.describe()})")
        self._loop = asyncio.get_running_loop()
        self._started = True
        self._stopping = False
        client = self._client = mod.HubClient(
            self.url,
            self.hub.capitalize(),
            self._token,
            timeout_s=self._connect_timeout_s,
            keep_alive_s=self._keep_alive_s,
            reconnect_delays_s=list(self._reconnect_delays),
            stale_after_s=self.stale_after_s,
            keepalive_stale_s=self.keepalive_stale_s,
            **self._client_options(),
        )
        self._prepare(client)
        if self.read_on_loop and self.url.startswith(("http://", "ws://")):  # https/wss: the tokio reader
            client.read_on_loop()
        for (method, key), args in self._subscriptions.items():  # made before start: remembered only
            await client.subscribe(method, key, json.dumps(args))
        self._consumer = asyncio.create_task(self._consume(), name=f"{self.hub}-hub-consumer")
        self._reader = asyncio.create_task(self._read(mod, client), name=f"{self.hub}-rust-reader")
        try:
            await client.start()
        except BaseException as exc:
            await self.stop()
            if isinstance(exc, Exception):
                raise StreamError(f"Could not connect the {self.hub} feed: {exc or type(exc).__name__}") from exc
            raise

    async def stop(self) -> None:
        if not self._started:
            return
        self._stopping = True
        self._started = False
        if self._unfollow is not None:
            self._unfollow()
            self._unfollow = None
        if self._client is not None:
            self._client.stop()  # the reader delivers what is queued, then ends on the EndRecord
        reader, self._reader = self._reader, None
        if reader is not None and reader is not asyncio.current_task():
            _done, pending = await asyncio.wait({reader}, timeout=self._connect_timeout_s)
            for task in pending:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._client is not None:
            self._client.close_loop()  # the loop stops watching its descriptors (after the last batch)
        self._emit_status(StreamState.STOPPED, f"{self.hub.capitalize()} feed stopped")
        self._wake.set()
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await self._drain_then_cancel(consumer)

    async def reconnect(self, reason: str) -> None:
        """Drop the connection and build a new one (current token, every subscription re-sent)."""
        if not self._started or self._stopping or self._client is None:
            return
        await self._client.reconnect(reason)

    async def token_changed(self, _token: str | None = None) -> None:
        """Rebuild with the new token in the background (Rust); TOKEN_REFRESHED follows."""
        if not self._started or self._stopping or self._client is None:
            return
        self._client.token_changed()

    async def _subscribe(self, method: str, key: str, args: list[Any]) -> None:
        self._subscriptions[(method, key)] = args
        client = self._client
        if client is None:
            return
        error: str | None = await client.subscribe(method, key, json.dumps(args))
        if error is not None and error != _RUST_LOST:
            self._subscriptions.pop((method, key), None)
            raise StreamError(f"The {self.hub} feed refused {method}({', '.join(map(str, args))}): {error}")

    async def _unsubscribe(self, method: str, unmethod: str, key: str, args: list[Any]) -> None:
        if self._subscriptions.pop((method, key), None) is not None and self._client is not None:
            await self._client.unsubscribe(method, unmethod, key, json.dumps(args))

    async def _watch(self) -> None:
        return None  # the watchdog runs in Rust (it asks `_market_open` through a record)

    def _market_open(self) -> bool:
        try:
            return bool(self._market_hours(datetime.now(UTC)))
        except Exception:
            log.exception("%s hub: the market-hours check failed; treating the market as closed", self.hub)
            return False

    async def _read(self, mod: ModuleType, client: Any) -> None:
        try:
            ended = await self._read_batches(mod, client)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._died(f"its reader failed: {exc or type(exc).__name__}")
            return
        if ended and not self._stopping:
            self._died("the Rust client ended without being stopped")

    async def _read_batches(self, mod: ModuleType, client: Any) -> bool:
        """Deliver batches until the client's EndRecord (True)."""
        data = self._data_handlers(mod)
        quotes = self._last_quotes()
        while True:
            batch: list[Any] = await client.next_batch()
            received = time.perf_counter_ns()
            self.stats["connects"] = client.connects
            self.stats["stale"] = client.stale
            events: list[StreamEvent] = []
            statuses = 0
            end = False
            # "When we saw it" (ts_init): the batch's oldest frame off the socket, stamped in Rust
            # before any decoding (older builds: now).
            now = _seen_at(getattr(client, "batch_seen_ns", 0))
            for rec in batch:
                if type(rec) is QuoteEvent:  # built in Rust: kept as the contract's last quote
                    quotes[rec.quote.contract_id] = rec.quote
                    events.append(rec)
                    continue
                on = data.get(type(rec))
                if on is not None:
                    try:
                        on(rec, now, events)
                    except Exception as exc:  # a record Rust let through but Python cannot read: skipped alone
                        self.stats["malformed"] += 1
                        log.warning("%s hub (rust): skipping a record (%s): %.300r", self.hub, exc, rec)
                elif isinstance(rec, mod.MalformedRecord):
                    self.stats["malformed"] += rec.count
                elif isinstance(rec, mod.StatusRecord):
                    statuses += 1
                    events.append(self._status_event(StreamState(rec.state), rec.message))
                elif isinstance(rec, mod.LogRecord):
                    log.log(rec.level, "%s", rec.message)
                elif isinstance(rec, mod.LogoutRecord):
                    statuses += 1
                    self.last_event_at = time.monotonic()
                    events.append(
                        self._status_event(
                            StreamState.LOGOUT, "The broker logged this session out (logged in elsewhere?)"
                        )
                    )
                elif isinstance(rec, mod.MarketHoursRecord):
                    client.market_hours(self._market_open())
                elif isinstance(rec, mod.EndRecord):
                    end = True
            self._count(client)
            if len(events) > statuses:  # data events (statuses travel in the same batch, in order)
                self.last_event_at = time.monotonic()
                self.stats["events"] += len(events) - statuses
                if self.metrics is not None:  # the same span as the Python hub's: in Python's hands -> events
                    self.metrics.record(_DECODED, "rust", time.perf_counter_ns() - received)
            if events:
                async with self._handling:
                    await self._deliver(events, received)
            if end:
                return True

    def _count(self, client: Any) -> None:
        """Counters the client keeps (read once per batch)."""

    def _prepare(self, client: Any) -> None:
        """Set the new client up before it connects."""

    def _last_quotes(self) -> dict[str, domain.Quote]:
        """Where each contract's last quote is kept (the quotes Rust builds as events)."""
        return {}

    def _client_options(self) -> dict[str, Any]:
        """Keyword arguments of this hub's `HubClient`."""
        return {}

    def _data_handlers(self, mod: ModuleType) -> dict[type, Handler]:
        """The event records this hub reads, by record class, each to the method that turns it
        into events."""
        raise NotImplementedError


class RustMarketStream(_RustTransport, MarketHub):
    """`MarketStream` on the Rust transport."""

    def __init__(self, url: str, handler: Any, token: Any, *, coalesce_quotes: bool = False, **kwargs: Any) -> None:
        """`coalesce_quotes`: for a consumer that needs only each contract's latest quote (a price
        board, a mark to market), a batch carries one quote per contract, its last: the quote is the
        merged state, so the earlier ones of the batch add nothing it needs: Rust drops them before
        any Python object is made (counted in `stats["coalesced"]`). Off by default: the engine
        hands every quote to its strategies."""
        MarketHub.__init__(self, url, handler, token, **kwargs)
        self._init_rust()
        self._coalesce_quotes = coalesce_quotes
        self.stats.setdefault("coalesced", 0)

    def _client_options(self) -> dict[str, Any]:
        return {"coalesce_quotes": self._coalesce_quotes}

    def _count(self, client: Any) -> None:
        self.stats["coalesced"] = client.coalesced

    def _prepare(self, client: Any) -> None:
        client.build_quotes(QuoteEvent, LazyQuote, _dec, _seen_at)

    def _last_quotes(self) -> dict[str, domain.Quote]:
        return self._quotes

    def _data_handlers(self, mod: ModuleType) -> dict[type, Handler]:
        return {mod.TradesRecord: self._on_trades, mod.DepthRecord: self._on_depth}

    def _on_trades(self, rec: TradesRecord, now: datetime, events: list[StreamEvent]) -> None:
        cid = rec.contract_id
        ticks = tuple(
            domain.Tick(cid, _dt(p.ts_ns, now), _dec(p.price) or Decimal(0), p.volume, _AGGRESSOR.get(p.aggressor), now)
            for p in rec.prints
        )
        if ticks:
            events.append(TradesEvent(cid, ticks))

    def _on_depth(self, rec: DepthRecord, now: datetime, events: list[StreamEvent]) -> None:
        levels = tuple(
            DepthLevel(
                _dt(d.ts_ns, now), _DEPTH_KIND[d.dom_type], _dec(d.price) or Decimal(0), d.volume, d.current_volume
            )
            for d in rec.levels
        )
        if levels:
            events.append(DepthEvent(rec.contract_id, levels))


class RustUserStream(_RustTransport, UserHub):
    """`UserStream` on the Rust transport. User records are decoded and validated in Rust (enums
    already checked there)."""

    def __init__(self, url: str, handler: Any, token: Any, **kwargs: Any) -> None:
        UserHub.__init__(self, url, handler, token, **kwargs)
        self._init_rust()

    def _data_handlers(self, mod: ModuleType) -> dict[type, Handler]:
        return {
            mod.OrderRecord: lambda rec, _now, events: events.append(_order_event(rec)),
            mod.PositionRecord: lambda rec, _now, events: events.append(_position_event(rec)),
            mod.FillRecord: lambda rec, now, events: events.append(_fill_event(rec, now)),
            mod.AccountRecord: lambda rec, _now, events: events.append(_account_event(rec)),
        }


def new_market_stream(url: str, handler: Any, token: Any, **kwargs: Any) -> MarketHub:
    """The market stream on the active path: Rust when the extension is loaded and enabled, else
    signalrcore."""
    if native.enabled():
        return RustMarketStream(url, handler, token, **kwargs)
    return MarketHub(url, handler, token, **kwargs)


def new_user_stream(url: str, handler: Any, token: Any, **kwargs: Any) -> UserHub:
    """The user stream on the active path."""
    if native.enabled():
        return RustUserStream(url, handler, token, **kwargs)
    return UserHub(url, handler, token, **kwargs)
