"""The request, response and hub-event models of the ProjectX wire format (projectx-api.md §3, §4,
§8.4). Field names are the wire's. Re-exported by `trading.projectx.schema` (import them from there)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, Field

from trading.projectx.wiretypes import WireFormatError, WireModel, WirePrice, WireTime, none_as_empty

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
    accounts: Annotated[list[AccountModel], BeforeValidator(none_as_empty)] = Field(default_factory=list)


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
    contracts: Annotated[list[ContractModel], BeforeValidator(none_as_empty)] = Field(default_factory=list)


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
    bars: Annotated[list[BarModel], BeforeValidator(none_as_empty)] = Field(default_factory=list)


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
    orders: Annotated[list[OrderModel], BeforeValidator(none_as_empty)] = Field(default_factory=list)


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
    positions: Annotated[list[PositionModel], BeforeValidator(none_as_empty)] = Field(default_factory=list)


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
    trades: Annotated[list[TradeModel], BeforeValidator(none_as_empty)] = Field(default_factory=list)


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


def unwrap_user_events(arg: object) -> list[tuple[int | None, dict[str, Any]]]:
    """A user-hub event argument as `(action, flat object)` pairs: `{action, data}` unwrapped with its
    action kept, lists iterated. A flat object, or an action that is not an integer, gives None."""
    items = arg if isinstance(arg, list) else [arg]
    out: list[tuple[int | None, dict[str, Any]]] = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get(DATA_KEY), dict) and ACTION_KEY in item:
            action = item[ACTION_KEY]
            out.append((action if isinstance(action, int) and not isinstance(action, bool) else None, item[DATA_KEY]))
        elif isinstance(item, dict):
            out.append((None, item))
        else:
            raise WireFormatError("user event", f"expected an object, got {type(item).__name__}")
    return out


def unwrap_user_event(arg: object) -> list[dict[str, Any]]:
    """A user-hub event argument as a list of flat objects: `{action, data}` unwrapped, lists iterated."""
    return [data for _, data in unwrap_user_events(arg)]


def market_entries(payload: object) -> list[Any]:
    """Trade and depth payloads are arrays; a single object is accepted too."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        return [payload]
    raise WireFormatError("market event", f"expected an array or object, got {type(payload).__name__}")


__all__ = [
    "ACTION_KEY",
    "DATA_KEY",
    "AccountIdRequest",
    "AccountModel",
    "AccountSearchRequest",
    "AccountSearchResponse",
    "BarModel",
    "BracketModel",
    "CancelOrderRequest",
    "CloseContractRequest",
    "ContractAvailableRequest",
    "ContractByIdResponse",
    "ContractModel",
    "ContractSearchByIdRequest",
    "ContractSearchRequest",
    "ContractSearchResponse",
    "Envelope",
    "GatewayDepthEntry",
    "GatewayQuote",
    "GatewayTradeEntry",
    "LoginKeyRequest",
    "LoginResponse",
    "ModifyOrderRequest",
    "OrderByIdResponse",
    "OrderModel",
    "OrderQueryFilter",
    "OrderQueryRequest",
    "OrderQueryResponse",
    "OrderSearchByIdRequest",
    "OrderSearchRequest",
    "OrderSearchResponse",
    "PartialCloseContractRequest",
    "PlaceOrderRequest",
    "PlaceOrderResponse",
    "PositionModel",
    "PositionSearchResponse",
    "ProblemDetails",
    "RetrieveBarsRequest",
    "RetrieveBarsResponse",
    "TradeModel",
    "TradeSearchRequest",
    "TradeSearchResponse",
    "ValidateResponse",
    "market_entries",
    "unwrap_user_event",
    "unwrap_user_events",
    "wrap_user_event",
]
