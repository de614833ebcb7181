"""One risk check, Python against Rust (`[risk] impl`): `RiskManager.check` on the same order, exposure
and time, in process. Two orders: a strategy's stop entry that passes every rule (price band with an
ATR, the profile's contract cap counting micros, the flat time and window, trading hours: the whole
check), and one the kill switch refuses early. The Rust figure includes its Python face (reading the
order and the exposure's objects, the state push when it changed), as the engine pays it.
"""

from __future__ import annotations

import time as clock
from datetime import UTC, datetime
from decimal import Decimal

from bench.stats import Summary, summarize, table
from trading.config import RiskSettings
from trading.domain import OrderRequest, OrderType, Side
from trading.risk import Exposure, KillMode, PriceRef, RiskManager, WorkingOrder

MNQ = "CON.F.US.MNQ.Z25"
MES = "CON.F.US.MES.Z25"
NOW = datetime(2025, 6, 11, 14, 0, tzinfo=UTC)  # Wednesday 10:00 EDT
ORDER = OrderRequest(1, MNQ, Side.BUY, OrderType.STOP, 1, "t", stop_price=Decimal("21010.25"))
EXPOSURE = Exposure(
    positions={MES: 2},
    working=[WorkingOrder(MNQ, Side.SELL, 1)],
    realized_today=Decimal("-120.50"),
    unrealized=Decimal("35.25"),
    balance=Decimal("50120.75"),
    last_prices={MNQ: PriceRef(Decimal("21000.00"), Decimal("0.25"), Decimal(173) / Decimal(14))},
)


def manager(impl: str, halted: bool = False) -> RiskManager:
    settings = RiskSettings(profile="tc_50k", price_band_atr=Decimal("3"), impl=impl)
    rm = RiskManager(settings)
    if halted:
        rm.trip(KillMode.HALTED, "manual", NOW)
    return rm


def _samples(rm: RiskManager, n: int) -> list[float]:
    decision = rm.check(ORDER, EXPOSURE, NOW)  # the roll and the calendar's years, once
    out: list[float] = []
    for _ in range(n):
        t0 = clock.perf_counter_ns()
        again = rm.check(ORDER, EXPOSURE, NOW)
        out.append(float(clock.perf_counter_ns() - t0))
    assert again == decision
    return out


def run(quick: bool = False) -> str:
    n = 500 if quick else 5000
    python, rust = manager("python"), manager("rust")
    if rust.rust_check(ORDER, EXPOSURE, NOW) is None:
        return "\n## risk check: the Rust check is not active (TRADEBOT_RUST=0 or no extension); nothing compared"
    assert rust.check(ORDER, EXPOSURE, NOW) == python.check(ORDER, EXPOSURE, NOW)
    rows: list[Summary] = [
        summarize("python: order passes", _samples(python, n)),
        summarize("rust: order passes", _samples(rust, n)),
        summarize("python: halted, refused", _samples(manager("python", halted=True), n)),
        summarize("rust: halted, refused", _samples(manager("rust", halted=True), n)),
    ]
    return table("one risk check (RiskManager.check, tc_50k, price band with ATR)", rows, "python: order passes")
