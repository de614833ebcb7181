"""The ProjectX Gateway wire format: the one place a wire detail lives (see /work/shared/projectx-api.md).

Enums (§5), per-endpoint error codes (§6), endpoint paths (§4), error messages, hub methods and events
(§8) are here; the request/response/event models (`models.py`) and the field types (`wiretypes.py`)
live next door to keep files small and are re-exported here, so `schema.X` is the one name for every
wire detail. Conversions to and from `trading.domain` types are in `convert.py`. The client
(`rest.py`, `realtime.py`) and the simulator (`trading.sim`) both import from here.

Reading is tolerant: unknown fields are ignored, `contract` and `contracts` are both accepted for
Contract/searchById, `{action, data}`-wrapped user events are unwrapped, timestamps with `Z`,
`+00:00` or 7-digit fractions parse, and the `0001-01-01` sentinel reads as None. Anything that does
not fit raises `WireFormatError`. Writing (`to_wire`) gives JSON-ready dicts: prices as JSON numbers,
timestamps as ISO-8601 with `+00:00`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from trading.projectx.models import *  # noqa: F403  (the models: REST bodies, responses, hub payloads)
from trading.projectx.wiretypes import *  # noqa: F403  (field types, WireModel, parse, WireFormatError)

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
