"""The benchmark tables' time text: the unit follows the size, whatever the sign."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.stats import fmt


def test_units() -> None:
    assert [fmt(x) for x in (512, 68_092, 1_500_000, 2e9)] == ["512 ns", "68.1 µs", "1.50 ms", "2.00 s"]
    assert fmt(-68_092) == "-68.1 µs"  # was "-68092 ns"
    assert fmt(float("nan")) == "n/a"


@given(st.floats(min_value=1, max_value=1e12))
def test_a_negative_difference_reads_as_its_size(ns: float) -> None:
    assert fmt(-ns) == "-" + fmt(ns)
