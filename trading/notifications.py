"""One typed payload per notification, built here and only here; the bot renders exactly these.

A payload is the JSON the outbox stores (a TypedDict per message, freqtrade's `rpc_types.py` idea):
decimals as strings, times as ISO-8601 UTC, and `notice` naming the payload type. Rows written
before `notice` existed are read by `notice_of`, which infers the type from the kind and the keys,
so an old row still renders what it carries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, NotRequired, TypedDict, cast, get_args

from trading.domain import Contract, Fill, NotificationKind, Order, OrderRequest, OrderStatus, Position, Side

Notice = Literal[
    "order",
    "fill",
    "range_card",
    "strategy_fill",
    "strategy_summary",
    "daily_summary",
    "chart",
    "alert",
    "risk",
    "protection",
    "latency",
    "message",
]
NOTICES: frozenset[str] = frozenset(get_args(Notice))


def _s(x: Decimal | None) -> str | None:
    return None if x is None else str(x)


def _tick(contract: Contract | None) -> str | None:
    return None if contract is None else str(contract.tick_size)


# ---------------------------------------------------------------------- orders and fills (kinds ORDER, *_FILL)
class OrderPayload(TypedDict):
    notice: Literal["order"]
    event: str  # placed | modified | cancelled | rejected | expired
    order_id: int | None
    symbol: str
    side: str
    size: int
    type: str
    limit_price: str | None
    stop_price: str | None
    custom_tag: str | None
    tick_size: str | None
    stop_loss_ticks: NotRequired[int | None]
    take_profit_ticks: NotRequired[int | None]
    strategy: NotRequired[str]
    error: NotRequired[str]


def order(
    event: str,
    o: Order,
    contract: Contract | None,
    *,
    request: OrderRequest | None = None,
    error: str | None = None,
    stop_price: Decimal | None = None,
    strategy: str | None = None,
) -> OrderPayload:
    """An order placed, modified (its new stop), cancelled, rejected (why) or expired."""
    out = OrderPayload(
        notice="order",
        event=event,
        order_id=o.id,
        symbol=contract.symbol if contract is not None else o.contract_id,
        side=o.side.value,
        size=o.size,
        type=o.type.value,
        limit_price=_s(o.limit_price),
        stop_price=_s(stop_price if stop_price is not None else o.stop_price),
        custom_tag=o.custom_tag,
        tick_size=_tick(contract),
    )
    if request is not None and request.bracket is not None:
        out["stop_loss_ticks"] = request.bracket.stop_loss_ticks
        out["take_profit_ticks"] = request.bracket.take_profit_ticks
    if error is not None:
        out["error"] = error
    if strategy is not None:
        out["strategy"] = strategy
    return out


def order_request(event: str, r: OrderRequest, contract: Contract, order_id: int | None) -> OrderPayload:
    """An order the action layer placed (it has the request and the broker id, not a broker Order)."""
    o = Order(
        id=order_id, account_id=r.account_id, contract_id=r.contract_id, side=r.side, type=r.type, size=r.size,
        status=OrderStatus.OPEN, custom_tag=r.custom_tag, limit_price=r.limit_price, stop_price=r.stop_price,
    )  # fmt: skip
    return order(event, o, contract, request=r)


class FillPayload(TypedDict):
    notice: Literal["fill"]
    fill_id: int
    order_id: int
    symbol: str
    contract_id: str
    side: str
    size: int
    price: str
    fees: str
    pnl: str | None  # None for an opening fill
    at: str
    tick_size: str | None


def fill(f: Fill, contract: Contract | None) -> FillPayload:
    """A broker trade on the account (ENTRY_FILL when it opens, EXIT_FILL with its P&L when it closes)."""
    return FillPayload(
        notice="fill",
        fill_id=f.id,
        order_id=f.order_id,
        symbol=contract.symbol if contract is not None else f.contract_id,
        contract_id=f.contract_id,
        side=f.side.value,
        size=f.size,
        price=str(f.price),
        fees=str(f.fees),
        pnl=_s(f.pnl),
        at=f.ts_event.isoformat(),
        tick_size=_tick(contract),
    )


def fill_kind(f: Fill) -> NotificationKind:
    return NotificationKind.ENTRY_FILL if f.pnl is None else NotificationKind.EXIT_FILL


# ---------------------------------------------------------------------- a strategy's own messages (kind STRATEGY)
class SidePlan(TypedDict):
    side: str  # buy | sell
    level: str  # the entry stop price
    size: int
    stop_ticks: int | None  # signed, from the entry (None while ATR5 is unknown)
    target_ticks: int | None
    status: str  # planned | skipped | refused | working | filled | cancelled | closed
    note: str
    fill_price: str | None
    exit_price: str | None


class RangeCardPayload(TypedDict):
    notice: Literal["range_card"]
    card: Literal["range", "open"]  # the provisional 09:25 card, or the day as decided at the open
    strategy: str
    symbol: str
    date: str
    provisional: bool
    as_of: str
    tick_size: str
    levels: dict[str, str | None]  # onh, onl, range, atr5, atrd, bars_present, bars_expected, missing_sessions
    filters: dict[str, dict[str, Any]]
    blocked: str | None
    warmup: str | None
    sides: dict[str, SidePlan]


def side_plan(
    side: str,
    level: Decimal | str,
    size: int,
    stop_ticks: int | None,
    target_ticks: int | None,
    *,
    status: str = "planned",
    note: str = "",
    fill_price: str | None = None,
    exit_price: str | None = None,
) -> SidePlan:
    return SidePlan(
        side=side, level=str(level), size=size, stop_ticks=stop_ticks, target_ticks=target_ticks,
        status=status, note=note, fill_price=fill_price, exit_price=exit_price,
    )  # fmt: skip


def range_card(
    strategy: str,
    contract: Contract,
    date: str,
    *,
    card: Literal["range", "open"],
    as_of: datetime,
    levels: Mapping[str, str | None],
    filters: Mapping[str, Mapping[str, Any]],
    blocked: str | None,
    sides: Mapping[str, SidePlan],
    warmup: str | None = None,
) -> RangeCardPayload:
    """The overnight range of one symbol: levels, ATRs, filter verdicts and the entries with their sizes."""
    return RangeCardPayload(
        notice="range_card",
        card=card,
        strategy=strategy,
        symbol=contract.symbol,
        date=date,
        provisional=card == "range",
        as_of=as_of.isoformat(),
        tick_size=str(contract.tick_size),
        levels=dict(levels),
        filters={k: dict(v) for k, v in filters.items()},
        blocked=blocked,
        warmup=warmup,
        sides=dict(sides),
    )


class StrategyFillPayload(TypedDict):
    notice: Literal["strategy_fill"]
    event: Literal["entry_fill", "exit_fill"]
    strategy: str
    symbol: str
    side: str  # the entry's side (an exit closes it)
    price: str
    size: int
    tag: str | None
    at: str
    tick_size: str
    entry_price: str | None  # exits: the entry's fill price
    pnl: str | None  # exits: gross, ticks x tick value x size


def strategy_fill(
    strategy: str,
    contract: Contract,
    *,
    exit_: bool,
    side: str,
    price: Decimal,
    size: int,
    tag: str | None,
    at: datetime,
    entry_price: Decimal | None = None,
) -> StrategyFillPayload:
    pnl = None
    if exit_ and entry_price is not None:
        pnl = str(contract.pnl(Side(side), entry_price, price, size))
    return StrategyFillPayload(
        notice="strategy_fill",
        event="exit_fill" if exit_ else "entry_fill",
        strategy=strategy,
        symbol=contract.symbol,
        side=side,
        price=str(price),
        size=size,
        tag=tag,
        at=at.isoformat(),
        tick_size=str(contract.tick_size),
        entry_price=_s(entry_price),
        pnl=pnl,
    )


class TradeRow(TypedDict):
    symbol: str
    side: str
    size: int
    status: str
    entry: str | None
    exit: str | None
    pnl: str | None
    tick_size: str
    tag: str


class StrategySummaryPayload(TypedDict):
    notice: Literal["strategy_summary"]
    strategy: str
    date: str | None
    trades: list[TradeRow]
    notes: dict[str, str]  # per symbol: why no trade, or the strategy's own state in words
    pnl: dict[str, str]  # gross P&L per closed entry tag
    total: str  # gross P&L of the day's closed entries
    symbols: NotRequired[dict[str, Any]]  # the strategy's raw day state (for tools, not for the trader)


def trade_row(
    contract: Contract,
    tag: str,
    side: str,
    size: int,
    status: str,
    entry: str | None,
    exit_: str | None,
) -> TradeRow:
    pnl = None
    if entry is not None and exit_ is not None:
        pnl = str(contract.pnl(Side(side), Decimal(entry), Decimal(exit_), size))
    return TradeRow(
        symbol=contract.symbol, side=side, size=size, status=status, entry=entry, exit=exit_, pnl=pnl,
        tick_size=str(contract.tick_size), tag=tag,
    )  # fmt: skip


def strategy_summary(
    strategy: str,
    date: str | None,
    trades: Sequence[TradeRow],
    notes: Mapping[str, str],
    symbols: Mapping[str, Any] | None = None,
) -> StrategySummaryPayload:
    """A strategy's own day: every entry with its fill, exit and P&L, and per symbol why nothing traded."""
    pnl = {t["tag"]: t["pnl"] for t in trades if t["pnl"] is not None}
    out = StrategySummaryPayload(
        notice="strategy_summary",
        strategy=strategy,
        date=date,
        trades=list(trades),
        notes=dict(notes),
        pnl=pnl,
        total=str(sum((Decimal(v) for v in pnl.values()), Decimal(0))),
    )
    if symbols is not None:
        out["symbols"] = dict(symbols)
    return out


class ChartPayload(TypedDict):
    notice: Literal["chart"]
    title: str
    symbol: str
    date: str
    chart: str  # path of the PNG the engine wrote


def chart(symbol: str, date: str, path: str, title: str | None = None) -> ChartPayload:
    return ChartPayload(
        notice="chart", title=title or f"{symbol} overnight range chart", symbol=symbol, date=date, chart=path
    )


# ---------------------------------------------------------------------- the daily summary (kind SUMMARY)
class FillRow(TypedDict):
    at: str
    symbol: str
    side: str
    size: int
    price: str
    pnl: str | None
    fees: str
    tick_size: str | None


class DailySummaryPayload(TypedDict):
    notice: Literal["daily_summary"]
    title: str
    date: str
    account_id: int
    fills: list[FillRow]
    realized: str
    fees: str
    net: str
    latency: str  # the order path's latency table (monospace text)
    pnl_curve: list[list[str]]  # [[New York time (ISO-8601), net P&L of the fill], ...] in fill order
    text: str  # the whole summary as plain text (logs, the job record)


def fill_row(f: Fill, contract: Contract | None) -> FillRow:
    return FillRow(
        at=f.ts_event.isoformat(), symbol=contract.symbol if contract is not None else f.contract_id,
        side=f.side.value, size=f.size, price=str(f.price), pnl=_s(f.pnl), fees=str(f.fees),
        tick_size=_tick(contract),
    )  # fmt: skip


def daily_summary(
    date: str,
    account_id: int,
    fills: Sequence[FillRow],
    *,
    latency: str,
    pnl_curve: Sequence[Sequence[str]],
    text: str,
) -> DailySummaryPayload:
    realized = sum((Decimal(f["pnl"]) for f in fills if f["pnl"] is not None), Decimal(0))
    fees = sum((Decimal(f["fees"]) for f in fills), Decimal(0))
    return DailySummaryPayload(
        notice="daily_summary",
        title=f"Daily summary {date}",
        date=date,
        account_id=account_id,
        fills=list(fills),
        realized=str(realized),
        fees=str(fees),
        net=str(realized - fees),
        latency=latency,
        pnl_curve=[list(p) for p in pnl_curve],
        text=text,
    )


# ---------------------------------------------------------------------- alerts and risk (kinds ALERT, RISK)
class AlertPayload(TypedDict):
    notice: Literal["alert"]
    title: str
    text: str
    urgent: NotRequired[bool]  # a person must see it now: also sent to the owners by direct message
    coalesce: NotRequired[str]  # repeats of one key are coalesced (default: the title)


def alert(title: str, text: str, *, urgent: bool = False, coalesce: str | None = None) -> AlertPayload:
    """Something an operator must see (a stale feed, a failed job, a reconcile that disagrees); `urgent`
    when a person must act now (a position flattened by the dead-man switch, a news blackout)."""
    out = AlertPayload(notice="alert", title=title, text=text)
    if urgent:
        out["urgent"] = True
    if coalesce is not None:
        out["coalesce"] = coalesce
    return out


class RiskPayload(TypedDict):
    notice: Literal["risk"]
    title: str
    text: str
    custom_tag: NotRequired[str]
    cancelled: NotRequired[list[int]]
    closed: NotRequired[list[str]]


def risk(
    title: str,
    text: str,
    *,
    custom_tag: str | None = None,
    cancelled: Sequence[int] | None = None,
    closed: Sequence[str] | None = None,
) -> RiskPayload:
    """A refusal, a kill-switch trip, a flatten."""
    out = RiskPayload(notice="risk", title=title, text=text)
    if custom_tag is not None:
        out["custom_tag"] = custom_tag
    if cancelled is not None:
        out["cancelled"] = list(cancelled)
    if closed is not None:
        out["closed"] = list(closed)
    return out


class ProtectionPayload(TypedDict):
    notice: Literal["protection"]
    action: Literal["stop", "flatten", "failed"]  # a stop placed, the uncovered size closed, or neither
    symbol: str
    contract_id: str
    side: str  # the position's: long | short
    size: int  # the position's
    uncovered: int  # contracts without a working stop when the guard acted
    average_price: str
    stop_price: str | None  # the protective stop's level (action "stop")
    last_price: str | None
    reason: str
    custom_tag: str
    tick_size: str | None


def protection(
    action: Literal["stop", "flatten", "failed"],
    position: Position,
    contract: Contract | None,
    *,
    uncovered: int,
    custom_tag: str,
    reason: str,
    stop_price: Decimal | None = None,
    last_price: Decimal | None = None,
) -> ProtectionPayload:
    """A position found without a working stop at the broker for its full size, and what the guard did."""
    return ProtectionPayload(
        notice="protection",
        action=action,
        symbol=contract.symbol if contract is not None else position.contract_id,
        contract_id=position.contract_id,
        side=position.side.value,
        size=position.size,
        uncovered=uncovered,
        average_price=str(position.average_price),
        stop_price=_s(stop_price),
        last_price=_s(last_price),
        reason=reason,
        custom_tag=custom_tag,
        tick_size=_tick(contract),
    )


class DeadmanPayload(TypedDict):
    """The dead-man switch fired (a risk notice: rendered as one, with its own fields)."""

    notice: Literal["risk"]
    title: str
    text: str
    down: list[str]  # what was down, each with for how long: "user hub (75 s)"
    seconds_down: float  # the longest of them
    cancelled: list[int]
    closed: list[str]


def deadman(down: Mapping[str, float], at_ny: str, cancelled: Sequence[int], closed: Sequence[str]) -> DeadmanPayload:
    """Positions flattened because the feed or the broker connection was down too long (`down`: what ->
    seconds down, `at_ny`: when, in New York time)."""
    parts = [f"{what} ({secs:.0f} s)" for what, secs in sorted(down.items(), key=lambda kv: -kv[1])]
    longest = max(down.values(), default=0.0)
    did = f"closed {', '.join(closed)}" if closed else "no position left to close"
    if cancelled:
        did += f"; cancelled order(s) {', '.join(f'#{o}' for o in cancelled)}"
    text = f"Down: {', '.join(parts)}. Flattened through REST at {at_ny}: {did}."
    return DeadmanPayload(
        notice="risk", title="Dead-man switch: flattened", text=text, down=parts, seconds_down=round(longest, 1),
        cancelled=list(cancelled), closed=list(closed),
    )  # fmt: skip


class BlackoutPayload(TypedDict):
    """A scheduled-news blackout started acting (a risk notice: rendered as one, with its own fields)."""

    notice: Literal["risk"]
    title: str
    text: str
    event: str
    release: str  # the event's release, New York: "Wed 2026-03-18 14:00 ET"
    window: str  # "13:55–14:05 ET"
    cancelled: list[int]


def blackout(event: str, release_ny: str, window_ny: str, *, cancelled: Sequence[int] = ()) -> BlackoutPayload:
    """A news blackout acting: strategies place no entries during the window (and the working entries it
    cancelled, when configured to)."""
    text = f"{event} at {release_ny}: strategies place no entries {window_ny}."
    if cancelled:
        text += f" Cancelled working entries {', '.join(f'#{o}' for o in cancelled)}."
    return BlackoutPayload(
        notice="risk", title=f"News blackout: {event}", text=text, event=event, release=release_ny,
        window=window_ny, cancelled=list(cancelled),
    )  # fmt: skip


# ---------------------------------------------------------------------- who else must see it
def direct(kind: NotificationKind, payload: Mapping[str, Any], kinds: Collection[str], urgent: bool) -> bool:
    """Whether a message also goes to the owners by direct message: its kind is one of `kinds`
    (`[discord] dm_kinds`), or it is an alert marked urgent and `urgent` (`[discord] dm_urgent`)."""
    return kind.value in kinds or (urgent and payload.get("urgent") is True)


# ---------------------------------------------------------------------- storing and reading
def content_key(kind: NotificationKind, payload: Mapping[str, Any], day: str) -> str:
    """The dedupe key of a message with no id of its own (a strategy's card, a risk notice): its kind,
    trading day and content. The same card sent twice on a day (a fill handed over again after a
    restart, a resumed job) is queued once."""
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    return f"{kind.value}-{day}-{hashlib.blake2b(body, digest_size=12).hexdigest()}"


def modified_key(order_id: int | None, price: Decimal) -> str:
    """The dedupe key of a stop move's "modified" notice: the order and its new price, the price in one
    canonical text (21037.5 and 21037.50 are the same move). The move is told once whichever way made
    it: the Python path, the Rust fast path (its price is the Rust core's decimal text), or a restarted
    engine repeating it."""
    return f"order-modified-{order_id}-{price.normalize():f}"


def stored(payload: Mapping[str, Any], strategy: str | None = None) -> dict[str, Any]:
    """The JSON object the outbox stores (the strategy that sent it, when it has none yet)."""
    out = dict(payload)
    if strategy is not None:
        out.setdefault("strategy", strategy)
    return out


def notice_of(kind: NotificationKind, p: Mapping[str, Any]) -> Notice:
    """The payload type of a stored message: its `notice`, else inferred from its kind and keys (old rows)."""
    n = p.get("notice")
    if isinstance(n, str) and n in NOTICES:
        return cast(Notice, n)
    if p.get("card") in ("range", "open"):
        return "range_card"
    if kind in (NotificationKind.ENTRY_FILL, NotificationKind.EXIT_FILL) and "price" in p:
        return "fill"
    if kind is NotificationKind.ORDER and "event" in p:
        return "order"
    if p.get("event") in ("entry_fill", "exit_fill") and "price" in p:
        return "strategy_fill"
    if kind is NotificationKind.SUMMARY:
        if "text" in p or "pnl_curve" in p:
            return "daily_summary"
        if "strategy" in p:
            return "strategy_summary"
    if isinstance(p.get("chart"), str):
        return "chart"
    if kind is NotificationKind.LATENCY:
        return "latency"
    if kind is NotificationKind.ALERT:
        return "alert"
    if kind is NotificationKind.RISK:
        return "risk"
    return "message"
