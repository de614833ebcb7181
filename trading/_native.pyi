"""Type stub for the Rust extension `trading._native` (rust_ext/)."""

from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

__version__: str

_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]
_BarCols = tuple[_I64, _F64, _F64, _F64, _F64, _F64]

class BarRecord(NamedTuple):
    """A bar the streaming aggregator closed (or is forming): start in UTC ns, prices, volume."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float

def aggregate_bars(
    ts: _I64,
    open: _F64,
    high: _F64,
    low: _F64,
    close: _F64,
    volume: _F64,
    period_ns: int,
    offset_ns: int = 0,
    *,
    origin_ns: int = 0,
    tz_utc: _I64 | None = None,
    tz_offset: _I64 | None = None,
) -> _BarCols: ...
def aggregate_ticks(
    ts: _I64,
    price: _F64,
    size: _F64,
    period_ns: int,
    offset_ns: int = 0,
    *,
    origin_ns: int = 0,
    tz_utc: _I64 | None = None,
    tz_offset: _I64 | None = None,
) -> _BarCols: ...

class BarAggregator:
    def __init__(
        self,
        period_ns: int,
        offset_ns: int = 0,
        *,
        origin_ns: int = 0,
        tz_utc: _I64 | None = None,
        tz_offset: _I64 | None = None,
    ) -> None: ...
    def push(self, ts: int, price: float, size: float) -> list[BarRecord]: ...
    def push_batch(self, ts: _I64, price: _F64, size: _F64) -> list[BarRecord]: ...
    def advance(self, now_ns: int) -> list[BarRecord]: ...
    def flush(self) -> list[BarRecord]: ...
    def forming(self) -> BarRecord | None: ...
    @property
    def late(self) -> int: ...
    @property
    def invalid(self) -> int: ...
    @property
    def period_ns(self) -> int: ...

class CallResult:
    """Outcome of one executor call: ok, rejected, uncertain, transport, rate_limited, auth,
    http_status or bad_answer; `elapsed_ns` is the call's own duration; `sent_ns` the wall-clock time
    (ns since the epoch) its first request was handed to the connection, 0 if it never was."""

    @property
    def outcome(self) -> str: ...
    @property
    def order_id(self) -> int | None: ...
    @property
    def error_code(self) -> int | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def retry_after(self) -> float | None: ...
    @property
    def status(self) -> int | None: ...
    @property
    def order_json(self) -> str | None: ...
    @property
    def elapsed_ns(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def sent_ns(self) -> int: ...

class OrderExecutor:
    def __init__(
        self,
        base_url: str,
        token: str,
        refresh: Callable[[], Awaitable[str]] | None = None,
        delays_s: list[float] = ...,
        timeout_s: float = 10.0,
        max_idle: int = 32,
        answer_within_us: int = 0,
    ) -> None: ...
    # > 0 with a plain-http gateway: place/modify/cancel/close_position/partial_close may return the
    # CallResult itself (answered on the caller's thread within the budget), else an awaitable.
    @property
    def answer_within_us(self) -> int: ...
    @property
    def answer_counts(self) -> tuple[int, int, int]: ...  # (answered within it, finished later, not served)
    def set_token(self, token: str) -> None: ...
    def cache_contract(self, symbol: str, contract_id: str) -> None: ...
    def cached_contract(self, symbol: str) -> str | None: ...
    def place(
        self,
        account_id: int,
        contract_id: str,
        order_type: int,
        side: int,
        size: int,
        custom_tag: str,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_price: float | None = None,
        stop_loss_ticks: int | None = None,
        take_profit_ticks: int | None = None,
    ) -> CallResult | Awaitable[CallResult]: ...
    def modify(
        self,
        account_id: int,
        order_id: int,
        size: int | None = None,
        limit_price: float | None = None,
        stop_price: float | None = None,
        trail_price: float | None = None,
    ) -> CallResult | Awaitable[CallResult]: ...
    def cancel(self, account_id: int, order_id: int) -> CallResult | Awaitable[CallResult]: ...
    def close_position(self, account_id: int, contract_id: str) -> CallResult | Awaitable[CallResult]: ...
    def partial_close(self, account_id: int, contract_id: str, size: int) -> CallResult | Awaitable[CallResult]: ...
    def find_by_tag(self, account_id: int, custom_tag: str, since_ns: int) -> Awaitable[CallResult]: ...
    def noop(self) -> Awaitable[CallResult]:
        """A call without I/O: what crossing into the runtime and back to asyncio costs."""
        ...

class QuoteRecord:
    """A contract's quote after merging an update (prices as floats, times in ns since the epoch);
    not made once `HubClient.build_quotes` was called (quotes cross as events then)."""

    contract_id: str
    last: float | None
    bid: float | None
    ask: float | None
    volume: int | None
    ts_ns: int | None

class TradePrint:
    """One trade print; `aggressor` is the wire's TradeLogType (0 buy, 1 sell)."""

    price: float
    ts_ns: int
    aggressor: int
    volume: int

class TradesRecord:
    contract_id: str
    prints: list[TradePrint]

class DepthEntry:
    """One depth level; `dom_type` is the wire's DomType."""

    ts_ns: int | None
    dom_type: int
    price: float
    volume: int
    current_volume: int | None

class DepthRecord:
    contract_id: str
    levels: list[DepthEntry]

class OrderRecord:
    """A GatewayUserOrder item (validated as `OrderModel`), with its wrapper's action if any."""

    action: int | None
    id: int
    account_id: int
    contract_id: str
    symbol_id: str | None
    created_ns: int | None
    updated_ns: int | None
    status: int
    order_type: int
    side: int
    size: int
    limit_price: float | None
    stop_price: float | None
    trail_price: float | None
    fill_volume: int
    filled_price: float | None
    custom_tag: str | None
    parent_order_id: int | None
    linked_order_id: int | None

class PositionRecord:
    """A GatewayUserPosition item: `closed` when flat, `long` its side."""

    id: int
    account_id: int
    contract_id: str
    opened_ns: int | None
    position_type: int
    size: int
    average_price: float
    closed: bool
    long: bool

class FillRecord:
    """A GatewayUserTrade item (a fill)."""

    id: int
    order_id: int
    account_id: int
    contract_id: str
    ts_ns: int
    price: float
    profit_and_loss: float | None
    fees: float
    side: int
    size: int
    voided: bool

class AccountRecord:
    id: int
    name: str
    balance: float
    can_trade: bool
    is_visible: bool
    simulated: bool

class StatusRecord:
    """A connection state change (a `trading.streaming.StreamState` value) and its message."""

    state: str
    message: str

class LogRecord:
    """A log line for Python's logger (`level` as in `logging`)."""

    level: int
    message: str

class MalformedRecord:
    """Bad frames and bad items skipped since the last count."""

    count: int

class LogoutRecord:
    """The broker logged this session out."""

class MarketHoursRecord:
    """The watchdog found the feed silent: answer with `HubClient.market_hours(open)`."""

class EndRecord:
    """The client stopped: the last record."""

HubRecord = (
    QuoteRecord
    | TradesRecord
    | DepthRecord
    | OrderRecord
    | PositionRecord
    | FillRecord
    | AccountRecord
    | StatusRecord
    | LogRecord
    | MalformedRecord
    | LogoutRecord
    | MarketHoursRecord
    | EndRecord
)

class HubClient:
    """A supervised SignalR hub client (tokio-tungstenite): reconnect with backoff, re-subscription,
    token from `token()` at every connect, stale-feed watchdog (events) and keep-alive watchdog (frames
    of any kind, pings included); see rust_ext/src/realtime/."""

    def __init__(
        self,
        url: str,
        hub: str,
        token: Callable[[], str],
        timeout_s: float = 10.0,
        keep_alive_s: float = 10.0,
        reconnect_delays_s: list[float] = ...,
        stale_after_s: float | None = None,
        keepalive_stale_s: float | None = None,
        coalesce_quotes: bool = False,
    ) -> None:
        """`coalesce_quotes`: a batch carries each contract's last quote only (the earlier ones are
        dropped before they cross, counted in `coalesced`)."""
        ...
    def build_quotes(
        self, event_type: type, quote_type: type, price: Callable[[float], object], clock: Callable[[int], object]
    ) -> None:
        """From now on a quote crosses as `event_type` (`trading.streaming.QuoteEvent`) holding a
        `quote_type` (`trading.projectx.lazy_quote.LazyQuote`) built in place, not as a `QuoteRecord`:
        `price(x)` makes a price object from a float (cached by value), `clock(seen_ns)` a batch's
        `ts_init` from the wall-clock ns its oldest frame came off the socket (0: unknown)."""
        ...
    def start(self) -> Awaitable[None]: ...
    def stop(self) -> None: ...
    def reconnect(self, reason: str) -> Awaitable[None]: ...
    def token_changed(self) -> None: ...
    def subscribe(self, method: str, key: str, args_json: str) -> Awaitable[str | None]: ...
    def unsubscribe(self, method: str, unmethod: str, key: str, args_json: str) -> Awaitable[str | None]: ...
    def market_hours(self, open: bool) -> None: ...
    def read_on_loop(self) -> bool:
        """Before `start()`, on the running loop: a plain ws:// hub's socket is read on this loop's own
        thread (`loop.add_reader`), not by a tokio reader; False when the loop cannot watch descriptors.
        https hubs always keep the tokio reader."""
        ...
    def close_loop(self) -> None:
        """After `stop()` and the last batch: the loop stops watching this client's descriptors."""
        ...
    def next_batch(self) -> Awaitable[list[HubRecord]]:
        """Records since the last call, in order (waits until there is one; quotes as `QuoteEvent`s
        after `build_quotes`); `EndRecord` last after
        `stop()`. A `MarketHoursRecord` is answered with `market_hours(open)`."""
        ...
    @property
    def connected(self) -> bool: ...
    @property
    def connects(self) -> int: ...
    @property
    def stale(self) -> int: ...
    @property
    def silent_s(self) -> float: ...
    @property
    def frame_silent_s(self) -> float: ...
    @property
    def frames(self) -> int: ...
    @property
    def loop_connections(self) -> int:
        """Connections read on the event loop's thread so far (0 without `read_on_loop`, or on https)."""
        ...
    @property
    def loop_fds(self) -> list[int]:
        """The descriptors the event loop watches for this client (`read_on_loop`): the wake-up
        socketpair's, then the hub socket's while one is read; empty after `close_loop()`."""
        ...
    @property
    def coalesced(self) -> int:
        """Quotes dropped by `coalesce_quotes` so far."""
        ...
    @property
    def batch_seen_ns(self) -> int:
        """Wall-clock ns since the epoch at which the oldest hub frame of the last batch `next_batch`
        returned was taken off the socket (0: that batch held no hub data)."""
        ...
    def set_quote_hook(self, fast: FastPath | None = None) -> None:
        """Tell `fast` of every quote with a last price as it is decoded, before it is queued."""
        ...

def decode_burst(data: bytes) -> tuple[int, int, int]: ...

class SocketFloor:
    """bench/orders.py's floor in Rust: canned place + cancel bytes on one blocking socket."""

    def __init__(self, host: str, port: int, token: str) -> None: ...
    def place_cancel(self, account_id: int, contract_id: str, tag: str) -> None: ...

# strategy/ (rust_ext/src/python/strategy.rs): the Rust overnight range, driven by trading/strategies/native.py.
# `host` answers the core's Context (now, tick_size, bars, last_price, orders, position, account,
# open_minutes) and carries out its actions (propose, cancel, modify_stop, range_card, strategy_fill, summary).
StrategyOrderRow = tuple[int | None, str | None, int | None, str, str, bool, str | None, str | None]
StrategyDay = tuple[int, int, int, int, int, int, int, int, list[tuple[int, int]], tuple[int, int] | None]

# backtest/ (trading/backtest/skip.py): skip the bars that change nothing
BacktestOrder = tuple[str, bool, float, int]  # kind (market|limit|stop), buy, level, active from (UTC ns)
BacktestLane = tuple[
    _I64,
    _F64,
    _F64,
    _F64,
    int,
    int,
    list[BacktestOrder],
    bool,
    list[tuple[float, int]],
    tuple[float, float, float | None],
]  # ts, high, low, close, next, end, working orders, strategy watching, lots, (tick size, tick value, mark)
BacktestGuard = tuple[float, float, float | None, float | None, float | None, bool, bool]

def backtest_advance(
    lanes: list[BacktestLane], guard: BacktestGuard, until: int
) -> tuple[int | None, list[tuple[int, int | None]]]: ...

BacktestRunLane = tuple[
    str, str, str, str, _I64, _F64, _F64, _F64, _F64
]  # symbol, contract id, tick size, tick value (Decimal text), ts, open, high, low, close
BacktestRunDay = tuple[
    StrategyDay, list[tuple[int, str]], list[tuple[int, int, int]]
]  # the strategy's day, session events (UTC ns, name) in firing order, expected minutes (start, end, n)
BacktestRunSettings = tuple[
    str, str, int, bool, str
]  # starting balance, fees per contract per side, slippage ticks, limit touch, daily loss limit

def backtest_run(
    config_json: str,
    tz_utc: _I64,
    tz_offset: _I64,
    state: str,
    lanes: list[BacktestRunLane],
    days: list[BacktestRunDay],
    settings: BacktestRunSettings,
    host: Any,
    risk: tuple[RiskCore, tuple[Any, ...]] | None,
) -> dict[str, Any]:
    """The whole backtest loop of the Rust overnight range (trading/backtest/native.py): "orders",
    "fills", "trades" (rows as BacktestResult's), "equity" [(ns, balance)], "notes" (the core's
    notices), "state" (the strategy's, JSON), "ledger" (realized, fees, day start, [(contract, lots)]),
    "risk" (the Rust risk's end state, when `risk` (a RiskCore with the run's calendar years, and the
    RiskState row) was given; else None: `host` answered every check and mark). Raises ValueError when
    the Rust risk cannot decide an order or a mark exactly."""

class OvernightRangeCore:
    def __init__(self, config_json: str, tz_utc: _I64, tz_offset: _I64) -> None: ...
    def on_session_event(self, host: Any, event: str, day: StrategyDay) -> None: ...
    def watching(self, symbol: str) -> bool: ...
    def bar_triggers(self, symbol: str) -> list[tuple[bool, float]]: ...
    def on_bar(self, host: Any, symbol: str, high: float, low: float) -> None: ...
    def on_quote(self, host: Any, symbol: str, last: str | None) -> None: ...
    def on_order_update(self, host: Any, order: StrategyOrderRow) -> None: ...
    def on_fill(self, host: Any, order: StrategyOrderRow, price: str, size: int) -> None: ...
    def on_save(self) -> str: ...
    def on_load(self, state: str) -> None: ...

class FastMove:
    """A stop move sent without Python (rust_ext/src/python/fast_path.rs)."""

    contract_id: str
    order_id: int
    price: str
    seen_ns: int
    result: CallResult | None
    panic: str | None

class FastPath:
    """The armed table: a quote reaching an armed trigger runs the core and the executor in Rust."""

    def __init__(self, executor: OrderExecutor, account_id: int) -> None: ...
    def arm(
        self, contract_id: str, core: OvernightRangeCore, symbol: str, orders: list[StrategyOrderRow]
    ) -> list[tuple[bool, float]]: ...
    def disarm(self, contract_id: str) -> None: ...
    def triggers(self, contract_id: str) -> list[tuple[bool, float]]: ...
    def set_open(self, open: bool) -> None: ...
    @property
    def is_open(self) -> bool: ...
    @property
    def fired(self) -> int: ...
    @property
    def unrecorded(self) -> int: ...
    def recorded(self, n: int) -> None: ...
    def next_moves(self) -> Awaitable[list[FastMove]]: ...

# The pure risk check (rust_ext/src/risk/, trading/risk/native.py): check's codes.
RISK_REFUSED: int
RISK_APPROVED: int
RISK_ROLL: int
RISK_NEED_YEARS: int
RISK_UNDECIDED: int

class RiskCore:
    def __init__(
        self,
        *,
        tz_utc: _I64,
        tz_offset: _I64,
        max_order_size: int,
        max_position_per_symbol: int,
        max_position_total: int,
        trading_start: int,
        trading_end: int,
        price_band_ticks: int,
        price_band_atr: str,
        label: str,
        starting_balance: str | None,
        profit_target: str | None,
        daily_loss_limit: str | None,
        daily_profit_cap: str | None,
        max_loss: str | None,
        max_loss_lock: str | None,
        max_contracts: int | None,
        scaling: list[tuple[str, int]],
        micros_per_lot: int,
        flat_time: int | None,
        window: tuple[int, int] | None,
    ) -> None: ...
    def set_state(
        self,
        *,
        kill_mode: str,
        kill_reason: str,
        trading_date: int | None,
        high_water: str | None,
        start_balance: str | None,
        last_end_balance: str | None,
        goal_met: bool,
        cap_tripped: bool,
    ) -> None: ...
    def add_year(self, year: int, cme: list[tuple[int, int, int]], nyse: list[tuple[int, int, int]]) -> None: ...
    def check(self, request: Any, exposure: Any, now_ns: int) -> tuple[int, str, int]: ...
    def mark(self, exposure: Any, now_ns: int, account: tuple[Any, ...]) -> tuple[list[str] | None, tuple[Any, ...]]:
        """RiskManager.mark in Rust on a RiskState row (trading/backtest/native.py's): the trips' reasons
        (None: Python decides) and the row after."""
