"""The backtest loop in Rust, for a strategy whose rules run in the Rust core (the overnight range with
`impl = "rust"`): `trading._native.backtest_run` (rust_ext/src/backtest/run.rs) replays the days, the
book with the fill conventions of fills.py, the FIFO ledger and the strategy itself, with no Python
inside the loop. Everything it writes is the Python loop's (runner.py), record for record, so
`report.py` and `--json` read it as they read a Python run.

Risk: the engine's Rust risk (`rust_ext/src/risk/`: the whole `RiskManager.check`, its `mark` and day
roll, every rule profile) runs in the loop from the backtest's `RiskManager` state and rules (a
`RiskCore`, with the calendar's years of the run), and the `RiskManager` gets the end state back. Only a
profile whose micros per lot divide inexactly (neither 2s nor 5s: Python adds those rounded terms in a
set's order) leaves risk to the `RiskManager` itself, asked from Rust for every proposal and every
fill's mark. Either way a bar's mark is made only when it could trip the kill switch or roll risk's day
(the guard of skip.py, same margins), so refusals, trips and their sentences are the Python ones.

What stays Python, called from Rust only when needed:
- the exchange calendar: the days, their session events and the expected minutes of the overnight
  window are computed here once per (range, schedule) and handed over as tables;
- notification payloads: the core's notices become `trading.notifications` payloads (and the result's
  per-day rows) when the result's `days` or `notifications` are first read, through the same builders
  as the live Rust strategy (strategies/native.py).

`run` hands each run's bar columns over once; nothing is copied per bar or per call.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

from trading import native
from trading.backtest.bars_csv import EPOCH, from_ns
from trading.backtest.fills import FillRules
from trading.backtest.ledger import BacktestResult, Ledger, Lot
from trading.calendar import TradingDay, open_minutes, trading_day, trading_days
from trading.domain import Contract, NotificationKind, OrderRequest, OrderType, Side
from trading.marketdata.aggregation import BarArrays, ny_zone
from trading.marketdata.levels import ns
from trading.risk import DayRecord, Exposure, KillMode, RiskManager, WorkingOrder
from trading.risk.native import EPOCH_ORDINAL, RustRiskCheck
from trading.strategies.base import SessionEvent, Strategy
from trading.strategies.native import (
    RustOvernightRange,
    card_payload,
    config_json,
    day_tuple,
    fill_payload,
    summary_payload,
)


class Schedule(Protocol):
    """runner.py's `Schedule`, as far as the day tables read it (hashable: the tables are cached)."""

    @property
    def pre_open(self) -> time: ...
    @property
    def flatten(self) -> time: ...
    @property
    def flatten_minutes_before_close(self) -> int: ...
    def events(self, day: TradingDay) -> list[tuple[datetime, SessionEvent]]: ...
    def __hash__(self) -> int: ...


class Backtest(Protocol):
    """What the Rust loop reads and sets of runner.py's `Backtest` (no import: runner imports this)."""

    strategy: Strategy[Any]
    bars: dict[str, BarArrays]
    contracts: dict[str, Contract]
    clock: datetime
    ledger: Ledger
    risk: RiskManager
    rules: FillRules
    result: BacktestResult

    @property
    def ctx(self) -> object: ...
    @property
    def schedule(self) -> Schedule: ...

    def notify(self, kind: NotificationKind, payload: Mapping[str, Any]) -> None: ...


Guard = tuple[tuple[int, int, int] | None, float | None, float | None, float | None, float | None, bool]
ExposureRow = tuple[list[tuple[str, int]], list[tuple[str, str, int]], str, str, str]


def runs_natively(bt: Backtest) -> bool:
    """True when `bt` can run in Rust: the Rust overnight range on the backtest's own context (not a
    test's wrapper), every symbol it trades with bars and a contract, a fresh backtest, the extension
    there."""
    s = bt.strategy
    ext = native.module()
    if ext is None or not hasattr(ext, "backtest_run") or type(s) is not RustOvernightRange:
        return False
    symbols = {sym for sym in bt.bars if sym in bt.contracts}
    return s.ctx is bt.ctx and set(s.config.symbols) <= symbols and bt.clock == EPOCH


def _text(x: Decimal | None) -> str | None:
    return None if x is None else str(x)


def _exact_micros(n: int) -> bool:
    """True when every count of micros over `n` is an exact `Decimal` (n of 2s and 5s only)."""
    for p in (2, 5):
        while n > 1 and n % p == 0:
            n //= p
    return n == 1


def _rust_risk(risk: RiskManager, start: date, end: date) -> tuple[Any, ...] | None:
    """The engine's Rust risk for the loop: a `RiskCore` (rules, and the calendar's years around the
    run) and the state; None when the `RiskManager` must answer (see the module notes)."""
    p, st = risk.profile, risk.state
    if not _exact_micros(p.micros_per_lot):
        return None
    try:
        check = RustRiskCheck(risk.settings, p)
    except (ValueError, RuntimeError):  # a number out of the core's range
        return None
    for year in range(start.year - 1, end.year + 1):  # each adds its year and the next
        check.add_years(year)
    day = st.trading_date
    state = ((st.kill_mode.value, st.kill_reason, st.kill_automatic),
             None if day is None else day.toordinal() - EPOCH_ORDINAL, (str(st.day_realized), str(st.day_pnl)),
             [_text(st.high_water), _text(st.start_balance), _text(st.balance),
              str(st.days[-1].end_balance) if st.days else None], (st.goal_met, st.cap_tripped))  # fmt: skip
    return check.core, state


def _date(days: int) -> date:
    return date.fromordinal(days + EPOCH_ORDINAL)


def _risk_back(risk: RiskManager, row: tuple[Any, ...]) -> None:
    """The end state of the Rust risk into the backtest's `RiskManager`."""
    (mode, reason, auto), day, (realized, day_pnl), (hw, start, balance), (goal, tripped), days, first = row
    st = risk.state

    def d(x: str | None) -> Decimal | None:
        return None if x is None else Decimal(x)

    risk.state = replace(
        st, kill_mode=KillMode(mode), kill_reason=reason, kill_automatic=auto,
        trading_date=None if day is None else _date(day), day_realized=Decimal(realized), day_pnl=Decimal(day_pnl),
        high_water=d(hw), start_balance=d(start), balance=d(balance), cap_tripped=tripped, goal_met=goal,
        days=st.days + tuple(DayRecord(_date(k), Decimal(r), Decimal(b)) for k, r, b in days),
        profile_since=st.profile_since or (None if first is None else _date(first)),
        alerted=st.alerted if first is None else frozenset(),
    )  # fmt: skip


@lru_cache(maxsize=16)
def _days(start: date, end: date, schedule: Schedule, atr_period: int) -> tuple[Any, ...]:
    """Per trading day: the strategy's day tuple, the session events (UTC ns, name) in the order they
    fire, and the expected minutes of the windows the strategy asks about (the provisional card's and
    the open's)."""
    out = []
    for d in trading_days(start, end):
        td = trading_day(d, flatten=schedule.flatten, minutes_before_close=schedule.flatten_minutes_before_close)
        events = [(ns(t), e.value) for t, e in schedule.events(td)]
        ends = {min(ns(td.at(schedule.pre_open)), ns(td.window_end)), ns(td.window_end)}
        start_ns = ns(td.window_start)
        minutes = [(start_ns, e, open_minutes(td.window_start, from_ns(e))) for e in sorted(ends)]
        out.append((day_tuple(td, atr_period), events, minutes))
    return tuple(out)


class _Host:
    """Risk and the calendar for the Rust loop (its `Host`)."""

    def __init__(self, risk: RiskManager) -> None:
        self.risk = risk

    def guard(self) -> Guard:
        r = self.risk
        st, p = r.state, r.profile
        start, floor = r.starting_balance, r.floor
        target = p.profit_target is not None and start is not None and not st.goal_met
        cap_live = p.daily_profit_cap is not None and not st.cap_tripped and st.kill_mode is KillMode.OFF
        day = st.trading_date
        return (
            None if day is None else (day.year, day.month, day.day),
            None if p.daily_loss_limit is None else float(p.daily_loss_limit),
            None if floor is None else float(floor),
            float(p.daily_profit_cap) if cap_live and p.daily_profit_cap is not None else None,
            float(start + p.profit_target) if target and start is not None and p.profit_target is not None else None,
            st.kill_mode is KillMode.HALTED,
        )

    @staticmethod
    def exposure(row: ExposureRow) -> Exposure:
        positions, working, realized, unrealized, balance = row
        return Exposure(
            positions=dict(positions),
            working=[WorkingOrder(cid, Side(side), size) for cid, side, size in working],
            realized_today=Decimal(realized),
            unrealized=Decimal(unrealized),
            balance=Decimal(balance),
        )

    def check(
        self, cid: str, side: str, kind: str, size: int, limit: str | None, stop: str | None, exposure: ExposureRow,
        now: int,
    ) -> tuple[bool, str, Guard]:  # fmt: skip
        request = OrderRequest(1, cid, Side(side), OrderType(kind), size, "",
                               limit_price=None if limit is None else Decimal(limit),
                               stop_price=None if stop is None else Decimal(stop))  # fmt: skip
        d = self.risk.check(request, self.exposure(exposure), from_ns(now))
        return d.approved, d.reason, self.guard()

    def mark(self, exposure: ExposureRow, now: int) -> tuple[list[str], Guard]:
        trips = self.risk.mark(self.exposure(exposure), from_ns(now))
        return [t.reason for t in trips], self.guard()

    @staticmethod
    def open_minutes(start: int, end: int) -> int:
        return open_minutes(from_ns(start), from_ns(end))


def run(bt: Backtest, start: date, end: date, progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    """`bt.run(start, end)` in Rust (see the module notes); `bt`'s ledger, clock and strategy state end
    as the Python loop leaves them."""
    ext = native.module()
    assert ext is not None
    s = bt.strategy
    assert isinstance(s, RustOvernightRange)
    result = bt.result
    result.start, result.end = start, end
    days = _days(start, end, bt.schedule, s.config.atr_period)
    lanes = []
    for sym in (sym for sym in bt.bars if sym in bt.contracts):
        a, c = bt.bars[sym], bt.contracts[sym]
        lanes.append((sym, c.id, str(c.tick_size), str(c.tick_value), a.ts, a.open, a.high, a.low, a.close))
    ledger, risk = bt.ledger, bt.risk
    limit = risk.daily_loss_limit or risk.settings.daily_loss_limit
    settings = (str(ledger.starting_balance), str(ledger.fees_per_side), bt.rules.slippage_ticks,
                bt.rules.limit_touch, str(limit))  # fmt: skip
    zone = ny_zone()
    rust_risk = _rust_risk(risk, start, end)
    collecting = gc.isenabled()
    gc.disable()  # the records come back as a few thousand new dicts: no collection pass while they do
    try:
        out = ext.backtest_run(config_json(s.config), zone.utc, zone.offset, json.dumps(s.on_save()), lanes, list(days),
                               settings, _Host(risk), rust_risk)  # fmt: skip
    finally:
        if collecting:
            gc.enable()
    if out["risk"] is not None:
        _risk_back(risk, out["risk"])
    result.orders, result.fills, result.trades = out["orders"], out["fills"], out["trades"]
    result.equity = [(from_ns(t), Decimal(e)) for t, e in out["equity"]]
    notes = out["notes"]
    result.deferred = lambda: _notify(bt, notes)
    realized, fees, day_start, lots = out["ledger"]
    ledger.realized, ledger.fees, ledger.day_start_balance = Decimal(realized), Decimal(fees), Decimal(day_start)
    ledger.lots = {cid: [Lot(Decimal(p), q) for p, q in rows] for cid, rows in lots}
    s.on_load(json.loads(out["state"]))
    result.fees = ledger.fees
    if days:
        bt.clock = from_ns(days[-1][1][-1][0]) if days[-1][1] else bt.clock
    if progress is not None:
        progress(len(days), len(days))
    return result


def _notify(bt: Backtest, notes: list[tuple[Any, ...]]) -> None:
    """The core's notices, through `Backtest.notify` (the notifications and the per-day rows), when
    the result's `days` or `notifications` are first read."""
    clock, name = bt.clock, bt.strategy.name
    contract = bt.contracts.__getitem__
    for note in notes:
        what, t = note[0], note[1]
        bt.clock = from_ns(t)
        if what == "card":
            _, _, day, symbol, card, levels, filters, blocked, sides, warmup = note
            payload = card_payload(name, contract(symbol), day, bt.clock, card, levels, filters, blocked, sides,
                                   warmup)  # fmt: skip
            bt.notify(NotificationKind.STRATEGY, payload)
        elif what == "fill":
            _, _, at, symbol, exit_, side, price, size, tag, entry = note
            kind, fill = fill_payload(name, contract(symbol), exit_, side, price, size, tag, from_ns(at), entry)
            bt.notify(kind, fill)
        elif what == "summary":
            _, _, _, day, rows, day_notes, symbols = note
            bt.notify(NotificationKind.SUMMARY, summary_payload(name, contract, day, rows, day_notes, symbols))
        else:
            _, _, tag, reason = note
            bt.notify(NotificationKind.RISK, {"refused": tag, "reason": reason})
    bt.clock = clock
