"""Risk: every refusal, the kill switch (manual, automatic, reduce-only), restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.config import RiskSettings
from trading.domain import OrderRequest, OrderType, Side
from trading.risk import Exposure, KillMode, PriceRef, RepositoryRiskStore, RiskManager, RiskState, WorkingOrder

pytestmark = pytest.mark.usefixtures("risk_impl")  # every test against both implementations

MNQ = "CON.F.US.MNQ.Z25"
MES = "CON.F.US.MES.Z25"
# Wednesday 2025-06-11, 10:00 EDT: inside 09:30-15:55.
T = datetime(2025, 6, 11, 14, 0, tzinfo=UTC)
SETTINGS = RiskSettings(
    max_order_size=2, max_position_per_symbol=3, max_position_total=4,
    daily_loss_limit=Decimal("1000"), max_loss_trailing=Decimal("2000"),
)  # fmt: skip


def order(side: Side = Side.BUY, size: int = 1, contract: str = MNQ) -> OrderRequest:
    return OrderRequest(1, contract, side, OrderType.STOP, size, "t", stop_price=Decimal("20000"))


def exposure(**kw: object) -> Exposure:
    base: dict[str, object] = {"balance": Decimal("50000")}
    base.update(kw)
    return Exposure(**base)  # type: ignore[arg-type]


def test_a_plain_order_passes() -> None:
    assert RiskManager(SETTINGS).check(order(), exposure(), T).approved


@pytest.mark.parametrize(
    ("req", "exp", "needle"),
    [
        (order(size=3), exposure(), "exceeds the maximum of 2 contracts per order"),
        (order(size=2), exposure(positions={MNQ: 2}), "position would reach 4 contracts on"),
        (order(size=1), exposure(working=[WorkingOrder(MNQ, Side.BUY, 2)], positions={MNQ: 1}), "would reach 4"),
        (order(size=2, contract=MES), exposure(positions={MNQ: 3}), "total position would reach 5"),
        (order(), exposure(realized_today=Decimal("-700"), unrealized=Decimal("-300")), "daily loss limit reached"),
        (order(size=0), exposure(), "size must be positive"),
    ],
)
def test_refusals_say_why(req: OrderRequest, exp: Exposure, needle: str) -> None:
    d = RiskManager(SETTINGS).check(req, exp, T)
    assert not d.approved and needle in d.reason


def test_trailing_max_loss_refuses_below_the_high_water_mark() -> None:
    rm = RiskManager(SETTINGS, RiskState(high_water=Decimal("53000")))
    d = rm.check(order(), exposure(balance=Decimal("51100"), unrealized=Decimal("-100")), T)
    assert not d.approved and "trailing max loss" in d.reason
    assert rm.check(order(), exposure(balance=Decimal("51100")), T).approved  # 1900 below: still fine


def test_trading_hours() -> None:
    rm = RiskManager(SETTINGS)
    before = datetime(2025, 6, 11, 13, 29, tzinfo=UTC)  # 09:29 EDT
    after = datetime(2025, 6, 11, 19, 55, tzinfo=UTC)  # 15:55 EDT
    early = datetime(2025, 11, 28, 18, 0, tzinfo=UTC)  # 13:00 EST on an early close (flatten 12:55)
    saturday = datetime(2025, 6, 14, 14, 0, tzinfo=UTC)
    for t in (before, after, early, saturday):
        d = rm.check(order(), exposure(), t)
        assert not d.approved and "outside trading hours" in d.reason, t
    assert rm.check(order(), exposure(), datetime(2025, 6, 11, 13, 30, tzinfo=UTC)).approved


def test_reducing_orders_pass_everything() -> None:
    rm = RiskManager(SETTINGS)
    rm.trip(KillMode.HALTED, "manual", T)
    exp = exposure(positions={MNQ: 2}, realized_today=Decimal("-5000"))
    night = datetime(2025, 6, 12, 3, 0, tzinfo=UTC)
    assert rm.check(order(Side.SELL, 2), exp, night).approved
    assert not rm.check(order(Side.SELL, 3), exp, night).approved  # would flip the position: adds exposure


def test_kill_switch_modes() -> None:
    rm = RiskManager(SETTINGS)
    rm.trip(KillMode.REDUCE_ONLY, "trader asked", T)
    d = rm.check(order(), exposure(), T)
    assert not d.approved and "REDUCE-ONLY (trader asked)" in d.reason
    rm.trip(KillMode.HALTED, "trader asked", T)
    d = rm.check(order(), exposure(), T)
    assert not d.approved and "HALTED" in d.reason
    rm.reset()
    assert rm.check(order(), exposure(), T).approved


def test_daily_loss_trips_halted_and_clears_next_trading_day() -> None:
    rm = RiskManager(SETTINGS)
    assert rm.mark(exposure(realized_today=Decimal("-600"), unrealized=Decimal("-399.75")), T) == []
    trips = rm.mark(exposure(realized_today=Decimal("-600"), unrealized=Decimal("-400")), T)
    assert [t.mode for t in trips] == [KillMode.HALTED] and "daily loss limit hit" in trips[0].reason
    assert rm.state.kill_automatic
    assert rm.mark(exposure(realized_today=Decimal("-600"), unrealized=Decimal("-500")), T) == []  # once
    assert not rm.check(order(), exposure(), T).approved
    # 18:00 EDT reopen starts the next futures trading day: the automatic trip clears.
    evening = datetime(2025, 6, 11, 22, 5, tzinfo=UTC)
    rm.mark(exposure(), evening)
    assert rm.state.kill_mode is KillMode.OFF


def test_trailing_max_loss_trails_the_end_of_day_balance_then_trips_and_stays() -> None:
    # Before profiles this high-water mark followed every trade's balance; it now follows the end of
    # the trading day (the firm's rule): an intraday 52,500 does not raise it.
    rm = RiskManager(SETTINGS)
    rm.mark(exposure(balance=Decimal("50000")), T)
    rm.mark(exposure(balance=Decimal("52500")), T)
    assert rm.state.high_water == Decimal("50000")
    assert rm.mark(exposure(balance=Decimal("50600"), unrealized=Decimal("-100")), T) == []
    next_day = datetime(2025, 6, 12, 14, 0, tzinfo=UTC)
    rm.mark(exposure(balance=Decimal("52500")), datetime(2025, 6, 11, 19, 0, tzinfo=UTC))  # 15:00 EDT
    rm.mark(exposure(balance=Decimal("52500")), next_day)  # rolled: the 11th ended at 52,500
    assert rm.state.high_water == Decimal("52500")
    trips = rm.mark(exposure(balance=Decimal("50600"), unrealized=Decimal("-100")), next_day)
    assert trips and "trailing max loss" in trips[0].reason and not rm.state.kill_automatic
    rm.mark(exposure(balance=Decimal("50600")), datetime(2025, 6, 13, 14, 0, tzinfo=UTC))
    assert rm.state.kill_mode is KillMode.HALTED


@given(st.integers(-10, 10), st.integers(1, 5), st.sampled_from([Side.BUY, Side.SELL]))
def test_position_limit_property(pos: int, size: int, side: Side) -> None:
    d = RiskManager(SETTINGS).check(order(side, size), exposure(positions={MNQ: pos}), T)
    after = pos + side.sign * size
    reduces = pos != 0 and (pos > 0) != (side is Side.BUY) and size <= abs(pos)
    if reduces:
        assert d.approved
    else:
        assert d.approved == (size <= 2 and abs(after) <= 3)


async def test_kill_switch_survives_a_restart_in_the_store(store: object) -> None:
    persistence = RepositoryRiskStore(store.risk_state)  # type: ignore[attr-defined]
    rm = RiskManager(SETTINGS)
    rm.mark(exposure(realized_today=Decimal("-1000")), T)
    await rm.save(persistence, 7)
    again = await RiskManager.load(SETTINGS, persistence, 7)
    assert again.state.kill_mode is KillMode.HALTED and again.state.kill_automatic
    assert again.state.day_realized == Decimal("-1000") and again.state.high_water == Decimal("50000")
    assert not again.check(order(), exposure(), T).approved
    rm.trip(KillMode.REDUCE_ONLY, "manual", T)
    await rm.save(persistence, 7)
    again = await RiskManager.load(SETTINGS, persistence, 7)
    assert again.state.kill_mode is KillMode.REDUCE_ONLY and not again.state.kill_automatic
    assert again.state.kill_reason == "manual"


# ----------------------------------------------------------------------------- price band

TICK = Decimal("0.25")
LAST = Decimal("21000.50")
BAND = RiskSettings(price_band_ticks=400)  # 100 points on MNQ


def priced(kind: str, price: Decimal, side: Side = Side.BUY, size: int = 1) -> OrderRequest:
    types = {"limit": OrderType.LIMIT, "stop": OrderType.STOP, "trail": OrderType.TRAILING_STOP}
    return OrderRequest(1, MNQ, side, types[kind], size, "t", **{f"{kind}_price": price})  # type: ignore[arg-type]


def at_last(last: Decimal = LAST, atr: Decimal | None = None, **kw: object) -> Exposure:
    return exposure(last_prices={MNQ: PriceRef(last, TICK, atr)}, **kw)


@given(
    st.integers(-400, 400),
    st.sampled_from(["limit", "stop", "trail"]),
    st.sampled_from([Side.BUY, Side.SELL]),
)
def test_any_price_within_the_band_passes(ticks: int, kind: str, side: Side) -> None:
    d = RiskManager(BAND).price_band(priced(kind, LAST + ticks * TICK, side), PriceRef(LAST, TICK))
    assert d.approved, d.reason


@given(
    st.integers(401, 10**15) | st.integers(-(10**15), -401),
    st.sampled_from(["limit", "stop", "trail"]),
    st.sampled_from([Side.BUY, Side.SELL]),
)
def test_any_price_beyond_the_band_is_refused_naming_the_limit_and_the_last_price(
    ticks: int, kind: str, side: Side
) -> None:
    price = LAST + ticks * TICK
    d = RiskManager(BAND).check(priced(kind, price, side), at_last(), T)
    assert not d.approved
    assert f"{kind} price {price}" in d.reason and "price band of 400 ticks (100.00 points)" in d.reason
    assert f"the last trade {LAST}" in d.reason and f"{abs(ticks)} ticks from" in d.reason


def test_the_order_priced_at_1e15_is_refused() -> None:
    d = RiskManager(SETTINGS).check(priced("limit", Decimal("1e15")), at_last(), T)
    assert not d.approved and "beyond the price band of 2000 ticks" in d.reason


def test_a_market_order_has_no_price_and_passes_the_band() -> None:
    req = OrderRequest(1, MNQ, Side.BUY, OrderType.MARKET, 1, "t")
    assert RiskManager(BAND).check(req, at_last(), T).approved


def test_a_reducing_order_at_an_absurd_price_is_still_refused() -> None:
    # A protective stop at a mistyped price protects nothing; a market flatten still passes.
    rm = RiskManager(BAND)
    rm.trip(KillMode.HALTED, "manual", T)
    exp = at_last(positions={MNQ: 2})
    d = rm.check(priced("stop", Decimal("2100.50"), Side.SELL), exp, T)
    assert not d.approved and "price band" in d.reason
    assert rm.check(priced("stop", Decimal("20990"), Side.SELL), exp, T).approved
    assert rm.check(OrderRequest(1, MNQ, Side.SELL, OrderType.MARKET, 2, "t"), exp, T).approved


def test_the_atr_band_widens_the_tick_band_and_zero_disables() -> None:
    wide = RiskSettings(price_band_ticks=400, price_band_atr=Decimal("30"))
    req = priced("limit", LAST + Decimal("150"))  # 600 ticks away
    assert not RiskManager(wide).check(req, at_last(atr=Decimal("4")), T).approved  # 120 points < 150
    assert RiskManager(wide).check(req, at_last(atr=Decimal("6")), T).approved  # 180 points
    d = RiskManager(wide).check(priced("limit", LAST + 200), at_last(atr=Decimal("6")), T)
    assert not d.approved and "price band of 30 x ATR 6.00 (180" in d.reason
    atr_only = RiskSettings(price_band_ticks=0, price_band_atr=Decimal("30"))
    assert RiskManager(atr_only).check(priced("limit", LAST + 1000), at_last(), T).approved  # no ATR known
    off = RiskSettings(price_band_ticks=0)
    assert RiskManager(off).check(priced("limit", LAST * 10), at_last(), T).approved
    d = RiskManager(off).check(priced("limit", Decimal("1e15")), at_last(), T)
    assert not d.approved and "not a price this contract can trade at" in d.reason  # band or not


@pytest.mark.parametrize("price", ["0", "-5", "1000000000.25", "1e15", "NaN", "Infinity"])
def test_without_a_last_trade_only_impossible_prices_are_refused(price: str) -> None:
    d = RiskManager(BAND).check(priced("limit", Decimal(price)), exposure(), T)
    assert not d.approved and "is not a price this contract can trade at" in d.reason
    assert RiskManager(BAND).check(priced("limit", Decimal("999999999")), exposure(), T).approved


def test_last_prices_come_from_the_last_trade_and_the_bars_atr() -> None:
    import numpy as np

    from trading.domain import Contract
    from trading.marketdata.aggregation import BarArrays

    class Bars:
        def __init__(self, n: int) -> None:
            z = np.zeros(n)
            self.a = BarArrays(np.arange(n, dtype=np.int64), z + 100, z + 102, z + 99, z + 100, z)

        def arrays(self) -> BarArrays:
            return self.a

    mnq = Contract(MNQ, "MNQZ5", "F.US.MNQ", "", TICK, Decimal("0.5"))
    mes = Contract(MES, "MESZ5", "F.US.MES", "", TICK, Decimal("1.25"))
    last = {"MNQ": Decimal("100.25"), "MES": None}
    refs = Exposure.last_prices_of({"MNQ": mnq, "MES": mes}, last.__getitem__, {"MNQ": Bars(15)})
    assert refs == {MNQ: PriceRef(Decimal("100.25"), TICK, Decimal(3))}
    refs = Exposure.last_prices_of({"MNQ": mnq}, last.__getitem__, {"MNQ": Bars(14)})
    assert refs == {MNQ: PriceRef(Decimal("100.25"), TICK, None)}  # too few bars for an ATR
