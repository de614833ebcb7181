"""The news file and its blackout windows (trading/news.py): parsing, New York times across DST,
clear errors naming the event, and window membership (hypothesis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trading.calendar import NY
from trading.config import ROOT
from trading.news import NewsFileError, load_news, ny_release, parse_news


def one(body: str, before: int = 5, after: int = 5) -> tuple[datetime, datetime, datetime]:
    [e] = parse_news("[[event]]\n" + body, "news.toml", before, after).events
    return e.start, e.release, e.end


def problems(text: str) -> list[str]:
    with pytest.raises(NewsFileError) as caught:
        parse_news(text, "news.toml", 5, 5)
    return caught.value.problems


def test_a_release_in_new_york_winter_and_summer_time() -> None:
    start, release, end = one('name = "CPI"\ndate = 2026-02-11\ntime = "08:30"')
    assert release == datetime(2026, 2, 11, 13, 30, tzinfo=UTC)  # EST: UTC-5
    assert (start, end) == (release - timedelta(minutes=5), release + timedelta(minutes=5))
    _, summer, _ = one('name = "CPI"\ndate = "2026-07-14"\ntime = 08:30:00')
    assert summer == datetime(2026, 7, 14, 12, 30, tzinfo=UTC)  # EDT: UTC-4


def test_the_event_may_set_its_own_window_or_its_end() -> None:
    start, release, end = one('name = "FOMC"\ndate = 2026-03-18\ntime = "14:00"\nminutes_before = 10\nend = "15:00"')
    assert release - start == timedelta(minutes=10) and end - release == timedelta(hours=1)
    start, release, end = one('name = "NFP"\ndate = 2026-04-03\ntime = "08:30"\nminutes_after = 0', before=2)
    assert (release - start, end) == (timedelta(minutes=2), release)


def test_dst_days_keep_absolute_windows_and_refuse_the_skipped_and_repeated_hours() -> None:
    # 2026-03-08: 02:00 EST becomes 03:00 EDT. A window across the change is as long as the file says.
    start, release, _ = one('name = "X"\ndate = 2026-03-08\ntime = "03:30"\nminutes_before = 90')
    assert release == datetime(2026, 3, 8, 7, 30, tzinfo=UTC) and release - start == timedelta(minutes=90)
    assert start.astimezone(NY).time() == time(1, 0)  # 01:00 EST: the wall clock shows 2 h 30 min
    with pytest.raises(ValueError, match="does not exist"):
        ny_release(date(2026, 3, 8), time(2, 30))
    with pytest.raises(ValueError, match="happens twice"):
        ny_release(date(2026, 11, 1), time(1, 30))  # 2026-11-01: 02:00 EDT falls back to 01:00 EST
    assert ny_release(date(2026, 11, 1), time(8, 30)) == datetime(2026, 11, 1, 13, 30, tzinfo=UTC)


def test_every_problem_names_its_event_and_nothing_is_loaded() -> None:
    text = """
[[event]]
name = "CPI"
date = 2026-02-11
time = "08:30"

[[event]]
name = "FOMC"
date = "2026-13-40"
time = "14:00"

[[event]]
name = "NFP"
date = 2026-02-06
time = "08:30-05:00"

[[event]]
name = "PPI"
date = 2026-02-12
time = "08:30"
when = "soon"

[[event]]
name = "GDP"
date = 2026-02-26
time = "10:00"
minutes_before = 0
end = "09:00"

[[event]]
name = "ISM"
date = 2026-03-08
time = "02:30"
"""
    found = problems(text)
    assert len(found) == 5
    assert found[0].startswith("event 2 (FOMC on 2026-13-40): date ") and "not a date" in found[0]
    assert found[1].startswith("event 3 (NFP on 2026-02-06): time ") and "offset" in found[1]
    assert found[2].startswith("event 4 (PPI on 2026-02-12): unknown key(s) when")
    assert found[3].startswith("event 5 (GDP on 2026-02-26): the window ends (09:00 ET) before it starts (10:00 ET)")
    assert found[4].startswith("event 6 (ISM on 2026-03-08): 02:30 does not exist in New York")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[[event]]\nname = "X"\ndate = 2026-02-11T08:30:00\ntime = "08:30"', "a date alone"),
        ('[[event]]\nname = "X"\ndate = 2026-02-11\ntime = 2026-02-11T08:30:00-05:00', "not a time"),
        ('[[event]]\nname = "X"\ndate = 2026-02-11\ntime = "8.30am"', "not a time like 08:30"),
        ('[[event]]\nname = "X"\ndate = 2026-02-11', "missing time"),
        ('[[event]]\nname = "X"\ndate = 2026-02-11\ntime = "08:30"\nminutes_after = -5', "0 to 720"),
        ('[[event]]\nname = ""\ndate = 2026-02-11\ntime = "08:30"', "non-empty"),
        ("[settings]\nx = 1", "unknown section or key 'settings'"),
        ("[[event]\nname = 1", "not valid TOML"),
    ],
)
def test_bad_entries_are_refused_with_what_is_wrong(text: str, said: str) -> None:
    assert any(said in p for p in problems(text)), problems(text)


def test_the_shipped_example_reads_and_a_missing_file_is_said(tmp_path: Path) -> None:
    calendar = load_news(ROOT / "config" / "news.toml", 5, 5)
    assert [e.name for e in calendar.events] == ["CPI", "FOMC", "NFP"]  # in time order
    with pytest.raises(NewsFileError, match="cannot read the file"):
        load_news(tmp_path / "absent.toml", 5, 5)


RELEASES = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


@given(
    release=RELEASES,
    before=st.integers(0, 720),
    after=st.integers(0, 720),
    probe=st.integers(-2000 * 60, 2000 * 60),
)
def test_membership_is_the_half_open_window_around_the_release(
    release: datetime, before: int, after: int, probe: int
) -> None:
    body = f'name = "E"\ndate = {release.date().isoformat()}\ntime = "{release:%H:%M}"\n'
    body += f"minutes_before = {before}\nminutes_after = {after}"
    try:
        [e] = parse_news("[[event]]\n" + body, "news.toml", 5, 5).events
    except NewsFileError as exc:  # only the DST-skipped or -repeated hours, and empty windows
        assert before + after == 0 or "New York" in str(exc) or "ends" in str(exc)
        return
    assert e.release.astimezone(NY).replace(tzinfo=None) == release
    ts = e.release + timedelta(seconds=probe)
    inside = -before * 60 <= probe < after * 60
    assert (ts in e) is inside
    calendar = parse_news("[[event]]\n" + body, "news.toml", 5, 5)
    assert (calendar.at(ts) is not None) is inside
