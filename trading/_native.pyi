"""Type stub for the Rust extension `trading._native` (rust_ext/)."""

import numpy as np
import numpy.typing as npt

__version__: str

_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]
_BarCols = tuple[_I64, _F64, _F64, _F64, _F64, _F64]
_BarTuple = tuple[int, float, float, float, float, float]

def aggregate_bars(
    ts: _I64,
    open: _F64,
    high: _F64,
    low: _F64,
    close: _F64,
    volume: _F64,
    period_ns: int,
    offset_ns: int = 0,
    *,
    origin_ns: int = 0,
    tz_utc: _I64 | None = None,
    tz_offset: _I64 | None = None,
) -> _BarCols: ...
def aggregate_ticks(
    ts: _I64,
    price: _F64,
    size: _F64,
    period_ns: int,
    offset_ns: int = 0,
    *,
    origin_ns: int = 0,
    tz_utc: _I64 | None = None,
    tz_offset: _I64 | None = None,
) -> _BarCols: ...

class BarAggregator:
    def __init__(
        self,
        period_ns: int,
        offset_ns: int = 0,
        *,
        origin_ns: int = 0,
        tz_utc: _I64 | None = None,
        tz_offset: _I64 | None = None,
    ) -> None: ...
    def push(self, ts: int, price: float, size: float) -> list[_BarTuple]: ...
    def push_batch(self, ts: _I64, price: _F64, size: _F64) -> list[_BarTuple]: ...
    def advance(self, now_ns: int) -> list[_BarTuple]: ...
    def flush(self) -> list[_BarTuple]: ...
    def forming(self) -> _BarTuple | None: ...
    @property
    def late(self) -> int: ...
    @property
    def invalid(self) -> int: ...
    @property
    def period_ns(self) -> int: ...
