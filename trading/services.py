"""Every user action, once: accounts, market data, orders, positions, P&L, risk, strategies, stats.

Discord cogs and the CLI are thin faces over `Services`: they parse, authorize, call one method and
render what it returns (plain dataclasses). Nothing here knows about Discord.

- Bad input raises `BadInput` (or `NotFound`) before anything reaches the broker; risk refusals raise
  `RiskRefused`; broker failures surface as `BrokerFailed` with the broker client's trader-worded text.
- Every order is written to the store as an intent before it is sent, under a customTag the caller
  derives from the request (the Discord interaction): asking twice with one tag never places twice.
- Fills reach the notification outbox through `sync_fills` (broker trades → store → outbox, in one
  transaction, deduplicated by trade id) until the engine's event path takes that over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

from trading.calendar import is_trading_day, previous_trading_day, to_ny, trading_day
from trading.config import Settings
from trading.domain import (
    Account,
    Bar,
    Bracket,
    Contract,
    Fill,
    NotificationKind,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
    is_on_tick,
    to_decimal,
)
from trading.domain import Quote as DomainQuote
from trading.execution import Executor, PythonExecutor
from trading.orderbook import BookSnapshot
from trading.projectx.errors import AmbiguousContract, ContractNotFound, ProjectXError, UncertainOutcome
from trading.projectx.rest import ProjectXClient
from trading.projectx.schema import MAX_TRAIL_TICKS, MIN_STOP_LOSS_TICKS
from trading.risk import Exposure, KillMode, RepositoryRiskStore, RiskManager, WorkingOrder
from trading.store import DuplicateOrderTag, Store
from trading.store.jobs import JobRun
from trading.store.latency import LatencyStats
from trading.store.outbox import OutboxMessage
from trading.store.risk_state import KillSwitch

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_QUANTITY = 1000  # beyond any sane futures order: refused as a typo before risk even looks
BAR_LOOKBACK = timedelta(hours=6)
MAX_BRACKET_TICKS = 10000
TRADES_MAX_DAYS = 90
MAX_DEPTH_LEVELS = 20


class Now(Protocol):
    def now(self) -> datetime: ...


class ServiceError(Exception):
    """A user action could not be done; `str()` is the sentence for the trader."""


class BadInput(ServiceError):
    pass


class NotFound(ServiceError):
    pass


class RiskRefused(ServiceError):
    pass


class BrokerFailed(ServiceError):
    pass


class Unavailable(ServiceError):
    pass


class StrategyControl(Protocol):
    """What the engine offers the strategy commands (implemented by the engine when it runs)."""

    def names(self) -> list[str]: ...
    async def start(self, name: str, by: str = "") -> str: ...
    async def stop(self, name: str, by: str = "") -> str: ...
    async def run_now(self, name: str) -> str: ...
    def status(self, name: str) -> dict[str, Any]: ...
    async def kill_switch(self, halted: bool, reason: str) -> None:
        """Trip (HALTED) or reset the engine's kill switch, and persist it."""
        ...

    def live_quote(self, contract_id: str) -> DomainQuote | None:
        """The newest market-hub quote the engine holds for the contract, if any."""
        ...

    def depth(self, contract_id: str, levels: int) -> BookSnapshot | None:
        """The engine's market-depth book of the contract (None when it is not on the engine's feed)."""
        ...

    def feed_symbols(self) -> list[str]:
        """The symbols on the engine's market feed."""
        ...

    async def dry_run(self, name: str) -> dict[str, dict[str, Any]]:
        """Per symbol: today's levels, the orders the strategy would place and the sides it would skip (why)."""
        ...


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderSpec:
    """What a trader asks for, as typed (prices as entered; validated by `Services.validate`)."""

    symbol: str
    side: Side
    type: OrderType
    quantity: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_ticks: int | None = None
    stop_loss_ticks: int | None = None
    take_profit_ticks: int | None = None
    stop_loss_price: Decimal | None = None
    take_profit_price: Decimal | None = None


@dataclass(frozen=True)
class Placed:
    order_id: int | None
    custom_tag: str
    contract: Contract
    request: OrderRequest
    duplicate: bool = False  # this tag was placed before: nothing new was sent


@dataclass(frozen=True)
class Quote:
    contract: Contract
    last: Decimal | None
    at: datetime | None
    high: Decimal | None = None
    low: Decimal | None = None
    volume: float | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None


@dataclass(frozen=True)
class ChartData:
    contract: Contract
    timeframe: str
    bars: list[Bar]
    window_start: datetime
    window_end: datetime
    on_high: Decimal | None
    on_low: Decimal | None


@dataclass(frozen=True)
class AccountState:
    account: Account
    positions: list[Position]
    open_orders: list[Order]
    risk: RiskView


@dataclass(frozen=True)
class RiskView:
    kill_switch: str
    reason: str
    day_pnl: Decimal
    daily_loss_limit: Decimal
    balance: Decimal
    high_water: Decimal | None
    trailing_limit: Decimal

    @property
    def daily_loss_used(self) -> Decimal:
        return max(Decimal(0), -self.day_pnl) / self.daily_loss_limit

    @property
    def trailing_floor(self) -> Decimal | None:
        return None if self.high_water is None else self.high_water - self.trailing_limit

    @property
    def trailing_used(self) -> Decimal:
        if self.high_water is None:
            return Decimal(0)
        return max(Decimal(0), self.high_water - self.balance) / self.trailing_limit


@dataclass(frozen=True)
class Pnl:
    period: str
    start: datetime
    end: datetime
    realized: Decimal
    fees: Decimal
    trades: int
    by_day: list[tuple[date, Decimal]] = field(default_factory=list)

    @property
    def net(self) -> Decimal:
        return self.realized - self.fees


@dataclass(frozen=True)
class Health:
    broker_ok: bool
    broker_detail: str
    database_ok: bool
    pending_notifications: int
    account_id: int | None


@dataclass(frozen=True)
class Flattened:
    cancelled: list[int]
    closed: list[str]
    errors: list[str]


def parse_price(text: str | float | Decimal | None, what: str = "price") -> Decimal | None:
    if text is None or text == "":
        return None
    try:
        value = to_decimal(text if not isinstance(text, str) else text.strip())
    except (InvalidOperation, ValueError):
        raise BadInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise BadInput(f"{what} must be a positive number, got {text}")
    return value


class Services:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        broker: ProjectXClient,
        clock: Now,
        *,
        account_id: int | None = None,
        strategies: StrategyControl | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.broker = broker
        self.clock = clock
        self.account_id = account_id
        self.strategies = strategies
        # Every mutation goes through the order path (Rust or Python), which times it; reads use the client.
        self.executor: Executor = executor or PythonExecutor(broker)
        self._contracts: dict[str, Contract] = {}
        self._symbols: list[str] | None = None
        self._fills_since: datetime | None = None
        self._fill_lock = asyncio.Lock()
        self._contract_of: dict[str, Contract] = {}

    # -- accounts ----------------------------------------------------------------------------

    async def accounts(self) -> list[Account]:
        return await self._broker(self.broker.accounts())

    async def account(self) -> Account:
        accounts = await self.accounts()
        if self.account_id is None:
            self.account_id = _pick_account(accounts, self.settings)
        for a in accounts:
            if a.id == self.account_id:
                return a
        raise NotFound(f"Account {self.account_id} is not active on this login; use /account list")

    async def switch_account(self, name_or_id: str) -> Account:
        accounts = await self.accounts()
        wanted = name_or_id.strip()
        for a in accounts:
            if str(a.id) == wanted or a.name.lower() == wanted.lower():
                self.account_id = a.id
                return a
        names = ", ".join(f"{a.name} ({a.id})" for a in accounts) or "none"
        raise NotFound(f"No active account {wanted!r}. Accounts: {names}")

    async def _account_id(self) -> int:
        if self.account_id is None:
            await self.account()
        assert self.account_id is not None
        return self.account_id

    async def account_state(self) -> AccountState:
        account = await self.account()
        positions = await self.positions()
        orders = await self.open_orders()
        return AccountState(account, positions, orders, await self.risk_status(account))

    # -- contracts and market data -----------------------------------------------------------

    async def contract(self, symbol: str) -> Contract:
        key = symbol.strip().upper()
        if not key or len(key) > 40:
            raise BadInput("Give a symbol such as MNQ or MES")
        if key in self._contracts:
            return self._contracts[key]
        try:
            if key.startswith("CON."):
                c = await self.broker.contract_by_id(key)
            else:
                c = await self.broker.front_month(key)
        except ContractNotFound:
            raise BadInput(f"Unknown symbol {symbol!r}: no active contract. Try /market contracts") from None
        except AmbiguousContract as exc:
            raise BadInput(str(exc)) from None
        except ProjectXError as exc:
            if "not found" in str(exc).lower():
                raise BadInput(f"Unknown contract {symbol!r}") from None
            raise BrokerFailed(str(exc)) from None
        self._contracts[key] = c
        self._contract_of[c.id] = c
        return c

    async def contract_by_id(self, contract_id: str) -> Contract:
        if contract_id not in self._contract_of:
            try:
                self._contract_of[contract_id] = await self.broker.contract_by_id(contract_id)
            except ProjectXError as exc:
                raise BrokerFailed(str(exc)) from None
        return self._contract_of[contract_id]

    async def contracts(self, search: str = "") -> list[Contract]:
        if search.strip():
            found = await self._broker(self.broker.search_contracts(search.strip()))
        else:
            found = await self._broker(self.broker.available_contracts())
        return sorted(found, key=lambda c: (c.symbol, c.name))

    async def symbols(self, prefix: str = "") -> list[str]:
        """Symbol roots for autocomplete (cached: one broker call per process)."""
        if self._symbols is None:
            try:
                self._symbols = sorted({c.symbol for c in await self.broker.available_contracts() if c.active})
            except ProjectXError:
                return []
        p = prefix.strip().upper()
        return [s for s in self._symbols if s.startswith(p)]

    async def bars(self, symbol: str, timeframe: str = "1m", count: int = 60) -> tuple[Contract, list[Bar]]:
        if not 1 <= count <= 1000:
            raise BadInput("Ask for between 1 and 1000 bars")
        contract = await self.contract(symbol)
        minutes = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440}.get(timeframe)
        if minutes is None:
            raise BadInput(f"Unknown timeframe {timeframe!r}; use 1m, 5m, 15m, 30m, 1h, 4h or 1d")
        end = self.clock.now()
        start = end - timedelta(minutes=minutes * count * 3 + 60)
        bars = await self._broker(self.broker.retrieve_bars(contract.id, start, end, timeframe, include_partial=True))
        return contract, bars[-count:]

    async def quote(self, symbol: str) -> Quote:
        """Last price and today's range from 1-minute bars; bid/ask from the engine's live feed when it runs."""
        contract = await self.contract(symbol)
        end = self.clock.now()
        bars = await self._broker(
            self.broker.retrieve_bars(contract.id, end - BAR_LOOKBACK, end, "1m", include_partial=True)
        )
        live = self.strategies.live_quote(contract.id) if self.strategies is not None else None
        bid, ask = (live.bid, live.ask) if live is not None else (None, None)
        if not bars:
            last = live.last if live is not None else None
            return Quote(contract, last, live.ts_event if live else None, bid=bid, ask=ask)
        newest = bars[-1]
        today = [b for b in bars if b.start.date() == newest.start.date()]
        last = live.last if live is not None and live.last is not None else contract.snap(newest.close)
        return Quote(
            contract,
            last,
            live.ts_event if live is not None else newest.start,
            contract.snap(max(b.high for b in today)),
            contract.snap(min(b.low for b in today)),
            sum(b.volume for b in today),
            bid,
            ask,
        )

    async def depth(self, symbol: str, levels: int = 10) -> BookSnapshot:
        """The order book the engine keeps from the market hub's depth feed (traded contracts)."""
        if not 1 <= levels <= MAX_DEPTH_LEVELS:
            raise BadInput(f"Ask for between 1 and {MAX_DEPTH_LEVELS} levels")
        contract = await self.contract(symbol)
        if self.strategies is None:
            raise Unavailable("Market depth comes from the engine's live feed, which is not running in this process")
        snap = self.strategies.depth(contract.id, levels)
        if snap is None:
            fed = ", ".join(self.strategies.feed_symbols()) or "none"
            raise Unavailable(f"{contract.symbol} is not on the engine's market feed (depth is kept for: {fed})")
        return replace(
            snap,
            bids=[(contract.snap(p), v) for p, v in snap.bids],
            asks=[(contract.snap(p), v) for p, v in snap.asks],
        )

    async def chart(self, symbol: str, timeframe: str = "5m") -> ChartData:
        """Bars of the current trading day from the overnight window on, with the overnight range."""
        if timeframe not in ("1m", "5m", "15m", "30m", "1h"):
            raise BadInput("Chart timeframe must be 1m, 5m, 15m, 30m or 1h")
        contract = await self.contract(symbol)
        now = self.clock.now()
        d = to_ny(now).date()
        if not is_trading_day(d) or now < trading_day(d).window_start:
            d = previous_trading_day(d)
        day = trading_day(d)
        end = min(now, day.cme.close)
        bars = await self._broker(
            self.broker.retrieve_bars(contract.id, day.window_start, end, timeframe, include_partial=True)
        )
        overnight = [b for b in bars if day.window_start <= b.start < day.window_end]
        high = contract.snap(max(b.high for b in overnight)) if overnight else None
        low = contract.snap(min(b.low for b in overnight)) if overnight else None
        return ChartData(contract, timeframe, bars, day.window_start, day.window_end, high, low)

    async def last_price(self, contract: Contract) -> Decimal | None:
        end = self.clock.now()
        try:
            bars = await self.broker.retrieve_bars(contract.id, end - BAR_LOOKBACK, end, "1m", include_partial=True)
        except ProjectXError:
            return None
        return contract.snap(bars[-1].close) if bars else None

    # -- orders ------------------------------------------------------------------------------

    async def validate(self, spec: OrderSpec) -> tuple[Contract, OrderRequest]:
        """Check an order as typed and build the request; raises `BadInput`, nothing is sent."""
        if spec.quantity <= 0:
            raise BadInput(f"Quantity must be at least 1 contract, got {spec.quantity}")
        if spec.quantity > MAX_QUANTITY:
            raise BadInput(f"Quantity {spec.quantity} is not plausible (at most {MAX_QUANTITY})")
        if spec.quantity > self.settings.risk.max_order_size:
            raise BadInput(
                f"Quantity {spec.quantity} is above the limit of "
                f"{self.settings.risk.max_order_size} contracts per order"
            )
        contract = await self.contract(spec.symbol)
        for what, price in (("limit price", spec.limit_price), ("stop price", spec.stop_price)):
            if price is not None and (price <= 0 or not is_on_tick(price, contract.tick_size)):
                raise BadInput(
                    f"The {what} {price} is not on the {contract.symbol} tick grid ({contract.tick_size}); "
                    f"nearest is {contract.snap(max(price, contract.tick_size))}"
                )
        t = spec.type
        if t is OrderType.LIMIT and spec.limit_price is None:
            raise BadInput("A limit order needs a limit price")
        if t is OrderType.STOP and spec.stop_price is None:
            raise BadInput("A stop order needs a stop price")
        if t is OrderType.TRAILING_STOP and not spec.trail_ticks:
            raise BadInput("A trailing stop needs a trail distance in ticks")
        if spec.trail_ticks is not None and not 1 <= spec.trail_ticks <= MAX_TRAIL_TICKS:
            raise BadInput(f"The trail distance must be between 1 and {MAX_TRAIL_TICKS} ticks")
        needs_market = t in (OrderType.STOP, OrderType.TRAILING_STOP) or (
            t is OrderType.MARKET and (spec.stop_loss_price is not None or spec.take_profit_price is not None)
        )
        last = await self.last_price(contract) if needs_market else None
        if t is OrderType.STOP and last is not None and spec.stop_price is not None:
            wrong = spec.stop_price <= last if spec.side is Side.BUY else spec.stop_price >= last
            if wrong:
                where = "above" if spec.side is Side.BUY else "below"
                raise BadInput(
                    f"A {spec.side.value} stop must be {where} the market ({contract.symbol} last {last}); "
                    f"got {spec.stop_price}"
                )
        trail_price = None
        if t is OrderType.TRAILING_STOP:
            if last is None:
                raise BadInput(f"No recent {contract.symbol} price to anchor the trailing stop; try again shortly")
            assert spec.trail_ticks is not None
            trail_price = last - spec.side.sign * spec.trail_ticks * contract.tick_size
        bracket = await self._bracket(spec, contract, last)
        request = OrderRequest(
            account_id=await self._account_id(),
            contract_id=contract.id,
            side=spec.side,
            type=t,
            size=spec.quantity,
            custom_tag="",
            limit_price=spec.limit_price,
            stop_price=spec.stop_price,
            trail_price=trail_price,
            bracket=bracket,
            reason="manual",
        )
        return contract, request

    async def _bracket(self, spec: OrderSpec, contract: Contract, last: Decimal | None) -> Bracket | None:
        sl, tp = spec.stop_loss_ticks, spec.take_profit_ticks
        if sl is None and tp is None and spec.stop_loss_price is None and spec.take_profit_price is None:
            return None
        entry = spec.limit_price or spec.stop_price or last
        for what, price in (("stop-loss", spec.stop_loss_price), ("take-profit", spec.take_profit_price)):
            if price is None:
                continue
            if entry is None:
                raise BadInput(f"No {contract.symbol} price to measure the {what} from; give it in ticks")
            if not is_on_tick(price, contract.tick_size):
                raise BadInput(
                    f"The {what} price {price} is not on the {contract.symbol} tick grid ({contract.tick_size})"
                )
            distance = (price - entry) * spec.side.sign
            wrong = distance >= 0 if what == "stop-loss" else distance <= 0
            if wrong:
                side = "below" if (what == "stop-loss") == (spec.side is Side.BUY) else "above"
                raise BadInput(f"The {what} {price} must be {side} the entry {entry} for a {spec.side.value}")
            ticks = contract.ticks(abs(distance))
            if what == "stop-loss":
                sl = ticks
            else:
                tp = ticks
        for what, leg, least in (("stop-loss", sl, MIN_STOP_LOSS_TICKS), ("take-profit", tp, 1)):
            if leg is not None and not least <= leg <= MAX_BRACKET_TICKS:
                raise BadInput(f"The {what} must be between {least} and {MAX_BRACKET_TICKS} ticks, got {leg}")
        return Bracket(stop_loss_ticks=sl, take_profit_ticks=tp)

    async def place_order(self, spec: OrderSpec, custom_tag: str) -> Placed:
        """Validate, check risk, record the intent, place. A tag seen before is not placed again."""
        existing = await self.store.orders.by_tag(custom_tag)
        unsent_intent = False
        if existing is not None:
            settled = await self._settle_existing(existing)
            if settled is not None:
                return settled
            unsent_intent = True  # written, never reached the broker: send it now, same tag
        contract, request = await self.validate(spec)
        request = replace(request, custom_tag=custom_tag)
        await self._check_risk(request)
        if not unsent_intent:
            try:
                await self.store.orders.record_intent(request, at=self.clock.now())
            except DuplicateOrderTag:
                again = await self.store.orders.by_tag(custom_tag)
                assert again is not None
                return await self._already(again)
        try:
            order_id = (await self.executor.place(request)).value
        except UncertainOutcome as exc:
            # Left as an intent: reconciliation by tag settles it; asking again reuses the tag.
            raise BrokerFailed(str(exc)) from None
        except ProjectXError as exc:
            await self._mark_rejected(custom_tag, str(exc))
            raise BrokerFailed(str(exc)) from None
        await self.store.orders.attach_broker_id(custom_tag, order_id, at=self.clock.now())
        await self.store.outbox.enqueue(
            NotificationKind.ORDER,
            _order_payload("placed", request, contract, order_id),
            dedupe_key=f"order-placed-{custom_tag}",
        )
        return Placed(order_id, custom_tag, contract, request)

    async def _settle_existing(self, order: Order) -> Placed | None:
        """A tag asked for before: what became of it. None when it is an intent the broker never got."""
        if order.status is OrderStatus.REJECTED:
            raise BrokerFailed(
                f"This order was already sent and rejected (tag {order.custom_tag}); nothing was re-sent"
            )
        if order.id is not None or order.status is not OrderStatus.INTENT:
            return await self._already(order)
        tag = order.custom_tag or ""
        since = (order.created_at or self.clock.now()) - timedelta(minutes=10)
        found = (await self._broker(self.executor.find_by_tag(order.account_id, tag, since))).value
        if found is None or found.id is None:
            return None
        await self.store.orders.attach_broker_id(tag, found.id, at=self.clock.now())
        return await self._already(replace(order, id=found.id))

    async def _already(self, order: Order) -> Placed:
        contract = await self.contract_by_id(order.contract_id)
        request = OrderRequest(
            account_id=order.account_id,
            contract_id=order.contract_id,
            side=order.side,
            type=order.type,
            size=order.size,
            custom_tag=order.custom_tag or "",
            limit_price=order.limit_price,
            stop_price=order.stop_price,
        )
        return Placed(order.id, order.custom_tag or "", contract, request, duplicate=True)

    async def _mark_rejected(self, custom_tag: str, reason: str) -> None:
        try:
            await self.store.orders.update_status(custom_tag=custom_tag, status=OrderStatus.REJECTED, detail=reason)
        except Exception:  # the rejection itself is what the trader must see
            log.exception("could not record the rejection of %s", custom_tag)

    async def _check_risk(self, request: OrderRequest) -> None:
        manager = await self._risk_manager(request.account_id)
        exposure = await self._exposure(request.account_id)
        decision = manager.check(request, exposure, self.clock.now())
        if not decision:
            raise RiskRefused(f"Risk refused the order: {decision.reason}")

    async def _risk_manager(self, account_id: int) -> RiskManager:
        # The same persisted state the engine loads and saves (kill switch, day, high-water mark).
        return await RiskManager.load(self.settings.risk, RepositoryRiskStore(self.store.risk_state), account_id)

    async def _exposure(self, account_id: int) -> Exposure:
        positions = await self._broker(self.broker.open_positions(account_id))
        working = await self._broker(self.broker.search_open_orders(account_id))
        realized, fees = await self._realized_today(account_id)
        balance = next((a.balance for a in await self.accounts() if a.id == account_id), Decimal(0))
        return Exposure(
            positions={p.contract_id: p.size * (1 if p.side is PositionSide.LONG else -1) for p in positions},
            working=[WorkingOrder(o.contract_id, o.side, o.size) for o in working if o.parent_id is None],
            realized_today=realized - fees,
            balance=balance,
        )

    async def _realized_today(self, account_id: int) -> tuple[Decimal, Decimal]:
        start = _day_start(self.clock.now())
        return await self.store.fills.realized_pnl(account_id, start, self.clock.now())

    async def open_orders(self) -> list[Order]:
        return await self._broker(self.broker.search_open_orders(await self._account_id()))

    async def modify_order(
        self, order_id: int, *, price: Decimal | None = None, stop: Decimal | None = None, size: int | None = None
    ) -> Order:
        """Move a working order's limit price, stop price or size (the price fields it has)."""
        if price is None and stop is None and size is None:
            raise BadInput("Say what to change: price, stop or quantity")
        order = await self._working(order_id)
        contract = await self.contract_by_id(order.contract_id)
        for what, p in (("price", price), ("stop", stop)):
            if p is not None and not is_on_tick(p, contract.tick_size):
                raise BadInput(f"The {what} {p} is not on the {contract.symbol} tick grid ({contract.tick_size})")
        if price is not None and order.type not in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            raise BadInput(f"Order #{order_id} is a {order.type.value} order: it has no limit price")
        if stop is not None and order.type not in (OrderType.STOP, OrderType.STOP_LIMIT):
            raise BadInput(f"Order #{order_id} is a {order.type.value} order: it has no stop price")
        if size is not None and not 1 <= size <= self.settings.risk.max_order_size:
            raise BadInput(f"Quantity must be between 1 and {self.settings.risk.max_order_size}")
        await self._broker(
            self.executor.modify(order.account_id, order_id, size=size, limit_price=price, stop_price=stop)
        )
        return await self._broker(self.broker.order_by_id(order.account_id, order_id))

    async def _working(self, order_id: int) -> Order:
        if order_id <= 0:
            raise BadInput(f"Order id must be a positive number, got {order_id}")
        for o in await self.open_orders():
            if o.id == order_id:
                return o
        raise NotFound(f"No working order #{order_id} on this account; see /orders")

    async def cancel_order(self, order_id: int) -> Order:
        order = await self._working(order_id)
        await self._broker(self.executor.cancel(order.account_id, order_id))
        return order

    async def cancel_all(self, symbol: str | None = None) -> list[int]:
        contract = await self.contract(symbol) if symbol else None
        cancelled: list[int] = []
        for o in await self.open_orders():
            if contract is not None and o.contract_id != contract.id:
                continue
            if o.id is None:
                continue
            await self._broker(self.executor.cancel(o.account_id, o.id))
            cancelled.append(o.id)
        return cancelled

    # -- positions ---------------------------------------------------------------------------

    async def positions(self) -> list[Position]:
        return await self._broker(self.broker.open_positions(await self._account_id()))

    async def close_position(self, symbol: str) -> Position:
        contract = await self.contract(symbol)
        for p in await self.positions():
            if p.contract_id == contract.id:
                await self._broker(self.executor.close(p.account_id, p.contract_id))
                return p
        raise NotFound(f"No open {contract.symbol} position")

    async def flatten(self) -> Flattened:
        """Cancel every working order, then close every position; keeps going past a failure."""
        cancelled: list[int] = []
        closed: list[str] = []
        errors: list[str] = []
        account_id = await self._account_id()
        for o in await self.open_orders():
            if o.id is None:
                continue
            try:
                await self.executor.cancel(account_id, o.id)
                cancelled.append(o.id)
            except ProjectXError as exc:
                errors.append(f"cancel #{o.id}: {exc}")
        for p in await self.positions():
            try:
                await self.executor.close(account_id, p.contract_id)
                closed.append(p.contract_id)
            except ProjectXError as exc:
                errors.append(f"close {p.contract_id}: {exc}")
        return Flattened(cancelled, closed, errors)

    # -- trades and P&L ----------------------------------------------------------------------

    async def trades(self, days: int = 1) -> list[Fill]:
        if not 1 <= days <= TRADES_MAX_DAYS:
            raise BadInput(f"Days must be between 1 and {TRADES_MAX_DAYS}")
        end = self.clock.now()
        fills = await self._broker(self.broker.search_trades(await self._account_id(), end - timedelta(days=days), end))
        return sorted((f for f in fills if not f.voided), key=lambda f: f.ts_event)

    async def pnl(self, period: str = "today") -> Pnl:
        now = self.clock.now()
        starts = {
            "today": _day_start(now),
            "week": _day_start(now) - timedelta(days=_day_start(now).weekday()),
            "month": _day_start(now).replace(day=1),
        }
        if period not in starts:
            raise BadInput("Period must be today, week or month")
        start = starts[period]
        fills = await self._broker(self.broker.search_trades(await self._account_id(), start, now))
        fills = [f for f in fills if not f.voided]
        by_day: dict[date, Decimal] = {}
        for f in fills:
            d = f.ts_event.date()
            by_day[d] = by_day.get(d, Decimal(0)) + (f.pnl or Decimal(0)) - f.fees
        return Pnl(
            period,
            start,
            now,
            sum((f.pnl or Decimal(0) for f in fills), Decimal(0)),
            sum((f.fees for f in fills), Decimal(0)),
            len(fills),
            sorted(by_day.items()),
        )

    async def sync_fills(self, lookback: timedelta = timedelta(days=1)) -> list[Fill]:
        """New broker trades → store.fills → outbox (one transaction each, deduplicated by trade id)."""
        async with self._fill_lock:
            account_id = await self._account_id()
            now = self.clock.now()
            since = self._fills_since or now - lookback
            fills = await self._broker(self.broker.search_trades(account_id, since - timedelta(minutes=5), None))
            new: list[Fill] = []
            for f in sorted(fills, key=lambda x: (x.ts_event, x.id)):
                contract = await self.contract_by_id(f.contract_id)
                kind = NotificationKind.ENTRY_FILL if f.pnl is None else NotificationKind.EXIT_FILL
                async with self.store.transaction() as tx:
                    if not await tx.fills.insert(f):
                        continue
                    await tx.outbox.enqueue(kind, _fill_payload(f, contract), dedupe_key=f"fill-{f.id}")
                new.append(f)
            self._fills_since = max([since, *(f.ts_event for f in fills)])
            return new

    # -- risk --------------------------------------------------------------------------------

    async def risk_status(self, account: Account | None = None) -> RiskView:
        account = account or await self.account()
        st = await self.store.risk_state.get(account.id)
        realized, fees = await self._realized_today(account.id)
        return RiskView(
            kill_switch=st.kill_switch.value if st else KillSwitch.NONE.value,
            reason=st.reason if st else "",
            day_pnl=realized - fees,
            daily_loss_limit=self.settings.risk.daily_loss_limit,
            balance=account.balance,
            high_water=st.high_water_balance if st else None,
            trailing_limit=self.settings.risk.max_loss_trailing,
        )

    def risk_limits(self) -> dict[str, Any]:
        r = self.settings.risk
        return {
            "Max order size": r.max_order_size,
            "Max position per symbol": r.max_position_per_symbol,
            "Max position total": r.max_position_total,
            "Daily loss limit": r.daily_loss_limit,
            "Trailing max loss": r.max_loss_trailing,
            "Trading hours (New York)": f"{r.trading_start:%H:%M}-{r.trading_end:%H:%M}",
            "Confirm orders above": self.settings.permissions.confirm_above_size,
        }

    async def halt(self, reason: str) -> tuple[RiskView, Flattened]:
        """Trip the kill switch (HALTED: only flattening allowed), then cancel and close everything."""
        reason = reason.strip() or "halted by an operator"
        await self._kill_switch(True, reason)
        flattened = await self.flatten()
        await self.store.outbox.enqueue(NotificationKind.RISK, {"title": "Trading halted", "text": reason})
        return await self.risk_status(), flattened

    async def resume(self) -> RiskView:
        await self._kill_switch(False, "")
        await self.store.outbox.enqueue(NotificationKind.RISK, {"title": "Trading resumed", "text": ""})
        return await self.risk_status()

    async def _kill_switch(self, halted: bool, reason: str) -> None:
        if self.strategies is not None:
            # A running engine holds the risk state in memory and saves it: change it there.
            await self.strategies.kill_switch(halted, reason)
            return
        account_id = await self._account_id()
        manager = await self._risk_manager(account_id)
        if halted:
            manager.trip(KillMode.HALTED, reason, self.clock.now())
        else:
            manager.reset()
        await manager.save(RepositoryRiskStore(self.store.risk_state), account_id)

    # -- strategies --------------------------------------------------------------------------

    def strategy_names(self) -> list[str]:
        if self.strategies is not None:
            return self.strategies.names()
        return list(type(self.settings.strategies).model_fields)

    def _strategy(self, name: str) -> str:
        key = name.strip().lower().replace("-", "_")
        if key not in self.strategy_names():
            raise NotFound(f"No strategy named {name!r}. Strategies: {', '.join(self.strategy_names())}")
        return key

    def strategy_list(self) -> list[dict[str, Any]]:
        out = []
        for name in self.strategy_names():
            cfg = getattr(self.settings.strategies, name, None)
            out.append(
                {
                    "name": name,
                    "enabled": bool(getattr(cfg, "enabled", False)),
                    "symbols": ", ".join(getattr(cfg, "symbols", ())),
                    "running": self.strategies is not None and bool(self.strategies.status(name).get("running")),
                }
            )
        return out

    async def strategy_status(self, name: str) -> dict[str, Any]:
        key = self._strategy(name)
        today = _day_start(self.clock.now()).date()
        state = await self.store.strategy_state.for_day(key, today)
        live = self.strategies.status(key) if self.strategies is not None else {"running": False}
        return {"name": key, "day": today.isoformat(), **live, "symbols": state}

    def _engine(self) -> StrategyControl:
        if self.strategies is None:
            raise Unavailable("The strategy engine is not running in this process, so strategies cannot be driven")
        return self.strategies

    async def strategy_start(self, name: str, by: str = "") -> str:
        """Start one strategy in the running engine (stays on across restarts); `by` names the operator."""
        return await self._engine().start(self._strategy(name), by)

    async def strategy_stop(self, name: str, by: str = "") -> str:
        """Stop one strategy: no new orders from it (stays off across restarts)."""
        return await self._engine().stop(self._strategy(name), by)

    async def strategy_test(self, name: str) -> dict[str, dict[str, Any]]:
        return await self._engine().dry_run(self._strategy(name))

    async def strategy_run_now(self, name: str) -> str:
        return await self._engine().run_now(self._strategy(name))

    # -- stats -------------------------------------------------------------------------------

    async def latency(self, hours: float = 24.0) -> list[LatencyStats]:
        return await self.store.latency.stats(self.clock.now() - timedelta(hours=hours))

    async def jobs(self, limit: int = 20) -> list[JobRun]:
        return await self.store.jobs.recent(limit)

    async def notifications(self, limit: int = 20) -> tuple[int, list[OutboxMessage]]:
        return await self.store.outbox.pending_count(), await self.store.outbox.recent(limit)

    async def notify(
        self, kind: NotificationKind, payload: dict[str, Any], dedupe_key: str | None = None
    ) -> int | None:
        """Queue a notification (reports, announcements); None when `dedupe_key` was queued before."""
        return await self.store.outbox.enqueue(kind, payload, dedupe_key)

    async def health(self) -> Health:
        try:
            broker_ok = await self.broker.ping()
            detail = "reachable" if broker_ok else "not answering"
        except ProjectXError as exc:
            broker_ok, detail = False, str(exc)
        try:
            pending = await self.store.outbox.pending_count()
            db_ok = True
        except Exception:
            pending, db_ok = -1, False
        return Health(broker_ok, detail, db_ok, pending, self.account_id)

    # -- helpers -----------------------------------------------------------------------------

    async def _broker(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except ProjectXError as exc:
            raise BrokerFailed(str(exc)) from None


def _pick_account(accounts: Sequence[Account], settings: Settings) -> int:
    px = settings.projectx
    if px.account_id is not None:
        return px.account_id
    if px.account_name:
        for a in accounts:
            if a.name == px.account_name:
                return a.id
        raise NotFound(f"No active account named {px.account_name!r}")
    tradable = [a for a in accounts if a.can_trade]
    if len(tradable) == 1:
        return tradable[0].id
    if not tradable:
        raise NotFound("No account on this login can trade")
    raise BadInput("Several accounts can trade: pick one with /account switch")


def _day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _order_payload(event: str, r: OrderRequest, c: Contract, order_id: int | None) -> dict[str, Any]:
    return {
        "event": event,
        "order_id": order_id,
        "symbol": c.symbol,
        "side": r.side.value,
        "size": r.size,
        "type": r.type.value,
        "limit_price": None if r.limit_price is None else str(r.limit_price),
        "stop_price": None if r.stop_price is None else str(r.stop_price),
        "custom_tag": r.custom_tag,
    }


def _fill_payload(f: Fill, c: Contract) -> dict[str, Any]:
    return {
        "fill_id": f.id,
        "order_id": f.order_id,
        "symbol": c.symbol,
        "contract_id": f.contract_id,
        "side": f.side.value,
        "size": f.size,
        "price": str(f.price),
        "fees": str(f.fees),
        "pnl": None if f.pnl is None else str(f.pnl),
        "at": f.ts_event.isoformat(),
    }


Factory = Callable[[], Services]
