"""Risk's last prices with the engine's ATR memo equal those computed afresh, whatever the bars do
between two checks (a bar closing hands out new arrays; the memo must not keep the old ATR)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.domain import Contract
from trading.marketdata.aggregation import BarArrays
from trading.risk.exposure import AtrMemo, Exposure

MNQ = Contract("CON.F.US.MNQ.H26", "MNQH6", "F.US.MNQ", "", Decimal("0.25"), Decimal("0.5"))


class Bars:
    """A bar cache as risk reads it: the same arrays until a bar is added."""

    def __init__(self) -> None:
        self.closes: list[float] = []
        self.ranges: list[float] = []
        self.a = self._build()

    def _build(self) -> BarArrays:
        c, r = np.array(self.closes, dtype=np.float64), np.array(self.ranges, dtype=np.float64)
        return BarArrays(np.arange(len(c), dtype=np.int64), c, c + r, c - r, c, np.ones(len(c)))

    def add(self, close: float, width: float) -> None:
        self.closes.append(close)
        self.ranges.append(width)
        self.a = self._build()

    def arrays(self) -> BarArrays:
        return self.a


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-40, 40)), min_size=10, max_size=60))
def test_the_memo_answers_what_a_fresh_computation_answers(steps: list[int | None]) -> None:
    bars, memo = Bars(), AtrMemo()
    last = {"MNQ": Decimal(21000)}
    for step in steps:
        if step is not None:  # a bar closes (else: another check on the same bars)
            bars.add(21000 + step * 0.25, 0.25 * (abs(step) % 7 + 1))
        remembered = Exposure.last_prices_of({"MNQ": MNQ}, last.__getitem__, {"MNQ": bars}, memo)
        assert remembered == Exposure.last_prices_of({"MNQ": MNQ}, last.__getitem__, {"MNQ": bars})
