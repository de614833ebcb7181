"""Cards: what the bot shows, built once and rendered as a Discord embed or as console text.

A `Card` is plain data (title, description, fields, an optional PNG). Commands and the notifier build
cards; `embed()`/`files()` turn them into discord.py objects, `text()` into a console line.
Notification payloads are plain JSON written by the engine; `notification_card` reads them tolerantly:
`title`, `text`, `fields` (a mapping) are generic, fills and orders have their own keys.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import discord

from trading.domain import NotificationKind

GREEN = 0x2ECC71
RED = 0xE74C3C
BLUE = 0x3498DB
ORANGE = 0xE67E22
GREY = 0x95A5A6

EMBED_FIELDS_MAX = 25
FIELD_VALUE_MAX = 1024
DESCRIPTION_MAX = 4096

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


@dataclass(frozen=True)
class Card:
    title: str
    description: str = ""
    fields: tuple[tuple[str, str, bool], ...] = ()
    color: int = BLUE
    footer: str = ""
    image: tuple[str, bytes] | None = None  # (file name, PNG bytes)

    def embed(self) -> discord.Embed:
        e = discord.Embed(title=self.title[:256], description=self.description[:DESCRIPTION_MAX] or None)
        e.colour = discord.Colour(self.color)
        for name, value, inline in self.fields[:EMBED_FIELDS_MAX]:
            e.add_field(name=name[:256] or "\u200b", value=value[:FIELD_VALUE_MAX] or "\u200b", inline=inline)
        if self.footer:
            e.set_footer(text=self.footer[:2048])
        if self.image is not None:
            e.set_image(url=f"attachment://{self.image[0]}")
        return e

    def files(self) -> list[discord.File]:
        if self.image is None:
            return []
        return [discord.File(io.BytesIO(self.image[1]), filename=self.image[0])]

    def text(self) -> str:
        parts = [self.title]
        if self.description:
            parts.append(self.description)
        parts += [f"{name}: {value}" for name, value, _ in self.fields]
        if self.image is not None:
            parts.append(f"[chart {self.image[0]}]")
        return " | ".join(parts)


def fields(
    items: Mapping[str, Any] | Iterable[tuple[str, Any]], inline: bool = True
) -> tuple[tuple[str, str, bool], ...]:
    pairs = items.items() if isinstance(items, Mapping) else items
    return tuple((str(k), fmt(v), inline) for k, v in pairs)


def fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def error_card(message: str) -> Card:
    return Card(title="Not done", description=message, color=RED)


def ok_card(title: str, description: str = "", **items: Any) -> Card:
    return Card(title=title, description=description, fields=fields(items), color=GREEN)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A monospace table in a code block (for embeds: fixed-width columns line up)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "```\n" + "\n".join([line, *body]) + "\n```"


def pages(lines: Sequence[str], per_page: int = 15) -> list[str]:
    """Split lines into pages of at most `per_page` lines (and under the description limit)."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for ln in lines:
        if current and (len(current) >= per_page or size + len(ln) + 1 > DESCRIPTION_MAX - 16):
            out.append("\n".join(current))
            current, size = [], 0
        current.append(ln)
        size += len(ln) + 1
    if current or not out:
        out.append("\n".join(current))
    return out


def _span(span: timedelta) -> str:
    minutes = max(1, int((span.total_seconds() + 59) // 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def notification_card(
    kind: NotificationKind, payload: Mapping[str, Any], *, count: int = 1, span: timedelta | None = None
) -> Card:
    """The card for one outbox message; `count` > 1 is a coalesced run of the same alert."""
    color = _KIND_COLOR.get(kind, GREY)
    if kind in (NotificationKind.ENTRY_FILL, NotificationKind.EXIT_FILL) and "price" in payload:
        card = _fill_card(kind, payload, color)
    elif kind is NotificationKind.ORDER and "event" in payload:
        card = _order_card(payload, color)
    else:
        title = str(payload.get("title") or kind.value.replace("_", " ").capitalize())
        extra = payload.get("fields")
        card = Card(
            title=title,
            description=str(payload.get("text") or payload.get("message") or ""),
            fields=fields(extra) if isinstance(extra, Mapping) else (),
            color=color,
        )
    image = _image_of(kind, payload)
    if image is not None:
        card = Card(card.title, card.description, card.fields, card.color, card.footer, image)
        if kind is NotificationKind.LATENCY and payload.get("rows"):
            card = Card(card.title, _latency_text(payload), card.fields, card.color, card.footer, image)
    if count > 1:
        card = Card(
            title=f"{card.title} ×{count} in {_span(span or timedelta())}",
            description=card.description,
            fields=card.fields,
            color=card.color,
            footer=card.footer,
        )
    return card


def _fill_card(kind: NotificationKind, p: Mapping[str, Any], color: int) -> Card:
    side = str(p.get("side", "")).upper()
    what = "Entry" if kind is NotificationKind.ENTRY_FILL else "Exit"
    symbol = p.get("symbol") or p.get("contract_id") or ""
    title = f"{what} fill: {side} {p.get('size', '')} {symbol} @ {p.get('price')}"
    items: dict[str, Any] = {"Order": p.get("order_id"), "Fees": p.get("fees")}
    if p.get("pnl") is not None:
        items["P&L"] = money(Decimal(str(p["pnl"])))
        color = GREEN if Decimal(str(p["pnl"])) >= 0 else RED
    if p.get("strategy"):
        items["Strategy"] = p["strategy"]
    return Card(title=title, fields=fields({k: v for k, v in items.items() if v is not None}), color=color)


def _order_card(p: Mapping[str, Any], color: int) -> Card:
    event = str(p.get("event", "")).capitalize()
    side = str(p.get("side", "")).upper()
    symbol = p.get("symbol") or p.get("contract_id") or ""
    title = f"Order {event.lower()}: {side} {p.get('size', '')} {symbol} {p.get('type', '')}".strip()
    keys = ("order_id", "limit_price", "stop_price", "stop_loss_ticks", "take_profit_ticks", "status", "strategy")
    items = {k: p.get(k) for k in keys if p.get(k) is not None}
    reason = p.get("error") or p.get("reason")
    color = RED if event.lower() == "rejected" else color
    return Card(title=title, description=str(reason or ""), fields=fields(items), color=color)


MAX_ATTACHMENT = 8 * 1024 * 1024


def _image_of(kind: NotificationKind, p: Mapping[str, Any]) -> tuple[str, bytes] | None:
    """A PNG for the card: a chart file the engine wrote (`chart`: path), a P&L curve (`pnl_curve`:
    [[label, value], ...]) or a latency table (`rows`: the /stats latency rows)."""
    from bot import charts  # matplotlib only when a chart is asked for

    path = p.get("chart")
    if isinstance(path, str) and path:
        f = Path(path).expanduser()
        if f.is_file() and f.stat().st_size <= MAX_ATTACHMENT:
            return (f.name if f.suffix == ".png" else "chart.png", f.read_bytes())
    curve = p.get("pnl_curve")
    if isinstance(curve, list) and curve:
        points = [(str(at), Decimal(str(v))) for at, v in curve]
        return ("pnl.png", charts.pnl_curve(str(p.get("title") or "P&L"), points))
    rows = p.get("rows")
    if kind is NotificationKind.LATENCY and isinstance(rows, list) and rows:
        headers = p.get("headers") or LATENCY_HEADERS
        return ("latency.png", charts.latency_table(str(p.get("title") or "Latency"), headers, rows))
    return None


LATENCY_HEADERS = (
    "operation",
    "p50 rust",
    "p50 py",
    "p95 rust",
    "p95 py",
    "p99 rust",
    "p99 py",
    "max rust",
    "max py",
    "n rust",
    "n py",
)  # milliseconds


def _latency_text(p: Mapping[str, Any]) -> str:
    headers = p.get("headers") or LATENCY_HEADERS
    return table(headers, [[str(c) for c in r] for r in p["rows"]])
