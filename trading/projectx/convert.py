"""Conversions between the wire models of `schema` and the project's own `trading.domain` types.

Enum mappings live here next to the models they read; unknown enum values on the wire raise
`WireFormatError` (a caller decides whether to log and skip).
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Final, TypeVar

from trading import domain
from trading.projectx import schema as s

K = TypeVar("K")
V = TypeVar("V")
E = TypeVar("E", bound=IntEnum)

SIDE_TO_WIRE: Final = {domain.Side.BUY: s.OrderSide.BID, domain.Side.SELL: s.OrderSide.ASK}
SIDE_FROM_WIRE: Final = {v: k for k, v in SIDE_TO_WIRE.items()}

TYPE_TO_WIRE: Final = {
    domain.OrderType.LIMIT: s.OrderType.LIMIT,
    domain.OrderType.MARKET: s.OrderType.MARKET,
    domain.OrderType.STOP_LIMIT: s.OrderType.STOP_LIMIT,
    domain.OrderType.STOP: s.OrderType.STOP,
    domain.OrderType.TRAILING_STOP: s.OrderType.TRAILING_STOP,
    domain.OrderType.JOIN_BID: s.OrderType.JOIN_BID,
    domain.OrderType.JOIN_ASK: s.OrderType.JOIN_ASK,
}
TYPE_FROM_WIRE: Final = {v: k for k, v in TYPE_TO_WIRE.items()}

STATUS_FROM_WIRE: Final = {
    # 0 None is never a settled state: read it as "pending" (the broker has not said yet).
    s.OrderStatus.NONE: domain.OrderStatus.PENDING,
    s.OrderStatus.OPEN: domain.OrderStatus.OPEN,
    s.OrderStatus.FILLED: domain.OrderStatus.FILLED,
    s.OrderStatus.CANCELLED: domain.OrderStatus.CANCELLED,
    s.OrderStatus.EXPIRED: domain.OrderStatus.EXPIRED,
    s.OrderStatus.REJECTED: domain.OrderStatus.REJECTED,
    s.OrderStatus.PENDING: domain.OrderStatus.PENDING,
    s.OrderStatus.PENDING_CANCELLATION: domain.OrderStatus.PENDING_CANCEL,
    s.OrderStatus.SUSPENDED: domain.OrderStatus.SUSPENDED,
}
STATUS_TO_WIRE: Final = {
    domain.OrderStatus.PENDING: s.OrderStatus.PENDING,
    domain.OrderStatus.OPEN: s.OrderStatus.OPEN,
    domain.OrderStatus.FILLED: s.OrderStatus.FILLED,
    domain.OrderStatus.CANCELLED: s.OrderStatus.CANCELLED,
    domain.OrderStatus.EXPIRED: s.OrderStatus.EXPIRED,
    domain.OrderStatus.REJECTED: s.OrderStatus.REJECTED,
    domain.OrderStatus.PENDING_CANCEL: s.OrderStatus.PENDING_CANCELLATION,
    domain.OrderStatus.SUSPENDED: s.OrderStatus.SUSPENDED,
}

POSITION_FROM_WIRE: Final = {
    s.PositionType.LONG: domain.PositionSide.LONG,
    s.PositionType.SHORT: domain.PositionSide.SHORT,
}
POSITION_TO_WIRE: Final = {v: k for k, v in POSITION_FROM_WIRE.items()}


def _lookup(table: dict[K, V], key: K, what: str) -> V:
    try:
        return table[key]
    except (KeyError, ValueError):
        raise s.WireFormatError(what, f"unknown value {key!r}") from None


def _enum(cls: type[E], value: int, what: str) -> E:
    try:
        return cls(value)
    except ValueError:
        raise s.WireFormatError(what, f"unknown {cls.__name__} value {value!r}") from None


def side_from_wire(value: int) -> domain.Side:
    return _lookup(SIDE_FROM_WIRE, _enum(s.OrderSide, value, "side"), "side")


def order_type_from_wire(value: int) -> domain.OrderType:
    return _lookup(TYPE_FROM_WIRE, _enum(s.OrderType, value, "order type"), "order type")


def order_status_from_wire(value: int) -> domain.OrderStatus:
    return _lookup(STATUS_FROM_WIRE, _enum(s.OrderStatus, value, "order status"), "order status")


def account_from_wire(m: s.AccountModel) -> domain.Account:
    return domain.Account(
        id=m.id, name=m.name, balance=m.balance, can_trade=m.canTrade, is_visible=m.isVisible, simulated=m.simulated
    )


def contract_from_wire(m: s.ContractModel) -> domain.Contract:
    return domain.Contract(
        id=m.id,
        name=m.name,
        symbol_id=m.symbolId,
        description=m.description,
        tick_size=m.tickSize,
        tick_value=m.tickValue,
        active=m.activeContract,
    )


def contract_to_wire(c: domain.Contract) -> s.ContractModel:
    return s.ContractModel(
        id=c.id,
        name=c.name,
        description=c.description,
        tickSize=c.tick_size,
        tickValue=c.tick_value,
        activeContract=c.active,
        symbolId=c.symbol_id,
    )


def order_from_wire(m: s.OrderModel) -> domain.Order:
    return domain.Order(
        id=m.id,
        account_id=m.accountId,
        contract_id=m.contractId,
        side=side_from_wire(m.side),
        type=order_type_from_wire(m.type),
        size=m.size,
        status=order_status_from_wire(m.status),
        custom_tag=m.customTag,
        limit_price=m.limitPrice,
        stop_price=m.stopPrice,
        trail_price=m.trailPrice,
        fill_volume=m.fillVolume,
        filled_price=m.filledPrice,
        created_at=m.creationTimestamp,
        updated_at=m.updateTimestamp,
        parent_id=m.parentOrderId,
        linked_id=m.linkedOrderId,
    )


def fill_from_wire(m: s.TradeModel, ts_init: datetime | None = None) -> domain.Fill:
    if m.creationTimestamp is None:
        raise s.WireFormatError("TradeModel", "creationTimestamp: a fill needs a time")
    return domain.Fill(
        id=m.id,
        order_id=m.orderId,
        account_id=m.accountId,
        contract_id=m.contractId,
        side=side_from_wire(m.side),
        size=m.size,
        price=m.price,
        ts_event=m.creationTimestamp,
        fees=m.fees,
        pnl=m.profitAndLoss,
        voided=m.voided,
        ts_init=ts_init,
    )


def position_from_wire(m: s.PositionModel) -> domain.Position | None:
    """None for a flat position (`size == 0` or type 0: how a close is signalled is undocumented)."""
    if m.size == 0 or m.type == s.PositionType.UNDEFINED:
        return None
    return domain.Position(
        account_id=m.accountId,
        contract_id=m.contractId,
        side=_lookup(POSITION_FROM_WIRE, _enum(s.PositionType, m.type, "position type"), "position type"),
        size=abs(m.size),
        average_price=m.averagePrice,
        opened_at=m.creationTimestamp,
        id=m.id,
    )


def quote_from_wire(contract_id: str, m: s.GatewayQuote, ts_init: datetime | None = None) -> domain.Quote | None:
    """A (possibly partial) quote; None when it carries no time at all (merge it yourself)."""
    ts = m.timestamp or m.lastUpdated
    if ts is None:
        return None
    return domain.Quote(
        contract_id=contract_id, ts_event=ts, last=m.lastPrice, bid=m.bestBid, ask=m.bestAsk, volume=m.volume,
        ts_init=ts_init,
    )  # fmt: skip


def tick_from_wire(contract_id: str, m: s.GatewayTradeEntry, ts_init: datetime | None = None) -> domain.Tick:
    if m.timestamp is None:
        raise s.WireFormatError("GatewayTradeEntry", "timestamp: a trade print needs a time")
    aggressor = _AGGRESSOR.get(m.type)
    return domain.Tick(contract_id, m.timestamp, m.price, m.volume, aggressor, ts_init)


_AGGRESSOR: Final = {int(s.TradeLogType.BUY): domain.Side.BUY, int(s.TradeLogType.SELL): domain.Side.SELL}


def bar_from_wire(contract_id: str, timeframe: str, m: s.BarModel) -> domain.Bar:
    if m.t is None:
        raise s.WireFormatError("BarModel", "t: a bar needs a time")
    return domain.Bar(contract_id, timeframe, m.t, float(m.o), float(m.h), float(m.l), float(m.c), float(m.v))


def signed_bracket_ticks(
    side: domain.Side, stop_loss: int | None, take_profit: int | None
) -> tuple[int | None, int | None]:
    """Bracket ticks signed as the live API wants (§10.2): long → SL < 0, TP > 0; short → SL > 0, TP < 0.
    Input magnitudes may be given signed or unsigned; only their size is used."""
    sl = None if stop_loss is None else -abs(stop_loss) * side.sign
    tp = None if take_profit is None else abs(take_profit) * side.sign
    return sl, tp


def place_request(req: domain.OrderRequest) -> s.PlaceOrderRequest:
    """The Order/place body for an order request: wire enums, signed bracket ticks, SL as a stop (4),
    TP as a limit (1)."""
    sl_bracket = tp_bracket = None
    if req.bracket is not None:
        sl, tp = signed_bracket_ticks(req.side, req.bracket.stop_loss_ticks, req.bracket.take_profit_ticks)
        if sl is not None:
            sl_bracket = s.BracketModel(ticks=sl, type=s.OrderType.STOP)
        if tp is not None:
            tp_bracket = s.BracketModel(ticks=tp, type=s.OrderType.LIMIT)
    return s.PlaceOrderRequest(
        accountId=req.account_id,
        contractId=req.contract_id,
        type=TYPE_TO_WIRE[req.type],
        side=SIDE_TO_WIRE[req.side],
        size=req.size,
        limitPrice=req.limit_price,
        stopPrice=req.stop_price,
        trailPrice=req.trail_price,
        customTag=req.custom_tag,
        stopLossBracket=sl_bracket,
        takeProfitBracket=tp_bracket,
    )


def place_body(req: domain.OrderRequest) -> dict[str, object]:
    """JSON-ready Order/place body; optional fields that are unset are left out."""
    return req_dump(place_request(req))


def req_dump(m: s.WireModel) -> dict[str, object]:
    """A request model as a JSON-ready dict without its None fields."""
    return m.model_dump(mode="json", exclude_none=True)
