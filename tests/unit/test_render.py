"""Cards and charts: what the trader reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from bot import charts
from bot.render import Card, money, notification_card, pages, table
from trading.domain import Bar, NotificationKind


def test_fill_card() -> None:
    card = notification_card(
        NotificationKind.EXIT_FILL,
        {"side": "sell", "size": 2, "symbol": "MNQ", "price": "21010.25", "pnl": "-12.5", "order_id": 7},
    )
    assert card.title == "Exit fill: SELL 2 MNQ @ 21010.25"
    assert ("P&L", "-$12.50", True) in card.fields
    assert card.color == 0xE74C3C


def test_coalesced_alert_title() -> None:
    card = notification_card(
        NotificationKind.ALERT, {"title": "feed stale"}, count=12, span=timedelta(minutes=9, seconds=5)
    )
    assert card.title == "feed stale ×12 in 10 min"


def test_generic_payload_and_embed_limits() -> None:
    card = notification_card(NotificationKind.STRATEGY, {"title": "range", "text": "x" * 5000, "fields": {"ONH": "1"}})
    embed = card.embed()
    assert embed.description is not None and len(embed.description) == 4096
    assert embed.fields[0].name == "ONH"
    assert "range" in card.text()


def test_money_pages_and_table() -> None:
    assert money(Decimal("-1234.5")) == "-$1,234.50"
    assert money(None) == "—"
    assert [p.count("\n") + 1 for p in pages([f"line {i}" for i in range(32)], per_page=15)] == [15, 15, 2]
    assert pages([]) == [""]
    t = table(("a", "bb"), [["1", "2"], ["333", "4"]])
    assert t.splitlines()[1:3] == ["a    bb", "1    2 "]


def test_charts_are_png() -> None:
    start = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)
    bars = [
        Bar("C", "5m", start + timedelta(minutes=5 * i), 100 + i, 102 + i, 99 + i, 101 + i - 2 * (i % 2), 10)
        for i in range(20)
    ]
    png = charts.candles(
        "t", bars, on_high=Decimal("110"), on_low=Decimal("99"), window=(start, start + timedelta(minutes=50))
    )
    assert png.startswith(b"\x89PNG")
    assert charts.candles("empty", []).startswith(b"\x89PNG")
    assert charts.pnl_curve("p", [(date(2027, 3, 1), Decimal("10")), (date(2027, 3, 2), Decimal("-4"))]).startswith(
        b"\x89PNG"
    )
    assert charts.latency_table("l", ("op", "p50"), [["place", "1.0"]]).startswith(b"\x89PNG")


def test_card_with_image_has_attachment() -> None:
    card = Card(title="chart", image=("chart.png", b"\x89PNG"))
    assert card.embed().image.url == "attachment://chart.png"
    assert card.files()[0].filename == "chart.png"


def test_rejected_order_card_says_why() -> None:
    card = notification_card(
        NotificationKind.ORDER,
        {"event": "rejected", "side": "buy", "size": 1, "symbol": "MNQ", "type": "limit", "error": "price off grid"},
    )
    assert card.title == "Order rejected: BUY 1 MNQ limit"
    assert card.description == "price off grid" and card.color == 0xE74C3C
