"""The spec's "What must be proven" days, backtested; every expectation worked out by hand.

Every scenario (tests/support/scenario_days.py) has ONH 20050, ONL 19950, ATR5 8, ATRD 40 on MNQ (tick 0.25,
$0.50 a tick). So, by hand:
  long entry  = 20050 + 0.25 = 20050.25  SL -40 ticks (1.25 x 8 = 10 pts) = 20040.25  TP +320 ticks (80 pts) = 20130.25
  short entry = 19950 - 0.25 = 19949.75  SL +40 ticks = 19959.75  TP -320 ticks = 19869.75
  breakeven at 15 points: long 20065.25, short 19934.75.
Times below are UTC, converted by hand from New York (EDT = UTC-4, EST = UTC-5).

Every day runs against both implementations (`impl` = python | rust): under "rust" the day is
backtested with both and must give the same orders, fills, levels, notifications, --json and state
(tests/support/parity.py) before the hand-worked expectations are checked on the Rust run.
"""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal
from typing import Any

import pytest

from tests.support.parity import IMPLS, run_both, run_one
from tests.support.scenario_days import Scenario, build
from trading import calendar as cal
from trading.backtest.ledger import BacktestResult
from trading.backtest.runner import Backtest
from trading.config import OvernightRangeSettings

LONG = "overnight_range:MNQ:long:{d}"
SHORT = "overnight_range:MNQ:short:{d}"

# A normal long day's RTH script (New York times).
LONG_DAY = {
    time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0),  # buy stop 20050.25 triggers: fill max(20050.25, 20040)
    time(10, 0): (20058.0, 20070.0, 20055.0, 20060.0),  # high 20070 >= 20065.25: breakeven
    time(10, 30): (20100.0, 20131.0, 20100.0, 20120.0),  # high 20131 > TP 20130.25
}


IMPL = {"now": "python"}  # set per test by the `impl` fixture


@pytest.fixture(autouse=True, params=IMPLS)
def impl(request: pytest.FixtureRequest) -> str:
    IMPL["now"] = request.param
    return str(request.param)


def run(s: Scenario, **cfg: Any) -> tuple[BacktestResult, Backtest]:
    return run_days(s, s.day, s.day, **cfg)


def run_days(s: Scenario, start: date, end: date, **cfg: Any) -> tuple[BacktestResult, Backtest]:
    config = OvernightRangeSettings(symbols=("MNQ",), impl=IMPL["now"], **cfg)
    if config.impl == "rust":
        return run_both(config, build(s), start, end)
    return run_one(config, build(s), start, end)


def fills(r: BacktestResult) -> list[tuple[str, str, str, str | None]]:
    return [(f["time"], f["side"], f["price"], f["customTag"]) for f in r.fills]


def actions(r: BacktestResult) -> list[tuple[str, str, str | None, str | None]]:
    return [(o["time"], o["action"], o["customTag"], o["price"]) for o in r.orders]


def test_normal_long_day() -> None:
    d = date(2025, 6, 11)  # Wednesday, EDT
    r, _ = run(Scenario(d, rth=LONG_DAY))
    lt, st = LONG.format(d=d), SHORT.format(d=d)
    assert actions(r) == [
        ("2025-06-11T13:30:00+00:00", "placed", lt, "20050.25"),
        ("2025-06-11T13:30:00+00:00", "placed", st, "19949.75"),
        ("2025-06-11T13:45:00+00:00", "filled", lt, "20050.25"),
        ("2025-06-11T13:45:00+00:00", "placed", lt + ":sl", "20040.25"),
        ("2025-06-11T13:45:00+00:00", "placed", lt + ":tp", "20130.25"),
        ("2025-06-11T13:45:00+00:00", "cancelled", st, "19949.75"),  # entry OCO
        ("2025-06-11T14:01:00+00:00", "modified", lt + ":sl", "20050.25"),  # breakeven after the 10:00 bar
        ("2025-06-11T14:30:00+00:00", "filled", lt + ":tp", "20130.25"),
        ("2025-06-11T14:30:00+00:00", "cancelled", lt + ":sl", "20050.25"),
    ]
    placed = [o for o in r.orders if o["action"] == "placed" and o["customTag"] in (lt, st)]
    assert [(o["sl_ticks"], o["tp_ticks"]) for o in placed] == [(-40, 320), (40, -320)]
    assert r.trades[0]["pnl"] == "160.00" and r.trades[0]["ticks"] == 320  # 80 pts = 320 ticks x $0.50
    assert r.net_pnl == Decimal("160.00")
    day = r.days[0]
    assert day["onh"] == "20050.00" and day["onl"] == "19950.00"
    assert day["atr5"] == "8.000000" and day["atrd"] == "40.000000"
    assert day["blocked"] is None


def test_normal_short_day_flattened_at_1555() -> None:
    d = date(2025, 6, 12)
    script = {
        time(9, 40): (19960.0, 19962.0, 19940.0, 19945.0),  # sell stop fills min(19949.75, 19960) = 19949.75
        time(10, 0): (19945.0, 19946.0, 19930.0, 19930.0),  # low 19930 <= 19934.75: breakeven
    }
    r, _ = run(Scenario(d, rth=script))
    st = SHORT.format(d=d)
    assert fills(r) == [
        ("2025-06-12T13:40:00+00:00", "sell", "19949.75", st),
        ("2025-06-12T19:55:00+00:00", "buy", "19930.00", "overnight_range:MNQ:flatten:2025-06-12"),  # 15:55 open
    ]
    assert ("2025-06-12T14:01:00+00:00", "modified", st + ":sl", "19949.75") in actions(r)
    assert r.trades[0]["ticks"] == 79 and r.trades[0]["pnl"] == "39.50"  # 19.75 pts


def test_whipsaw_both_levels_touched_in_different_bars() -> None:
    d = date(2025, 6, 13)
    script = {
        time(9, 35): (20040.0, 20055.0, 20040.0, 20050.0),  # long fills 20050.25
        time(9, 50): (20050.0, 20050.0, 19940.0, 19945.0),  # SL 20040.25 (open 20050 above it); short was OCO'd
    }
    r, _ = run(Scenario(d, rth=script))
    lt = LONG.format(d=d)
    assert fills(r) == [
        ("2025-06-13T13:35:00+00:00", "buy", "20050.25", lt),
        ("2025-06-13T13:50:00+00:00", "sell", "20040.25", lt + ":sl"),
    ]
    assert r.trades[0]["pnl"] == "-20.00"  # -40 ticks


def test_whipsaw_one_bar_touches_both_nearer_to_open_fills_then_one_trade_per_side() -> None:
    d = date(2025, 6, 13)
    script = {
        # Open 20010: long level 40.25 away, short 60.25 away: the long fills, the short is cancelled.
        time(9, 35): (20010.0, 20060.0, 19940.0, 20000.0),
        # 09:36 is flat at 20000: SL 20040.25 is live from this bar and fills at min(20040.25, 20000).
        # Later the market breaks ONH again: no second long.
        time(10, 0): (20000.0, 20100.0, 20000.0, 20100.0),
    }
    r, _ = run(Scenario(d, rth=script))
    lt, st = LONG.format(d=d), SHORT.format(d=d)
    assert fills(r) == [
        ("2025-06-13T13:35:00+00:00", "buy", "20050.25", lt),
        ("2025-06-13T13:36:00+00:00", "sell", "20000.00", lt + ":sl"),
    ]
    assert ("2025-06-13T13:35:00+00:00", "cancelled", st, "19949.75") in actions(r)
    assert r.trades[0]["ticks"] == -201 and r.trades[0]["pnl"] == "-100.50"


def test_no_break_day_cancels_both_entries_at_1100() -> None:
    d = date(2025, 6, 16)
    r, _ = run(Scenario(d))
    lt, st = LONG.format(d=d), SHORT.format(d=d)
    assert r.fills == []
    assert actions(r) == [
        ("2025-06-16T13:30:00+00:00", "placed", lt, "20050.25"),
        ("2025-06-16T13:30:00+00:00", "placed", st, "19949.75"),
        ("2025-06-16T15:00:00+00:00", "cancelled", lt, "20050.25"),
        ("2025-06-16T15:00:00+00:00", "cancelled", st, "19949.75"),
    ]


def test_gap_beyond_the_range_at_the_open_skips_the_long_no_chase() -> None:
    d = date(2025, 6, 17)
    r, _ = run(Scenario(d, rth={time(9, 30): (20100.0, 20110.0, 20090.0, 20100.0)}))
    st = SHORT.format(d=d)
    assert actions(r) == [
        ("2025-06-17T13:30:00+00:00", "placed", st, "19949.75"),
        ("2025-06-17T15:00:00+00:00", "cancelled", st, "19949.75"),
    ]
    side = r.days[0]["sides"]["buy"]
    assert side["status"] == "skipped" and "no chase" in side["note"] and "20100" in side["note"]
    assert r.days[0]["filters"]["gap"]["value"] == "100.0"  # |20100 - 20000|


def test_gap_filter_blocks_a_300_point_gap() -> None:
    d = date(2025, 6, 17)
    r, _ = run(Scenario(d, rth={time(9, 30): (20300.0, 20310.0, 20290.0, 20300.0)}), gap_filter=True)
    assert r.orders == []
    assert r.days[0]["blocked"] == "gap 300.0 points > 200"


def test_march_dst_monday() -> None:
    d = date(2025, 3, 10)  # first Monday of EDT; the window opened Sunday 18:00 EDT = 22:00 UTC
    r, _ = run(Scenario(d, rth=LONG_DAY))
    lt = LONG.format(d=d)
    assert fills(r) == [
        ("2025-03-10T13:45:00+00:00", "buy", "20050.25", lt),
        ("2025-03-10T14:30:00+00:00", "sell", "20130.25", lt + ":tp"),
    ]
    assert r.days[0]["bars_expected"] == "930"
    assert cal.trading_day(d).window_start.isoformat() == "2025-03-09T22:00:00+00:00"


def test_march_dst_friday_before_the_change() -> None:
    d = date(2025, 3, 7)  # still EST
    r, _ = run(Scenario(d, rth=LONG_DAY))
    assert [f[0] for f in fills(r)] == ["2025-03-07T14:45:00+00:00", "2025-03-07T15:30:00+00:00"]


def test_november_dst_monday() -> None:
    d = date(2025, 11, 3)  # first Monday of EST
    r, _ = run(Scenario(d, rth=LONG_DAY))
    lt = LONG.format(d=d)
    assert fills(r) == [
        ("2025-11-03T14:45:00+00:00", "buy", "20050.25", lt),
        ("2025-11-03T15:30:00+00:00", "sell", "20130.25", lt + ":tp"),
    ]
    assert next(a for a in actions(r) if a[1] == "placed")[0] == "2025-11-03T14:30:00+00:00"


def test_day_after_a_cme_holiday() -> None:
    d = date(2025, 12, 26)  # CME closed on Christmas: the window is Christmas Eve 18:00 EST (no bars until the reopen)
    r, _ = run(Scenario(d, rth=LONG_DAY))
    lt = LONG.format(d=d)
    assert fills(r) == [
        ("2025-12-26T14:45:00+00:00", "buy", "20050.25", lt),
        ("2025-12-26T15:30:00+00:00", "sell", "20130.25", lt + ":tp"),
    ]
    assert r.days[0]["bars_expected"] == "930"
    assert r.days[0]["atrd"] == "40.000000"  # Christmas Eve's short session is a daily bar


def test_early_close_flattens_at_1255() -> None:
    d = date(2025, 11, 28)  # day after Thanksgiving, NYSE closes 13:00 EST
    r, _ = run(Scenario(d, rth={time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0)}))
    lt = LONG.format(d=d)
    assert fills(r) == [
        ("2025-11-28T14:45:00+00:00", "buy", "20050.25", lt),
        ("2025-11-28T17:55:00+00:00", "sell", "20058.00", "overnight_range:MNQ:flatten:2025-11-28"),
    ]
    assert r.trades[0]["ticks"] == 31 and r.trades[0]["pnl"] == "15.50"


def test_sunday_open_bar_sets_the_low_of_monday() -> None:
    d = date(2025, 6, 9)
    s = Scenario(
        d,
        onl=19950.0,
        onl_at=cal.ny(date(2025, 6, 8), time(18, 0)),  # the very first bar of the Sunday reopen
        rth={time(9, 40): (19960.0, 19962.0, 19940.0, 19945.0)},
    )
    r, _ = run(s)
    assert r.days[0]["onl"] == "19950.00"
    assert fills(r) == [
        ("2025-06-09T13:40:00+00:00", "sell", "19949.75", SHORT.format(d=d)),
        ("2025-06-09T19:55:00+00:00", "buy", "19945.00", "overnight_range:MNQ:flatten:2025-06-09"),
    ]
    assert r.trades[0]["pnl"] == "9.50"  # 4.75 pts = 19 ticks


def test_window_with_missing_data_blocks_the_day() -> None:
    d = date(2025, 6, 18)
    gap = (cal.ny(d, time(0, 0)), cal.ny(d, time(2, 0)))  # 120 of 930 minutes missing: 87.1%
    r, _ = run(Scenario(d, rth=LONG_DAY, missing=[gap]))
    assert r.orders == [] and r.fills == []
    day = r.days[0]
    assert day["filters"]["data_quality"] == {"enabled": True, "value": "0.8710", "blocks": True}
    assert day["blocked"].startswith("data quality: 810 of 930")


def test_window_with_a_small_hole_still_trades() -> None:
    d = date(2025, 6, 18)
    gap = (cal.ny(d, time(0, 0)), cal.ny(d, time(1, 0)))  # 870 of 930: 93.5%
    r, _ = run(Scenario(d, rth=LONG_DAY, missing=[gap]))
    assert len(r.fills) == 2 and r.days[0]["filters"]["data_quality"]["value"] == "0.9355"


def test_day_after_an_nyse_only_holiday_mlk() -> None:
    # MLK day 2025-01-20: NYSE closed, CME traded until 13:00 EST. Not a trading day; Tuesday's window
    # opens at the Monday 18:00 EST reopen (23:00 UTC), and the MLK session is one of the ATRD sessions.
    d = date(2025, 1, 21)
    s = Scenario(
        d,
        onl_at=cal.ny(date(2025, 1, 20), time(18, 0)),
        rth={time(9, 40): (19960.0, 19962.0, 19940.0, 19945.0)},
    )
    r, _ = run_days(s, date(2025, 1, 20), d)
    assert [row["date"] for row in r.days] == ["2025-01-21"]
    assert r.days[0]["onl"] == "19950.00" and r.days[0]["bars_expected"] == "930"
    assert fills(r) == [
        ("2025-01-21T14:40:00+00:00", "sell", "19949.75", SHORT.format(d=d)),
        ("2025-01-21T20:55:00+00:00", "buy", "19945.00", "overnight_range:MNQ:flatten:2025-01-21"),
    ]
