"""The daily summary: fills and P&L of the day from the store, and the latency table with the Rust
and Python order paths side by side."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from trading import notifications
from trading.calendar import TradingDay, to_ny
from trading.engine.core import Engine
from trading.risk import headroom


def _ms(nanos: int) -> str:
    return f"{nanos / 1e6:.2f}"


async def latency_table(engine: Engine) -> str:
    await engine.metrics.flush()
    stats = await engine.store.latency.stats()
    if not stats:
        return "latency: no samples"
    rows = [["operation", "path", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"]]
    rows += [[s.operation, s.path, str(s.count), _ms(s.p50), _ms(s.p95), _ms(s.p99), _ms(s.max)] for s in stats]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    )


def rule_lines(engine: Engine) -> list[str]:
    """Each rule of the account's profile: used / limit and what is left (New York time)."""
    risk = engine.risk
    out = [f"rules ({risk.profile.label}):"]
    for h in headroom(risk, engine.exposure(), engine.clock.now()):
        if h.rule == "flat_time":
            left = "past" if h.remaining is None else f"{h.remaining} min left"
            out.append(f"  {h.label}: {left} ({h.detail})")
        elif h.used is None:
            out.append(f"  {h.label}: no profit yet ({h.detail})")
        else:
            share = "" if h.fraction is None else f" ({(h.fraction * 100).quantize(Decimal('0.1'))} %)"
            detail = f"; {h.detail}" if h.detail else ""
            out.append(f"  {h.label}: {h.used} of {h.limit}{share}, {h.remaining} left{detail}")
    return out


async def summary_payload(engine: Engine, day: TradingDay) -> dict[str, Any]:
    """The SUMMARY notification: the text, and `pnl_curve` ([[New York time (ISO-8601), net P&L of the fill], ...]
    in fill order) from which the notifier draws the day's cumulative P&L chart."""
    until = engine.clock.now() + timedelta(microseconds=1)  # fills up to and including now
    fills = await engine.store.fills.between(engine.account_id, day.window_start, until)
    fills = sorted((f for f in fills if not f.voided), key=lambda f: (f.ts_event, f.id))
    lines = [f"Daily summary {day.date.isoformat()} (account {engine.account_id})"]
    realized = fees = Decimal(0)
    curve: list[list[str]] = []
    rows: list[notifications.FillRow] = []
    for f in fills:
        sym = engine.symbol_of.get(f.contract_id, f.contract_id)
        rows.append(notifications.fill_row(f, engine.contracts.get(sym)))
        pnl = "" if f.pnl is None else f" pnl {f.pnl}"
        lines.append(f"  {to_ny(f.ts_event):%H:%M:%S} ET {sym} {f.side.value} {f.size} @ {f.price}{pnl} fees {f.fees}")
        realized += f.pnl or Decimal(0)
        fees += f.fees
        curve.append([to_ny(f.ts_event).isoformat(timespec="seconds"), str((f.pnl or Decimal(0)) - f.fees)])
    lines.append(f"  fills {len(fills)}, realized {realized}, fees {fees}, net {realized - fees}")
    lines += rule_lines(engine)
    lines.append("latency (order path):")
    table = await latency_table(engine)
    lines.append(table)
    text = "\n".join(lines)
    payload = notifications.daily_summary(
        day.date.isoformat(), engine.account_id, rows, latency=table, pnl_curve=curve, text=text
    )
    return dict(payload)


async def summary_text(engine: Engine, day: TradingDay) -> str:
    text: str = (await summary_payload(engine, day))["text"]
    return text
