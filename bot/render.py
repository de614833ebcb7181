"""Cards: what the bot shows, built once and rendered as a Discord embed or as console text.

A `Card` is plain data (title, description, fields, an optional PNG). Commands and the notifier build
cards; `embed()`/`files()` turn them into discord.py objects, `text()` into a console line.
Notification payloads become cards in notices.py. Times a trader reads are in New York time, prices on
the contract's tick format.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import discord

from trading.calendar import to_ny
from trading.domain import money_text, tick_text

GREEN = 0x2ECC71
RED = 0xE74C3C
BLUE = 0x3498DB
ORANGE = 0xE67E22
GREY = 0x95A5A6

EMBED_FIELDS_MAX = 25
FIELD_VALUE_MAX = 1024
DESCRIPTION_MAX = 4096


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
    return "—" if value is None else money_text(value)


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


# ---------------------------------------------------------------------- what a trader reads: times and prices
def ny_time(at: Any, *, with_date: bool = False) -> str:
    """A stored time (ISO-8601 or datetime) in New York time; anything else as it is."""
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            return str(at)
    if not isinstance(at, datetime) or at.tzinfo is None:
        return fmt(at)
    return f"{to_ny(at):{'%Y-%m-%d %H:%M:%S' if with_date else '%H:%M:%S'}} ET"


def price(value: Any, tick: Any = None) -> str:
    """A price on the contract's tick format (as many decimals as the tick size has)."""
    if value is None or value == "":
        return "—"
    try:
        d = Decimal(str(value))
        t = Decimal(str(tick)) if tick not in (None, "") else None
    except InvalidOperation:
        return str(value)
    if t is None or t <= 0:
        return value if isinstance(value, str) else fmt(d)  # an old row: as it was stored
    return tick_text(d, t)


def points(value: Any) -> str:
    """A distance or an average in points (ATR, range), two decimals."""
    try:
        return f"{Decimal(str(value)).quantize(Decimal('0.01')):f}" if value not in (None, "") else "—"
    except InvalidOperation:
        return str(value)


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
