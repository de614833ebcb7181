"""Bar input for backtests: `Bar`s to per-symbol arrays, and the CSV of 1-minute bars
(`symbol,ts,open,high,low,close,volume`, ts ISO-8601 with its offset) read, every row checked, and
written."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from trading.backtest.bar_checks import COLUMNS, Columns, row, zone
from trading.domain import Bar
from trading.marketdata.aggregation import BarArrays
from trading.marketdata.levels import ns

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_ns(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value) // 1000)


def arrays_from_bars(bars: Iterable[Bar]) -> dict[str, BarArrays]:
    """Group `Bar`s by `contract_id` (the symbol in a backtest), sorted, duplicates dropped (last wins)."""
    rows: dict[str, list[tuple[int, float, float, float, float, float]]] = {}
    for b in bars:
        rows.setdefault(b.contract_id, []).append((ns(b.start), b.open, b.high, b.low, b.close, b.volume))
    return {sym: _to_arrays(r) for sym, r in rows.items()}


def _to_arrays(rows: list[tuple[int, float, float, float, float, float]]) -> BarArrays:
    dedup = dict((r[0], r) for r in rows)
    ordered = [dedup[k] for k in sorted(dedup)]
    ts = np.array([r[0] for r in ordered], dtype=np.int64)
    f = [np.array([r[k] for r in ordered], dtype=np.float64) for k in range(1, 6)]
    return BarArrays(ts, f[0], f[1], f[2], f[3], f[4])


class BarFileError(ValueError):
    """A bar CSV with bad rows: every problem found, each with its line; nothing of the file is used."""

    def __init__(self, path: Path | str, problems: list[str], count: int) -> None:
        self.path = str(path)
        self.problems = problems  # the first SHOWN_PROBLEMS lines
        self.count = count  # all of them
        more = f"\n  … and {count - len(problems)} more" if count > len(problems) else ""
        rows = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{path}: {count} problem(s), nothing loaded:\n{rows}{more}")


SHOWN_PROBLEMS = 20


def load_csv(path: Path | str, tz: str | None = None) -> dict[str, BarArrays]:
    """`symbol,ts,open,high,low,close,volume` (a header line first, columns in any order, more allowed),
    every row checked (trading/backtest/bar_checks.py; `tz`: the zone of times written without one).
    Any bad row raises `BarFileError` listing the problems with their lines; symbols in any case.

    The checks run on whole columns (a year of bars in about a second); a row they cannot vouch for is
    judged again on its own, which words the problem (or finds the row good after all)."""
    zone_of_naive = zone(tz) if tz else None
    read = _read(path)
    lines, problems = read.lines, read.problems
    checked = Columns.of(read.columns, zone_of_naive)
    for i in np.flatnonzero(~checked.ok):
        try:
            symbol, good = row(read.fields(int(i)), zone_of_naive)
        except ValueError as exc:
            problems.append((int(lines[i]), str(exc)))
        else:
            checked.set(int(i), symbol, good)
    frame = checked.frame(lines)
    problems += _conflicts(frame)
    if problems:
        problems.sort()
        shown = [f"line {line}: {what}" for line, what in problems[:SHOWN_PROBLEMS]]
        raise BarFileError(path, shown, len(problems))
    frame = frame.drop_duplicates(["symbol", "ns"], keep="last").sort_values(["symbol", "ns"], kind="stable")
    return {
        str(sym): BarArrays(g["ns"].to_numpy(np.int64), *(g[c].to_numpy(np.float64) for c in COLUMNS[2:]))
        for sym, g in frame.groupby("symbol", sort=True)
    }


@dataclass
class _Read:
    """The rows with as many fields as the header: `columns` (pandas Series by column name: text, or
    numbers where a column's every entry is one) and each row's line; a row with another count is a
    problem already, a blank line no row."""

    lines: npt.NDArray[np.int64]
    columns: dict[str, Any]
    problems: list[tuple[int, str]]
    written: Callable[[int], list[str]]  # row i's fields as written
    at: dict[str, int]

    def fields(self, i: int) -> dict[str, str]:
        written = self.written(i)
        return {c: written[self.at[c]] for c in COLUMNS}


def _read(path: Path | str) -> _Read:
    try:
        content = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BarFileError(path, [f"byte {exc.start}: not UTF-8 text (save the file as UTF-8 CSV)"], 1) from None
    first, _, body = content.partition("\n")
    header = [h.strip().lower() for h in next(csv.reader([first]), [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise BarFileError(path, [f"line 1: missing column(s) {', '.join(missing)} in the header"], 1)
    at = {c: header.index(c) for c in COLUMNS}
    if '"' in body:  # quoted fields may hold commas or span lines: the csv module's reader, row by row
        return _read_quoted(body, at, len(header))
    return _read_plain(body, at, len(header))


def _read_plain(body: str, at: dict[str, int], width: int) -> _Read:
    """No quotes: a row is its line split at the commas, which pandas' C reader does for all at once."""
    raw = body.split("\n")
    lines = np.asarray(raw, dtype=str)
    commas = np.strings.count(lines, ",")
    blank = np.strings.str_len(np.strings.strip(lines)) == 0
    good = (commas == width - 1) & ~blank
    problems = [(int(i) + 2, f"{commas[i] + 1} fields, the header has {width}") for i in np.flatnonzero(~good & ~blank)]
    numbers = np.flatnonzero(good) + 2
    kept = list(itertools.compress(raw, good))
    written: Callable[[int], list[str]] = lambda i: kept[i].split(",")  # noqa: E731 (only refused rows)
    if not kept:
        return _Read(numbers, {c: _strings([]) for c in COLUMNS}, problems, written, at)
    import pandas as pd

    # Symbol and time as text; the numbers parsed by the C reader (a column with a bad entry stays text).
    text_columns = {at["symbol"]: str, at["ts"]: str}
    frame = pd.read_csv(
        io.StringIO("\n".join(kept)), header=None, dtype=text_columns, na_filter=False, quoting=csv.QUOTE_NONE
    )
    return _Read(numbers, {c: frame[at[c]] for c in COLUMNS}, problems, written, at)


def _read_quoted(body: str, at: dict[str, int], width: int) -> _Read:
    reader = csv.reader(io.StringIO(body))
    numbers: list[int] = []
    rows: list[list[str]] = []
    problems: list[tuple[int, str]] = []
    for fields in reader:
        if len(fields) == width:
            numbers.append(reader.line_num + 1)
            rows.append(fields)
        elif any(f.strip() for f in fields):
            problems.append((reader.line_num + 1, f"{len(fields)} fields, the header has {width}"))
    columns = {c: _strings([r[at[c]] for r in rows]) for c in COLUMNS}
    return _Read(np.asarray(numbers, dtype=np.int64), columns, problems, rows.__getitem__, at)


def _strings(values: list[str]) -> Any:
    import pandas as pd

    return pd.Series(values, dtype=object)


def _conflicts(frame: Any) -> list[tuple[int, str]]:
    """The rows that give a symbol's minute other values than an earlier row did."""
    twice = frame[frame.duplicated(["symbol", "ns"], keep=False)].sort_values("line")
    seen: dict[tuple[str, int], tuple[int, tuple[float, ...]]] = {}
    found: list[tuple[int, str]] = []
    for r in twice.itertuples(index=False):
        key, values = (r.symbol, int(r.ns)), (r.open, r.high, r.low, r.close, r.volume)
        before = seen.get(key)
        if before is not None and before[1] != values:
            found.append((int(r.line), f"{r.symbol} {from_ns(key[1]):%Y-%m-%d %H:%M} UTC is also on line "
                          f"{before[0]} with other values"))  # fmt: skip
        seen[key] = (int(r.line), values)
    return found


def write_csv(path: Path | str, bars: Mapping[str, BarArrays]) -> None:
    with Path(path).open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["symbol", "ts", "open", "high", "low", "close", "volume"])
        for sym, a in bars.items():
            for i in range(len(a.ts)):
                w.writerow(
                    [sym, from_ns(int(a.ts[i])).isoformat().replace("+00:00", "Z"), repr(float(a.open[i])),
                     repr(float(a.high[i])), repr(float(a.low[i])), repr(float(a.close[i])), str(int(a.volume[i]))]
                )  # fmt: skip
