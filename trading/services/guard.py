"""What the position guard (trading/engine/protection.py) did and sees, for `/risk status` and
`tradebot status`: the engine's open positions, how many a working stop covers in full right now, and
the guard's counts since this engine started (stops placed, sizes closed at market, attempts that
placed nothing, its own stops cut back)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from trading.engine import Engine
from trading.engine.protection import covered


@dataclass(frozen=True, slots=True)
class GuardView:
    enabled: bool
    positions: int  # open positions in the engine's view
    protected: int  # of them, covered by working stops for their full size now
    unprotected: int  # of them, not (the guard acts once one has been so for protection.grace_s)
    stops: int  # protective stops placed since the engine started
    flattens: int  # uncovered sizes closed at market since the engine started
    failures: int  # attempts that placed neither
    cancelled: int  # the guard's own stops cancelled (their position gone or turned)
    resized: int  # the guard's own stops reduced to what their position still needs

    def data(self) -> dict[str, Any]:
        """JSON-ready, for the status the engine publishes."""
        return asdict(self)


def guard_view(e: Engine) -> GuardView:
    orders = list(e.orders.values())
    open_positions = [p for p in e.positions.values() if p.size > 0]
    protected = sum(1 for p in open_positions if covered(p, orders) >= p.size)
    s = e.protection.stats
    return GuardView(
        enabled=e.settings.protection.enabled,
        positions=len(open_positions),
        protected=protected,
        unprotected=len(open_positions) - protected,
        stops=s.stops,
        flattens=s.flattens,
        failures=s.failures,
        cancelled=s.cancelled,
        resized=s.resized,
    )
