"""Scheduled news events and their blackout windows (pure: no clock, no I/O beyond reading the file).

The trader keeps a TOML file (config/news.toml is an example) with one `[[event]]` per release:

    [[event]]
    name = "FOMC"
    date = 2026-03-18        # a date (TOML date or "YYYY-MM-DD"): the day in New York
    time = "14:00"           # the release, New York wall time (ET), 24-hour; no offset, no zone
    minutes_before = 10      # optional: this event's window opens this long before (default: [blackout])
    minutes_after = 30       # optional: and closes this long after
    # end = "15:00"          # optional instead of minutes_after: the window's end, ET, the same day

A window is [release - before, release + after) in absolute time: across a DST change its length is
what the file says. A time that does not exist in New York (the spring-forward hour) or exists twice
(the fall-back hour) is refused rather than guessed. Any problem names the event and what is wrong;
a file with problems is refused whole.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from trading.calendar import NY, to_ny

KEYS = frozenset({"name", "date", "time", "minutes_before", "minutes_after", "end"})
MAX_MINUTES = 720


class NewsFileError(ValueError):
    """The news file cannot be used; `problems` holds one line per problem, each naming its event."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class NewsEvent:
    name: str
    release: datetime  # UTC
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive

    def __contains__(self, ts: datetime) -> bool:
        return self.start <= ts < self.end

    @property
    def key(self) -> str:
        """Stable across reloads: names one release (a notification's dedupe key)."""
        return f"{self.name}@{self.release.isoformat()}"

    def release_ny(self) -> str:
        return f"{to_ny(self.release):%a %Y-%m-%d %H:%M} ET"

    def window_ny(self) -> str:
        return f"{to_ny(self.start):%H:%M}–{to_ny(self.end):%H:%M} ET"


@dataclass(frozen=True, slots=True)
class NewsCalendar:
    events: tuple[NewsEvent, ...] = ()

    def at(self, ts: datetime) -> NewsEvent | None:
        """The event whose window holds `ts` (the one released first, when windows overlap)."""
        return next((e for e in self.events if ts in e), None)

    def upcoming(self, ts: datetime) -> NewsEvent | None:
        """The next window that has not ended by `ts`."""
        return next((e for e in self.events if e.end > ts), None)


def window(release: datetime, before: timedelta, after: timedelta) -> tuple[datetime, datetime]:
    return release - before, release + after


def ny_release(day: date, at: time) -> datetime:
    """`at` on `day` in New York, as UTC; ValueError when that wall time does not exist or is ambiguous."""
    local = datetime.combine(day, at, NY)
    back = local.astimezone(UTC).astimezone(NY)
    if back.replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValueError(f"{at:%H:%M} does not exist in New York on {day} (the clocks spring forward)")
    if local.replace(fold=1).utcoffset() != local.utcoffset():
        raise ValueError(f"{at:%H:%M} happens twice in New York on {day} (the clocks fall back): pick another time")
    return local.astimezone(UTC)


def load_news(path: Path | str, minutes_before: int, minutes_after: int) -> NewsCalendar:
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise NewsFileError(str(p), [f"cannot read the file ({exc.strerror or exc})"]) from None
    return parse_news(text, str(p), minutes_before, minutes_after)


def parse_news(text: str, source: str, minutes_before: int, minutes_after: int) -> NewsCalendar:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise NewsFileError(source, [f"not valid TOML: {exc}"]) from None
    problems = [f"unknown section or key {k!r} (the file holds [[event]] entries only)" for k in data if k != "event"]
    raw = data.get("event", [])
    if not isinstance(raw, list):
        raise NewsFileError(source, [*problems, "`event` must be a list of [[event]] tables"])
    events: list[NewsEvent] = []
    for i, entry in enumerate(raw, 1):
        label = _label(i, entry)
        try:
            events.append(_event(entry, minutes_before, minutes_after))
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise NewsFileError(source, problems)
    return NewsCalendar(tuple(sorted(events, key=lambda e: (e.start, e.release, e.name))))


def _label(i: int, entry: object) -> str:
    if isinstance(entry, Mapping):
        name, day = entry.get("name"), entry.get("date")
        if name is not None or day is not None:
            return f"event {i} ({name or '?'} on {day or '?'})"
    return f"event {i}"


def _event(entry: object, default_before: int, default_after: int) -> NewsEvent:
    if not isinstance(entry, Mapping):
        raise ValueError("must be a table of name, date, time")
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(KEYS))})")
    missing = [k for k in ("name", "date", "time") if k not in entry]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    name = entry["name"]
    if not isinstance(name, str) or not name.strip():
        raise ValueError("name must be a non-empty string")
    day = _date(entry["date"])
    release = ny_release(day, _time(entry["time"], "time"))
    before = timedelta(minutes=_minutes(entry, "minutes_before", default_before))
    if "end" in entry and "minutes_after" in entry:
        raise ValueError("give either end or minutes_after, not both")
    if "end" in entry:
        end = ny_release(day, _time(entry["end"], "end"))
        after = end - release
    else:
        after = timedelta(minutes=_minutes(entry, "minutes_after", default_after))
    start, stop = window(release, before, after)
    if stop <= start:
        raise ValueError(f"the window ends ({to_ny(stop):%H:%M} ET) before it starts ({to_ny(start):%H:%M} ET)")
    return NewsEvent(name.strip(), release, start, stop)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError("date must be a date alone (give the time in `time`, New York)")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"date {value!r} is not a date like 2026-03-18")


def _time(value: Any, key: str) -> time:
    if isinstance(value, time):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = time.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{key} {value!r} is not a time like 08:30 (New York, 24-hour)") from None
    else:
        raise ValueError(f"{key} {value!r} is not a time like 08:30 (New York, 24-hour)")
    if parsed.tzinfo is not None:
        raise ValueError(f"{key} {value!r} carries an offset: give New York wall time (ET) without one")
    return parsed


def _minutes(entry: Mapping[str, Any], key: str, default: int) -> int:
    value = entry.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MINUTES:
        raise ValueError(f"{key} must be a whole number of minutes from 0 to {MAX_MINUTES}, got {value!r}")
    return value


def file_problems(exc: NewsFileError) -> list[str]:
    """The problems as configuration problems (one line each, naming the setting and the file)."""
    return [f"blackout.file {exc.source}: {p}" for p in exc.problems]


def describe(events: Iterable[NewsEvent]) -> list[str]:
    """One line per window, for `tradebot config check`."""
    return [f"{e.name}: {e.release_ny()}, window {e.window_ny()}" for e in events]
