"""One series from several contract months: per trading day, the month with the most volume."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from trading.domain import Bar
from trading.marketdata.continuous import continuous, trading_date

H, M = "CON.F.US.MNQ.H25", "CON.F.US.MNQ.M25"
T = datetime(2025, 3, 10, 14, 30, tzinfo=UTC)  # Monday 10:30 ET


def bar(contract: str, at: datetime, volume: float) -> Bar:
    return Bar(contract, "1m", at, 1, 2, 0.5, 1.5, volume)


def test_each_day_takes_the_busiest_month_whole() -> None:
    monday = [
        bar(H, T, 900),
        bar(M, T, 100),
        bar(H, T + timedelta(minutes=1), 800),
        bar(M, T + timedelta(minutes=1), 50),
    ]
    tuesday = [bar(H, T + timedelta(days=1), 100), bar(M, T + timedelta(days=1), 700)]
    out = continuous(tuesday + monday)
    assert [(b.contract_id, b.start) for b in out] == [
        (H, T), (H, T + timedelta(minutes=1)), (M, T + timedelta(days=1)),
    ]  # fmt: skip


def test_the_evening_session_belongs_to_the_next_trading_day() -> None:
    evening = datetime(2025, 3, 10, 23, 0, tzinfo=UTC)  # 19:00 ET Monday: Tuesday's session
    assert trading_date(bar(H, evening, 1)) == date(2025, 3, 11)
    assert trading_date(bar(H, T, 1)) == date(2025, 3, 10)


@given(st.lists(st.tuples(st.sampled_from([H, M]), st.integers(0, 60 * 24 * 5), st.integers(1, 1000)), max_size=60))
def test_one_month_per_day_in_time_order(rows: list[tuple[str, int, int]]) -> None:
    bars = [bar(c, T + timedelta(minutes=m), v) for c, m, v in rows]
    out = continuous(bars)
    assert [b.start for b in out] == sorted(b.start for b in out)
    days: dict[date, set[str]] = {}
    for b in out:
        days.setdefault(trading_date(b), set()).add(b.contract_id)
    assert all(len(months) == 1 for months in days.values())
    assert set(days) == {trading_date(b) for b in bars}  # no day lost
