"""The Rust risk check against Python's: random orders, exposures, states, profiles and times (DST
changes, the 18:00 ET roll, flat-time and window edges, early closes, holidays, micros), the same
decision and the same sentence every time, and the same state after (the day roll). The Rust check
must also decide nearly every order itself (what it leaves to Python is listed in trading/risk/native.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trading import native
from trading.config import RiskSettings
from trading.domain import Decision, OrderRequest, OrderType, Side
from trading.risk import DayRecord, Exposure, KillMode, PriceRef, RiskManager, RiskState, WorkingOrder, profile_of
from trading.risk import manager as risk_manager
from trading.risk.native import RustRiskCheck

pytestmark = pytest.mark.skipif(not native.enabled(), reason="the Rust extension is not active")

NY = ZoneInfo("America/New_York")
CONTRACTS = ("CON.F.US.MNQ.Z25", "CON.F.US.MES.Z25", "CON.F.US.ENQ.Z25", "CON.F.US.EP.Z25", "MYM", "CON.F.US.M2K.Z25")
# Days with something to test: DST changes (2025-03-09, 2025-11-02 and the days around them), an early
# close (2025-11-28), holidays (2025-07-04, 2025-12-25), a Monday after a weekend, the year's turn.
DAYS = [
    date(2025, 3, 7), date(2025, 3, 9), date(2025, 3, 10), date(2025, 6, 11), date(2025, 7, 3),
    date(2025, 7, 4), date(2025, 10, 31), date(2025, 11, 2), date(2025, 11, 3), date(2025, 11, 27),
    date(2025, 11, 28), date(2025, 12, 24), date(2025, 12, 25), date(2025, 12, 31), date(2026, 1, 2),
    date(2024, 3, 10), date(2024, 11, 3),
]  # fmt: skip
# New York wall-clock times at the rules' edges: the 18:00 roll, 17:00 close, RTH, the flat times
# (15:55, 16:10), the early close (13:00, 12:55), the DST hours (01:30, 02:30).
TIMES = [
    time(0), time(1, 30), time(2, 30), time(3), time(9, 29, 59, 999999), time(9, 30), time(11), time(12, 54, 59),
    time(12, 55), time(13), time(15, 54, 59, 999999), time(15, 55), time(16), time(16, 9, 59), time(16, 10),
    time(16, 10, 0, 1), time(17), time(17, 59, 59, 999999), time(18), time(18, 0, 0, 1), time(23, 59),
]  # fmt: skip
MONEY = st.decimals(min_value=-5000, max_value=5000, places=2, allow_nan=False) | st.sampled_from(
    [Decimal("0"), Decimal("-0"), Decimal("-1000"), Decimal("-1000.00"), Decimal("1500"), Decimal("1E+3")]
)


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    if draw(st.booleans()):
        local = datetime.combine(draw(st.sampled_from(DAYS)), draw(st.sampled_from(TIMES)), tzinfo=NY)
        return local.replace(fold=draw(st.integers(0, 1))).astimezone(UTC)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return start + timedelta(microseconds=draw(st.integers(0, 3 * 365 * 86_400 * 1_000_000)))


@st.composite
def rules(draw: st.DrawFn) -> RiskSettings:
    overrides: dict[str, object] = {}
    if draw(st.booleans()):
        overrides["micros_per_lot"] = draw(st.sampled_from([1, 2, 3, 10]))
    if draw(st.booleans()):
        overrides["flat_time"] = draw(st.sampled_from([time(15, 55), time(16, 10), time(12, 0, 30)]))
    if draw(st.booleans()):
        start, end = draw(st.sampled_from([(time(18), time(16, 10)), (time(9, 30), time(15, 0)), (time(2), time(1))]))
        overrides |= {"window_start": start, "window_end": end}
    return RiskSettings(
        max_order_size=draw(st.integers(1, 6)),
        max_position_per_symbol=draw(st.integers(1, 8)),
        max_position_total=draw(st.integers(1, 12)),
        daily_loss_limit=draw(st.sampled_from([Decimal("1000"), Decimal("250.50"), Decimal("1E+3")])),
        max_loss_trailing=draw(st.sampled_from([Decimal("2000"), Decimal("333.33")])),
        trading_start=draw(st.sampled_from([time(9, 30), time(0), time(18), time(9, 30, 30)])),
        trading_end=draw(st.sampled_from([time(15, 55), time(16, 30), time(13), time(23, 59, 59)])),
        price_band_ticks=draw(st.sampled_from([0, 4, 40, 2000])),
        price_band_atr=draw(st.sampled_from([Decimal(0), Decimal("1.5"), Decimal("3")])),
        daily_profit_cap=draw(st.sampled_from([None, Decimal("500"), Decimal("1500.25")])),
        profile=draw(st.sampled_from(["custom", "tc_50k", "xfa_50k", "xfa_150k", "live"])),
        overrides=overrides,
    )


@st.composite
def states(draw: st.DrawFn, now: datetime) -> RiskState:
    mode = draw(st.sampled_from([KillMode.OFF] * 6 + [KillMode.REDUCE_ONLY, KillMode.HALTED]))
    today = now.astimezone(NY).date()
    trading_date = draw(st.sampled_from([None, today, today - timedelta(days=1), today + timedelta(days=1)]))
    days: tuple[DayRecord, ...] = ()
    if draw(st.booleans()):
        days = (DayRecord(today - timedelta(days=3), draw(MONEY), Decimal(50000) + draw(MONEY)),)
    return RiskState(
        kill_mode=mode,
        kill_reason="" if mode is KillMode.OFF else draw(st.sampled_from(["manual", "daily loss limit hit: x"])),
        kill_automatic=draw(st.booleans()),
        trading_date=trading_date,
        day_realized=draw(MONEY),
        high_water=draw(st.sampled_from([None, Decimal(50000), Decimal("51234.50"), Decimal(0)])),
        start_balance=draw(st.sampled_from([None, Decimal(50000), Decimal("49000.00")])),
        balance=draw(st.sampled_from([None, Decimal(50000), Decimal("50500.25")])),
        goal_met=draw(st.booleans()),
        days=days,
        cap_tripped=draw(st.booleans()),
    )


# Mostly none or near the last trade (so the later rules are reached); now and then one no contract trades at.
NEAR = [
    Decimal("21000.25"),
    Decimal("21010"),
    Decimal("21003.125"),
    Decimal("2.1E+4"),
    Decimal("20000"),
    Decimal("21500.50"),
]
ODD = [
    Decimal("0"),
    Decimal("-5"),
    Decimal("1E+10"),
    Decimal("999999999.99"),
    Decimal("NaN"),
    Decimal("-Infinity"),
    Decimal("sNaN"),
]
PRICES = st.sampled_from([None] * 14 + NEAR * 3 + ODD)


@dataclass(frozen=True)
class Case:
    settings: RiskSettings
    state: RiskState
    request: OrderRequest
    exposure: Exposure
    now: datetime


@st.composite
def cases(draw: st.DrawFn) -> Case:
    now = draw(moments())
    contract = draw(st.sampled_from(CONTRACTS))
    positions = draw(st.dictionaries(st.sampled_from(CONTRACTS), st.integers(-3, 3), max_size=2))
    working = draw(
        st.lists(
            st.builds(WorkingOrder, st.sampled_from(CONTRACTS), st.sampled_from(list(Side)), st.integers(1, 4)),
            max_size=2,
        )
    )
    ref = None
    if draw(st.booleans()):
        atr = draw(st.sampled_from([None, Decimal(0), Decimal("12.5"), Decimal(173) / Decimal(14), Decimal("0.004")]))
        tick = draw(st.sampled_from([Decimal("0.25"), Decimal("0.01"), Decimal("0.5")]))
        ref = PriceRef(draw(st.sampled_from([Decimal("21000.00"), Decimal("21000"), Decimal("5")])), tick, atr)
    exposure = Exposure(
        positions=positions,
        working=working,
        realized_today=draw(MONEY),
        unrealized=draw(MONEY),
        balance=Decimal(50000) + draw(MONEY),
        last_prices={} if ref is None else {contract: ref},
    )
    size = draw(st.sampled_from([1] * 6 + [2, 2, 3, 0, -1, 7]))
    request = OrderRequest(
        1, contract, draw(st.sampled_from(list(Side))), OrderType.STOP, size, "t",
        limit_price=draw(PRICES), stop_price=draw(PRICES), trail_price=draw(st.sampled_from([None, Decimal("20999")])),
    )  # fmt: skip
    return Case(draw(rules()), draw(states(now)), request, exposure, now)


def both(case: Case) -> tuple[RiskManager, RiskManager]:
    """A Python manager and a Rust one on the same settings, profile and state."""
    profile = profile_of(case.settings)
    state = replace(case.state, profile=profile.id)
    python = RiskManager(case.settings, state, profile)
    rust = RiskManager(case.settings, state, profile)
    rust._rust = RustRiskCheck(case.settings, profile)
    return python, rust


def compare(case: Case) -> bool:
    """Both answers and states equal; True when Rust decided the order itself."""
    python, rust = both(case)
    expected: Decision | Exception
    try:
        expected = python.python_check(case.request, case.exposure, case.now)
    except Exception as exc:  # Python raising: Rust must leave the order to it
        expected = exc
    decided = rust.rust_check(case.request, case.exposure, case.now)
    if isinstance(expected, Exception):
        assert decided is None, (decided, expected)
        return False
    if decided is not None:
        assert decided == expected
    else:
        rust.python_check(case.request, case.exposure, case.now)
    assert rust.state == python.state
    return decided is not None


@given(cases())
@settings(max_examples=600)
def test_rust_and_python_give_the_same_decision_and_sentence(case: Case) -> None:
    compare(case)


def test_rust_decides_nearly_every_order_itself() -> None:
    decided: list[bool] = []

    @given(cases())
    @settings(max_examples=400, database=None)
    def run(case: Case) -> None:
        decided.append(compare(case))

    run()
    assert sum(decided) >= 0.9 * len(decided), f"Rust decided {sum(decided)} of {len(decided)}"


def test_the_sentences_of_each_rule_match() -> None:
    """Fixed cases for each rule's sentence, Rust's decision checked to be its own."""
    t = datetime(2025, 6, 11, 14, tzinfo=UTC)  # Wednesday 10:00 EDT
    settings_ = RiskSettings(
        max_order_size=2, max_position_per_symbol=3, max_position_total=4, price_band_atr=Decimal("1.5")
    )
    mnq = CONTRACTS[0]
    order = OrderRequest(1, mnq, Side.BUY, OrderType.STOP, 1, "t", stop_price=Decimal("21100"))
    ref = {mnq: PriceRef(Decimal("21000.00"), Decimal("0.25"), Decimal(173) / Decimal(14))}
    for exposure in (
        Exposure(balance=Decimal(50000), last_prices=ref),
        Exposure(balance=Decimal(50000), last_prices={mnq: PriceRef(Decimal("21000.00"), Decimal("0.25"))}),
        Exposure(balance=Decimal(50000), realized_today=Decimal("-1000.00")),
        Exposure(balance=Decimal(47999), positions={mnq: 3}),
    ):
        python = RiskManager(settings_)
        rust = RiskManager(settings_)
        rust._rust = RustRiskCheck(settings_, rust.profile)
        decided = rust.rust_check(order, exposure, t)
        assert decided is not None and decided == python.check(order, exposure, t)
    assert Decimal("1e9") == risk_manager.MAX_SANE_PRICE


def test_a_backtest_gives_the_same_result_with_either_check() -> None:
    """A week of scenario days through the overnight range: the same result, every order decided by Rust."""
    from tests.support.scenario_days import Scenario, build
    from trading.backtest.runner import Backtest
    from trading.config import OvernightRangeSettings
    from trading.strategies.overnight_range import OvernightRange

    results = []
    for impl in ("python", "rust"):
        config = OvernightRangeSettings(symbols=("MNQ",))
        bars = build(Scenario(date(2025, 6, 11)), extra_days_after=5)
        bt = Backtest(lambda ctx: OvernightRange(config, ctx), bars, risk=RiskSettings(impl=impl))  # noqa: B023
        if impl == "rust":
            assert bt.risk._rust is not None

            def python_check(*_: object) -> Decision:
                raise AssertionError("the Rust check left an order to Python")

            bt.risk.python_check = python_check  # type: ignore[method-assign,assignment]
        results.append(repr(bt.run(date(2025, 6, 11), date(2025, 6, 18))))
    assert results[0] == results[1]


def test_new_limits_reach_the_rust_check() -> None:
    """A configuration reload sets `settings`: the Rust check answers with the new limits."""
    t = datetime(2025, 6, 11, 14, tzinfo=UTC)
    rm = RiskManager(RiskSettings(max_order_size=2, impl="rust"))
    order = OrderRequest(1, CONTRACTS[0], Side.BUY, OrderType.MARKET, 2, "t")
    assert rm.rust_check(order, Exposure(balance=Decimal(50000)), t) == Decision(True)
    rm.settings = RiskSettings(max_order_size=1, impl="rust")
    refused = rm.rust_check(order, Exposure(balance=Decimal(50000)), t)
    assert refused == Decision(False, "order size 2 exceeds the maximum of 1 contracts per order")
    rm.settings = RiskSettings(max_order_size=1)
    assert rm.rust_check(order, Exposure(balance=Decimal(50000)), t) is None  # impl = "python" again
