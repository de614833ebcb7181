"""Each firm profile walked through trading days that touch every rule, with the published numbers:
the maximum loss trailing the end-of-day high (not intraday) and locking, a soft daily-loss breach that
clears at the next trading day, a scaling-plan cap, micros against the cap, the consistency figure,
the profit target and the daily profit cap going reduce-only, the flat time and the firm's window."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from trading.calendar import ny, previous_trading_day
from trading.config import RiskSettings
from trading.domain import OrderRequest, OrderType, Side
from trading.risk import Exposure, KillMode, RiskManager, WorkingOrder, crossings, headroom, profile_of

pytestmark = pytest.mark.usefixtures("risk_impl")  # every test against both implementations

NQ = "CON.F.US.ENQ.U25"
MNQ = "CON.F.US.MNQ.U25"
# The week of Monday 2025-06-09 (no holiday).
MON, TUE, WED, THU, FRI = (date(2025, 6, d) for d in range(9, 14))
D = Decimal

# [risk]'s own limits out of the way: the profile's rules are under test.
WIDE: dict[str, int] = {"max_order_size": 100, "max_position_per_symbol": 100, "max_position_total": 100}


def manager(profile: str, **overrides: object) -> RiskManager:
    settings = RiskSettings(profile=profile, overrides=dict(overrides), **WIDE)
    return RiskManager(settings, profile=profile_of(settings))


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return ny(day, time(hh, mm)).astimezone(UTC)


def buy(size: int = 1, contract: str = NQ) -> OrderRequest:
    return OrderRequest(1, contract, Side.BUY, OrderType.MARKET, size, "t")


def exp(balance: object, realized: object = 0, unrealized: object = 0, **kw: object) -> Exposure:
    return Exposure(balance=D(str(balance)), realized_today=D(str(realized)), unrealized=D(str(unrealized)), **kw)  # type: ignore[arg-type]


def close_day(rm: RiskManager, day: date, balance: object, realized: object) -> None:
    """The day's last mark (15:00 ET); the next call after 18:00 ET rolls it."""
    rm.mark(exp(balance, realized), at(day, 15))


# ------------------------------------------------------------------ maximum loss: end of day, lock
def test_the_maximum_loss_trails_the_end_of_day_high_not_the_intraday_one() -> None:
    rm = manager("tc_50k")
    assert rm.floor == D(48000)  # 50,000 - 2,000 before any day ends
    rm.mark(exp(51200, 1200), at(MON, 10))  # an intraday high
    assert rm.floor == D(48000) and rm.state.high_water == D(50000)  # not raised intraday
    close_day(rm, MON, 50800, 800)
    assert rm.floor == D(48000)
    rm.mark(exp(50800), at(TUE, 9, 30))  # Tuesday's trading day (the roll happened at Monday 18:00)
    assert rm.state.high_water == D(50800) and rm.floor == D(48800)  # the end-of-day balance, not 51,200
    assert [(d.trading_date, d.realized, d.end_balance) for d in rm.state.days] == [(MON, D(800), D(50800))]
    # A losing day does not lower it.
    close_day(rm, TUE, 50300, -500)
    rm.mark(exp(50300), at(WED, 10))
    assert rm.floor == D(48800)


def test_the_floor_locks_at_the_starting_balance_and_equity_on_it_halts_for_good() -> None:
    rm = manager("tc_50k", daily_loss_limit="none")  # a 2,900 day would trip the daily limit first
    close_day(rm, MON, 52300, 2300)
    rm.mark(exp(52300), at(TUE, 10))
    assert rm.state.high_water == D(52300) and rm.floor == D(50000) and rm.floor_locked  # not 50,300
    close_day(rm, TUE, 52900, 600)
    rm.mark(exp(52900), at(WED, 10))
    assert rm.floor == D(50000)  # locked: a higher end of day leaves it there
    assert rm.check(buy(), exp(50100, unrealized=-50), at(WED, 11)).approved
    trips = rm.mark(exp(50100, -2800, unrealized=-100), at(WED, 11))
    assert [t.mode for t in trips] == [KillMode.HALTED] and "locked" in trips[0].reason
    assert not rm.state.kill_automatic
    rm.mark(exp(50000), at(THU, 10))  # the next trading day: still halted, a trader must reset
    assert rm.state.kill_mode is KillMode.HALTED


def test_an_express_funded_account_starts_at_zero_and_locks_at_zero() -> None:
    rm = manager("xfa_50k")
    assert rm.floor == D(-2000)
    close_day(rm, MON, 1200, 1200)
    rm.mark(exp(1200), at(TUE, 10))
    assert rm.floor == D(-800)
    close_day(rm, TUE, 2600, 1400)
    rm.mark(exp(2600), at(WED, 10))
    assert rm.floor == D(0) and rm.floor_locked


# ------------------------------------------------------------------ daily loss: a soft breach
@pytest.mark.parametrize(("profile", "limit"), [("tc_50k", 1000), ("tc_100k", 2000), ("tc_150k", 3000)])
def test_a_daily_loss_breach_halts_for_the_session_and_clears_next_trading_day(profile: str, limit: int) -> None:
    rm = manager(profile)
    start = rm.starting_balance
    assert start is not None
    assert rm.mark(exp(start - limit + 100, -(limit - 100)), at(MON, 10)) == []
    trips = rm.mark(exp(start - limit + 100, -(limit - 100), unrealized=-100), at(MON, 10, 5))
    assert [t.mode for t in trips] == [KillMode.HALTED] and "daily loss limit hit" in trips[0].reason
    assert rm.state.kill_automatic and not rm.check(buy(), exp(start - limit), at(MON, 11)).approved
    rm.mark(exp(start - limit), at(MON, 18, 5))  # the 18:00 ET reopen starts Tuesday's trading day
    assert rm.state.kill_mode is KillMode.OFF
    assert rm.check(buy(), exp(start - limit), at(TUE, 10)).approved


# ------------------------------------------------------------------ contracts: scaling plan, micros
def test_the_scaling_plan_caps_contracts_by_the_last_end_of_day_profit() -> None:
    rm = manager("xfa_50k")
    rm.mark(exp(0), at(MON, 10))
    held = exp(0, positions={NQ: 1})
    d = rm.check(buy(2), held, at(MON, 10))
    assert not d.approved and "max 2: today's scaling-plan tier" in d.reason
    assert rm.check(buy(1), held, at(MON, 10)).approved
    # An intraday profit past +1,500 raises nothing: the tier is set at the roll.
    rm.mark(exp(1700, 1700), at(MON, 14))
    assert rm.contract_cap() == 2
    close_day(rm, MON, 1700, 1700)
    rm.mark(exp(1700), at(TUE, 10))
    assert rm.contract_cap() == 3
    close_day(rm, TUE, 2100, 400)
    rm.mark(exp(2100), at(WED, 10))
    assert rm.contract_cap() == 5
    # Working orders count: 3 held + 2 working + 1 more = 6 > 5.
    d = rm.check(buy(1), exp(2100, positions={NQ: 3}, working=[WorkingOrder(NQ, Side.BUY, 2)]), at(WED, 10))
    assert not d.approved and "would reach 6 (max 5: Topstep Express Funded 50K's maximum" in d.reason


def test_ten_micros_count_as_one_contract() -> None:
    rm = manager("tc_50k")
    held = exp(50000, positions={MNQ: 40, NQ: 1})  # 4 + 1 = 5 contracts
    assert not rm.check(buy(1, MNQ), held, at(MON, 10)).approved
    assert rm.check(buy(9, MNQ), exp(50000, positions={MNQ: 40}), at(MON, 10)).approved  # 4.9
    assert rm.check(buy(10, MNQ), exp(50000, positions={MNQ: 40}), at(MON, 10)).approved  # 5.0
    d = rm.check(buy(11, MNQ), exp(50000, positions={MNQ: 40}), at(MON, 10))
    assert not d.approved and "would reach 5.1 (max 5" in d.reason and "10 micros = 1" in d.reason
    one_to_one = manager("tc_50k", micros_per_lot=1)
    assert not one_to_one.check(buy(6, MNQ), exp(50000), at(MON, 10)).approved


# ------------------------------------------------------------------ consistency, goals
def test_the_consistency_figure_is_the_best_days_share_of_the_total_profit() -> None:
    rm = manager("tc_50k")
    balance = D(50000)
    for day, pnl in ((MON, 600), (TUE, -200), (WED, 1200), (THU, 400)):
        balance += pnl
        rm.mark(exp(balance, pnl), at(day, 14))
    # Thursday still open: its realized 400 counts. Best 1,200 of 2,000 total = 60 %.
    assert rm.consistency() == D("0.6")
    row = next(h for h in headroom(rm, exp(balance, 400), at(THU, 14)) if h.rule == "consistency")
    assert row.used == D("0.6") and row.limit == D("0.5") and row.fraction == D("1.2")


def test_the_profit_target_goes_reduce_only_until_a_trader_resets() -> None:
    rm = manager("tc_50k")
    assert rm.mark(exp(52900, 2900), at(MON, 10)) == []
    trips = rm.mark(exp(53000, 3000), at(MON, 11))
    assert [t.mode for t in trips] == [KillMode.REDUCE_ONLY] and "profit target reached" in trips[0].reason
    assert not rm.check(buy(), exp(53000, 3000), at(MON, 11)).approved
    sell = OrderRequest(1, NQ, Side.SELL, OrderType.MARKET, 1, "t")
    assert rm.check(sell, exp(53000, positions={NQ: 1}), at(MON, 11)).approved
    rm.mark(exp(53000), at(TUE, 10))
    assert rm.state.kill_mode is KillMode.REDUCE_ONLY  # not a daily trip: the next day keeps it
    rm.reset()
    assert rm.mark(exp(53100, 100), at(TUE, 11)) == []  # reached before: not tripped again
    assert rm.check(buy(), exp(53100, 100), at(TUE, 11)).approved


def test_the_daily_profit_cap_goes_reduce_only_for_the_day() -> None:
    rm = RiskManager(RiskSettings(daily_profit_cap=D(500), **WIDE))
    assert not rm.check(buy(), exp(50500, 400, unrealized=100), at(MON, 10)).approved
    trips = rm.mark(exp(50500, 400, unrealized=100), at(MON, 10))
    assert [t.mode for t in trips] == [KillMode.REDUCE_ONLY] and "daily profit cap" in trips[0].reason
    assert rm.state.kill_automatic
    rm.mark(exp(50500), at(MON, 18, 1))
    assert rm.state.kill_mode is KillMode.OFF
    assert rm.check(buy(), exp(50500), at(TUE, 10)).approved


# ------------------------------------------------------------------ time: flat time, window
def test_no_opening_order_past_the_flat_time_until_the_window_reopens() -> None:
    rm = RiskManager(
        RiskSettings(profile="tc_50k", trading_start=time(0), trading_end=time(23, 59), **WIDE),
    )
    assert rm.check(buy(), exp(50000), at(MON, 15, 50)).approved
    for t in (at(MON, 16, 10), at(MON, 16, 30), at(MON, 17, 30)):
        d = rm.check(buy(), exp(50000), t)
        assert not d.approved and "past the flat time 16:10 ET" in d.reason, t
        assert rm.past_flat(t)
    assert not rm.past_flat(at(MON, 18, 1)) and not rm.past_flat(at(MON, 16, 9))
    # A reducing order always passes.
    sell = OrderRequest(1, NQ, Side.SELL, OrderType.MARKET, 1, "t")
    assert rm.check(sell, exp(50000, positions={NQ: 1}), at(MON, 16, 30)).approved
    # The weekend: outside the window (and past Friday's flat time until the market closes).
    saturday = at(date(2025, 6, 14), 12)
    d = rm.check(buy(), exp(50000), saturday)
    assert not d.approved and "trading window (18:00-16:10 ET" in d.reason
    flat = next(h for h in headroom(rm, exp(50000), at(MON, 15, 40)) if h.rule == "flat_time")
    assert flat.remaining == 30


# ------------------------------------------------------------------ alerts
def test_loss_alerts_fire_at_50_75_90_percent_once_a_day_per_rule() -> None:
    rm = manager("tc_50k")
    levels = (D("0.5"), D("0.75"), D("0.9"))
    seen = []
    for loss in (400, 500, 600, 760, 700, 905, 950):
        seen += [(c.rule, c.level) for c in crossings(rm, exp(50000 - loss, -loss), at(MON, 10), levels)]
        rm.mark(exp(50000 - loss, -loss), at(MON, 10))
    assert [(r, str(lv)) for r, lv in seen if r == "daily_loss"] == [
        ("daily_loss", "0.5"),
        ("daily_loss", "0.75"),
        ("daily_loss", "0.9"),
    ]
    # The maximum loss (2,000 from the floor 48,000): 950 below is 47.5 %: none yet.
    assert not [c for c in seen if c[0] == "max_loss"]
    rm.mark(exp(49100), at(MON, 18, 5))  # the next trading day: the daily levels may alert again
    again = crossings(rm, exp(49100, -500), at(TUE, 10), levels)
    assert [(c.rule, str(c.level)) for c in again] == [("daily_loss", "0.5")]
    assert again[0].trading_date == TUE.isoformat()


def test_headroom_of_every_rule() -> None:
    rm = manager("tc_50k")
    rm.mark(exp(50400, 400, unrealized=-100), at(MON, 10))
    rows = {h.rule: h for h in headroom(rm, exp(50400, 400, unrealized=-100, positions={NQ: 2}), at(MON, 10))}
    assert set(rows) == {"daily_loss", "max_loss", "profit_target", "contracts", "consistency", "flat_time"}
    assert (rows["daily_loss"].used, rows["daily_loss"].remaining) == (D(0), D(1000))
    assert (rows["max_loss"].used, rows["max_loss"].remaining) == (D(0), D(2300))  # 50,300 equity - 48,000
    assert (rows["profit_target"].used, rows["profit_target"].remaining) == (D(400), D(2600))
    assert (rows["contracts"].used, rows["contracts"].limit, rows["contracts"].remaining) == (D(2), D(5), D(3))
    assert rows["flat_time"].remaining == 370  # 10:00 -> 16:10


def test_a_previous_trading_day_helper_agrees_with_the_calendar() -> None:
    # The roll uses the session of `now`: Monday's trading day begins Sunday 18:00 ET.
    assert previous_trading_day(MON) == date(2025, 6, 6)
    rm = manager("tc_50k")
    rm.mark(exp(50000), at(MON, 10) - timedelta(hours=15))  # Sunday 19:00 ET
    assert rm.state.trading_date == MON


@pytest.mark.parametrize("profile", ["tc_50k", "tc_100k", "tc_150k", "xfa_50k", "xfa_100k", "xfa_150k"])
def test_every_firm_profile_trails_at_the_end_of_day_then_locks(profile: str) -> None:
    rm = manager(profile, daily_loss_limit="none")
    p = rm.profile
    assert p.starting_balance is not None and p.max_loss is not None and p.max_loss_lock is not None
    start, mll = p.starting_balance, p.max_loss
    assert rm.floor == start - mll
    rm.mark(exp(start + mll, mll), at(MON, 11))  # intraday: nothing moves
    assert rm.floor == start - mll
    close_day(rm, MON, start + mll / 2, mll / 2)
    rm.mark(exp(start + mll / 2), at(TUE, 10))
    assert rm.floor == start - mll / 2  # trailed at the end of the day
    close_day(rm, TUE, start + mll + 500, mll / 2 + 500)
    rm.mark(exp(start + mll + 500), at(WED, 10))
    assert rm.floor == start + p.max_loss_lock and rm.floor_locked  # locked, not start + 500
    if p.profit_target is not None:  # the Combine: the target is the next thing
        assert rm.check(buy(), exp(start + mll + 500), at(WED, 10)).approved
        trips = rm.mark(exp(start + p.profit_target, p.profit_target - mll - 500), at(WED, 11))
        assert [t.mode for t in trips] == [KillMode.REDUCE_ONLY]
