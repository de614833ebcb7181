"""The two readers of the bar rules agree: a row the column checks pass is one the row check passes,
with the same values (the column checks only ever send more rows to the row check)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.backtest.bar_checks import COLUMNS, Columns, row, zone

STAMPS = st.sampled_from([
    "2025-06-11T13:30:00Z", "2025-06-11 13:30:00+00:00", "2025-06-11T09:30:00-04:00", "2025-06-11T09:30",
    "2025-06-11T13:30:30Z", "2025-06-11T13:30:00.000Z", "2025-06-11T13:30:00.0000001Z", "2025-03-09T02:30:00",
    "2025-11-02T01:30:00", "2025-11-02T01:30:00-05:00", "1969-12-31T23:59:00Z", "2300-01-01T00:00:00Z",
    "2025-13-01T09:30:00Z", "20250611T133000Z", "2025-06-11T13:30:00+0000", " 2025-06-11T13:30:00Z", "", "Z",
])  # fmt: skip
NUMBERS = st.one_of(
    st.integers(-5, 30).map(str),
    st.sampled_from(["20000.25", "1e3", "nan", "inf", "-inf", "1_000", " 7", "2.5", "x", "", "0x10", "-0"]),
)
SYMBOLS = st.sampled_from(["MNQ", "mnq", " MES", "M-Q", "", "ES1", "ABCDEFGHIJKLMNOPQ"])


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.tuples(SYMBOLS, STAMPS, NUMBERS, NUMBERS, NUMBERS, NUMBERS, NUMBERS), min_size=1, max_size=8),
    tz=st.sampled_from([None, "America/New_York", "UTC"]),
)
def test_the_column_checks_pass_only_rows_the_row_check_passes(rows: list[tuple[str, ...]], tz: str | None) -> None:
    zone_of_naive = zone(tz) if tz else None
    text = {c: pd.Series([r[k] for r in rows], dtype=object) for k, c in enumerate(COLUMNS)}
    checked = Columns.of(text, zone_of_naive)
    for i, r in enumerate(rows):
        if not checked.ok[i]:
            continue
        symbol, good = row(dict(zip(COLUMNS, r, strict=True)), zone_of_naive)
        assert symbol == checked.symbol[i] and good[0] == checked.ns[i]
        assert list(good[1:]) == [float(v[i]) for v in checked.values]
