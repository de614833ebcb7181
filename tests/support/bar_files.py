"""Bar CSV files for the import tests: valid files drawn by hypothesis, and one row of them corrupted in
a named way (each way makes that row, and only that row, bad)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

HEADER = ["symbol", "ts", "open", "high", "low", "close", "volume"]
FIRST = datetime(2025, 6, 11, 13, 30, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
TICK = 0.25


@st.composite
def _row(draw: st.DrawFn, minute: int) -> list[str]:
    symbol = draw(st.sampled_from(["MNQ", "mnq", "MES", "Mes"]))
    start = FIRST + timedelta(minutes=minute)
    stamp = draw(st.sampled_from([
        start.isoformat().replace("+00:00", "Z"), start.isoformat(sep=" "), start.astimezone(NEW_YORK).isoformat(),
    ]))  # fmt: skip
    low = draw(st.integers(4000, 80000)) * TICK
    high = low + draw(st.integers(0, 200)) * TICK
    ticks = int((high - low) / TICK)
    o, c = (low + draw(st.integers(0, ticks)) * TICK for _ in range(2))
    volume = draw(st.integers(0, 5000))
    return [symbol, stamp, f"{o}", f"{high}", f"{low}", f"{c}", str(volume)]


@st.composite
def good_rows(draw: st.DrawFn) -> list[list[str]]:
    """1 to 30 valid rows, one minute each (a minute per row: no two rows share symbol and minute)."""
    minutes = draw(st.lists(st.integers(0, 60 * 24 * 10), min_size=1, max_size=30, unique=True))
    return [draw(_row(m)) for m in minutes]


def _field(name: str, value: Callable[[list[str]], str]) -> Callable[[list[str]], list[str]]:
    at = HEADER.index(name)
    return lambda row: [*row[:at], value(row), *row[at + 1 :]]


def _ts(row: list[str]) -> datetime:
    return datetime.fromisoformat(row[1].replace("Z", "+00:00"))


CORRUPTIONS: dict[str, Callable[[list[str]], list[str]]] = {
    "high below low": _field("high", lambda r: f"{float(r[4]) - TICK}"),
    "close above high": _field("close", lambda r: f"{float(r[3]) + TICK}"),
    "no time zone": _field("ts", lambda r: _ts(r).astimezone(UTC).replace(tzinfo=None).isoformat()),
    "off the minute": _field("ts", lambda r: (_ts(r) + timedelta(seconds=30)).isoformat()),
    "not a time": _field("ts", lambda r: "2025-13-01T09:30:00Z"),
    "not a number": _field("open", lambda r: r[2].replace(".", ",") + "x"),
    "negative volume": _field("volume", lambda r: "-1"),
    "fractional volume": _field("volume", lambda r: "2.5"),
    "a field missing": lambda r: r[:-1],
    "no symbol": _field("symbol", lambda r: ""),
}


def corrupt(rows: list[list[str]], index: int, kind: str) -> list[list[str]]:
    return [CORRUPTIONS[kind](r) if i == index else r for i, r in enumerate(rows)]


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
