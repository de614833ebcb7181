"""The bar CSV is checked row by row: every bad row is named by its line, and a file with any bad row
yields nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.bar_files import CORRUPTIONS, corrupt, good_rows, write_rows
from trading.backtest.bars_csv import SHOWN_PROBLEMS, BarFileError, load_csv
from trading.marketdata.levels import ns

HEADER = "symbol,ts,open,high,low,close,volume"


def _file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "bars.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    return path


def _problems(path: Path, tz: str | None = None) -> list[str]:
    with pytest.raises(BarFileError) as caught:
        load_csv(path, tz)
    return caught.value.problems


def test_a_good_file_loads_with_symbols_in_any_case(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "mnq,2025-06-11T13:31:00Z,20001.25,20002,20000,20001.5,12",
        "MNQ,2025-06-11T09:30:00-04:00,20000,20001,19999.75,20001,7.0",
        "Mes,2025-06-11 13:30:00+00:00,6000,6000.25,6000,6000,0",
    )
    bars = load_csv(path)
    assert sorted(bars) == ["MES", "MNQ"]
    mnq = bars["MNQ"]
    assert list(mnq.ts) == [
        ns(datetime(2025, 6, 11, 13, 30, tzinfo=UTC)),
        ns(datetime(2025, 6, 11, 13, 31, tzinfo=UTC)),
    ]
    assert list(mnq.volume) == [7.0, 12.0]


def test_each_kind_of_bad_row_is_named_by_its_line(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "MNQ,2025-06-11T13:30:00Z,20000,20001,20002,20000.5,1",  # 2: high below low
        "MNQ,2025-06-11T13:31:00,20000,20001,19999,20000.5,1",  # 3: no time zone
        "MNQ,2025-06-11T13:32:30Z,20000,20001,19999,20000.5,1",  # 4: not a whole minute
        "MNQ,2025-06-11T13:33:00Z,20000,2000l,19999,20000.5,1",  # 5: not a number
        "MNQ,2025-06-11T13:34:00Z,20000,20001,19999,20000.5,-3",  # 6: negative volume
        "MNQ,2025-06-11T13:35:00Z,20000,20001,19999,20000.5,1.5",  # 7: part of a contract
        "MNQ,yesterday,20000,20001,19999,20000.5,1",  # 8: not a time
        "MNQ,2025-06-11T13:36:00Z,20000,20001",  # 9: fields missing
        "MNQ,2025-06-11T13:37:00Z,20000,20001,19999,20002,1",  # 10: close above high
        "MNQ,2025-06-11T13:38:00Z,nan,20001,19999,20000,1",  # 11: not finite
        "M-Q,2025-06-11T13:39:00Z,20000,20001,19999,20000,1",  # 12: not a symbol
        "MNQ,2025-06-11T13:40:00Z,20000,20001,19999,20000,1",  # 13: good
        "MNQ,2025-06-11T13:40:00Z,20000,20001,19999,20000.25,1",  # 14: the same minute, other values
    )
    problems = _problems(path)
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in [*range(2, 13), 14]]
    text = "\n".join(problems)
    for words in ("out of order", "no time zone", "--tz", "whole minute", "'2000l' is not a number", "'-3'",
                  "'1.5'", "not an ISO-8601 time", "4 fields, the header has 7", "finite", "'M-Q'",
                  "also on line 13"):  # fmt: skip
        assert words in text


def test_naive_times_need_tz_and_take_it(tmp_path: Path) -> None:
    path = _file(tmp_path, "MNQ,2025-06-11 09:30:00,20000,20001,19999,20000,1", "MNQ,2025-01-10T09:30,1,1,1,1,1")
    assert "no time zone" in _problems(path)[0]
    bars = load_csv(path, "America/New_York")["MNQ"]
    assert list(bars.ts) == [
        ns(datetime(2025, 1, 10, 14, 30, tzinfo=UTC)),
        ns(datetime(2025, 6, 11, 13, 30, tzinfo=UTC)),
    ]
    with pytest.raises(ValueError, match="not a time zone"):
        load_csv(path, "Mars/Olympus")


def test_a_wall_time_a_clock_change_skips_or_repeats_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, "MNQ,2025-03-09T02:30:00,1,1,1,1,1", "MNQ,2025-11-02T01:30:00,1,1,1,1,1")
    problems = _problems(path, "America/New_York")
    assert [p.split(":")[0] for p in problems] == ["line 2", "line 3"]
    assert all("clock change" in p for p in problems)


def test_a_missing_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("symbol,ts,open,high,low,close\nMNQ,2025-06-11T13:30:00Z,1,1,1,1\n")
    assert _problems(path) == ["line 1: missing column(s) volume in the header"]


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    good = f"{HEADER}\nMNQ,2025-06-11T13:30:00Z,1,1,1,1,1".encode()
    path.write_bytes(good + b"\xff\n")
    assert _problems(path) == [f"byte {len(good)}: not UTF-8 text (save the file as UTF-8 CSV)"]


def test_many_problems_show_the_first_ones_and_count_the_rest(tmp_path: Path) -> None:
    rows = [f"MNQ,2025-06-11T13:{m:02d}:00Z,1,1,2,1,1" for m in range(45)]
    with pytest.raises(BarFileError) as caught:
        load_csv(_file(tmp_path, *rows))
    assert len(caught.value.problems) == SHOWN_PROBLEMS and caught.value.count == 45
    assert str(caught.value).endswith(f"… and {45 - SHOWN_PROBLEMS} more")


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=good_rows(), data=st.data())
def test_any_corrupted_row_fails_the_file_naming_its_line(
    tmp_path: Path, rows: list[list[str]], data: st.DataObject
) -> None:
    path = tmp_path / "bars.csv"
    write_rows(path, rows)
    assert sum(len(a.ts) for a in load_csv(path).values()) == len(rows)
    index = data.draw(st.integers(0, len(rows) - 1), label="row")
    kind = data.draw(st.sampled_from(sorted(CORRUPTIONS)), label="corruption")
    write_rows(path, corrupt(rows, index, kind))
    problems = _problems(path)
    assert problems[0].startswith(f"line {index + 2}: "), (kind, problems)
