"""The engine: feed → bars → strategies → risk → execution, and user-hub events → store → outbox.

One engine for paper and live: it talks to a ProjectX gateway (the simulator in paper mode, the
real one live) through `ProjectXClient` (REST), an `OrderPath` (Rust executor or Python client) and
the two SignalR hubs. Only the settings differ.

- Strategies see the world through `EngineContext` (context.py). Their actions run right
  after each handler, under one lock, so handlers never interleave.
- An order is written to the store as an intent (by its deterministic customTag) before it is sent;
  a tag already stored with a broker id is never sent again; a stored intent without one is first
  looked up at the broker by tag (a crash between intent and answer).
- Each strategy's state for the trading day is saved to `strategy_state` after every handler that
  changed it and restored at start, so a restart mid-day continues.
- Fills are stored once per broker trade id, with their notification in the same transaction.
- At start and after every user-hub reconnect the engine reconciles orders, positions and today's
  fills with REST (reconcile.py); until that agrees, `propose` refuses new orders.

Longer than 500 lines on purpose: this is one class, the one owner of one account's state (orders,
positions, exposure, intents) whose every change happens under its one lock. Splitting its methods
into mixins would spread that state over files; what runs beside it without owning it already lives
in the package (context, healing, lease, reconcile, jobs, summary, dry run, order path, bars).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time as walltime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from trading import execution, native, notifications
from trading.calendar import NotATradingDay, TradingDay, is_trading_day, next_trading_day, to_ny, trading_day
from trading.clock import Clock
from trading.config import AccountSettings, Settings
from trading.domain import (
    Bar,
    Contract,
    Decision,
    Fill,
    NotificationKind,
    Order,
    OrderRequest,
    OrderStatus,
    Position,
    PositionSide,
    Quote,
    Side,
)
from trading.engine import routes
from trading.engine.bars import ONE_MINUTE_NS, BarCache, ns
from trading.engine.blackout import Blackout
from trading.engine.context import Action, Cancel, EngineContext, ModifyStop, Notify, Place
from trading.engine.deadman import DeadMan
from trading.engine.fast_path import FastPath
from trading.engine.healing import Healer
from trading.engine.lease import hold_account, release_account
from trading.engine.order_index import OrderIndex
from trading.engine.order_path import OrderPath, python_path
from trading.engine.protection import Protection
from trading.engine.reconcile import ReconcileReport, reconcile
from trading.engine.rules import RuleGuard
from trading.engine.sizing import with_stored
from trading.engine.strategy_route import StrategyRoutes
from trading.marketdata.aggregation import BarRow
from trading.marketdata.depth import DepthBook
from trading.marketdata.routed import RoutedBarAggregator
from trading.metrics import LatencyMetrics, stage
from trading.projectx.errors import OrderRejected, ProjectXError, UncertainOutcome
from trading.projectx.rest import ProjectXClient
from trading.risk import Exposure, RepositoryRiskStore, RiskManager, WorkingOrder, profile_of
from trading.risk.exposure import AtrMemo
from trading.shadow import Comparator
from trading.store import DatabaseUnavailable, DuplicateOrderTag, Store, store_unreachable
from trading.store.orders import Intent
from trading.strategies import STRATEGIES
from trading.strategies.base import AccountInfo, SessionEvent, Strategy, persist, restore
from trading.streaming import (
    AccountEvent,
    DepthEvent,
    FillEvent,
    Hub,
    MarketStream,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    StatusEvent,
    StreamEvent,
    StreamState,
    TradesEvent,
    UserStream,
)

log = logging.getLogger(__name__)

# Stage timing (trading/metrics.py STAGES): operation names, built once.
_RISK, _SENT, _INTENT, _ACKED, _FILL, _STORED, _TICK = (
    stage(n) for n in ("risk", "order_sent", "intent", "acknowledged", "fill", "stored", "tick_to_order")
)
ACKED_KEPT = 1024  # acknowledged orders remembered for their fill stage
BAR_FLUSH = 64  # feed bars are written in batches (a lost batch is refilled from the broker at start)
HISTORY_DAYS = 24  # calendar days of 1-minute bars kept: 15 CME sessions for ATRD, with holidays
REOPEN = time(18, 0)
STOP_WAIT_S = 10.0  # a stop lets the handler in progress finish for this long before it cuts it


def current_trading_day(now: datetime) -> TradingDay | None:
    """The trading day whose overnight window or session `now` belongs to (after 18:00: the next one)."""
    local = to_ny(now)
    d = local.date()
    if local.time() >= REOPEN or not is_trading_day(d):
        d = next_trading_day(d)
    try:
        return trading_day(d)
    except NotATradingDay:
        return None


class NotReady(Exception):
    pass


class AccountWatcher(Protocol):
    """Told, without waiting, of each new fill (with the wall-clock ns it was taken) and order state."""

    def fill(self, fill: Fill, seen_ns: int) -> None: ...

    def order(self, order: Order, before: Order | None) -> None: ...


class Engine:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        client: ProjectXClient,
        clock: Clock,
        *,
        account_id: int,
        path: OrderPath | None = None,
        metrics: LatencyMetrics | None = None,
        strategies: Sequence[str] | None = None,
        user_stream: UserStream | None = None,
        market_stream: MarketStream | None = None,
        plan: AccountSettings | None = None,
    ) -> None:
        self.settings = settings
        self.plan = plan  # this account's [[accounts]] table in a multi-account process (its size rule)
        # The table as configured: `plan` is this with the size rule an admin stored (/account size) on top.
        self.configured_plan = plan
        # Who is told of this account's new fills and order states (copy mode's leader: engine/copy.py).
        self.watchers: list[AccountWatcher] = []
        self.store = store
        self.client = client
        self.clock = clock
        self.account_id = account_id
        self.metrics = metrics or LatencyMetrics(clock, store.latency)
        self.path: OrderPath = path or python_path(client, self.metrics)
        self._acked: dict[int, int] = {}  # broker order id -> perf_counter_ns of its ack (the fill stage)
        # While a quote's actions are carried out: when that quote's hub frame came off the socket (wall ns;
        # 0 otherwise), the start of the tick -> order stage.
        self._tick_ns = 0
        self.user_stream = user_stream
        self.market_stream = market_stream
        # The Rust overnight range's breakeven without Python (fast_path.py): built at start when it applies.
        self.fast_path: FastPath | None = None
        names = (
            list(strategies)
            if strategies is not None
            else [n for n in STRATEGIES if getattr(getattr(settings.strategies, n, None), "enabled", False)]
        )
        self.strategy_names = names
        self.strategies: dict[str, Strategy[Any]] = {}
        self.disabled: set[str] = set()  # stopped by an operator (persisted in strategy_control)
        self.contracts: dict[str, Contract] = {}  # symbol -> contract
        self.symbol_of: dict[str, str] = {}  # contract id -> symbol
        self.bars: dict[str, BarCache] = {}
        self.quotes: dict[str, Quote] = {}
        self.books: dict[str, DepthBook] = {}  # contract id -> market depth (GatewayDepth)
        # The day's orders by broker id, their owning strategies, the working ones: changed only through
        # `book.put` / `book.own` (apply_order, send, adopt), read as `orders` / `owner` / `book.working`.
        self.book = OrderIndex()
        self.positions: dict[str, Position] = {}
        self.actions: list[Action] = []
        self.account_name = ""  # the broker's name of the account (rule profile auto-detection)
        self.risk = RiskManager(settings.risk)
        self.balance = Decimal(0)
        self.realized_today = Decimal(0)
        self._ready = asyncio.Event()  # reconciled with the broker; new orders refused until then
        self.day: TradingDay | None = None
        self._reserved: list[WorkingOrder] = []
        self._atr: AtrMemo = {}  # each symbol's ATR for risk's price band, until its next bar
        self._unsaved_bars: list[Bar] = []
        self._saved: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._tags_met: set[str] = set()  # customTags this engine has sent or tried to (see `place`)
        self._unrecorded: dict[str, int] = {}  # tag -> broker id the broker gave while the store was away
        self.events_seen = 0  # user-hub order/fill/position events handled (drivers wait on it)
        # Newest quote time handled (the simulator sends a print's trade before its quote, on one
        # connection: a quote handled means everything before it on the market hub was too).
        self.market_seen_at: datetime | None = None
        self.reconciles = 0
        self.started = False
        self.healer = Healer(self)  # settles intents, applies held events, reconciles until agreement
        self.protection = Protection(self)  # every position with a stop at the broker (on the healer's loop)
        self.blackout = Blackout(self)  # news windows: entries refused, cancelled, flattened (on the same loop)
        self.deadman = DeadMan(self)  # positions closed when the feed or the broker is away too long (same loop)
        self.rules = RuleGuard(self)  # the rule profile: marks, trips, loss alerts, flat time (healer's loop)
        # A circuit breaker's trip (trading/native.py): the alert and the audit row, on the engine's loop.
        self._unwatch_trips = native.on_trip(lambda trip: self._spawn(routes.tripped(self.store, trip), "route-trip"))
        # The bars' shadow run (route `shadow`): each mismatch stored with both outputs, alerted once per kind.
        self.parity = Comparator(
            native.Component.BARS.value, lambda m: self._spawn(routes.mismatch(self.store, m), "parity-mismatch")
        )
        # The strategy component's route: which implementation serves, swaps, fallback, shadow run.
        self.strategy_routes = StrategyRoutes(
            self,
            Comparator(
                native.Component.STRATEGY.value,
                lambda m: self._spawn(routes.mismatch(self.store, m), "parity-mismatch"),
            ),
        )
        # every shadow run's comparator (the streams' added by setup)
        self.comparators: list[Comparator] = [self.parity, self.strategy_routes.comparator]

    @property
    def orders(self) -> Mapping[int, Order]:
        """The day's orders by broker id, their latest state."""
        return self.book.orders

    @property
    def owner(self) -> Mapping[int, str]:
        """Broker order id -> the strategy it belongs to."""
        return self.book.owner

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @ready.setter
    def ready(self, value: bool) -> None:
        if value:
            self._ready.set()
        else:
            self._ready.clear()

    async def until_ready(self, within: float) -> bool:
        """Wait (at most `within` seconds) for the engine to agree with the broker again; the healer
        is asked to reconcile now. A session event must not meet a reconcile in progress (a token
        refresh at 09:30, a hub reconnect) and have its orders refused for it."""
        if not self.ready:
            self.healer.wake()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(within):  # not wait_for: see trading/engine/copy.py run()
                    await self._ready.wait()
        return self.ready

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """The account's lease first (a second instance waits here, a hot standby), then contracts, bars,
        risk state, strategies (state restored), streams, then reconcile. A bad news file stops it first."""
        self.blackout.load()
        await hold_account(self)
        await self.load_size_rule()
        now = self.clock.now()
        self.day = current_trading_day(now)
        for name, on in (await self.store.strategy_state.enabled_overrides()).items():
            if on and name not in self.strategy_names and name in STRATEGIES:
                self.strategy_names.append(name)  # started by an operator before this restart
            elif not on:
                self.disabled.add(name)
        await self._add_symbols(sorted({s for n in self.strategy_names for s in self._symbols_of(n)}), now)
        await self.load_risk()
        for name in self.strategy_names:
            await self._instantiate(name)
        if self.user_stream is not None:
            await self.user_stream.start()
            await self.user_stream.subscribe_account(self.account_id)
        if self.market_stream is not None:
            await self.market_stream.start()
            for c in self.contracts.values():
                await self._subscribe(c)
            self.fast_path = FastPath.create(self)
            if self.fast_path is not None:
                self.fast_path.start()
                self.fast_path.refresh()
        await self.reconcile()
        self.started = True
        self._spawn(self.healer.run(), "engine-healer")

    async def load_size_rule(self) -> None:
        """The size rule an admin stored for this account (/account size) over its [[accounts]] table's:
        read once the account is ours (a standby taking over reads the active instance's latest)."""
        if self.configured_plan is not None:
            self.plan = with_stored(self.configured_plan, await self.store.size_rules.get(self.configured_plan.name))

    async def load_risk(self) -> None:
        """The account's stored risk state (kill switch, the day's numbers, the end-of-day high, the
        finished days) under the rule profile `[risk]` chooses for this account."""
        self.risk = await RiskManager.load(
            self.settings.risk,
            RepositoryRiskStore(self.store.risk_state),
            self.account_id,
            profile_of(self.settings.risk, self.account_name),
        )

    async def _add_symbols(self, symbols: Sequence[str], now: datetime) -> list[Contract]:
        """Front-month contracts, stored bars and backfill for symbols the engine does not trade yet."""
        added = []
        for sym in symbols:
            if sym in self.contracts:
                continue
            c = await self.client.front_month(sym)
            self.contracts[sym] = c
            self.symbol_of[c.id] = sym
            await self.store.contracts.upsert(c)
            self.bars[sym] = BarCache(c.id, RoutedBarAggregator(ONE_MINUTE_NS, self.parity, sym))
            start = now - timedelta(days=HISTORY_DAYS)
            self.bars[sym].add(await self.store.bars.range(c.id, "1m", start, now))
            await self.backfill(sym, self.bars[sym].latest or start, now)
            added.append(c)
        return added

    async def _subscribe(self, c: Contract) -> None:
        assert self.market_stream is not None
        self.books.setdefault(c.id, DepthBook(c.id))
        await self.market_stream.subscribe_quotes(c.id)
        await self.market_stream.subscribe_trades(c.id)
        await self.market_stream.subscribe_depth(c.id)

    async def _instantiate(self, name: str) -> Strategy[Any]:
        strategy = self.strategy_routes.create(name, EngineContext(self, name))
        self.strategies[name] = strategy
        if self.day is not None:
            await restore(strategy, self.store.strategy_state, self.day.date)
            self._saved[name] = json.dumps(strategy.on_save(), sort_keys=True, default=str)
        return strategy

    async def follow_strategy_routes(self) -> None:
        """Apply the strategy route now (an admin's change): each strategy whose implementation it changes
        is swapped, its state carried, under the lock (between two events)."""
        async with self._lock:
            for name in list(self.strategies):
                self.strategy_routes.serving(name)
            if self.fast_path is not None:
                self.fast_path.refresh()

    # ------------------------------------------------------------------ operator control of one strategy
    def active(self) -> list[Strategy[Any]]:
        """The strategies that receive session events, bars and quotes (not stopped by an operator)."""
        return [s for n, s in self.strategies.items() if n not in self.disabled]

    async def enable(self, name: str, by: str = "") -> bool:
        """Start one strategy while running (added with its symbols if it was not loaded); persisted.
        False when it was running already."""
        if name not in STRATEGIES:
            raise KeyError(name)
        async with self._lock:
            was_running = name in self.strategies and name not in self.disabled
            await self.store.strategy_state.set_enabled(name, True, by, at=self.clock.now())
            self.disabled.discard(name)
            if self.fast_path is not None:
                self.fast_path.refresh()
            if name not in self.strategies:
                for c in await self._add_symbols(self._symbols_of(name), self.clock.now()):
                    if self.market_stream is not None:
                        await self._subscribe(c)
                if name not in self.strategy_names:
                    self.strategy_names.append(name)
                await self._instantiate(name)
            return not was_running

    async def disable(self, name: str, by: str = "") -> bool:
        """Stop one strategy: no more events, so no new orders (its working orders and brackets stay
        at the broker, still tracked); persisted. False when it was stopped already."""
        if name not in STRATEGIES:
            raise KeyError(name)
        async with self._lock:
            was_running = name in self.strategies and name not in self.disabled
            await self.store.strategy_state.set_enabled(name, False, by, at=self.clock.now())
            self.disabled.add(name)
            if self.fast_path is not None:
                self.fast_path.refresh()
            return was_running

    async def stop(self) -> None:
        """Stop handling, stop the feeds, let the account go. Never hangs: each step that does not end
        within STOP_WAIT_S is logged with its stack and left behind, so the lease is always released."""
        # The handler in progress finishes first (a fill's cancel sent and the strategy's state saved):
        # cut in the middle, the saved state would lag what was done at the broker until the next
        # start's reconcile hands the fill over again. A handler waiting on a lost lease or a dead
        # broker is cut after STOP_WAIT_S.
        if self.fast_path is not None:  # first: no stop moves without Python from here on
            self.fast_path.stop()
        held = await _ended(asyncio.ensure_future(self._lock.acquire()), "the handler in progress")
        try:
            await _ended(asyncio.ensure_future(self.flush_bars()), "the bars' flush")  # a database away: cut
            tasks = list(self._tasks)
            for t in tasks:
                t.cancel()
            await _ended(asyncio.gather(*tasks, return_exceptions=True), "the engine's tasks", tasks)
        finally:
            if held:
                self._lock.release()
        for hub, stream in (("market", self.market_stream), ("user", self.user_stream)):
            if stream is not None:
                await _ended(asyncio.ensure_future(stream.stop()), f"the {hub} feed's stop")
        await _ended(asyncio.ensure_future(self.metrics.flush()), "the latency flush")
        self._unwatch_trips()
        await release_account(self)  # last: a standby takes over only once this one handles nothing

    def _symbols_of(self, name: str) -> tuple[str, ...]:
        cfg = getattr(self.settings.strategies, name, None)
        return tuple(getattr(cfg, "symbols", ()))

    def spawn(self, coro: Any, name: str) -> None:
        """Run `coro` as one of the engine's tasks (cancelled when it stops)."""
        self._spawn(coro, name)

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def idle(self) -> bool:
        """Nothing being handled or carried out right now (drivers wait for it)."""
        return not self._lock.locked() and not self.actions

    # ------------------------------------------------------------------ views for strategies and risk
    def bar_cache(self, symbol: str) -> BarCache:
        return self.bars[symbol]

    def last_price(self, symbol: str) -> Decimal | None:
        c = self.contracts[symbol]
        q = self.quotes.get(c.id)
        if q is not None and q.last is not None:
            return q.last
        a = self.bars[symbol].arrays()
        return c.snap(float(a.close[-1])) if len(a.ts) else None

    def contracts_by_id(self) -> dict[str, Contract]:
        return {c.id: c for c in self.contracts.values()}

    def orders_of(self, name: str) -> list[Order]:
        return self.book.of(name)

    def working_orders_of(self, name: str) -> list[Order]:
        return self.book.working_of(name)

    def account_info(self) -> AccountInfo:
        limit = self.risk.daily_loss_limit or self.settings.risk.daily_loss_limit
        return AccountInfo(self.account_id, self.balance, self._day_pnl(), limit)

    def marks(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Each open position's last trade and unrealized P&L at it (contract id -> (last, P&L)); a
        position with no quote yet is left out. The one computation: risk's exposure sums it, the
        trader's cards show it per position."""
        out: dict[str, tuple[Decimal, Decimal]] = {}
        for cid, p in self.positions.items():
            sym = self.symbol_of.get(cid)
            q = self.quotes.get(cid)
            if sym is not None and q is not None and q.last is not None:
                out[cid] = (q.last, p.unrealized(self.contracts[sym], q.last))
        return out

    def _unrealized(self) -> Decimal:
        marks = self.marks()  # none without an open position: every quote's order asks this twice
        return sum((pnl for _, pnl in marks.values()), Decimal(0)) if marks else Decimal(0)

    def _day_pnl(self) -> Decimal:
        return self.realized_today + self._unrealized()

    def exposure(self) -> Exposure:
        working = [
            WorkingOrder(o.contract_id, o.side, o.size) for o in self.book.working.values() if o.parent_id is None
        ]
        return Exposure(
            positions={
                cid: p.size * (1 if p.side is PositionSide.LONG else -1) for cid, p in self.positions.items() if p.size
            },
            working=working + self._reserved,
            realized_today=self.realized_today,
            unrealized=self._unrealized(),
            balance=self.balance,
            last_prices=Exposure.last_prices_of(self.contracts, self.last_price, self.bars, self._atr),
        )

    def screen(self, request: OrderRequest, *, strategy: bool) -> Decision:
        """Whether an order may be placed now: a news blackout's window first, then risk."""
        began = walltime.perf_counter_ns()
        refused = self.blackout.refusal(request, strategy=strategy)
        decision = Decision(False, refused) if refused else self.check_risk(request)
        # filed under the implementation whose check answered (`[risk] impl`; Python where Rust left it)
        path = self.risk.answered_by if not refused and self.ready else "python"
        self.metrics.record(_RISK, path, walltime.perf_counter_ns() - began)
        return decision

    def check_risk(self, request: OrderRequest) -> Decision:
        if not self.ready:
            return Decision(False, "the engine has not reconciled with the broker yet; no new orders until it has")
        return self.risk.check(request, self.exposure(), self.clock.now())

    def sized(self, request: OrderRequest) -> OrderRequest:
        """The account's size rule on a strategy's order. An order that reduces the open position is an
        exit the strategy sized from this account's real position: left as asked."""
        if self.plan is None:
            return request
        pos = self.positions.get(request.contract_id)
        if pos is not None and pos.size and (pos.side is PositionSide.LONG) != (request.side is Side.BUY):
            return request
        size = self.plan.sized(request.size)
        return request if size == request.size else replace(request, size=size)

    def reserve(self, request: OrderRequest) -> None:
        """Count an approved proposal as working until it is placed (a second proposal sees it)."""
        self._reserved.append(WorkingOrder(request.contract_id, request.side, request.size))

    # ------------------------------------------------------------------ bars
    async def load_bars(self, start: datetime, end: datetime) -> None:
        """Bars from the store, then whatever the broker has after the newest stored bar (stored too)."""
        for sym, c in self.contracts.items():
            cache = self.bars[sym]
            cache.add(await self.store.bars.range(c.id, "1m", start, end))
            await self.backfill(sym, cache.latest or start, end)

    async def backfill(self, symbol: str, start: datetime, end: datetime) -> int:
        c = self.contracts[symbol]
        try:
            bars = await self.client.retrieve_bars(c.id, start, end, "1m", include_partial=False)
        except ProjectXError as exc:
            log.warning("bar backfill for %s failed: %s", symbol, exc)
            return 0
        closed = [b for b in bars if b.start + timedelta(minutes=1) <= end]
        if closed:
            await self.store.bars.insert_many(closed)
            self.bars[symbol].add(closed)
        return len(closed)

    async def catch_up_bars(self) -> None:
        """Close the aggregators' bars up to now and fill any gap from the broker (before levels are read)."""
        now = self.clock.now()
        for sym in self.contracts:
            await self._closed_bars(sym, self.bars[sym].aggregator.advance(ns(now)))
        await self.flush_bars()
        for sym in self.contracts:
            # The broker's bars are the reference for levels: re-read the whole overnight window (a
            # dropped print on the feed must not move the range), and anything after it.
            start = self.day.window_start if self.day is not None else now - timedelta(days=1)
            latest = self.bars[sym].latest
            if latest is not None and latest < start:
                start = latest
            await self.backfill(sym, start, now)

    async def flush_bars(self) -> None:
        """Write the bars closed on the feed since the last flush (one COPY for many bars)."""
        if self._unsaved_bars:
            bars, self._unsaved_bars = self._unsaved_bars, []
            await self.store.bars.insert_many(bars)
        for comparator in self.comparators:
            await routes.count_compared(self.store, comparator)

    async def _closed_bars(self, symbol: str, rows: Sequence[BarRow]) -> None:
        if not rows:
            return
        bars = self.bars[symbol].add_records(rows)
        self._unsaved_bars += bars
        if len(self._unsaved_bars) >= BAR_FLUSH:
            await self.flush_bars()
        for bar in bars:
            for strategy in self.active():
                if symbol in strategy.symbols:
                    self.strategy_routes.handle(strategy.name, "on_bar", symbol, bar)
        await self._after()

    # ------------------------------------------------------------------ session events (scheduler jobs call these)
    async def session_event(self, event: SessionEvent, day: TradingDay, only: str | None = None) -> int:
        """Tell the running strategies (or only `only`) of a session event; the orders it placed, counted.

        Strategies hear it only once the engine agrees with the broker (bounded by
        `engine.ready_wait_s`): a reconcile in progress (a token refresh at 09:30, a hub rebuild)
        must not get the open's entries refused."""
        async with self._lock:
            if self.day is None or self.day.date != day.date:
                self.day = day
                realized, fees = await self.store.fills.realized_pnl(
                    self.account_id, day.window_start, self.clock.now()
                )
                self.realized_today = realized - fees
            if event in (SessionEvent.PRE_OPEN, SessionEvent.OPEN):
                await self.catch_up_bars()
        deadline = walltime.monotonic() + self.settings.engine.ready_wait_s
        while True:
            await self.until_ready(max(0.0, deadline - walltime.monotonic()))
            async with self._lock:
                if not self.ready and walltime.monotonic() < deadline:
                    continue  # it changed again while we waited for the lock
                if not self.ready:
                    log.warning("%s: the engine still disagrees with the broker; strategies told", event.value)
                for strategy in self.active():
                    if only is None or strategy.name == only:
                        self.strategy_routes.handle(strategy.name, "on_session_event", event, day)
                placing = sum(1 for a in self.actions if isinstance(a, Place))
                await self._drain()
                await self._persist(force=True)
                return placing

    # ------------------------------------------------------------------ stream handlers
    async def on_market(self, batch: Sequence[StreamEvent]) -> None:
        fed = False
        for ev in batch:
            if isinstance(ev, QuoteEvent):
                fed = True
                q = ev.quote
                self.quotes[q.contract_id] = q
                sym = self.symbol_of.get(q.contract_id)
                if sym is not None:
                    async with self._lock:
                        for strategy in self.active():
                            if sym in strategy.symbols:
                                self.strategy_routes.handle(strategy.name, "on_quote", sym, q)
                        if self.actions:
                            self._tick_ns = 0 if q.ts_init is None else ns(q.ts_init)
                            try:
                                await self._drain()
                            finally:
                                self._tick_ns = 0
                            await self._persist()
                self._seen_market(q.ts_event)
            elif isinstance(ev, TradesEvent):
                fed = True
                sym = self.symbol_of.get(ev.contract_id)
                if sym is None:
                    continue
                # the bars route read once per event: a change or a trip takes over at the next print
                rows = self.bars[sym].aggregator.push_prints(
                    (ns(t.ts_event), float(t.price), float(t.size)) for t in ev.ticks
                )
                async with self._lock:
                    await self._closed_bars(sym, rows)
            elif isinstance(ev, DepthEvent):
                fed = True
                book = self.books.get(ev.contract_id)
                if book is not None:
                    book.apply(ev.levels)
            elif isinstance(ev, StatusEvent):
                self.deadman.market_status(ev.state)
                if ev.is_alert:
                    await self.store.outbox.enqueue(
                        NotificationKind.ALERT, dict(notifications.alert("Market feed", ev.message))
                    )
        if fed:
            self.deadman.market_fed()

    def _seen_market(self, at: datetime) -> None:
        if self.market_seen_at is None or at > self.market_seen_at:
            self.market_seen_at = at

    async def on_user(self, batch: Sequence[StreamEvent]) -> None:
        """Apply a user-hub batch in order. Events the store cannot take now (the database down) are
        held by the healer, with everything after them, and applied when it is back: none is dropped."""
        if self.healer.held:
            self.healer.hold(batch, RuntimeError("events held before are still waiting"))
            return
        for i, ev in enumerate(batch):
            try:
                await self.apply_user_event(ev)
            except Exception as exc:
                if store_unreachable(exc):
                    self.healer.hold(batch[i:], exc)
                    return
                # Not a store outage (a bug, a surprise shape): the broker's truth heals it.
                log.exception("an account event could not be applied; reconciling")
                self.ready = False
                self.healer.wake()

    async def apply_user_event(self, ev: StreamEvent) -> None:
        if isinstance(ev, OrderEvent):
            async with self._lock:
                await self.apply_order(ev.order)
        elif isinstance(ev, FillEvent):
            arrived = walltime.perf_counter_ns()
            async with self._lock:
                await self.apply_fill(ev.fill, arrived=arrived)
        elif isinstance(ev, PositionEvent):
            await self.store.positions.record(ev.position, at=self.clock.now())
            self.apply_position(ev.position, ev.closed)
        elif isinstance(ev, AccountEvent):
            if ev.account.id == self.account_id:
                self.balance = ev.account.balance
        elif isinstance(ev, StatusEvent):
            await self._on_status(ev)
        if isinstance(ev, OrderEvent | FillEvent | PositionEvent):
            self.events_seen += 1

    async def _on_status(self, ev: StatusEvent) -> None:
        if ev.is_alert:
            await self.store.outbox.enqueue(
                NotificationKind.ALERT, dict(notifications.alert("Account feed", ev.message))
            )
        if ev.hub is Hub.USER and ev.state in (StreamState.DISCONNECTED, StreamState.LOGOUT):
            self.ready = False
        if ev.hub is Hub.USER and ev.state in (StreamState.RECONNECTED, StreamState.TOKEN_REFRESHED):
            self.ready = False  # the healer reconciles (and retries until the store and broker agree)
            self.healer.wake()

    def apply_position(self, position: Position, closed: bool = False) -> None:
        if closed or position.size == 0:
            self.positions.pop(position.contract_id, None)
        else:
            self.positions[position.contract_id] = position

    def _owner_of(self, order: Order) -> str | None:
        if order.id is not None and order.id in self.owner:
            return self.owner[order.id]
        if order.custom_tag:
            head = order.custom_tag.split(":", 1)[0]
            if head in self.strategies:
                return head
        if order.parent_id is not None:
            return self.owner.get(order.parent_id)
        return None

    async def apply_order(self, order: Order, *, notify: bool = True) -> None:
        """A broker order state (hub event or REST read): store, cache, tell its strategy."""
        oid = order.id
        if oid is None:
            return
        before = self.orders.get(oid)
        stored = await self.store.orders.upsert_broker_order(order, at=self.clock.now())
        if order.custom_tag is None and stored.custom_tag is not None:
            order = replace(order, custom_tag=stored.custom_tag)
        self.book.put(order)
        for w in self.watchers:
            w.order(order, before)
        name = self._owner_of(order)
        if name is not None:
            self.book.own(oid, name)
        changed = before is None or before.status is not order.status or before.stop_price != order.stop_price
        done = order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED)
        was_live = before is None or before.status is not OrderStatus.SUSPENDED
        if notify and changed and done and name is not None and was_live:
            await self.store.outbox.enqueue(
                NotificationKind.ORDER,
                dict(notifications.order(order.status.value, order, _contract_of(self, order.contract_id))),
                dedupe_key=f"order-{order.id}-{order.status.value}",
            )
        if name is not None and changed:
            self.strategy_routes.handle(name, "on_order_update", order)
            await self._after()

    async def apply_fill(self, fill: Fill, *, arrived: int | None = None) -> bool:
        """Store a fill once (with its notification); tell the owning strategy. False for a repeat.
        `arrived`: perf_counter_ns when its event reached the engine (a hub fill; the stages are timed)."""
        seen_ns = walltime.perf_counter_ns()
        kind = notifications.fill_kind(fill)
        payload = dict(notifications.fill(fill, _contract_of(self, fill.contract_id)))
        async with self.store.transaction() as tx:
            if not await tx.fills.insert(fill):
                return False
            await tx.outbox.enqueue(kind, payload, dedupe_key=f"fill-{fill.id}")
        self.metrics.count("fills", self.path.path)
        if arrived is not None:
            acked = self._acked.pop(fill.order_id, None)
            if acked is not None:
                # A market order's fill can reach the hub before its place call returns: 0, not negative.
                self.metrics.record(_FILL, self.path.path, max(0, arrived - acked))
            stream = self.user_stream.path if self.user_stream is not None else "python"
            self.metrics.record(_STORED, stream, walltime.perf_counter_ns() - arrived)
        for w in self.watchers:
            w.fill(fill, seen_ns)
        if not fill.voided:
            self.realized_today += (fill.pnl or Decimal(0)) - fill.fees
            # The realized balance follows each fill (the engine takes no account events; a reconcile
            # sets the broker's): the maximum loss floor and the profit target read it at once.
            self.balance += (fill.pnl or Decimal(0)) - fill.fees
        await self.hand_over(fill)
        return True

    async def hand_over(self, fill: Fill) -> None:
        """Tell a stored fill's strategy, carry out what it asks, save its state; then mark the fill
        handled. A fill stored but never marked (the process died in between) is handed over again by
        the next reconcile: a strategy takes a repeated fill as a no-op, a repeated cancel finds its
        order done, a repeated notification has the same key, so handing over twice changes nothing."""
        order = self.orders.get(fill.order_id)
        if order is None:
            try:
                order = await self.client.order_by_id(self.account_id, fill.order_id)
            except ProjectXError as exc:  # left unhandled: the next reconcile tries again
                log.warning("order %s of fill %s unknown: %s", fill.order_id, fill.id, exc)
                return
            await self.apply_order(order, notify=False)
        name = self._owner_of(order)
        if name is not None:
            filled = replace(order, status=OrderStatus.FILLED, fill_volume=order.size, filled_price=fill.price)
            self.strategy_routes.handle(name, "on_fill", filled, fill.price, fill.size, fill.ts_event)
        await self.rules.mark()  # trips, loss alerts, the risk state saved
        await self._after()
        await self.store.fills.mark_handled(fill.id, at=self.clock.now())

    # ------------------------------------------------------------------ actions
    async def _after(self) -> None:
        await self._drain()
        await self._persist()

    async def _drain(self) -> None:
        try:
            await self._carry_out()
        finally:
            self._reserved.clear()

    async def _carry_out(self) -> None:
        while self.actions:
            action = self.actions.pop(0)
            try:
                if isinstance(action, Place):
                    await self.place(action.request, action.strategy)
                elif isinstance(action, Cancel):
                    await self._cancel(action.order)
                elif isinstance(action, ModifyStop):
                    await self._modify_stop(action.order, action.price)
                elif isinstance(action, Notify):
                    payload = notifications.stored(action.payload, action.strategy)
                    day = (self.day.date if self.day is not None else self.clock.now().date()).isoformat()
                    once = notifications.content_key(action.kind, payload, day)
                    await self.store.outbox.enqueue(action.kind, payload, dedupe_key=once)
            except ProjectXError as exc:
                await self._action_failed(action, exc)
            except Exception as exc:
                if store_unreachable(exc):  # kept, in order: the healer carries it out when the store is back
                    self.actions.insert(0, action)
                raise

    async def _action_failed(self, action: Action, exc: ProjectXError) -> None:
        """An action the broker did not take: a cancel or stop move tried again later, the trader told."""
        log.warning("%s failed: %s", type(action).__name__, exc)
        key = self.healer.retry_later(action, exc) if isinstance(action, Cancel | ModifyStop) else None
        await self.store.outbox.enqueue(
            NotificationKind.ALERT,
            dict(notifications.alert(f"{type(action).__name__} failed", str(exc))),
            dedupe_key=None if key is None else f"action-failed-{key}",
        )

    async def place(self, request: OrderRequest, strategy: str | None) -> int | None:
        """Intent and broker, once per customTag whatever happened before.

        A tag this engine has not met (the usual case: a new order) takes `_place_new`: the intent's one
        statement and the order's request go out together and the intent's commit is awaited beside the
        broker's answer, not before the send (why that loses nothing: `_place_new`). A tag it has met (an
        intent a crash or an outage left, a repeat of a placed order) takes the careful way: the intent
        written first, and a tag seen before found by the insert failing on it, not by reading first."""
        began = walltime.perf_counter_ns()
        tag = request.custom_tag
        new = tag not in self._tags_met and self.book.by_tag(tag) is None and not self.healer.knows(tag)
        if new and self.settings.engine.intent == "beside":
            return await self._place_new(request, strategy, began)
        ask = not new  # sent or tried before: the broker may have it whatever the store says
        try:
            await self.store.orders.record_intent(request, strategy=strategy, at=self.clock.now())
        except DuplicateOrderTag:
            stored = await self.store.orders.by_tag(tag)
            if stored is None:  # gone again in between (an operator's clean-up): write it afresh
                return await self.place(request, strategy)
            if stored.id is not None and tag not in self._unrecorded:
                return stored.id  # placed before (this run or an earlier one)
            ask = True  # an intent without a broker id: did the broker get it before we died?
        answered = self._unrecorded.pop(tag, None)
        if answered is not None:  # the broker took it while the store was away: recorded now, not sent again
            return await self._settled(request, strategy, answered)
        if ask:
            found = await self.client.find_order_by_tag(self.account_id, tag, self.clock.now() - timedelta(days=1))
            if found is not None and found.id is not None:
                await self.adopt(tag, found, strategy)
                return found.id
        return await self.send(request, strategy, since=began)

    async def _place_new(self, request: OrderRequest, strategy: str | None, began: int) -> int | None:
        """A new tag: the intent's statement and the order's request in flight together.

        The house rule is that an order intent is written before it is placed; here the statement is issued
        with the request and its commit awaited beside the broker's answer, so the commit's wait (the WAL
        flush: p99 1-2 ms on this machine's disk, `python -m bench intent`) is not between a tick and its
        order. What the rule protects is that no order can be lost or doubled by a crash or an outage, and
        the customTag keeps that without the commit first, because it is deterministic (a strategy proposes
        the same tag for the same order after any restart) and the broker refuses a second order with one:
        - killed after the send, before the commit (tests/integration/engine/test_intent_overlap_kill.py):
          the next start's reconcile stores every broker order of the day by its tag (`apply_order`), so
          the strategy's repeat of the tag finds it stored and sends nothing;
        - the store unreachable while the broker took the order (tests/integration/engine/
          test_intent_overlap.py): the order joins the engine's book at once (risk's exposure counts it),
          the placement is kept and carried out again when the store is back, and that repeat (the tag is
          met now) records the intent and attaches the id it knows without sending;
        - the broker refused or never took it: settled exactly as after an intent written first (`_settled`).
        A tag met before never comes here: it takes the careful way in `place`."""
        tag = request.custom_tag
        self._tags_met.add(tag)
        intent = self.store.orders.record_intent(request, strategy=strategy, at=self.clock.now())
        recorded = asyncio.ensure_future(intent)
        path = self.path.path

        def committed(done: asyncio.Future[Order]) -> None:  # timed when the commit lands, not when looked at
            if not done.cancelled() and done.exception() is None:
                self.metrics.record(_INTENT, path, walltime.perf_counter_ns() - began)

        recorded.add_done_callback(committed)
        outcome = await self._call(request, since=began, path=path)
        try:
            await recorded
        except DuplicateOrderTag:  # stored by a writer this engine does not know of: the broker's answer decides
            log.warning("intent %s was already stored; settling it by the broker's answer", tag)
        except BaseException as exc:
            if isinstance(outcome, int) and store_unreachable(exc):
                self._unrecorded[tag] = outcome
                self.book.put(_order_of(request, outcome, OrderStatus.OPEN))
                if strategy is not None:
                    self.book.own(outcome, strategy)
            raise
        return await self._settled(request, strategy, outcome)

    async def adopt(self, tag: str, found: Order, strategy: str | None) -> None:
        """The broker has the order of an intent we never heard back about: attach it and carry on."""
        assert found.id is not None
        if strategy is not None:
            self.book.own(found.id, strategy)
        await self.store.orders.attach_broker_id(tag, found.id, at=self.clock.now())
        await self.apply_order(found)

    async def send(self, request: OrderRequest, strategy: str | None, *, since: int | None = None) -> int | None:
        """Send a recorded intent and settle it: the broker id attached, or rejected, or (when the
        broker did not take it: rate limit, unreachable) left for the healer to send again. `since`:
        perf_counter_ns when the placement began (the order_sent stage is timed from it)."""
        self._tags_met.add(request.custom_tag)
        return await self._settled(request, strategy, await self._call(request, since=since))

    async def _call(self, request: OrderRequest, *, since: int | None, path: str | None = None) -> int | ProjectXError:
        """The broker's answer to one place request: the order's id, or what went wrong (timed, counted).
        `path`: the order path's implementation as the caller read it just before (each read asks the
        executor's route: read here when not given)."""
        if path is None:
            path = self.path.path
        sent = walltime.perf_counter_ns()
        if since is not None:
            self.metrics.record(_SENT, path, sent - since)
        try:
            try:
                order_id = await self.path.place(request)
            finally:
                self._tick_to_order(path)
        except ProjectXError as exc:
            return exc
        acked = walltime.perf_counter_ns()
        self.metrics.record(_ACKED, path, acked - sent)
        self._acked[order_id] = acked
        if len(self._acked) > ACKED_KEPT:  # orders that never fill (cancelled, expired) age out
            del self._acked[next(iter(self._acked))]
        self.metrics.count("orders", path, "placed")
        return order_id

    async def _settled(self, request: OrderRequest, strategy: str | None, outcome: int | ProjectXError) -> int | None:
        """Store and tell the broker's answer to a recorded intent's send."""
        tag = request.custom_tag
        path = self.path.path
        if isinstance(outcome, OrderRejected):
            self.metrics.count("orders", path, "rejected")
            self.healer.settled(tag)
            await self.store.orders.update_status(
                custom_tag=tag, status=OrderStatus.REJECTED, detail=str(outcome), at=self.clock.now()
            )
            rejected = _order_of(request, outcome.order_id, OrderStatus.REJECTED)
            await self.store.outbox.enqueue(
                NotificationKind.ORDER,
                dict(
                    notifications.order(
                        "rejected", rejected, _contract_of(self, request.contract_id), error=str(outcome)
                    )
                ),
                dedupe_key=f"order-rejected-{tag}",
            )
            if strategy is not None:
                self.strategy_routes.handle(strategy, "on_order_update", rejected)
            return None
        if isinstance(outcome, UncertainOutcome):
            self.metrics.count("orders", path, "uncertain")
            log.warning("placement of %s uncertain (%s): left as an intent for reconciliation", tag, outcome)
            self.ready = False
            self.healer.wake()
            return None
        if isinstance(outcome, ProjectXError):  # refused before the broker took it (429, 5xx, unreachable)
            self.metrics.count("orders", path, "not_sent")
            self.healer.defer(tag, outcome)
            await self.store.outbox.enqueue(
                NotificationKind.ALERT,
                dict(notifications.alert("Order not placed yet", f"{tag}: {outcome}; retrying with the same tag")),
                dedupe_key=f"intent-retry-{tag}",
            )
            return None
        order_id = outcome
        self.healer.settled(tag)
        if strategy is not None:
            self.book.own(order_id, strategy)
        await self.store.orders.settle_intent(tag, order_id, at=self.clock.now())
        if order_id not in self.orders:
            self.book.put(_order_of(request, order_id, OrderStatus.OPEN))
        await self.store.outbox.enqueue(
            NotificationKind.ORDER,
            dict(
                notifications.order(
                    "placed", self.orders[order_id], _contract_of(self, request.contract_id), request=request
                )
            ),
            dedupe_key=f"order-placed-{tag}",
        )
        return order_id

    def _tick_to_order(self, path: str) -> None:
        """The tick -> order stage, when a quote's handling just sent this request: from the quote's hub
        frame off the socket to the request handed to the HTTP connection (both stamped on the wall clock,
        by the stream and by the executor, the same points on either path)."""
        if self._tick_ns:
            sent = execution.sent_ns()
            if sent:
                self.metrics.record(_TICK, path, sent - self._tick_ns)

    async def reject_intent(self, intent: Intent, reason: str) -> None:
        """Give up an intent the broker never took: stored rejected, its strategy told, the trader too."""
        tag = intent.request.custom_tag
        rejected = await self.store.orders.update_status(
            custom_tag=tag, status=OrderStatus.REJECTED, detail=reason, at=self.clock.now()
        )
        await self.store.outbox.enqueue(
            NotificationKind.ORDER,
            dict(notifications.order("rejected", rejected, _contract_of(self, rejected.contract_id), error=reason)),
            dedupe_key=f"order-rejected-{tag}",
        )
        name = intent.strategy or tag.split(":", 1)[0]
        if name in self.strategies:
            self.strategies[name].on_order_update(rejected)

    async def _cancel(self, order: Order) -> None:
        current = self.orders.get(order.id or -1, order)
        if order.id is None or not current.status.is_working:
            return
        await self.path.cancel(self.account_id, order.id)

    async def _modify_stop(self, order: Order, price: Decimal) -> None:
        if order.id is None:
            return
        try:
            await self.path.modify(self.account_id, order.id, stop_price=price)
        finally:
            self._tick_to_order(self.path.path)
        await self._modified(order, price)

    async def _modified(self, order: Order, price: Decimal) -> None:
        """A stop move the broker took (here or without Python: fast_path.py), told once."""
        await self.store.outbox.enqueue(
            NotificationKind.ORDER,
            dict(notifications.order("modified", order, _contract_of(self, order.contract_id), stop_price=price)),
            dedupe_key=notifications.modified_key(order.id, price),
        )

    async def _persist(self, force: bool = False) -> None:
        if self.day is None:
            return
        for name, strategy in self.strategies.items():
            state = json.dumps(strategy.on_save(), sort_keys=True, default=str)
            # Asked after the state is read: a move the state shows was counted before it could be read.
            if self.fast_path is not None and self.fast_path.holds(name):
                continue  # a stop move made without Python is not recorded yet: saved once it is (fast_path.py)
            if force or self._saved.get(name) != state:
                await persist(strategy, self.store.strategy_state, self.day.date)
                self._saved[name] = state

    # ------------------------------------------------------------------ housekeeping (scheduler jobs)
    async def refresh_token(self) -> None:
        """A fresh session token (the hubs follow it: they rebuild with the new token)."""
        await self.client.refresh_token()

    async def healthy(self) -> bool:
        """The broker answers and the user hub is connected."""
        ok = await self.client.ping()
        return ok and (self.user_stream is None or self.user_stream.connected)

    # ------------------------------------------------------------------ reconciliation, flatten, summary
    async def reconcile(self) -> ReconcileReport:
        if not await self.healer.apply_held():
            raise DatabaseUnavailable("account events are held until the database is back; reconcile postponed")
        async with self._lock:
            report = await reconcile(self)
            self.reconciles += 1
            await self._after()
            return report

    async def flatten_all(self, reason: str) -> dict[str, list[Any]]:
        """Cancel every working order and close every position (the kill switch, an operator)."""
        cancelled: list[int] = []
        closed: list[str] = []
        errors: list[str] = []  # keeps going past a failure; the caller shows what failed
        for o in await self.client.search_open_orders(self.account_id):
            if o.id is not None:
                try:
                    await self.path.cancel(self.account_id, o.id)
                    cancelled.append(o.id)
                except ProjectXError as exc:
                    errors.append(f"cancel #{o.id}: {exc}")
        for p in await self.client.open_positions(self.account_id):
            try:
                await self.path.close(self.account_id, p.contract_id)
                closed.append(p.contract_id)
            except ProjectXError as exc:
                errors.append(f"close {p.contract_id}: {exc}")
        await self.store.outbox.enqueue(
            NotificationKind.RISK, dict(notifications.risk("Flattened", reason, cancelled=cancelled, closed=closed))
        )
        return {"cancelled": cancelled, "closed": closed, "errors": errors}

    # ------------------------------------------------------------------ orders asked for from outside (services)
    # A slash command, the CLI or a job asks; the engine decides, with the risk check and the exposure
    # every strategy order sees, and places through the same path (trading.services is the caller).
    async def submit(self, request: OrderRequest, source: str) -> Submitted:
        """Risk, reservation and placement (intent, customTag, send, settle) under the engine's lock,
        exactly as for a strategy's proposal. A tag asked for before is never sent again."""
        async with self._lock:
            return await self._submit(request, source)

    async def _submit(self, request: OrderRequest, source: str) -> Submitted:
        """`submit` with the engine's lock held (the position guard decides and places under it)."""
        tag = request.custom_tag
        if request.contract_id not in self.symbol_of:
            await self._follow(request.contract_id)
        stored = await self.store.orders.by_tag(tag)
        if stored is not None and (stored.id is not None or stored.status is not OrderStatus.INTENT):
            return Submitted(stored.id, stored, duplicate=True)
        if stored is not None:  # an intent without a broker id: the broker may have it already
            since = self.clock.now() - timedelta(days=1)
            found = await self.client.find_order_by_tag(self.account_id, tag, since)
            if found is not None and found.id is not None:
                await self.apply_order(found)
                return Submitted(found.id, found, duplicate=True)
        decision = self.screen(request, strategy=False)
        if not decision:
            log.info("%s order %s refused: %s", source, tag, decision.reason)
            return Submitted(None, stored, refused=decision.reason)
        self.reserve(request)
        reserved = self._reserved[-1]
        try:
            order_id = await self.place(request, None)
        finally:
            if reserved in self._reserved:  # placed: now counted among the working orders
                self._reserved.remove(reserved)
        after = await self.store.orders.by_tag(tag)
        if order_id is None and after is not None and after.status is OrderStatus.REJECTED:
            said = await self.store.orders.history(custom_tag=tag)
            return Submitted(None, after, rejected=said[-1].detail if said else "rejected by the broker")
        return Submitted(order_id, after)

    async def _follow(self, contract_id: str) -> None:
        """A contract no strategy trades (a trader's order on it): on the engine's market feed from now
        on, so its position is marked to market and its prices checked like any other. Its bars are
        backfilled in the background (the order does not wait for weeks of history)."""
        c = await self.client.contract_by_id(contract_id)
        if c.symbol in self.contracts:  # another month of a followed symbol: the feed keeps the one it has
            return
        await self.store.contracts.upsert(c)
        self.contracts[c.symbol] = c
        self.symbol_of[c.id] = c.symbol
        self.bars[c.symbol] = BarCache(c.id, RoutedBarAggregator(ONE_MINUTE_NS, self.parity, c.symbol))
        if self.market_stream is not None:
            await self._subscribe(c)
        now = self.clock.now()
        self._spawn(self.backfill(c.symbol, now - timedelta(days=HISTORY_DAYS), now), f"engine-backfill-{c.symbol}")

    async def cancel_order(self, order_id: int) -> None:
        """Cancel one working order at the broker (its order event then updates the engine's view)."""
        async with self._lock:
            await self.path.cancel(self.account_id, order_id)

    async def modify_order(
        self,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> None:
        async with self._lock:
            await self.path.modify(self.account_id, order_id, size=size, limit_price=limit_price, stop_price=stop_price)

    async def close_position(self, contract_id: str) -> None:
        async with self._lock:
            await self.path.close(self.account_id, contract_id)


@dataclass(frozen=True, slots=True)
class Submitted:
    """What became of an order asked for from outside: placed (`order_id`), a tag seen before
    (`duplicate`), refused by risk (`refused`), rejected by the broker (`rejected`), or none of
    these (`order_id` None: the outcome is uncertain and left to reconciliation by tag)."""

    order_id: int | None
    order: Order | None  # the stored order or intent, when there is one
    duplicate: bool = False
    refused: str = ""
    rejected: str = ""


def _order_of(request: OrderRequest, order_id: int | None, status: OrderStatus) -> Order:
    return Order(
        id=order_id,
        account_id=request.account_id,
        contract_id=request.contract_id,
        side=request.side,
        type=request.type,
        size=request.size,
        status=status,
        custom_tag=request.custom_tag,
        limit_price=request.limit_price,
        stop_price=request.stop_price,
    )


def _contract_of(engine: Engine, contract_id: str) -> Contract | None:
    """The contract of an id the engine trades (its symbol and tick size for a notification)."""
    symbol = engine.symbol_of.get(contract_id)
    return engine.contracts.get(symbol) if symbol is not None else None


async def _ended(step: asyncio.Future[Any], what: str, tasks: Sequence[asyncio.Task[Any]] = ()) -> bool:
    """Wait up to STOP_WAIT_S for one step of a stop; True when it ended well. One that does not end
    (a task that swallowed its cancellation, a feed that does not close) is logged with the stacks of
    `tasks` still running and left behind: `asyncio.wait` never waits for a cancellation to land."""
    done, _ = await asyncio.wait({step}, timeout=STOP_WAIT_S)
    if not done:
        stuck = [t for t in tasks if not t.done()]
        stacks = "".join(f"\n  {t.get_name()}: {t.get_coro()!r} at {t.get_stack(limit=8)}" for t in stuck)
        log.error("engine stop: %s did not end within %.0f s; going on%s", what, STOP_WAIT_S, stacks)
        step.cancel()
        return False
    if step.cancelled() or step.exception() is not None:
        log.warning("engine stop: %s failed: %r", what, None if step.cancelled() else step.exception())
        return False
    return True
