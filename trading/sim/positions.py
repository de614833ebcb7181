"""Net positions of the simulated exchange: average price, realized P&L of closing fills (ticks x
tick value, exact), position events (a flat position is sent with size 0)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from trading.domain import Contract
from trading.projectx import schema as s
from trading.sim.state import SimPosition

CENT = Decimal("0.01")
AVG_QUANTUM = Decimal("0.000000001")  # the wire shows 9 fractional digits

Emit = Callable[[int, str, Callable[[], s.WireModel]], None]


class PositionBook:
    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self.positions: dict[tuple[int, str], SimPosition] = {}
        self._next_id = 6124

    def apply(self, account_id: int, contract: Contract, signed: int, price: Decimal, now: datetime) -> Decimal | None:
        """Update the net position; the realized P&L of the closing part (None for an opening fill)."""
        key = (account_id, contract.id)
        pos = self.positions.get(key)
        if pos is None or pos.net == 0:
            self._next_id += 1
            pos = SimPosition(self._next_id, account_id, contract.id, signed, price, now)
            self.positions[key] = pos
            self._emit(account_id, s.EVENT_USER_POSITION, pos.model)
            return None
        pnl: Decimal | None = None
        if (pos.net > 0) == (signed > 0):  # adding
            total = abs(pos.net) + abs(signed)
            pos.average = ((pos.average * abs(pos.net) + price * abs(signed)) / total).quantize(AVG_QUANTUM)
            pos.net += signed
        else:
            closing = min(abs(pos.net), abs(signed))
            direction = 1 if pos.net > 0 else -1
            pnl = ((price - pos.average) / contract.tick_size * contract.tick_value * closing * direction).quantize(
                CENT
            )
            was = s.PositionType.LONG if pos.net > 0 else s.PositionType.SHORT
            pos.net += signed
            if pos.net == 0:
                self._emit(account_id, s.EVENT_USER_POSITION, lambda: pos.model(was))
                del self.positions[key]
                return pnl
            if (pos.net > 0) != (direction > 0):  # flipped: the rest opens at the fill price
                self._next_id += 1
                pos.id, pos.average, pos.created = self._next_id, price, now
        self._emit(account_id, s.EVENT_USER_POSITION, pos.model)
        return pnl
