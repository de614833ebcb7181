"""The demo's console lines: tick-grid prices, sides that say what happened, no Python reprs."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trading import notifications
from trading.demo.day import describe
from trading.domain import Contract, NotificationKind, Order, OrderStatus, OrderType, Side

MNQ = Contract("CON.F.US.MNQ.H26", "MNQH6", "F.US.MNQ", "Micro E-mini Nasdaq-100", Decimal("0.25"), Decimal("0.5"))
AT = datetime(2026, 2, 10, 20, 55, tzinfo=UTC)


def order(**kw: object) -> Order:
    base: dict[str, object] = dict(
        id=9109, account_id=465, contract_id=MNQ.id, side=Side.SELL, size=1, type=OrderType.MARKET,
        status=OrderStatus.OPEN, custom_tag="overnight_range:MNQ:flatten:2026-02-10", created_at=AT,
    )  # fmt: skip
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def test_a_market_order_has_no_price_and_says_market_once() -> None:
    line = describe(NotificationKind.ORDER, dict(notifications.order("placed", order(), MNQ)))
    assert line == "order placed #9109 MNQ sell 1 market overnight_range:MNQ:flatten:2026-02-10"


def test_prices_are_on_the_tick_grid() -> None:
    o = order(type=OrderType.STOP, stop_price=Decimal("20984.5"), side=Side.SELL)
    line = describe(NotificationKind.ORDER, dict(notifications.order("cancelled", o, MNQ)))
    assert "stop @ 20984.50" in line and "20984.5 " not in line + " "


def test_a_strategy_exit_says_which_position_it_closed() -> None:
    p = notifications.strategy_fill(
        "overnight_range", MNQ, exit_=True, side="buy", price=Decimal("21060.75"), size=1, tag=None, at=AT,
        entry_price=Decimal("21037.75"),
    )  # fmt: skip
    assert describe(NotificationKind.STRATEGY, dict(p)) == "overnight_range MNQ long closed @ 21060.75, P&L $46.00"


def test_the_range_card_line_has_no_reprs_and_rounds_the_atrs() -> None:
    p = {
        "card": "range", "symbol": "MNQ", "tick_size": "0.25", "blocked": None, "warmup": None,
        "levels": {"onh": "21035", "onl": "20984.75", "range": "50.25", "atr5": "6.928571", "atrd": "153.875000"},
        "sides": {"buy": {"side": "buy", "level": "21035.25", "status": "planned"},
                  "sell": {"side": "sell", "level": "20984.5", "status": "planned"}},
    }  # fmt: skip
    line = describe(NotificationKind.STRATEGY, p)
    assert line == (
        "MNQ range card (provisional): ONH 21035.00 ONL 20984.75 range 50.25 ATR5 6.93 ATRD 153.88; "
        "long planned @ 21035.25, short planned @ 20984.50"
    )
    blocked = describe(NotificationKind.STRATEGY, {**p, "blocked": "range 50.25 < 60"})
    assert blocked.endswith("; no trade: range 50.25 < 60") and "None" not in line


@given(
    st.dictionaries(
        st.sampled_from(["event", "symbol", "side", "price", "title", "x"]), st.none() | st.text(max_size=8)
    )
)
def test_any_payload_gives_a_line_without_reprs_of_none(p: dict[str, object]) -> None:
    for kind in NotificationKind:
        line = describe(kind, dict(p))
        assert isinstance(line, str) and "=None" not in line
