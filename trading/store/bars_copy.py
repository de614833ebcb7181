"""Bars as Postgres binary COPY data, built from columns (numpy arrays), never one object per bar.

One bar is a fixed-size record when the batch shares its contract and timeframe: numpy writes a whole
chunk of them at once (big-endian fields, each with its length), ~100 bytes a bar. `chunks` yields the
COPY stream (header, rows, trailer) in pieces, so 1M bars never sit in memory as one 100 MB buffer.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

# COPY BINARY: the signature, flags (no OIDs), header extension length; a tuple count of -1 ends it.
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
# timestamptz on the wire: microseconds since 2000-01-01 UTC.
PG_EPOCH_US = 946_684_800_000_000
PRICES = ("open", "high", "low", "close", "volume")
# Rows per piece (~2 MB): the server works on one piece while the next is built. Measured (bench bars_pg
# --quick, 3 repetitions each, same hour): new bars at 0.89x the prebuilt-payload floor with 100k-row
# and 400k-row pieces, 0.96x with 20k, within noise of it with 5k.
CHUNK = 20_000

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def _layout(contract_id: bytes, timeframe: bytes) -> np.dtype[np.void]:
    fields: list[tuple[str, str]] = [
        ("fields", ">i2"),
        ("contract_len", ">i4"),
        ("contract", f"S{len(contract_id)}"),
        ("timeframe_len", ">i4"),
        ("timeframe", f"S{len(timeframe)}"),
        ("start_len", ">i4"),
        ("start", ">i8"),
    ]
    for name in PRICES:
        fields += [(f"{name}_len", ">i4"), (name, ">f8")]
    return np.dtype(fields)


def chunks(
    contract_id: str, timeframe: str, ts: I64, columns: tuple[F64, F64, F64, F64, F64], chunk: int = CHUNK
) -> Iterator[bytes]:
    """The COPY BINARY stream of `(contract_id, timeframe, start, open, high, low, close, volume)` rows.

    `ts` is each bar's start in ns since the epoch (UTC); Postgres keeps microseconds, so anything below
    a microsecond is dropped (bars start on whole minutes)."""
    cid, tf = contract_id.encode(), timeframe.encode()
    if not cid or not tf:
        raise ValueError("a bar needs a contract id and a timeframe")
    layout = _layout(cid, tf)
    # The fields every row shares (field count, lengths, contract, timeframe) are one template row,
    # repeated by a bytes copy; only the six value columns are then written field by field (0.19 s
    # against 0.30 s for 1M rows when all thirteen were).
    one = np.zeros(1, dtype=layout)
    one["fields"] = 8
    one["contract_len"], one["contract"] = len(cid), cid
    one["timeframe_len"], one["timeframe"] = len(tf), tf
    one["start_len"] = 8
    for name in PRICES:
        one[f"{name}_len"] = 8
    template = one.tobytes()
    n = len(ts)
    yield HEADER
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        buffer = bytearray(template * (hi - lo))
        rows = np.frombuffer(buffer, dtype=layout)
        rows["start"] = ts[lo:hi] // 1000 - PG_EPOCH_US
        for name, column in zip(PRICES, columns, strict=True):
            rows[name] = column[lo:hi]
        yield bytes(buffer)
    yield TRAILER


def last_of_each(ts: I64) -> I64 | None:
    """Indices that keep the last copy of each start, in start order; None when `ts` is already strictly
    increasing (the usual batch: nothing to drop or reorder)."""
    if len(ts) < 2 or bool(np.all(ts[1:] > ts[:-1])):
        return None
    order = np.argsort(ts, kind="stable")
    s = ts[order]
    keep = np.r_[s[1:] != s[:-1], True]
    out: I64 = order[keep]
    return out
