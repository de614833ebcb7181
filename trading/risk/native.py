"""The risk check's Rust implementation behind `RiskManager.check` (binding `trading._native.RiskCore`,
core `rust_ext/src/risk/`).

Which implementation: `[risk] impl = "python" | "rust"` (Python by default), not the strategy's
route: risk checks every order of the account, a trader's slash command or the CLI's as much as a
strategy's, so it is the account's choice, not one strategy's. `TRADEBOT_RUST=0` (or `rust = false`)
forces Python, as for every component.

The Rust side answers exactly what `RiskManager.check` answers, sentence for sentence. What stays
Python: the trading-day roll (it changes the state the store keeps: the core says ROLL, the manager
rolls and asks again), the calendar package (the core gets whole years of sessions, asked for by
NEED_YEARS), and every order the core cannot decide exactly (UNDECIDED): a sum of micro contracts
whose division by `micros_per_lot` is inexact, a number beyond 128 bits or 28 digits, a value of
the wrong type, a date outside 2001-2049. The engine's `mark` (the kill-switch trips) is Python's; the
Rust backtest loop marks with the Rust one (`RiskCore.mark`, rust_ext/src/risk/mark.rs, parity-tested in
tests/unit/risk/test_mark_parity.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from trading import native
from trading.calendar import year_tables
from trading.config import RiskSettings
from trading.domain import Decision, OrderRequest
from trading.marketdata.aggregation import ny_zone
from trading.risk.exposure import Exposure
from trading.risk.state import RiskState
from trading.rule_profiles import RuleProfile

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
ONE_US = timedelta(microseconds=1)


def _ns_of_day(t: time) -> int:
    if t.tzinfo is not None:
        raise ValueError(f"time {t} carries a zone: the Rust check reads New York wall-clock times")
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000_000 + t.microsecond * 1000


def _text(x: object) -> str | None:
    return None if x is None else str(x)


def _rows(rows: list[tuple[date, datetime, datetime]]) -> list[tuple[int, int, int]]:
    return [
        (d.toordinal() - EPOCH_ORDINAL, (o - EPOCH) // ONE_US * 1000, (c - EPOCH) // ONE_US * 1000) for d, o, c in rows
    ]


@lru_cache(maxsize=64)
def _year_rows(year: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """One year's CME and NYSE sessions as the core reads them (a backtest hands the same years each run)."""
    cme, nyse = year_tables(year)
    return _rows(cme), _rows(nyse)


class RustRiskCheck:
    """A `RiskCore` for one manager's settings and profile; `state` is pushed when it changed."""

    def __init__(self, settings: RiskSettings, profile: RuleProfile) -> None:
        mod = native.module()
        if mod is None:
            raise RuntimeError("the Rust extension is not active")
        self._mod = mod
        zone = ny_zone()
        window = (
            (_ns_of_day(profile.window_start), _ns_of_day(profile.window_end))
            if profile.window_start is not None and profile.window_end is not None
            else None
        )
        self.core = mod.RiskCore(
            tz_utc=zone.utc,
            tz_offset=zone.offset,
            max_order_size=settings.max_order_size,
            max_position_per_symbol=settings.max_position_per_symbol,
            max_position_total=settings.max_position_total,
            trading_start=_ns_of_day(settings.trading_start),
            trading_end=_ns_of_day(settings.trading_end),
            price_band_ticks=settings.price_band_ticks,
            price_band_atr=str(settings.price_band_atr),
            label=profile.label,
            starting_balance=_text(profile.starting_balance),
            profit_target=_text(profile.profit_target),
            daily_loss_limit=_text(profile.daily_loss_limit),
            daily_profit_cap=_text(profile.daily_profit_cap),
            max_loss=_text(profile.max_loss),
            max_loss_lock=_text(profile.max_loss_lock),
            max_contracts=profile.max_contracts,
            scaling=[(str(t.from_profit), t.max_contracts) for t in profile.scaling],
            micros_per_lot=profile.micros_per_lot,
            flat_time=None if profile.flat_time is None else _ns_of_day(profile.flat_time),
            window=window,
        )
        self._pushed: RiskState | None = None
        self._approved, self._refused = mod.RISK_APPROVED, mod.RISK_REFUSED
        self._roll, self._need_years = mod.RISK_ROLL, mod.RISK_NEED_YEARS

    def push(self, st: RiskState) -> None:
        if st is self._pushed:
            return
        self.core.set_state(
            kill_mode=st.kill_mode.value,
            kill_reason=st.kill_reason,
            trading_date=None if st.trading_date is None else st.trading_date.toordinal() - EPOCH_ORDINAL,
            high_water=_text(st.high_water),
            start_balance=_text(st.start_balance),
            last_end_balance=str(st.days[-1].end_balance) if st.days else None,
            goal_met=st.goal_met,
            cap_tripped=st.cap_tripped,
        )
        self._pushed = st

    def add_years(self, year: int) -> None:
        for y in (year, year + 1):
            self.core.add_year(y, *_year_rows(y))

    def check(
        self,
        request: OrderRequest,
        exposure: Exposure,
        now: datetime,
        state: Callable[[], RiskState],
        roll: Callable[[datetime], None],
    ) -> Decision | None:
        """The core's decision; None when Python decides. `state` reads the manager's state (after
        `roll`, the manager's day roll, when the core asks for it)."""
        try:
            t = (now - EPOCH) // ONE_US * 1000
        except TypeError:  # a naive time: Python's check says why it is wrong
            return None
        for _ in range(3):
            self.push(state())
            code, reason, year = self.core.check(request, exposure, t)
            if code == self._approved:
                return Decision(True, reason)
            if code == self._refused:
                return Decision(False, reason)
            if code == self._roll:
                roll(now)
            elif code == self._need_years:
                self.add_years(year)
            else:
                return None
        return None


def build(settings: RiskSettings, profile: RuleProfile) -> RustRiskCheck | None:
    """The Rust check when `[risk] impl = "rust"` and the extension is active, else None (Python)."""
    if settings.impl != "rust" or not native.enabled():
        return None
    try:
        return RustRiskCheck(settings, profile)
    except (ValueError, RuntimeError) as exc:  # a number out of the core's range: Python decides
        log.warning("risk: the Rust check cannot take these rules (%s); Python checks every order", exc)
        return None
