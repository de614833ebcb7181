"""Each rule's headroom (used / limit / remaining / fraction), and the loss alerts at 50, 75, 90 %."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from trading.risk.exposure import Exposure
from trading.risk.manager import RiskManager
from trading.risk.window import until_flat

DAILY_LOSS = "daily_loss"
MAX_LOSS = "max_loss"
ALERTED_RULES = (DAILY_LOSS, MAX_LOSS)


@dataclass(frozen=True, slots=True)
class RuleHeadroom:
    """One rule: how much of it is used. `fraction` is used / limit (1 = at the limit); for the profit
    target and the daily cap it is the progress towards them."""

    rule: str
    label: str
    used: Decimal | None
    limit: Decimal | None
    remaining: Decimal | None
    fraction: Decimal | None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Crossing:
    """A loss rule's use crossed an alert level (first time this trading day)."""

    rule: str
    label: str
    level: Decimal
    used: Decimal
    limit: Decimal
    trading_date: str


def _ratio(used: Decimal, limit: Decimal) -> Decimal:
    return used / limit if limit else Decimal(0)


def headroom(risk: RiskManager, exposure: Exposure, now: datetime) -> list[RuleHeadroom]:
    p = risk.profile
    out: list[RuleHeadroom] = []
    if p.daily_loss_limit is not None:
        used = max(Decimal(0), -exposure.day_pnl)
        out.append(
            RuleHeadroom(
                DAILY_LOSS,
                "Daily loss limit",
                used,
                p.daily_loss_limit,
                p.daily_loss_limit - used,
                _ratio(used, p.daily_loss_limit),
                "soft breach: halted until the next trading day (18:00 ET)",
            )
        )
    floor = risk.floor
    if p.max_loss is not None and floor is not None:
        remaining = exposure.equity - floor
        used = max(Decimal(0), p.max_loss - remaining)
        lock = " (locked)" if risk.floor_locked else ""
        out.append(
            RuleHeadroom(
                MAX_LOSS,
                "Trailing max loss",
                used,
                p.max_loss,
                remaining,
                _ratio(used, p.max_loss),
                f"floor {floor:,.2f}{lock}, end-of-day high {risk.state.high_water:,.2f}",
            )
        )
    start = risk.starting_balance
    if p.profit_target is not None and start is not None:
        progress = exposure.balance - start
        out.append(
            RuleHeadroom(
                "profit_target",
                "Profit target",
                progress,
                p.profit_target,
                p.profit_target - progress,
                _ratio(progress, p.profit_target),
                "reached: reduce-only" if risk.state.goal_met else "",
            )
        )
    if p.daily_profit_cap is not None:
        out.append(
            RuleHeadroom(
                "daily_profit_cap",
                "Daily profit cap",
                exposure.day_pnl,
                p.daily_profit_cap,
                p.daily_profit_cap - exposure.day_pnl,
                _ratio(exposure.day_pnl, p.daily_profit_cap),
            )
        )
    cap = risk.contract_cap()
    if cap is not None:
        lots = risk.lots(exposure)
        micros = f"; {p.micros_per_lot} micros = 1 contract" if p.micros_per_lot > 1 else ""
        scaled = " (scaling plan)" if p.max_contracts is None or cap < p.max_contracts else ""
        out.append(
            RuleHeadroom(
                "contracts",
                "Contracts",
                lots,
                Decimal(cap),
                cap - lots,
                _ratio(lots, Decimal(cap)),
                f"held + working vs today's cap{scaled}{micros}",
            )
        )
    share = risk.consistency()
    if p.consistency_target is not None:
        out.append(
            RuleHeadroom(
                "consistency",
                "Consistency",
                share,
                p.consistency_target,
                None if share is None else p.consistency_target - share,
                None if share is None else _ratio(share, p.consistency_target),
                "best day's share of the total profit",
            )
        )
    if p.flat_time is not None:
        left = until_flat(now, p.flat_time)
        minutes = None if left is None else Decimal(int(left.total_seconds() // 60))
        out.append(
            RuleHeadroom(
                "flat_time",
                "Time to flat",
                None,
                None,
                minutes,
                None,
                f"flat by {p.flat_time:%H:%M} ET",  # remaining None: past it
            )
        )
    return out


def crossings(risk: RiskManager, exposure: Exposure, now: datetime, levels: tuple[Decimal, ...]) -> list[Crossing]:
    """The alert levels the daily and maximum loss crossed since the last call, each once per trading
    day (remembered on the risk state; the caller's outbox key keeps a restart from repeating one)."""
    out: list[Crossing] = []
    seen = set(risk.state.alerted)
    day = "" if risk.state.trading_date is None else risk.state.trading_date.isoformat()
    for h in headroom(risk, exposure, now):
        if h.rule not in ALERTED_RULES or h.fraction is None or h.used is None or h.limit is None:
            continue
        for level in sorted(levels):
            key = f"{h.rule}:{level}"
            if h.fraction >= level and key not in seen:
                seen.add(key)
                if not any(h.fraction >= higher for higher in levels if higher > level):
                    out.append(Crossing(h.rule, h.label, level, h.used, h.limit, day))
    risk.state = replace(risk.state, alerted=frozenset(seen))
    return out
