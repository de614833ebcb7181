"""Every notification a whole simulated trading day stores renders with the bot's renderer as a card
that carries its content (levels, entries and sizes, prices on the tick grid, P&L, New York times),
never a bare title."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.notices import notification_card
from bot.render import Card, money
from trading import notifications
from trading.calendar import to_ny
from trading.config import Settings
from trading.demo.day import run_demo
from trading.domain import NotificationKind
from trading.store import close_pool, create_pool

TICK_PRICE = re.compile(r"^\d+\.\d{2}$")  # MNQ and MES: tick 0.25, two decimals


def _fields(card: Card) -> dict[str, str]:
    return {name: value for name, value, _ in card.fields}


def _et(at: str) -> str:
    return f"{to_ny(datetime.fromisoformat(at)):%H:%M:%S} ET"


def _range_card(card: Card, p: dict[str, Any]) -> None:
    f = _fields(card)
    lv = p["levels"]
    assert p["symbol"] in card.title and p["date"] in card.title
    assert f["Range high (ONH)"] == lv["onh"] and f["Range low (ONL)"] == lv["onl"]
    assert TICK_PRICE.match(f["Range high (ONH)"]) and TICK_PRICE.match(f["Range low (ONL)"])
    assert f["Range"] == lv["range"]
    assert f["ATR5"] == f"{Decimal(lv['atr5']).quantize(Decimal('0.01'))}"
    assert f["ATRD"] == f"{Decimal(lv['atrd']).quantize(Decimal('0.01'))}"
    assert set(p["sides"]) == {"buy", "sell"}  # the demo day is not blocked: both entries planned
    for key, label in (("buy", "Long entry"), ("sell", "Short entry")):
        side = p["sides"][key]
        assert side["size"] == 1 and side["stop_ticks"] is not None and side["target_ticks"] is not None
        text = f[label]
        assert f"{key.upper()} 1 stop @ {side['level']}" in text
        assert f"SL {side['stop_ticks']} / TP {side['target_ticks']} ticks" in text
    if p["card"] == "range":
        assert f"provisional, as of {_et(p['as_of'])}" in card.title and _et(p["as_of"]).startswith("09:25")
    else:
        assert "working" in f["Long entry"] and "working" in f["Short entry"]


def _order(card: Card, p: dict[str, Any]) -> None:
    assert card.title.startswith(f"Order {p['event']}: {p['side'].upper()} {p['size']} {p['symbol']}")
    f = _fields(card)
    if p["stop_price"] is not None:
        assert card.title.endswith(f"@ {Decimal(p['stop_price']):.2f}") and TICK_PRICE.match(f["Stop"])
    if p["event"] == "placed" and p.get("stop_loss_ticks") is not None:
        assert f["Stop-loss (ticks)"] == str(p["stop_loss_ticks"])
        assert f["Take-profit (ticks)"] == str(p["take_profit_ticks"])
    assert f["Order"] == f"#{p['order_id']}" and f.get("Tag") == p["custom_tag"]


def _fill(card: Card, p: dict[str, Any]) -> None:
    f = _fields(card)
    assert card.title.endswith(f"{p['side'].upper()} {p['size']} {p['symbol']} @ {Decimal(p['price']):.2f}")
    assert f["Time"] == _et(p["at"]) and f["Fees"] == money(Decimal(p["fees"]))
    if p["pnl"] is not None:
        assert card.title.startswith("Exit fill") and f["P&L"] == money(Decimal(p["pnl"]))


def _strategy_fill(card: Card, p: dict[str, Any]) -> None:
    f = _fields(card)
    assert card.title.endswith(f"{p['symbol']} {'closed' if p['event'] == 'exit_fill' else 'filled'} @ {p['price']}")
    assert p["strategy"] in card.title and f["Time"] == _et(p["at"])
    if p["event"] == "exit_fill":
        assert f["Entry price"] == p["entry_price"] and f["P&L (gross)"] == money(Decimal(p["pnl"]))


def _strategy_summary(card: Card, p: dict[str, Any]) -> None:
    assert card.title == f"{p['strategy']} day {p['date']}: P&L {money(Decimal(p['total']))}"
    (trade,) = p["trades"]  # the demo day: the MNQ long, closed at the flatten
    assert trade["exit"] is not None and Decimal(trade["pnl"]) > 0
    assert f"entry {trade['entry']} → exit {trade['exit']}, P&L {money(Decimal(trade['pnl']))}" in card.description
    assert "MES:" in card.description  # why the other symbol did not trade


def _daily_summary(card: Card, p: dict[str, Any]) -> None:
    f = _fields(card)
    assert f["Net"] == money(Decimal(p["net"])) and f["Realized"] == money(Decimal(p["realized"]))
    assert f["Fills"] == str(len(p["fills"])) == "2"
    for row in p["fills"]:
        assert (
            f"{_et(row['at'])} {row['symbol']} {row['side'].upper()} {row['size']} @ {row['price']}" in card.description
        )
    assert "latency" not in card.title and "```" in card.description  # the latency table, monospace
    assert card.image is not None and card.image[0] == "pnl.png"


def _chart(card: Card, p: dict[str, Any]) -> None:
    assert card.image is not None and card.image[1].startswith(b"\x89PNG")
    assert _fields(card)["Symbol"] == p["symbol"] and p["symbol"] in card.title


def _message(card: Card, p: dict[str, Any]) -> None:
    assert card.title == p["title"] and (card.description or card.fields)


CHECKS = {
    "range_card": _range_card,
    "order": _order,
    "fill": _fill,
    "strategy_fill": _strategy_fill,
    "strategy_summary": _strategy_summary,
    "daily_summary": _daily_summary,
    "chart": _chart,
    "alert": _message,
    "risk": _message,
}
BARE = {k.value.replace("_", " ").capitalize() for k in NotificationKind}


async def test_every_notification_of_a_simulated_day_renders_its_content(
    empty_database_url: str, tmp_path: Path
) -> None:
    await run_demo(Settings(), tmp_path, database_url=empty_database_url, write=lambda _: None)
    pool = await create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        rows = await pool.fetch("SELECT kind, payload FROM notification_outbox ORDER BY id")
    finally:
        await close_pool(pool)
    seen: Counter[str] = Counter()
    for r in rows:
        kind, payload = NotificationKind(r["kind"]), dict(r["payload"])
        notice = notifications.notice_of(kind, payload)
        assert payload.get("notice") == notice, f"a {kind.value} payload not built by trading/notifications.py"
        card = notification_card(kind, payload)
        assert card.title not in BARE and (card.description or card.fields), f"bare card for {payload}"
        CHECKS[notice](card, payload)
        assert card.text().startswith(card.title) and len(card.text()) > len(card.title) + 10  # the console line
        seen[notice] += 1
    assert seen["range_card"] == 4  # 09:25 provisional and the open, both symbols
    assert seen["strategy_fill"] == 2 and seen["fill"] == 2 and seen["strategy_summary"] == 1
    assert seen["daily_summary"] == 1 and seen["chart"] == 2 and seen["order"] >= 4
