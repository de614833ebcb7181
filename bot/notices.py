"""The card for each notification: `notification_card` renders each payload type of
`trading/notifications.py` with its own function (old rows included: a payload it does not know
renders every key it carries, never a bare title), on the cards and formats of render.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from bot.render import (
    BLUE,
    GREEN,
    GREY,
    LATENCY_HEADERS,
    ORANGE,
    RED,
    Card,
    fields,
    fmt,
    money,
    ny_time,
    points,
    price,
    table,
)
from trading import notifications
from trading.calendar import NY
from trading.domain import NotificationKind

_KIND_COLOR = {
    NotificationKind.ENTRY_FILL: GREEN,
    NotificationKind.EXIT_FILL: BLUE,
    NotificationKind.ORDER: GREY,
    NotificationKind.RISK: RED,
    NotificationKind.ALERT: ORANGE,
    NotificationKind.STRATEGY: BLUE,
    NotificationKind.SUMMARY: BLUE,
    NotificationKind.LATENCY: GREY,
}


def _span(span: timedelta) -> str:
    minutes = max(1, int((span.total_seconds() + 59) // 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def notification_card(
    kind: NotificationKind, payload: Mapping[str, Any], *, count: int = 1, span: timedelta | None = None
) -> Card:
    """The card for one outbox message (one render function per payload type, old rows included);
    `count` > 1 is a coalesced run of the same alert."""
    color = RED if payload.get("urgent") is True else _KIND_COLOR.get(kind, GREY)
    card = _RENDER[notifications.notice_of(kind, payload)](kind, payload, color)
    image = _image_of(kind, payload)
    if image is not None:
        card = replace(card, image=image)
    if count > 1:
        card = replace(card, title=f"{card.title} ×{count} in {_span(span or timedelta())}", image=None)
    if payload.get("account"):  # several accounts in one process: each message names its account
        card = replace(card, title=f"[{payload['account']}] {card.title}")
    return card


def _money_of(value: Any) -> str:
    try:
        return money(Decimal(str(value))) if value not in (None, "") else "—"
    except InvalidOperation:
        return str(value)


def _pnl_color(value: Any, default: int) -> int:
    try:
        return default if value in (None, "") else GREEN if Decimal(str(value)) >= 0 else RED
    except InvalidOperation:
        return default


def _present(items: Mapping[str, Any]) -> tuple[tuple[str, str, bool], ...]:
    return fields({k: v for k, v in items.items() if v not in (None, "", "—")})


def _map(p: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = p.get(key)
    return value if isinstance(value, Mapping) else {}


def _long_short(side: Any) -> str:
    s = str(side).lower()
    return "LONG" if s in ("buy", "long") else "SHORT" if s in ("sell", "short") else s.upper()


# ---------------------------------------------------------------------- one render function per payload type
def order_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    event = str(p.get("event", "")).lower()
    tick = p.get("tick_size")
    symbol = p.get("symbol") or p.get("contract_id") or ""
    at = next((p.get(k) for k in ("stop_price", "limit_price") if p.get(k) is not None), None)
    where = f" @ {price(at, tick)}" if at is not None else ""
    title = f"Order {event}: {str(p.get('side', '')).upper()} {p.get('size', '')} {symbol} {p.get('type', '')}"
    items = {
        "Order": f"#{p['order_id']}" if p.get("order_id") is not None else None,
        "Stop": price(p.get("stop_price"), tick) if p.get("stop_price") is not None else None,
        "Limit": price(p.get("limit_price"), tick) if p.get("limit_price") is not None else None,
        "Stop-loss (ticks)": p.get("stop_loss_ticks"),
        "Take-profit (ticks)": p.get("take_profit_ticks"),
        "Status": p.get("status"),
        "Strategy": p.get("strategy"),
        "Tag": p.get("custom_tag"),
    }
    reason = p.get("error") or p.get("reason")
    return Card(
        title=f"{title.strip()}{where}",
        description=str(reason or ""),
        fields=_present(items),
        color=RED if event == "rejected" else color,
    )


def fill_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    what = "Exit" if kind is NotificationKind.EXIT_FILL else "Entry"
    symbol = p.get("symbol") or p.get("contract_id") or ""
    tick = p.get("tick_size")
    at = price(p.get("price"), tick)
    title = f"{what} fill: {str(p.get('side', '')).upper()} {p.get('size', '')} {symbol} @ {at}"
    items = {
        "P&L": _money_of(p["pnl"]) if p.get("pnl") is not None else None,
        "Fees": _money_of(p.get("fees")) if p.get("fees") is not None else None,
        "Time": ny_time(p["at"]) if p.get("at") else None,
        "Order": f"#{p['order_id']}" if p.get("order_id") is not None else None,
        "Strategy": p.get("strategy"),
    }
    return Card(title=title, fields=_present(items), color=_pnl_color(p.get("pnl"), color))


_LEVELS = (("onh", "Range high (ONH)"), ("onl", "Range low (ONL)"), ("range", "Range"))


def range_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    """The overnight range of one symbol: levels, ATRs, filters, and each entry's price, size and bracket."""
    tick = p.get("tick_size")
    lv = _map(p, "levels")
    symbol, day = p.get("symbol", ""), p.get("date", "")
    if p.get("card") == "range" or p.get("provisional"):
        when = f", as of {ny_time(p['as_of'])}" if p.get("as_of") else ""
        title = f"{symbol} overnight range {day} (provisional{when})"
    else:
        title = f"{symbol} at the open {day}: entries"
    items: dict[str, Any] = {label: price(lv.get(key), tick) for key, label in _LEVELS if lv.get(key) is not None}
    items["ATR5"] = points(lv.get("atr5"))
    items["ATRD"] = points(lv.get("atrd"))
    if lv.get("bars_expected") not in (None, "0"):
        items["Overnight bars"] = f"{lv.get('bars_present')} of {lv.get('bars_expected')}"
    sides = _map(p, "sides")
    for key, s in sides.items():
        if isinstance(s, Mapping):
            items[f"{_long_short(s.get('side', key)).capitalize()} entry"] = _side_text(s, tick)
    filters = _map(p, "filters")
    verdicts = [
        f"{name} {'BLOCKS' if v.get('blocks') else 'ok'} ({fmt(v.get('value'))})"
        for name, v in filters.items()
        if isinstance(v, Mapping) and v.get("enabled")
    ]
    if verdicts:
        items["Filters"] = ", ".join(verdicts)
    if p.get("strategy"):
        items["Strategy"] = p["strategy"]
    blocked = p.get("blocked") or p.get("warmup")
    description = f"No trade: {blocked}" if blocked else ("" if sides else "Entries are placed at the open.")
    return Card(title=title, description=description, fields=_present(items), color=ORANGE if blocked else color)


def _side_text(s: Mapping[str, Any], tick: Any) -> str:
    size = f" {s['size']}" if s.get("size") is not None else ""
    parts = [f"{str(s.get('side', '')).upper()}{size} stop @ {price(s.get('level'), tick)}"]
    if s.get("stop_ticks") is not None or s.get("target_ticks") is not None:
        parts.append(f"SL {fmt(s.get('stop_ticks'))} / TP {fmt(s.get('target_ticks'))} ticks")
    status = str(s.get("status") or "")
    if s.get("fill_price"):
        status += f", filled @ {price(s['fill_price'], tick)}"
    if s.get("exit_price"):
        status += f", exit @ {price(s['exit_price'], tick)}"
    if s.get("note"):
        status += f" ({s['note']})"
    parts.append(status)
    return ", ".join(x for x in parts if x)


def strategy_fill_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    tick = p.get("tick_size")
    exit_ = p.get("event") == "exit_fill"
    head = f"{p.get('strategy') or 'Strategy'} {'exit' if exit_ else 'entry'}"
    what = f"{_long_short(p.get('side'))} {p.get('size', '')} {p.get('symbol', '')}"
    title = f"{head}: {what} {'closed' if exit_ else 'filled'} @ {price(p.get('price'), tick)}"
    items = {
        "Entry price": price(p.get("entry_price"), tick) if p.get("entry_price") else None,
        "P&L (gross)": _money_of(p.get("pnl")) if p.get("pnl") is not None else None,
        "Time": ny_time(p["at"]) if p.get("at") else None,
        "Tag": p.get("tag"),
    }
    return Card(title=title, fields=_present(items), color=_pnl_color(p.get("pnl"), color))


def strategy_summary_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    """A strategy's day: each entry with its fill, exit and P&L; per symbol why nothing traded."""
    lines: list[str] = []
    trades = p.get("trades")
    if isinstance(trades, list):
        for t in trades:
            tick = t.get("tick_size")
            done = f", entry {price(t['entry'], tick)}" if t.get("entry") else ""
            done += f" → exit {price(t['exit'], tick)}" if t.get("exit") else ""
            done += f", P&L {_money_of(t['pnl'])}" if t.get("pnl") is not None else ""
            lines.append(f"{t.get('symbol')} {_long_short(t.get('side'))} {t.get('size')}: {t.get('status')}{done}")
        lines += [f"{sym}: {note}" for sym, note in _map(p, "notes").items() if note]
    else:  # an old row: the strategy's raw state
        lines += _state_lines(p.get("symbols"))
        pnl = p.get("pnl")
        if isinstance(pnl, Mapping):
            lines += [f"{tag}: P&L {_money_of(v)}" for tag, v in pnl.items()]
    total = p.get("total")
    if total is None and isinstance(p.get("pnl"), Mapping):
        total = str(sum((Decimal(str(v)) for v in p["pnl"].values()), Decimal(0)))
    title = f"{p.get('strategy') or 'Strategy'} day {p.get('date') or ''}".strip()
    if total is not None:
        title += f": P&L {_money_of(total)}"
    return Card(
        title=title,
        description="\n".join(lines) or "No entries today.",
        color=_pnl_color(total, color),
    )


def _state_lines(symbols: Any) -> list[str]:
    if not isinstance(symbols, Mapping):
        return []
    out = []
    for sym, sd in symbols.items():
        if isinstance(sd, Mapping) and isinstance(sd.get("sides"), Mapping):
            sides = [
                f"{_long_short(k)} {v.get('status')}" + (f" {v.get('fill_price')} → {v.get('exit_price')}"
                                                        if v.get("exit_price") else "")
                for k, v in sd["sides"].items()
                if isinstance(v, Mapping)
            ]  # fmt: skip
            out.append(f"{sym}: {sd.get('blocked') or ', '.join(sides) or 'no entries'}")
        elif isinstance(sd, Mapping):
            out.append(f"{sym}: " + ", ".join(f"{k} {fmt(v)}" for k, v in sd.items()))
        else:
            out.append(f"{sym}: {fmt(sd)}")
    return out


def daily_summary_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    """The account's day: every fill in New York time, realized, fees, net, the order path's latency."""
    rows = p.get("fills")
    if isinstance(rows, list):
        lines = [
            f"{ny_time(f.get('at'))} {f.get('symbol')} {str(f.get('side', '')).upper()} {f.get('size')} "
            f"@ {price(f.get('price'), f.get('tick_size'))}"
            + (f" P&L {_money_of(f['pnl'])}" if f.get("pnl") is not None else "")
            + f" fees {_money_of(f.get('fees'))}"
            for f in rows
        ] or ["No fills today."]
        if p.get("latency"):
            lines.append(f"```\n{p['latency']}\n```")
        description = "\n".join(lines)
    else:  # an old row: its text
        description = str(p.get("text") or "")
    items = {
        "Realized": _money_of(p.get("realized")) if p.get("realized") is not None else None,
        "Fees": _money_of(p.get("fees")) if p.get("fees") is not None else None,
        "Net": _money_of(p.get("net")) if p.get("net") is not None else None,
        "Fills": len(rows) if isinstance(rows, list) else None,
    }
    title = str(p.get("title") or f"Daily summary {p.get('date', '')}".strip())
    return Card(title=title, description=description, fields=_present(items), color=_pnl_color(p.get("net"), color))


def chart_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    chart = p.get("chart")
    name = Path(chart).name if isinstance(chart, str) else ""
    items = {"Symbol": p.get("symbol"), "Date": p.get("date"), "Chart": name}
    return Card(title=str(p.get("title") or "Chart"), fields=_present(items), color=color)


# Keys that steer delivery or are shown otherwise, never as fields (`urgent` colours the card red).
_MESSAGE_KEYS = frozenset(
    {"notice", "title", "text", "message", "fields", "chart", "pnl_curve", "rows", "headers", "urgent", "coalesce"}
)
_LABELS = {
    "custom_tag": "Order tag",
    "cancelled": "Orders cancelled",
    "closed": "Positions closed",
    "strategy": "Strategy",
    "refused": "Order tag",
    "reason": "Reason",
}


def message_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    """Alerts, risk and any other message: a title, its text, and whatever else it carries as fields."""
    extra = p.get("fields")
    items: list[tuple[str, Any]] = list(extra.items()) if isinstance(extra, Mapping) else []
    for key, value in p.items():
        if key in _MESSAGE_KEYS or value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(fmt(v) for v in value)
        elif isinstance(value, Mapping):
            value = ", ".join(f"{k} {fmt(v)}" for k, v in value.items())
        items.append((_LABELS.get(key, key.replace("_", " ").capitalize()), value))
    title = str(p.get("title") or kind.value.replace("_", " ").capitalize())
    description = str(p.get("text") or p.get("message") or "")
    if not description and not items and not p.get("title"):
        description = "(this message carries no details)"
    return Card(title=title, description=description, fields=fields(items), color=color)


_PROTECTED = {
    "stop": "protective stop placed",
    "flatten": "closed at market",
    "failed": "NOT PROTECTED",
}


def protection_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    """A position found without a working stop for its full size, and what the guard did about it."""
    tick = p.get("tick_size")
    action = str(p.get("action", ""))
    position = f"{_long_short(p.get('side'))} {p.get('size', '')} {p.get('symbol') or p.get('contract_id') or ''}"
    title = f"Unprotected position: {position.strip()}, {_PROTECTED.get(action, action)}"
    closing = "SELL" if str(p.get("side")).lower() in ("long", "buy") else "BUY"
    order = {
        "stop": f"{closing} {p.get('uncovered', '')} stop @ {price(p.get('stop_price'), tick)}",
        "flatten": f"{closing} {p.get('uncovered', '')} at market",
    }.get(action)
    items = {
        "Uncovered": p.get("uncovered"),
        "Average price": price(p.get("average_price"), tick) if p.get("average_price") is not None else None,
        "Last": price(p.get("last_price"), tick) if p.get("last_price") is not None else None,
        "Order": order,
        "Tag": p.get("custom_tag"),
    }
    return Card(
        title=title,
        description=str(p.get("reason") or ""),
        fields=_present(items),
        color=RED if action != "stop" else ORANGE,
    )


def latency_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    card = message_card(kind, {k: v for k, v in p.items() if k not in ("rows", "headers")}, color)
    if p.get("rows"):
        text = str(p.get("text") or "")  # the routes the numbers came through, under the table
        card = replace(card, description=_latency_text(p) + (f"\n{text}" if text else ""))
    return card


_RENDER: dict[notifications.Notice, Callable[[NotificationKind, Mapping[str, Any], int], Card]] = {
    "order": order_card,
    "fill": fill_card,
    "range_card": range_card,
    "strategy_fill": strategy_fill_card,
    "strategy_summary": strategy_summary_card,
    "daily_summary": daily_summary_card,
    "chart": chart_card,
    "alert": message_card,
    "risk": message_card,
    "protection": protection_card,
    "latency": latency_card,
    "message": message_card,
}


MAX_ATTACHMENT = 8 * 1024 * 1024


def _image_of(kind: NotificationKind, p: Mapping[str, Any]) -> tuple[str, bytes] | None:
    """A PNG for the card: a chart file the engine wrote (`chart`: path), a P&L curve (`pnl_curve`:
    [[label, value], ...]) or a latency table (`rows`: the /stats latency rows)."""
    from trading import charts  # matplotlib only when a chart is asked for

    path = p.get("chart")
    if isinstance(path, str) and path:
        f = Path(path).expanduser()
        if f.is_file() and f.stat().st_size <= MAX_ATTACHMENT:
            return (f.name if f.suffix == ".png" else "chart.png", f.read_bytes())
    curve = p.get("pnl_curve")
    if isinstance(curve, list) and curve:
        points = [(_curve_time(at, p.get("date")), Decimal(str(v))) for at, v in curve]
        return ("pnl.png", charts.pnl_png(str(p.get("title") or "P&L"), points))
    rows = p.get("rows")
    if kind is NotificationKind.LATENCY and isinstance(rows, list) and rows:
        headers = p.get("headers") or LATENCY_HEADERS
        return ("latency.png", charts.table_png(str(p.get("title") or "Latency"), headers, rows))
    return None


def _curve_time(at: Any, day: Any) -> datetime:
    """A P&L curve point's time: an ISO-8601 timestamp, or (rows stored before it carried the date) a
    New York wall time on the notification's date."""
    text = str(at)
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        stamp = None
    if stamp is not None and stamp.tzinfo is not None:
        return stamp
    try:
        on = date.fromisoformat(str(day)) if day else None
        wall = time.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"P&L curve point {text!r} is not a time") from exc
    return datetime.combine(on or datetime.now(NY).date(), wall, NY)


def _latency_text(p: Mapping[str, Any]) -> str:
    headers = p.get("headers") or LATENCY_HEADERS
    return table(headers, [[str(c) for c in r] for r in p["rows"]])
