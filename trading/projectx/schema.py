"""The ProjectX Gateway wire format: the one place a wire detail lives (see /work/shared/projectx-api.md).

Enums (§5), per-endpoint error codes (§6), endpoint paths (§4), hub methods and events (§8), the
request/response/event models, and the conversions to and from `trading.domain` types. The client
(`rest.py`, `realtime.py`) and the simulator (`trading.sim`) both import from here.

Reading is tolerant: unknown fields are ignored, `contract` and `contracts` are both accepted for
Contract/searchById, `{action, data}`-wrapped user events are unwrapped, timestamps with `Z`,
`+00:00` or 7-digit fractions parse, and the `0001-01-01` sentinel reads as None. Anything that does
not fit raises `WireFormatError`. Writing (`to_wire`) gives JSON-ready dicts: prices as JSON numbers,
timestamps as ISO-8601 with `+00:00`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Annotated, Any, Final, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, ValidationError

# ---------------------------------------------------------------------------------------------- errors


class WireFormatError(ValueError):
    """A payload did not have the shape the API documents (missing field, wrong type, bad JSON...)."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        self.detail = detail
        super().__init__(f"malformed {what}: {detail}")


# ----------------------------------------------------------------------------------------------- enums (§5)


class OrderSide(IntEnum):
    BID = 0  # buy
    ASK = 1  # sell


class OrderType(IntEnum):
    UNKNOWN = 0
    LIMIT = 1
    MARKET = 2
    STOP_LIMIT = 3
    STOP = 4
    TRAILING_STOP = 5
    JOIN_BID = 6
    JOIN_ASK = 7


class OrderStatus(IntEnum):
    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3
    EXPIRED = 4
    REJECTED = 5
    PENDING = 6
    PENDING_CANCELLATION = 7
    SUSPENDED = 8


class PositionType(IntEnum):
    UNDEFINED = 0
    LONG = 1
    SHORT = 2


class AggregateBarUnit(IntEnum):
    UNSPECIFIED = 0
    SECOND = 1
    MINUTE = 2
    HOUR = 3
    DAY = 4
    WEEK = 5
    MONTH = 6
    TICK = 7


class DomType(IntEnum):
    UNKNOWN = 0
    ASK = 1
    BID = 2
    BEST_ASK = 3
    BEST_BID = 4
    TRADE = 5
    RESET = 6
    LOW = 7
    HIGH = 8
    NEW_BEST_BID = 9
    NEW_BEST_ASK = 10
    FILL = 11


class TradeLogType(IntEnum):
    BUY = 0  # aggressor lifted the offer
    SELL = 1


class OrderSortField(IntEnum):
    CREATED_AT = 0
    ID = 1


class SortDirection(IntEnum):
    ASC = 0
    DESC = 1


# ------------------------------------------------------------------------------------- error codes (§6)


class LoginErrorCode(IntEnum):
    SUCCESS = 0
    USER_NOT_FOUND = 1
    PASSWORD_VERIFICATION_FAILED = 2
    INVALID_CREDENTIALS = 3
    APP_NOT_FOUND = 4
    APP_VERIFICATION_FAILED = 5
    INVALID_DEVICE = 6
    AGREEMENTS_NOT_SIGNED = 7
    UNKNOWN_ERROR = 8
    API_SUBSCRIPTION_NOT_FOUND = 9
    API_KEY_AUTHENTICATION_DISABLED = 10


class ValidateErrorCode(IntEnum):
    SUCCESS = 0
    INVALID_SESSION = 1
    SESSION_NOT_FOUND = 2
    EXPIRED_TOKEN = 3
    UNKNOWN_ERROR = 4


class LogoutErrorCode(IntEnum):
    SUCCESS = 0
    INVALID_SESSION = 1
    UNKNOWN_ERROR = 2


class SuccessOnlyErrorCode(IntEnum):
    """Account/search, Contract/search, Contract/available."""

    SUCCESS = 0


class ContractByIdErrorCode(IntEnum):
    SUCCESS = 0
    CONTRACT_NOT_FOUND = 1


class RetrieveBarsErrorCode(IntEnum):
    SUCCESS = 0
    CONTRACT_NOT_FOUND = 1
    UNIT_INVALID = 2
    UNIT_NUMBER_INVALID = 3
    LIMIT_INVALID = 4


class PlaceOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_REJECTED = 2
    INSUFFICIENT_FUNDS = 3
    ACCOUNT_VIOLATION = 4
    OUTSIDE_TRADING_HOURS = 5
    ORDER_PENDING = 6
    UNKNOWN_ERROR = 7
    CONTRACT_NOT_FOUND = 8
    CONTRACT_NOT_ACTIVE = 9
    ACCOUNT_REJECTED = 10


class ModifyOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_NOT_FOUND = 2
    REJECTED = 3
    PENDING = 4
    UNKNOWN_ERROR = 5
    ACCOUNT_REJECTED = 6
    CONTRACT_NOT_FOUND = 7


class CancelOrderErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_NOT_FOUND = 2
    REJECTED = 3
    PENDING = 4
    UNKNOWN_ERROR = 5
    ACCOUNT_REJECTED = 6


class SearchByAccountErrorCode(IntEnum):
    """Order/search, Order/searchOpen, Order/v2/query, Position/searchOpen, Trade/search."""

    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1


class OrderByIdErrorCode(IntEnum):
    SUCCESS = 0
    ORDER_NOT_FOUND = 1


class ClosePositionErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    POSITION_NOT_FOUND = 2
    CONTRACT_NOT_FOUND = 3
    CONTRACT_NOT_ACTIVE = 4
    ORDER_REJECTED = 5
    ORDER_PENDING = 6
    UNKNOWN_ERROR = 7
    ACCOUNT_REJECTED = 8


class PartialClosePositionErrorCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    POSITION_NOT_FOUND = 2
    CONTRACT_NOT_FOUND = 3
    CONTRACT_NOT_ACTIVE = 4
    INVALID_CLOSE_SIZE = 5
    ORDER_REJECTED = 6
    ORDER_PENDING = 7
    UNKNOWN_ERROR = 8
    ACCOUNT_REJECTED = 9


# ------------------------------------------------------------------------------- endpoint paths (§4)

API_PREFIX: Final = "/api"
LOGIN_KEY: Final = "/api/Auth/loginKey"
LOGIN_APP: Final = "/api/Auth/loginApp"
VALIDATE: Final = "/api/Auth/validate"
LOGOUT: Final = "/api/Auth/logout"
ACCOUNT_SEARCH: Final = "/api/Account/search"
CONTRACT_SEARCH: Final = "/api/Contract/search"
CONTRACT_SEARCH_BY_ID: Final = "/api/Contract/searchById"
CONTRACT_AVAILABLE: Final = "/api/Contract/available"
RETRIEVE_BARS: Final = "/api/History/retrieveBars"
ORDER_PLACE: Final = "/api/Order/place"
ORDER_MODIFY: Final = "/api/Order/modify"
ORDER_CANCEL: Final = "/api/Order/cancel"
ORDER_SEARCH: Final = "/api/Order/search"
ORDER_SEARCH_OPEN: Final = "/api/Order/searchOpen"
ORDER_SEARCH_BY_ID: Final = "/api/Order/searchById"
ORDER_QUERY_V2: Final = "/api/Order/v2/query"
POSITION_SEARCH_OPEN: Final = "/api/Position/searchOpen"
POSITION_CLOSE: Final = "/api/Position/closeContract"
POSITION_PARTIAL_CLOSE: Final = "/api/Position/partialCloseContract"
# [UNCERTAIN] §13: two third-party docs name the partial close `closeContractPartial`; the sim serves both.
POSITION_PARTIAL_CLOSE_ALIAS: Final = "/api/Position/closeContractPartial"
TRADE_SEARCH: Final = "/api/Trade/search"
STATUS_PING: Final = "/api/Status/ping"  # the only GET

# Each POST endpoint's error-code enum (integers are not comparable across endpoints).
ERROR_CODES: Final[dict[str, type[IntEnum]]] = {
    LOGIN_KEY: LoginErrorCode,
    LOGIN_APP: LoginErrorCode,
    VALIDATE: ValidateErrorCode,
    LOGOUT: LogoutErrorCode,
    ACCOUNT_SEARCH: SuccessOnlyErrorCode,
    CONTRACT_SEARCH: SuccessOnlyErrorCode,
    CONTRACT_SEARCH_BY_ID: ContractByIdErrorCode,
    CONTRACT_AVAILABLE: SuccessOnlyErrorCode,
    RETRIEVE_BARS: RetrieveBarsErrorCode,
    ORDER_PLACE: PlaceOrderErrorCode,
    ORDER_MODIFY: ModifyOrderErrorCode,
    ORDER_CANCEL: CancelOrderErrorCode,
    ORDER_SEARCH: SearchByAccountErrorCode,
    ORDER_SEARCH_OPEN: SearchByAccountErrorCode,
    ORDER_SEARCH_BY_ID: OrderByIdErrorCode,
    ORDER_QUERY_V2: SearchByAccountErrorCode,
    POSITION_SEARCH_OPEN: SearchByAccountErrorCode,
    POSITION_CLOSE: ClosePositionErrorCode,
    POSITION_PARTIAL_CLOSE: PartialClosePositionErrorCode,
    POSITION_PARTIAL_CLOSE_ALIAS: PartialClosePositionErrorCode,
    TRADE_SEARCH: SearchByAccountErrorCode,
}

MAX_BARS_PER_REQUEST: Final = 20_000
MAX_CONTRACT_SEARCH_ROWS: Final = 20
MAX_ORDER_QUERY_ROWS: Final = 100  # v2/query caps every page at 100 rows whatever pageSize says
MIN_STOP_LOSS_TICKS: Final = 4
MAX_TRAIL_TICKS: Final = 1000
TOKEN_LIFETIME_S: Final = 24 * 3600

# ---------------------------------------------------------------------------- error messages (§4.6, §6)

MSG_BRACKETS_POSITION_MODE: Final = "Brackets cannot be used with Position Brackets. You must enable Auto OCO Brackets."
MSG_AGREEMENTS_NOT_SIGNED: Final = "Please log into the ProjectX platform and complete the required agreements"
MSG_TRAIL_NOT_SET: Final = "Trail Distance not set."
MSG_TRAIL_NOT_ALIGNED: Final = "Invalid trail price. Price is not aligned to tick size."
MSG_TRAIL_NO_LAST_PRICE: Final = "Cannot trail without a last price"
MSG_INVALID_SYMBOL: Final = "Invalid symbol"
MSG_TRAIL_TOO_FAR: Final = "Trail Distance exceeds maximum (1000)"
MSG_CANCEL_FOLLOWER: Final = "Follower accounts cannot cancel orders"
MSG_CANCEL_LIVE: Final = "Live accounts not supported"
MSG_SL_TYPE: Final = "Invalid stop loss type ({type_name})"  # e.g. "Invalid stop loss type (Limit)"
# Not documented anywhere; the simulator's wording (clients must read errorCode, not these).
MSG_TP_TYPE: Final = "Invalid take profit type ({type_name})"
MSG_DUPLICATE_TAG: Final = "Custom tag must be unique across the account."
MSG_PRICE_NOT_ALIGNED: Final = "Invalid price. Price is not aligned to tick size."


def order_type_name(value: int) -> str:
    """The name the live messages use for an OrderType ("Limit", "StopLimit", "TrailingStop")."""
    try:
        return "".join(w.capitalize() for w in OrderType(value).name.split("_"))
    except ValueError:
        return str(value)


def msg_bracket_sign(leg: str, ticks: int, long: bool, below_zero: bool) -> str:
    """`leg` is "stop loss" or "take profit". Live-observed: "...Ticks should be less than zero when
    longing." / "...when going short."; the "greater than zero" variant is the sim's mirror of it."""
    way = "when longing" if long else "when going short"
    than = "less than zero" if below_zero else "greater than zero"
    return f"Invalid {leg} ticks ({ticks}). Ticks should be {than} {way}."


def msg_sl_too_close(ticks: int) -> str:
    return f"Invalid stop loss ticks ({ticks}). Stop loss tick value should be at least 4 ticks."


# ------------------------------------------------------------------------------ hubs (§8.2, §8.3)

USER_HUB_PATH: Final = "/hubs/user"
MARKET_HUB_PATH: Final = "/hubs/market"
RECORD_SEPARATOR: Final = "\x1e"
HANDSHAKE_REQUEST: Final = '{"protocol":"json","version":1}\x1e'
HANDSHAKE_RESPONSE: Final = "{}\x1e"


class MessageType(IntEnum):
    """SignalR hub protocol message types."""

    INVOCATION = 1
    STREAM_ITEM = 2
    COMPLETION = 3
    STREAM_INVOCATION = 4
    CANCEL_INVOCATION = 5
    PING = 6
    CLOSE = 7


SUBSCRIBE_ACCOUNTS: Final = "SubscribeAccounts"
SUBSCRIBE_ORDERS: Final = "SubscribeOrders"
SUBSCRIBE_POSITIONS: Final = "SubscribePositions"
SUBSCRIBE_TRADES: Final = "SubscribeTrades"
UNSUBSCRIBE_ACCOUNTS: Final = "UnsubscribeAccounts"
UNSUBSCRIBE_ORDERS: Final = "UnsubscribeOrders"
UNSUBSCRIBE_POSITIONS: Final = "UnsubscribePositions"
UNSUBSCRIBE_TRADES: Final = "UnsubscribeTrades"
SUBSCRIBE_CONTRACT_QUOTES: Final = "SubscribeContractQuotes"
SUBSCRIBE_CONTRACT_TRADES: Final = "SubscribeContractTrades"
SUBSCRIBE_CONTRACT_MARKET_DEPTH: Final = "SubscribeContractMarketDepth"
UNSUBSCRIBE_CONTRACT_QUOTES: Final = "UnsubscribeContractQuotes"
UNSUBSCRIBE_CONTRACT_TRADES: Final = "UnsubscribeContractTrades"
UNSUBSCRIBE_CONTRACT_MARKET_DEPTH: Final = "UnsubscribeContractMarketDepth"

USER_HUB_METHODS: Final = frozenset(
    {SUBSCRIBE_ACCOUNTS, SUBSCRIBE_ORDERS, SUBSCRIBE_POSITIONS, SUBSCRIBE_TRADES}
    | {UNSUBSCRIBE_ACCOUNTS, UNSUBSCRIBE_ORDERS, UNSUBSCRIBE_POSITIONS, UNSUBSCRIBE_TRADES}
)
MARKET_HUB_METHODS: Final = frozenset(
    {SUBSCRIBE_CONTRACT_QUOTES, SUBSCRIBE_CONTRACT_TRADES, SUBSCRIBE_CONTRACT_MARKET_DEPTH}
    | {UNSUBSCRIBE_CONTRACT_QUOTES, UNSUBSCRIBE_CONTRACT_TRADES, UNSUBSCRIBE_CONTRACT_MARKET_DEPTH}
)

EVENT_USER_ACCOUNT: Final = "GatewayUserAccount"
EVENT_USER_ORDER: Final = "GatewayUserOrder"
EVENT_USER_POSITION: Final = "GatewayUserPosition"
EVENT_USER_TRADE: Final = "GatewayUserTrade"
EVENT_QUOTE: Final = "GatewayQuote"
EVENT_TRADE: Final = "GatewayTrade"
EVENT_DEPTH: Final = "GatewayDepth"
EVENT_LOGOUT: Final = "GatewayLogout"  # undocumented; payload [UNCERTAIN]
# With skipNegotiation the JWT travels in this query parameter of the hub URL (§8.1).
HUB_ACCESS_TOKEN_PARAM: Final = "access_token"

# ------------------------------------------------------------------------------------ field types

_FRACTION = re.compile(r"(\.\d{6})\d+")
_SENTINEL_YEAR = 1


def parse_timestamp(value: object) -> datetime | None:
    """ISO-8601 with `Z`, `+00:00`, any fraction length (7-digit .NET ticks truncated to µs), or a
    datetime. `None` and the `0001-01-01` "N/A" sentinel give None. Naive times are taken as UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = _FRACTION.sub(r"\1", value.strip())
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(f"not an ISO-8601 timestamp: {value!r}") from exc
    else:
        raise ValueError(f"timestamp must be a string, got {type(value).__name__}")
    if dt.year == _SENTINEL_YEAR:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def format_timestamp(dt: datetime) -> str:
    """UTC with `+00:00`: `2025-07-18T21:00:01.268009+00:00`, or `2024-12-20T14:00:00+00:00` on a whole second."""
    return dt.astimezone(UTC).isoformat()


def _decimal(value: object) -> object:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, bool):
        raise ValueError("price must be a number, got a boolean")
    return value


def _price_out(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def _none_as_empty(value: object) -> object:
    return [] if value is None else value


WireTime = Annotated[
    datetime | None,
    BeforeValidator(parse_timestamp),
    PlainSerializer(lambda d: None if d is None else format_timestamp(d), when_used="always"),
]
WirePrice = Annotated[Decimal, BeforeValidator(_decimal), PlainSerializer(_price_out, when_used="json")]


class WireModel(BaseModel):
    """Field names are the wire's (camelCase) so a model reads like the docs; unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: object) -> M:
    """Validate `data` (a decoded JSON value) as `model` or raise `WireFormatError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise WireFormatError(model.__name__, f"{where}: {first['msg']} ({exc.error_count()} problem(s))") from None


def parse_json(model: type[M], raw: str | bytes) -> M:
    """Like `parse` from raw JSON text; truncated or invalid JSON is a `WireFormatError` too."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise WireFormatError(model.__name__, f"{where}: {first['msg']}") from None


# ------------------------------------------------------------------------------------ REST models (§3, §4)


class Envelope(WireModel):
    success: bool
    errorCode: int = 0
    errorMessage: str | None = None


class LoginKeyRequest(WireModel):
    userName: str
    apiKey: str


class LoginResponse(Envelope):
    token: str | None = None


class ValidateResponse(Envelope):
    newToken: str | None = None


class AccountSearchRequest(WireModel):
    onlyActiveAccounts: bool


class AccountModel(WireModel):
    id: int
    name: str
    balance: WirePrice
    canTrade: bool
    isVisible: bool = True
    simulated: bool = True  # swagger: required; the early docs example omits it


class AccountSearchResponse(Envelope):
    accounts: Annotated[list[AccountModel], BeforeValidator(_none_as_empty)] = []


class ContractSearchRequest(WireModel):
    searchText: str
    live: bool


class ContractSearchByIdRequest(WireModel):
    contractId: str


class ContractAvailableRequest(WireModel):
    live: bool


class ContractModel(WireModel):
    id: str
    name: str
    description: str = ""
    tickSize: WirePrice
    tickValue: WirePrice
    activeContract: bool = True
    symbolId: str = ""  # early-2025 examples lacked it


class ContractSearchResponse(Envelope):
    contracts: Annotated[list[ContractModel], BeforeValidator(_none_as_empty)] = []


class ContractByIdResponse(Envelope):
    """Emitted with singular `contract`; the early-2025 `contracts: [...]` form is read too (§13)."""

    contract: ContractModel | None = None
    contracts: list[ContractModel] | None = None

    def the_contract(self) -> ContractModel | None:
        if self.contract is not None:
            return self.contract
        return self.contracts[0] if self.contracts else None

    def to_wire(self) -> dict[str, Any]:
        out = self.model_dump(mode="json", exclude={"contracts"})
        return out


class RetrieveBarsRequest(WireModel):
    contractId: str
    live: bool
    startTime: WireTime
    endTime: WireTime
    unit: int
    unitNumber: int
    limit: int
    includePartialBar: bool


class BarModel(WireModel):
    t: WireTime
    o: WirePrice
    h: WirePrice
    l: WirePrice  # noqa: E741  (the wire's name)
    c: WirePrice
    v: int


class RetrieveBarsResponse(Envelope):
    bars: Annotated[list[BarModel], BeforeValidator(_none_as_empty)] = []


class BracketModel(WireModel):
    ticks: int
    type: int


class PlaceOrderRequest(WireModel):
    accountId: int
    contractId: str
    type: int
    side: int
    size: int
    limitPrice: WirePrice | None = None
    stopPrice: WirePrice | None = None
    trailPrice: WirePrice | None = None
    customTag: str | None = None
    linkedOrderId: int | None = None  # [UNCERTAIN] semantics; sent by some clients, accepted and ignored
    stopLossBracket: BracketModel | None = None
    takeProfitBracket: BracketModel | None = None


class PlaceOrderResponse(Envelope):
    orderId: int | None = None  # a rejected place may still carry the created order's id


class ModifyOrderRequest(WireModel):
    accountId: int
    orderId: int
    size: int | None = None
    limitPrice: WirePrice | None = None
    stopPrice: WirePrice | None = None
    trailPrice: WirePrice | None = None


class CancelOrderRequest(WireModel):
    accountId: int
    orderId: int


class OrderSearchRequest(WireModel):
    accountId: int
    startTimestamp: WireTime
    endTimestamp: WireTime = None


class AccountIdRequest(WireModel):
    """Order/searchOpen and Position/searchOpen."""

    accountId: int


class OrderSearchByIdRequest(WireModel):
    accountId: int
    orderId: int


class OrderQueryFilter(WireModel):
    accountId: int
    statuses: list[int] | None = None
    contractId: str | None = None
    createdAfter: WireTime = None
    createdBefore: WireTime = None


class OrderQueryRequest(WireModel):
    filter: OrderQueryFilter
    pageSize: int | None = None
    pageOffset: int | None = None  # a row offset, not a page number (live-measured)
    sortBy: int | None = None  # OrderSortField
    sortDirection: int | None = None  # SortDirection
    includeTotalCount: bool | None = None


class OrderModel(WireModel):
    id: int
    accountId: int
    contractId: str
    symbolId: str | None = None
    creationTimestamp: WireTime = None
    updateTimestamp: WireTime = None
    status: int
    type: int
    side: int
    size: int
    limitPrice: WirePrice | None = None
    stopPrice: WirePrice | None = None
    fillVolume: int = 0
    filledPrice: WirePrice | None = None
    customTag: str | None = None
    trailDistance: int | None = None  # undocumented: ticks
    trailPrice: WirePrice | None = None  # read back as a distance in price, not the submitted level
    parentOrderId: int | None = None
    linkedOrderId: int | None = None


class OrderSearchResponse(Envelope):
    orders: Annotated[list[OrderModel], BeforeValidator(_none_as_empty)] = []


class OrderQueryResponse(OrderSearchResponse):
    totalCount: int | None = None  # only when includeTotalCount

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"totalCount"} if self.totalCount is None else None)


class OrderByIdResponse(Envelope):
    order: OrderModel | None = None


class PositionModel(WireModel):
    id: int
    accountId: int
    contractId: str
    contractDisplayName: str | None = None
    creationTimestamp: WireTime = None
    type: int
    size: int
    averagePrice: WirePrice


class PositionSearchResponse(Envelope):
    positions: Annotated[list[PositionModel], BeforeValidator(_none_as_empty)] = []


class CloseContractRequest(WireModel):
    accountId: int
    contractId: str


class PartialCloseContractRequest(WireModel):
    accountId: int
    contractId: str
    size: int


class TradeSearchRequest(WireModel):
    accountId: int
    startTimestamp: WireTime
    endTimestamp: WireTime = None


class TradeModel(WireModel):
    """A half-turn: one fill. `profitAndLoss` None = an opening (or adding) fill."""

    id: int
    accountId: int
    contractId: str
    creationTimestamp: WireTime = None
    price: WirePrice
    profitAndLoss: WirePrice | None = None
    fees: WirePrice = Decimal(0)
    commissions: WirePrice | None = None
    side: int
    size: int
    voided: bool = False
    orderId: int


class TradeSearchResponse(Envelope):
    trades: Annotated[list[TradeModel], BeforeValidator(_none_as_empty)] = []


class ProblemDetails(WireModel):
    """RFC 7807 body of a 400 (login body missing fields, v2/query validation)."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    errors: dict[str, list[str]] | None = None


# ------------------------------------------------------------------------------------ hub payloads (§8.4)


class GatewayQuote(WireModel):
    """Often partial: every field optional; merge per contract."""

    symbol: str | None = None  # the symbolId (F.US.EP), not the contract id
    symbolName: str | None = None
    lastPrice: WirePrice | None = None
    bestBid: WirePrice | None = None
    bestAsk: WirePrice | None = None
    change: WirePrice | None = None
    changePercent: float | None = None
    open: WirePrice | None = None
    high: WirePrice | None = None
    low: WirePrice | None = None
    volume: int | None = None  # session total
    lastUpdated: WireTime = None
    timestamp: WireTime = None

    def to_wire(self) -> dict[str, Any]:
        """Only the fields that are set: quotes on the wire are partial."""
        return self.model_dump(mode="json", exclude_none=True)


class GatewayTradeEntry(WireModel):
    symbolId: str | None = None
    price: WirePrice
    timestamp: WireTime = None
    type: int  # TradeLogType
    volume: int


class GatewayDepthEntry(WireModel):
    timestamp: WireTime = None
    type: int  # DomType
    price: WirePrice
    volume: int  # level size (project-x-py reading; §13)
    currentVolume: int | None = None


ACTION_KEY: Final = "action"
DATA_KEY: Final = "data"


def wrap_user_event(payload: dict[str, Any], action: int) -> dict[str, Any]:
    """The `{action, data}` wrapper observed on GatewayUserOrder (§8.3); `action` is undocumented."""
    return {ACTION_KEY: action, DATA_KEY: payload}


def unwrap_user_event(arg: object) -> list[dict[str, Any]]:
    """A user-hub event argument as a list of flat objects: `{action, data}` unwrapped, lists iterated."""
    items = arg if isinstance(arg, list) else [arg]
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get(DATA_KEY), dict) and ACTION_KEY in item:
            out.append(item[DATA_KEY])
        elif isinstance(item, dict):
            out.append(item)
        else:
            raise WireFormatError("user event", f"expected an object, got {type(item).__name__}")
    return out


def market_entries(payload: object) -> list[Any]:
    """Trade and depth payloads are arrays; a single object is accepted too."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        return [payload]
    raise WireFormatError("market event", f"expected an array or object, got {type(payload).__name__}")
