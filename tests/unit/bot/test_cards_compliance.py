"""The /risk compliance card: each rule of the account's profile with used / limit / left, coloured by
the worse of the daily and the maximum loss."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

from bot import cards
from bot.render import GREEN, ORANGE, RED
from trading.calendar import ny
from trading.config import RiskSettings
from trading.risk import Exposure, RiskManager, headroom
from trading.services import RiskView

NQ = "CON.F.US.ENQ.U25"
MON = date(2025, 6, 9)


def view(rm: RiskManager, exposure: Exposure, at: datetime) -> RiskView:
    p = rm.profile
    assert p.daily_loss_limit is not None and p.max_loss is not None
    return RiskView(
        kill_switch="none",
        reason="",
        day_pnl=exposure.day_pnl,
        daily_loss_limit=p.daily_loss_limit,
        balance=exposure.balance,
        high_water=rm.state.high_water,
        trailing_limit=p.max_loss,
        unrealized=exposure.unrealized,
        profile=p.id,
        profile_label=p.label,
        floor=rm.floor,
        rules=headroom(rm, exposure, at),
    )


def test_the_compliance_card_shows_every_rule_of_the_profile() -> None:
    rm = RiskManager(RiskSettings(profile="tc_50k"))
    at = ny(MON, time(14, 40)).astimezone(UTC)
    exposure = Exposure(
        positions={NQ: 2}, balance=Decimal(50900), realized_today=Decimal(900), unrealized=Decimal(-950)
    )
    rm.mark(exposure, at)
    card = cards.compliance(view(rm, exposure, at))
    text = card.text()
    assert card.title == "Compliance — Topstep Trading Combine 50K"
    assert "Daily loss limit: 5.0% — $50.00 of $1,000.00, $950.00 left; soft breach" in text, text
    # Equity 49,950 is 1,950 above the floor 48,000: 50 of the 2,000 used.
    max_loss = (
        "Trailing max loss: 2.5% — $50.00 of $2,000.00, $1,950.00 left; floor 48,000.00, end-of-day high 50,000.00"
    )
    assert max_loss in text, text
    assert "Profit target: 30.0% — $900.00 of $3,000.00, $2,100.00 left" in text
    assert "Contracts: 2 of 5 (3 left; held + working vs today's cap; 10 micros = 1 contract)" in text
    assert "Consistency: best day 100.0% of the total profit (target under 50.0%)" in text
    assert "Time to flat: 1 h 30 min left (flat by 16:10 ET)" in text
    assert card.color == GREEN


def test_the_card_turns_orange_then_red_as_a_loss_limit_nears() -> None:
    rm = RiskManager(RiskSettings(profile="tc_50k"))
    at = ny(MON, time(11)).astimezone(UTC)
    for loss, color in ((400, GREEN), (600, ORANGE), (950, RED)):
        exposure = Exposure(balance=Decimal(50000 - loss), realized_today=Decimal(-loss))
        assert cards.compliance(view(rm, exposure, at)).color == color, loss
