"""One series out of several contract months: for each New York trading day, the bars of the month
that traded the most that day (the volume roll traders and data vendors use). Imported history stored
under one month and backfilled history under the next make one history, not two halves of nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from trading.calendar import to_ny
from trading.domain import Bar

SESSION_SHIFT = timedelta(hours=6)  # the 18:00 ET reopen starts the next trading day


def trading_date(bar: Bar) -> date:
    """The CME trading day a bar belongs to (a bar after 18:00 ET is the next day's)."""
    return (to_ny(bar.start) + SESSION_SHIFT).date()


def continuous(bars: Sequence[Bar]) -> list[Bar]:
    """The bars of, for each trading day, the contract with the most volume that day (ties: the later
    contract id, the newer month), in time order."""
    volume: dict[tuple[date, str], float] = defaultdict(float)
    for b in bars:
        volume[(trading_date(b), b.contract_id)] += b.volume
    chosen: dict[date, str] = {}
    for (day, contract), v in volume.items():
        best = chosen.get(day)
        if best is None or (v, contract) > (volume[(day, best)], best):
            chosen[day] = contract
    return sorted((b for b in bars if chosen[trading_date(b)] == b.contract_id), key=lambda b: b.start)
