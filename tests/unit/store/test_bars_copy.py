"""The binary COPY stream built from bar columns, read back field by field as Postgres would."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import numpy as np
import pytest

from trading.store.bars_copy import HEADER, TRAILER, chunks, last_of_each

T0 = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
NS0 = int(T0.timestamp()) * 1_000_000_000
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _read(data: bytes) -> list[tuple[object, ...]]:
    assert data.startswith(HEADER) and data.endswith(TRAILER)
    pos = len(HEADER)
    rows: list[tuple[object, ...]] = []
    while True:
        (n,) = struct.unpack_from(">h", data, pos)
        pos += 2
        if n == -1:
            return rows
        fields: list[bytes] = []
        for _ in range(n):
            (size,) = struct.unpack_from(">i", data, pos)
            fields.append(data[pos + 4 : pos + 4 + size])
            pos += 4 + size
        (us,) = struct.unpack(">q", fields[2])
        prices = [struct.unpack(">d", f)[0] for f in fields[3:]]
        rows.append((fields[0].decode(), fields[1].decode(), us, *prices))


def test_rows_carry_every_column_in_copy_binary_form_across_chunks() -> None:
    ts = NS0 + np.arange(5, dtype=np.int64) * 60_000_000_000
    cols = tuple(np.arange(5, dtype=np.float64) + k for k in (0.25, 1.5, -1.0, 0.75, 10.0))
    data = b"".join(chunks("CON.F.US.MNQ.H26", "1m", ts, cols, chunk=2))  # type: ignore[arg-type]
    rows = _read(data)
    assert len(rows) == 5
    t0_us = int((T0 - PG_EPOCH).total_seconds()) * 1_000_000
    assert rows[0] == ("CON.F.US.MNQ.H26", "1m", t0_us, 0.25, 1.5, -1.0, 0.75, 10.0)
    assert rows[4][2] == t0_us + 4 * 60_000_000 and rows[4][3:] == (4.25, 5.5, 3.0, 4.75, 14.0)


def test_an_empty_contract_or_timeframe_is_refused() -> None:
    ts = np.zeros(1, np.int64)
    cols = tuple(np.zeros(1) for _ in range(5))
    with pytest.raises(ValueError, match="contract id and a timeframe"):
        list(chunks("", "1m", ts, cols))  # type: ignore[arg-type]


def test_last_of_each_keeps_the_last_copy_in_start_order() -> None:
    assert last_of_each(np.array([1, 2, 3], np.int64)) is None
    keep = last_of_each(np.array([3, 1, 3, 2, 1], np.int64))
    assert keep is not None and keep.tolist() == [4, 3, 2]
