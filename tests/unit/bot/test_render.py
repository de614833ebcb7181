"""Cards and charts: what the trader reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot import notices
from bot.notices import notification_card
from bot.render import BLUE, GREEN, ORANGE, RED, Card, money, ny_time, pages, price, table
from trading import charts, notifications
from trading.domain import (
    Bracket,
    Contract,
    Fill,
    NotificationKind,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
)


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


# ---------------------------------------------------------------------- one card per payload type
MNQ = Contract("CON.F.US.MNQ.H26", "MNQH6", "F.US.MNQ", "Micro E-mini Nasdaq-100", Decimal("0.25"), Decimal("0.50"))
WINTER = datetime(2026, 2, 10, 14, 32, tzinfo=UTC)  # 09:32 EST
SUMMER = datetime(2026, 7, 14, 13, 32, tzinfo=UTC)  # 09:32 EDT


def _fields(card: Card) -> dict[str, str]:
    return {name: value for name, value, _ in card.fields}


def _render(kind: NotificationKind, payload: Mapping[str, Any]) -> Card:
    """Through the outbox's JSON, as the notifier reads a stored row."""
    return notification_card(kind, json.loads(json.dumps(payload)))


def test_price_on_the_tick_grid_and_new_york_time() -> None:
    assert price("21010.5", "0.25") == "21010.50" and price(Decimal("5980"), Decimal("0.25")) == "5980.00"
    assert price("110.03125", "0.015625") == "110.031250" and price("4321", "1") == "4321"
    assert price(None, "0.25") == "—" and price("21010.5") == "21010.5"
    assert ny_time(WINTER.isoformat()) == "09:32:00 ET" and ny_time(SUMMER) == "09:32:00 ET"
    assert ny_time(WINTER, with_date=True) == "2026-02-10 09:32:00 ET" and ny_time("not a time") == "not a time"


def test_every_payload_type_has_its_renderer() -> None:
    assert set(notices._RENDER) == notifications.NOTICES


def test_order_placed_card_prices_on_the_grid_with_its_bracket() -> None:
    o = Order(7, 1, MNQ.id, Side.BUY, OrderType.STOP, 2, OrderStatus.OPEN, "s:MNQ:long", stop_price=Decimal("21010.5"))
    req = OrderRequest(1, MNQ.id, Side.BUY, OrderType.STOP, 2, "s:MNQ:long", stop_price=Decimal("21010.5"),
                       bracket=Bracket(stop_loss_ticks=-40, take_profit_ticks=120))  # fmt: skip
    card = _render(NotificationKind.ORDER, notifications.order("placed", o, MNQ, request=req))
    assert card.title == "Order placed: BUY 2 MNQ stop @ 21010.50"
    f = _fields(card)
    assert f["Stop"] == "21010.50" and f["Stop-loss (ticks)"] == "-40" and f["Take-profit (ticks)"] == "120"
    assert f["Order"] == "#7" and f["Tag"] == "s:MNQ:long"
    moved = _render(NotificationKind.ORDER, notifications.order("modified", o, MNQ, stop_price=Decimal("21012")))
    assert moved.title == "Order modified: BUY 2 MNQ stop @ 21012.00"


def test_fill_cards_carry_price_pnl_fees_and_new_york_time() -> None:
    entry = Fill(11, 7, 1, MNQ.id, Side.BUY, 1, Decimal("21010.5"), WINTER, fees=Decimal("0.37"))
    card = _render(notifications.fill_kind(entry), notifications.fill(entry, MNQ))
    assert card.title == "Entry fill: BUY 1 MNQ @ 21010.50"
    assert _fields(card) == {"Fees": "$0.37", "Time": "09:32:00 ET", "Order": "#7"}
    exit_ = Fill(12, 8, 1, MNQ.id, Side.SELL, 1, Decimal("21000"), SUMMER, fees=Decimal("0.37"), pnl=Decimal("-21"))
    card = _render(notifications.fill_kind(exit_), notifications.fill(exit_, MNQ))
    assert card.title == "Exit fill: SELL 1 MNQ @ 21000.00" and card.color == RED
    assert _fields(card)["P&L"] == "-$21.00" and _fields(card)["Time"] == "09:32:00 ET"


LEVELS = {"onh": "21035.00", "onl": "20984.75", "range": "50.25", "atr5": "6.9333", "atrd": "153.875",
          "bars_present": "925", "bars_expected": "925", "missing_sessions": "0"}  # fmt: skip


def test_range_card_shows_levels_atrs_and_each_entry_with_its_size() -> None:
    sides = {
        "buy": notifications.side_plan("buy", Decimal("21035.25"), 3, -35, 1231),
        "sell": notifications.side_plan("sell", Decimal("20984.5"), 3, 35, -1231),
    }
    filters: dict[str, dict[str, Any]] = {
        "range": {"enabled": True, "value": "50.25", "blocks": False},
        "gap": {"enabled": False},
    }
    payload = notifications.range_card(
        "overnight_range", MNQ, "2026-02-10", card="range", as_of=datetime(2026, 2, 10, 14, 25, tzinfo=UTC),
        levels=LEVELS, filters=filters, blocked=None, sides=sides,
    )  # fmt: skip
    card = _render(NotificationKind.STRATEGY, payload)
    assert card.title == "MNQ overnight range 2026-02-10 (provisional, as of 09:25:00 ET)"
    f = _fields(card)
    assert (f["Range high (ONH)"], f["Range low (ONL)"], f["Range"]) == ("21035.00", "20984.75", "50.25")
    assert (f["ATR5"], f["ATRD"], f["Overnight bars"]) == ("6.93", "153.88", "925 of 925")
    assert f["Long entry"] == "BUY 3 stop @ 21035.25, SL -35 / TP 1231 ticks, planned"
    assert f["Short entry"] == "SELL 3 stop @ 20984.50, SL 35 / TP -1231 ticks, planned"
    assert f["Filters"] == "range ok (50.25)"
    assert "Strategy" not in card.title and card.color == BLUE


def test_range_card_of_a_blocked_day_says_why() -> None:
    payload = notifications.range_card(
        "overnight_range", MNQ, "2026-02-10", card="open", as_of=WINTER, levels=LEVELS,
        filters={"gap": {"enabled": True, "value": "300.0", "blocks": True}}, blocked="gap 300.0 points > 200",
        sides={},
    )  # fmt: skip
    card = _render(NotificationKind.STRATEGY, payload)
    assert card.title == "MNQ at the open 2026-02-10: entries"
    assert card.description == "No trade: gap 300.0 points > 200" and card.color == ORANGE
    assert _fields(card)["Filters"] == "gap BLOCKS (300.0)"


def test_an_old_range_row_without_notice_still_renders_its_levels() -> None:
    old = {"card": "range", "strategy": "overnight_range", "symbol": "MNQ", "date": "2026-02-10",
           "provisional": True, "as_of": "2026-02-10T14:25:00+00:00", "levels": LEVELS, "filters": {},
           "blocked": None, "warmup": "warm-up: 5 of the 15 daily sessions are missing; no trade"}  # fmt: skip
    card = _render(NotificationKind.STRATEGY, old)
    assert card.title.startswith("MNQ overnight range 2026-02-10") and card.title != "Strategy"
    assert _fields(card)["Range high (ONH)"] == "21035.00" and card.description.startswith("No trade: warm-up")


def test_strategy_fills_show_the_entry_and_the_exit_with_pnl() -> None:
    at = datetime(2026, 2, 10, 20, 55, tzinfo=UTC)
    entry = notifications.strategy_fill(
        "overnight_range", MNQ, exit_=False, side="buy", price=Decimal("21037.75"), size=1, tag="t", at=WINTER
    )
    card = _render(NotificationKind.STRATEGY, {"event": "entry_fill", **entry})  # as EngineContext re-kinds it
    assert card.title == "overnight_range entry: LONG 1 MNQ filled @ 21037.75"
    assert _fields(card) == {"Time": "09:32:00 ET", "Tag": "t"}
    exit_ = notifications.strategy_fill(
        "overnight_range", MNQ, exit_=True, side="buy", price=Decimal("21060.75"), size=1, tag="t:flatten", at=at,
        entry_price=Decimal("21037.75"),
    )  # fmt: skip
    card = _render(NotificationKind.STRATEGY, exit_)
    assert card.title == "overnight_range exit: LONG 1 MNQ closed @ 21060.75" and card.color == GREEN
    assert _fields(card)["P&L (gross)"] == "$46.00" and _fields(card)["Entry price"] == "21037.75"
    assert _fields(card)["Time"] == "15:55:00 ET"


def test_strategy_summary_lists_each_entry_and_why_a_symbol_did_not_trade() -> None:
    rows = [notifications.trade_row(MNQ, "t", "buy", 1, "closed", "21037.75", "21060.75")]
    payload = notifications.strategy_summary("overnight_range", "2026-02-10", rows, {"MES": "no trade: gap"})
    assert payload["pnl"] == {"t": "46.00"} and payload["total"] == "46.00"
    card = _render(NotificationKind.SUMMARY, payload)
    assert card.title == "overnight_range day 2026-02-10: P&L $46.00"
    assert card.description == "MNQ LONG 1: closed, entry 21037.75 → exit 21060.75, P&L $46.00\nMES: no trade: gap"
    old = {"strategy": "overnight_range", "date": "2026-02-10", "pnl": {"t": "-12.5"},
           "symbols": {"MNQ": {"blocked": None, "sides": {"buy": {"status": "closed", "fill_price": "2",
                                                                   "exit_price": "1"}}}}}  # fmt: skip
    card = _render(NotificationKind.SUMMARY, old)
    assert card.title == "overnight_range day 2026-02-10: P&L -$12.50" and card.color == RED
    assert "MNQ: LONG closed 2 → 1" in card.description and "t: P&L -$12.50" in card.description


def test_daily_summary_lists_fills_in_new_york_time_and_totals() -> None:
    fills = [
        Fill(1, 7, 1, MNQ.id, Side.BUY, 1, Decimal("21037.75"), WINTER, fees=Decimal("0.37")),
        Fill(2, 8, 1, MNQ.id, Side.SELL, 1, Decimal("21060.75"), WINTER, fees=Decimal("0.37"), pnl=Decimal("46")),
    ]
    payload = notifications.daily_summary(
        "2026-02-10", 1, [notifications.fill_row(f, MNQ) for f in fills], latency="place rust 0.6",
        pnl_curve=[["09:32:00", "-0.37"], ["09:32:00", "45.63"]], text="plain",
    )  # fmt: skip
    card = _render(NotificationKind.SUMMARY, payload)
    assert card.title == "Daily summary 2026-02-10"
    assert _fields(card) == {"Realized": "$46.00", "Fees": "$0.74", "Net": "$45.26", "Fills": "2"}
    assert card.description.splitlines()[:2] == [
        "09:32:00 ET MNQ BUY 1 @ 21037.75 fees $0.37",
        "09:32:00 ET MNQ SELL 1 @ 21060.75 P&L $46.00 fees $0.37",
    ]
    assert "place rust 0.6" in card.description and card.image is not None and card.image[0] == "pnl.png"
    old = _render(NotificationKind.SUMMARY, {"title": "Daily summary 2026-02-09", "text": "fills 0", "net": "0"})
    assert old.description == "fills 0" and _fields(old)["Net"] == "$0.00"


def test_chart_card_attaches_the_png(tmp_path: Path) -> None:
    png = tmp_path / "range-MNQ-2026-02-10.png"
    png.write_bytes(charts.candles_png("t", charts.Candles.of_bars([]), tick_size=Decimal("0.25")))
    card = _render(NotificationKind.STRATEGY, notifications.chart("MNQ", "2026-02-10", str(png)))
    assert card.title == "MNQ overnight range chart" and card.image is not None
    assert card.image[0] == png.name and _fields(card)["Symbol"] == "MNQ"


def test_alerts_and_risk_messages_carry_their_text_and_details() -> None:
    card = _render(NotificationKind.ALERT, notifications.alert("Market feed", "stale for 30 s"))
    assert (card.title, card.description) == ("Market feed", "stale for 30 s")
    flat = notifications.risk("Flattened", "kill switch: daily loss", cancelled=[3, 4], closed=[MNQ.id])
    card = _render(NotificationKind.RISK, flat)
    assert card.description == "kill switch: daily loss" and card.color == RED
    assert _fields(card) == {"Orders cancelled": "3, 4", "Positions closed": MNQ.id}
    refused = _render(NotificationKind.RISK, {"title": "Order refused", "text": "limit", "custom_tag": "x"})
    assert _fields(refused) == {"Order tag": "x"}


def test_an_urgent_alert_is_red_and_its_delivery_keys_are_not_shown() -> None:
    urgent = notifications.alert("Dead-man switch", "feed down: MNQ flattened", urgent=True, coalesce="deadman")
    card = _render(NotificationKind.ALERT, urgent)
    assert card.color == RED and _fields(card) == {}
    assert _render(NotificationKind.ALERT, notifications.alert("Feed", "stale")).color == ORANGE


def test_an_unknown_or_empty_payload_is_never_a_bare_title() -> None:
    card = _render(NotificationKind.STRATEGY, {"strategy": "ema_cross", "date": "2026-02-10", "trades": 2})
    assert card.title == "Strategy" and _fields(card) == {"Strategy": "ema_cross", "Date": "2026-02-10", "Trades": "2"}
    empty = _render(NotificationKind.STRATEGY, {})
    assert empty.description and empty.text() != "Strategy"


def test_protection_card_says_what_was_unprotected_and_what_the_guard_did() -> None:
    long2 = Position(1, MNQ.id, PositionSide.LONG, 2, Decimal("21019"), id=6125)
    tag = f"protect:{MNQ.id}:6125:0"
    stop = notifications.protection(
        "stop", long2, MNQ, uncovered=2, custom_tag=tag, reason="no working stop", stop_price=Decimal("21009")
    )
    card = _render(NotificationKind.RISK, stop)
    assert card.title == "Unprotected position: LONG 2 MNQ, protective stop placed"
    f = _fields(card)
    assert f["Order"] == "SELL 2 stop @ 21009.00" and f["Average price"] == "21019.00" and f["Tag"] == tag
    assert card.description == "no working stop" and card.color == ORANGE
    closed = notifications.protection(
        "flatten", long2, MNQ, uncovered=1, custom_tag=tag, reason="past the level", last_price=Decimal("20990.5")
    )
    card = _render(NotificationKind.RISK, closed)
    assert card.title == "Unprotected position: LONG 2 MNQ, closed at market" and card.color == RED
    assert _fields(card)["Order"] == "SELL 1 at market" and _fields(card)["Last"] == "20990.50"


def test_a_notification_of_one_of_several_accounts_names_the_account() -> None:
    payload = dict(notifications.risk("Copy refused", "the follower's risk refused"))
    assert notification_card(NotificationKind.RISK, payload).title == "Copy refused"
    named = notification_card(NotificationKind.RISK, {**payload, "account": "PRAC-V2-SIM-2"})
    assert named.title == "[PRAC-V2-SIM-2] Copy refused"
    assert named.text().startswith("[PRAC-V2-SIM-2] Copy refused")
