"""The checks every row of a bar CSV passes: a symbol, a time with its zone (or `--tz`) on a whole
minute, finite numbers, low <= open, close <= high, a volume in whole contracts.

Two readers of the same rules: `Columns.of` checks whole columns at C speed and is strict (anything out
of the ordinary fails there: a space around a field, fractional seconds, an unusual time format);
`row` judges one row on its own in Python and words the problem, or finds the row good after all.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import numpy as np
import numpy.typing as npt

from trading.marketdata.levels import ns

COLUMNS = ("symbol", "ts", "open", "high", "low", "close", "volume")
SYMBOL = re.compile(r"[A-Z0-9]{1,16}")  # a contract root, upper case
FIRST_YEAR, END_YEAR = 1970, 2200
NAT = np.iinfo(np.int64).min  # pandas' NaT as int64
FIRST_S, END_S = 0, int(datetime(END_YEAR, 1, 1, tzinfo=UTC).timestamp())

Row = tuple[int, float, float, float, float, float]  # ns since the epoch, open, high, low, close, volume


def zone(name: str) -> tzinfo:
    """The IANA time zone `name` (for `--tz`), or a ValueError that says so."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"--tz {name!r} is not a time zone (use an IANA name such as America/New_York)") from None


def row(fields: Mapping[str, str], tz: tzinfo | None) -> tuple[str, Row]:
    """(symbol, row) of one CSV row given by column name, or a ValueError naming what is wrong."""
    symbol = fields["symbol"].strip().upper()
    if not SYMBOL.fullmatch(symbol):
        raise ValueError(f"symbol {fields['symbol']!r} is not a contract root such as MNQ")
    start = _time(fields["ts"].strip(), tz)
    o, h, lo, c, v = (_number(name, fields[name].strip()) for name in COLUMNS[2:])
    if not lo <= min(o, c) <= max(o, c) <= h:
        raise ValueError(f"prices out of order: need low <= open, close <= high (open {o:g}, high {h:g}, "
                         f"low {lo:g}, close {c:g})")  # fmt: skip
    if v < 0 or v != int(v):
        raise ValueError(f"volume {fields['volume'].strip()!r} is not a whole number of contracts >= 0")
    return symbol, (ns(start), o, h, lo, c, v)


def _number(field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{field} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{field} {text!r} is not a finite number")
    return value


def _time(text: str, tz: tzinfo | None) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"ts {text!r} is not an ISO-8601 time (e.g. 2025-06-11T13:30:00Z)") from None
    if t.tzinfo is None:
        if tz is None:
            raise ValueError(
                f"ts {text!r} has no time zone: write it with one (Z, -05:00) or give --tz, e.g. --tz America/New_York"
            )
        t = t.replace(tzinfo=tz)
        if t.utcoffset() != t.replace(fold=1).utcoffset():  # the hour a clock change skips or repeats
            raise ValueError(f"ts {text!r} does not name one instant in {tz} (a clock change): write its offset")
    if not FIRST_YEAR <= t.year < END_YEAR:
        raise ValueError(f"ts {text!r} is outside the years {FIRST_YEAR} to {END_YEAR - 1}")
    if t.second or t.microsecond:
        raise ValueError(f"ts {text!r} is not on a whole minute (1-minute bars start at :00 seconds)")
    return t.astimezone(UTC)


@dataclass
class Columns:
    """The rows as checked columns: `ok[i]` when row i passed every check (its values then filled in)."""

    ok: npt.NDArray[np.bool_]
    symbol: npt.NDArray[np.object_]
    ns: npt.NDArray[np.int64]
    values: list[npt.NDArray[np.float64]]  # open, high, low, close, volume

    @classmethod
    def of(cls, text: Mapping[str, Any], tz: tzinfo | None) -> Columns:
        """`text`: each of COLUMNS as a pandas Series, one entry per row (strings; numbers for a number
        column already parsed)."""
        import pandas as pd

        raw = text["symbol"]
        upper = {s: str(s).upper() for s in pd.unique(raw)}  # a file holds few symbols: each checked once
        symbol = raw.map(upper)
        ok = np.array(symbol.isin([u for u in upper.values() if SYMBOL.fullmatch(u)]), dtype=bool)
        seconds = _seconds(text["ts"], tz)
        ok &= (seconds != NAT) & (seconds >= FIRST_S) & (seconds < END_S) & (seconds % 60 == 0)
        values = [_numbers(text[c]) for c in COLUMNS[2:]]
        o, h, lo, c, v = values
        with np.errstate(invalid="ignore"):
            ok &= np.isfinite(np.stack(values)).all(axis=0) & (v >= 0) & (v == np.floor(v))
            ok &= (lo <= np.minimum(o, c)) & (np.maximum(o, c) <= h)
        return cls(ok, np.array(symbol, dtype=object), np.where(ok, seconds, 0) * 1_000_000_000, values)

    def set(self, i: int, symbol: str, good: Row) -> None:
        """Row i as `row` read it (good after all)."""
        self.ok[i], self.symbol[i], self.ns[i] = True, symbol, good[0]
        for k, column in enumerate(self.values):
            column[i] = good[k + 1]

    def frame(self, lines: npt.NDArray[np.int64]) -> Any:
        """The good rows as a DataFrame: symbol, ns, open … volume, line."""
        import pandas as pd

        ok = self.ok
        data: dict[str, Any] = {"symbol": self.symbol[ok], "ns": self.ns[ok]}
        data.update({name: column[ok] for name, column in zip(COLUMNS[2:], self.values, strict=True)})
        data["line"] = lines[ok]
        return pd.DataFrame(data)


def _numbers(column: Any) -> npt.NDArray[np.float64]:
    """A column as numbers (a copy: `set` writes into it); NaN where an entry is none. A column the CSV
    reader took for true/false holds no number: all NaN, each row judged on its own."""
    import pandas as pd

    if column.dtype.kind in "iuf":
        return np.array(column, dtype=np.float64)
    if column.dtype.kind == "b":
        return np.full(len(column), np.nan)
    return np.array(pd.to_numeric(column, errors="coerce"), dtype=np.float64)


def _seconds(texts: Any, tz: tzinfo | None) -> npt.NDArray[np.int64]:
    """Seconds since the epoch of ISO-8601 times written with their offset (Z or ±HH:MM), and of those
    written without one when `tz` is given; `NAT` for the rest (and for any time with a fraction)."""
    import pandas as pd

    stamps = np.asarray(texts, dtype=str)
    out = np.full(len(stamps), NAT, dtype=np.int64)
    n = np.strings.str_len(stamps)
    sign = np.maximum(np.strings.rfind(stamps, "+"), np.strings.rfind(stamps, "-"))
    plain = np.strings.find(stamps, ".") < 0
    zoned = plain & (np.strings.endswith(stamps, "Z") | ((sign == n - 6) & (np.strings.rfind(stamps, ":") == n - 3)))
    # A parse that fails as a whole (pandas refuses to mix zoned and naive forms) leaves its rows to `row`.
    with contextlib.suppress(ValueError, TypeError):
        if zoned.any():
            out[zoned] = _epoch_s(pd.to_datetime(texts[zoned], utc=True, format="ISO8601", errors="coerce"))
    naive = plain & ~zoned
    with contextlib.suppress(ValueError, TypeError):
        if tz is not None and naive.any():
            local = pd.to_datetime(texts[naive], format="ISO8601", errors="coerce")
            if local.dt.tz is None:
                out[naive] = _epoch_s(local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT"))
    return out


def _epoch_s(stamps: Any) -> npt.NDArray[np.int64]:
    return np.asarray(stamps.dt.tz_convert("UTC").astype("datetime64[s, UTC]").astype("int64"), dtype=np.int64)
