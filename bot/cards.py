"""Cards for what the services return: accounts, orders, positions, fills, P&L, risk, stats.

Times a trader reads are in New York time (the exchange's), prices on the contract's tick format
where the contract is known."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bot.render import (
    BLUE,
    GREEN,
    GREY,
    LATENCY_HEADERS,
    ORANGE,
    RED,
    Card,
    fields,
    fmt,
    money,
    ny_time,
    pages,
    price,
    table,
)
from trading.calendar import to_ny
from trading.domain import Account, Contract, Fill, Order, Position
from trading.marketdata.depth import BookSnapshot
from trading.metrics import STAGE_NAMES, STAGE_PREFIX
from trading.native import RouteState
from trading.risk import RuleHeadroom
from trading.services import AccountState, Flattened, GuardView, Health, Placed, Pnl, Quote, RiskView
from trading.services.accounts import AccountRow
from trading.services.operator_views import (
    MarkedPosition,
    PnlRow,
    Reloaded,
    Runtime,
    Status,
    SymbolResult,
    VersionInfo,
)
from trading.services.routing import ParityView, RoutesView, route_text
from trading.store.jobs import JobRun
from trading.store.latency import LatencyStats
from trading.store.outbox import OutboxMessage


def paged(title: str, lines: Sequence[str], empty: str, color: int = BLUE) -> list[Card]:
    if not lines:
        return [Card(title=title, description=empty, color=GREY)]
    return [Card(title=title, description=p, color=color) for p in pages(lines)]


def account(a: Account) -> Card:
    return Card(
        title=f"Account {a.name}",
        fields=fields({"Id": a.id, "Balance": money(a.balance), "Can trade": a.can_trade, "Simulated": a.simulated}),
        color=GREEN if a.can_trade else GREY,
    )


def accounts(items: Sequence[Account], current: int | None) -> list[Card]:
    lines = [
        f"{'▶ ' if a.id == current else ''}**{a.name}** ({a.id}) {money(a.balance)}"
        f"{'' if a.can_trade else ' — cannot trade'}"
        for a in items
    ]
    return paged("Accounts", lines, "No active accounts on this login.")


def account_rows(rows: Sequence[AccountRow]) -> list[Card]:
    """`/account list` with several accounts: balance, day P&L, the tightest loss rule, state, leader."""
    lines = []
    for r in rows:
        head = f"**{r.name}**" + (f" ({r.account_id})" if r.account_id else "") + f" — {r.state}"
        if r.leader:
            head += f", copies {r.leader}"
        if r.size:
            head += f", size {r.size}"
        if r.balance is None:
            lines.append(head + (f": {r.error}" if r.error else ""))
            continue
        rule = r.tightest
        room = (
            f"{rule.label} {money(rule.used)} / {money(rule.limit)}"
            if rule is not None and rule.used is not None and rule.limit is not None
            else "no loss rule"
        )
        lines.append(f"{head}\nbalance {money(r.balance)}, day P&L {money(r.day_pnl)}, tightest: {room}")
    return paged("Accounts", lines, "No accounts in [[accounts]].")


def order_line(o: Order) -> str:
    price = o.limit_price if o.limit_price is not None else o.stop_price
    at = f" @ {price}" if price is not None else ""
    return f"#{o.id} {o.side.value.upper()} {o.size} {o.contract_id} {o.type.value}{at} ({o.status.value})"


def orders(items: Sequence[Order]) -> list[Card]:
    return paged("Working orders", [order_line(o) for o in items], "No working orders.")


def position_line(p: Position) -> str:
    return f"{p.side.value.upper()} {p.size} {p.contract_id} @ {p.average_price}"


def placed(p: Placed) -> Card:
    r = p.request
    price = r.limit_price or r.stop_price or r.trail_price
    title = (
        f"{'Already placed' if p.duplicate else 'Order placed'}: {r.side.value.upper()} {r.size} {p.contract.symbol}"
    )
    items: dict[str, Any] = {"Order": f"#{p.order_id}", "Type": r.type.value, "Contract": p.contract.id}
    if price is not None:
        items["Price"] = price
    if r.bracket is not None:
        items["Stop-loss (ticks)"] = r.bracket.stop_loss_ticks
        items["Take-profit (ticks)"] = r.bracket.take_profit_ticks
    return Card(title=title, fields=fields(items), color=GREY if p.duplicate else GREEN, footer=f"tag {p.custom_tag}")


def flattened(f: Flattened) -> Card:
    items = {"Orders cancelled": len(f.cancelled), "Positions closed": ", ".join(f.closed) or "none"}
    return Card(
        title="Flattened" if not f.errors else "Flatten finished with errors",
        description="\n".join(f.errors),
        fields=fields(items),
        color=GREEN if not f.errors else RED,
    )


def quote(q: Quote) -> Card:
    if q.last is None:
        return Card(title=f"{q.contract.symbol} ({q.contract.name})", description="No recent trades.", color=GREY)
    return Card(
        title=f"{q.contract.symbol} {price(q.last, q.contract.tick_size)}",
        description=q.contract.description,
        fields=fields(
            {
                "Bid": price(q.bid, q.contract.tick_size) if q.bid is not None else None,
                "Ask": price(q.ask, q.contract.tick_size) if q.ask is not None else None,
                "High": price(q.high, q.contract.tick_size) if q.high is not None else None,
                "Low": price(q.low, q.contract.tick_size) if q.low is not None else None,
                "Volume": q.volume,
                "As of": ny_time(q.at, with_date=True) if q.at else None,
            }
        ),
    )


def depth_card(symbol: str, book: BookSnapshot) -> Card:
    """Bid size, price, ask size per level: asks above (best ask lowest), bids below (best bid first)."""
    if not book.bids and not book.asks:
        return Card(title=f"{symbol} depth", description="The book is empty: no depth received yet.", color=GREY)
    rows = [["", str(p), str(v)] for p, v in reversed(book.asks)]
    rows += [[str(v), str(p), ""] for p, v in book.bids]
    when = f"\nAs of {ny_time(book.updated, with_date=True)}" if book.updated else ""
    return Card(title=f"{symbol} depth", description=table(["bid size", "price", "ask size"], rows) + when)


def contracts(items: Sequence[Contract]) -> list[Card]:
    lines = [f"**{c.symbol}** {c.name} `{c.id}` tick {c.tick_size} = ${c.tick_value}" for c in items]
    return paged("Contracts", lines, "No contracts match.")


def fills(items: Sequence[Fill], days: int) -> list[Card]:
    lines = [
        f"{to_ny(f.ts_event):%m-%d %H:%M} ET {f.side.value.upper()} {f.size} {f.contract_id} @ {f.price}"
        + (f" P&L {money(f.pnl)}" if f.pnl is not None else "")
        for f in items
    ]
    return paged(f"Trades, last {days} day(s)", lines, "No trades in that period.")


def pnl(p: Pnl, chart: bytes | None) -> Card:
    return Card(
        title=f"P&L {p.period}: {money(p.net)}",
        fields=fields({"Realized": money(p.realized), "Fees": money(p.fees), "Trades": p.trades}),
        color=GREEN if p.net >= 0 else RED,
        image=("pnl.png", chart) if chart else None,
    )


def pct(x: Decimal) -> str:
    return f"{(x * 100).quantize(Decimal('0.1'))}%"


def risk(v: RiskView) -> Card:
    color = RED if v.kill_switch != "none" else GREEN
    items = {
        "Kill switch": v.kill_switch + (f" ({v.reason})" if v.reason else ""),
        "Today's P&L": money(v.day_pnl),
        "Daily loss used": f"{pct(v.daily_loss_used)} of {money(v.daily_loss_limit)}",
        "Balance": money(v.balance),
        "Trailing drawdown used": f"{pct(v.trailing_used)} of {money(v.trailing_limit)}",
        "Trailing floor": money(v.trailing_floor),
    }
    return Card(title="Risk", fields=fields(items), color=color)


def guard(g: GuardView) -> dict[str, Any]:
    """The position guard's fields on the /risk status card: protection now, and what it did since the start."""
    if not g.enabled:
        return {"Position guard": "off (protection.enabled = false)"}
    now = f"{g.protected} of {g.positions} protected by working stops" if g.positions else "no open position"
    if g.unprotected:
        now += f", **{g.unprotected} unprotected**"
    done = f"{g.stops} stop(s) placed, {g.flattens} closed at market, {g.failures} failed"
    if g.cancelled or g.resized:
        done += f"; own stops: {g.cancelled} cancelled, {g.resized} resized"
    return {"Position guard": now, "Guard since start": done}


def rule_line(h: RuleHeadroom) -> str:
    """One rule of the compliance card: used / limit, what is left, how much of it is used."""
    if h.rule == "flat_time":
        left = "past" if h.remaining is None else f"{int(h.remaining) // 60} h {int(h.remaining) % 60:02d} min left"
        return f"{left} ({h.detail})"
    if h.rule == "consistency":
        if h.used is None or h.limit is None:
            return f"no profit yet (target: best day under {pct(h.limit or Decimal(0))} of the total)"
        return f"best day {pct(h.used)} of the total profit (target under {pct(h.limit)})"
    if h.rule == "contracts":
        return f"{fmt(h.used)} of {fmt(h.limit)} ({fmt(h.remaining)} left; {h.detail})"
    frac = "" if h.fraction is None else f"{pct(h.fraction)} — "
    detail = f"; {h.detail}" if h.detail else ""
    return f"{frac}{money(h.used)} of {money(h.limit)}, {money(h.remaining)} left{detail}"


def compliance(v: RiskView) -> Card:
    losses = [h.fraction for h in v.rules if h.rule in ("daily_loss", "max_loss") and h.fraction is not None]
    worst = max(losses, default=Decimal(0)) if v.rules else max(v.daily_loss_used, v.trailing_used)
    color = GREEN if worst < Decimal("0.5") else ORANGE if worst < Decimal("0.9") else RED
    items: dict[str, Any] = {h.label: rule_line(h) for h in v.rules}
    if not v.rules:  # a view without the profile's rules: the two loss limits of [risk]
        used = f"({money(v.day_pnl)} of -{money(v.daily_loss_limit)})"
        items["Daily loss limit"] = f"{pct(v.daily_loss_used)} used {used}"
        items["Trailing max loss"] = f"{pct(v.trailing_used)} used (floor {money(v.trailing_floor)})"
    title = f"Compliance — {v.profile_label}" if v.profile_label else "Compliance"
    return Card(title=title, fields=fields(items, inline=False), color=color)


def account_state(s: AccountState) -> Card:
    lines = [position_line(p) for p in s.positions] or ["flat"]
    work = [order_line(o) for o in s.open_orders] or ["none"]
    items = {
        "Balance": money(s.account.balance),
        "Kill switch": s.risk.kill_switch,
        "Today's P&L": money(s.risk.day_pnl),
        "Positions": "\n".join(lines),
        "Working orders": "\n".join(work),
    }
    return Card(title=f"State of {s.account.name}", fields=fields(items, inline=False))


def _ms(nanos: int) -> str:
    return f"{nanos / 1e6:.2f}"


def _latency_order(operation: str) -> tuple[int, int, str]:
    """Stages first, in the order an event travels (trading/metrics.py STAGES), then the broker calls."""
    if operation.startswith(STAGE_PREFIX):
        name = operation.removeprefix(STAGE_PREFIX)
        return (0, STAGE_NAMES.index(name) if name in STAGE_NAMES else len(STAGE_NAMES), name)
    return (1, 0, operation)


def latency_rows(stats: Sequence[LatencyStats]) -> list[list[str]]:
    """One row per operation, the Rust and Python paths side by side (— where a path has no samples):
    the stage table first (`stage <name>`, in the order an event travels), then the broker calls."""
    by_op: dict[str, dict[str, LatencyStats]] = {}
    for s in stats:
        by_op.setdefault(s.operation, {})[s.path] = s
    rows = []
    for op in sorted(by_op, key=_latency_order):
        rust, py = by_op[op].get("rust"), by_op[op].get("python")

        def both(pick: str, r: LatencyStats | None = rust, p: LatencyStats | None = py) -> list[str]:
            return [_ms(getattr(x, pick)) if x is not None else "—" for x in (r, p)]

        counts = [str(x.count) if x is not None else "0" for x in (rust, py)]
        label = f"stage {op.removeprefix(STAGE_PREFIX)}" if op.startswith(STAGE_PREFIX) else op
        rows.append([label, *both("p50"), *both("p95"), *both("p99"), *both("max"), *counts])
    return rows


def latency(stats: Sequence[LatencyStats], chart: bytes | None) -> Card:
    rows = latency_rows(stats)
    stages = [[r[0].removeprefix("stage "), *r[1:]] for r in rows if r[0].startswith("stage ")]
    calls = [r for r in rows if not r[0].startswith("stage ")]
    parts = []
    if stages:
        # Each stage is the span ending at the point it names, timed at the same Python-side points on both paths.
        parts += [
            "**Stages** (hub frame → Discord; each ends at the point named)",
            table(("stage", *LATENCY_HEADERS[1:]), stages),
        ]
    if calls:
        parts += ["**Broker calls**", table(LATENCY_HEADERS, calls)]
    return Card(
        title="Latency (Rust and Python side by side)",
        description="\n".join(parts) if parts else "No latency samples in the window.",
        image=("latency.png", chart) if chart else None,
    )


def health(h: Health, notifier_sent: int, notifier_error: str) -> Card:
    items = {
        "Broker": h.broker_detail,
        "Database": "ok" if h.database_ok else "unreachable",
        "Pending notifications": h.pending_notifications,
        "Notifications sent": notifier_sent,
        "Last delivery error": notifier_error or "none",
        "Account": h.account_id,
    }
    ok = h.broker_ok and h.database_ok
    return Card(title="Health: ok" if ok else "Health: degraded", fields=fields(items), color=GREEN if ok else RED)


def jobs(runs: Sequence[JobRun]) -> list[Card]:
    lines = [f"{r.job} {to_ny(r.scheduled_for):%m-%d %H:%M} ET {fmt(r.outcome)} {r.detail}".strip() for r in runs]
    return paged("Scheduled jobs", lines, "No job has run yet (the scheduler is not running in this build).")


def notifications(pending: int, recent: Sequence[OutboxMessage]) -> Card:
    lines = [
        f"#{m.id} {m.kind.value} → {m.channel}: {m.status}" + (f" ({m.last_error})" if m.last_error else "")
        for m in recent
    ]
    return Card(title=f"Notifications: {pending} pending", description="\n".join(lines) or "Outbox empty.")


# ---------------------------------------------------------------------- the operator commands
def marked_position_line(p: MarkedPosition) -> str:
    """`MNQ long 1 @ 21000.00, last 21010.25, open P&L $20.50` (prices on the tick grid)."""
    line = f"{p.symbol} {p.side.name.lower()} {p.size} @ {price(p.average_price, p.tick_size)}"
    if p.last is not None:
        line += f", last {price(p.last, p.tick_size)}"
    return line + (f", open P&L {money(p.unrealized)}" if p.unrealized is not None else ", open P&L — (no quote yet)")


def marked_positions(items: Sequence[MarkedPosition]) -> list[Card]:
    return paged("Open positions", [marked_position_line(p) for p in items], "Flat: no open positions.")


def status(s: Status) -> Card:
    kill = s.kill_switch + (f" ({s.kill_reason})" if s.kill_reason else "")
    held = [marked_position_line(p) for p in s.positions] or ["flat"]
    working = [
        working_order_label(o, s.symbols_of.get(o.contract_id), s.ticks.get(o.contract_id)) for o in s.orders
    ] or ["none"]
    items = {
        "Mode": s.mode,
        "Engine": s.engine,
        "Kill switch": kill,
        "Open contracts": f"{s.open_contracts} of {s.max_contracts} allowed",
        "Open P&L": money(s.unrealized),
        "Today's P&L": money(s.day_pnl),
    }
    listed = fields(items) + fields(
        {f"Positions ({len(s.positions)})": "\n".join(held), f"Working orders ({len(s.orders)})": "\n".join(working)},
        inline=False,
    )
    color = RED if s.kill_switch != "none" else GREEN if s.engine == "active" else ORANGE
    return Card(title=f"Status: {s.mode}, engine {s.engine}", fields=listed, color=color)


def working_order_label(o: Order, symbol: str | None, tick: Decimal | None) -> str:
    """`#9061 MNQ sell limit 1 @ 20600.00` (the contract id when the symbol is not known)."""
    if o.stop_price is not None and o.limit_price is not None:
        at = f" stop {price(o.stop_price, tick)} limit {price(o.limit_price, tick)}"
    else:
        level = o.limit_price if o.limit_price is not None else o.stop_price
        at = f" @ {price(level, tick)}" if level is not None else ""
    return f"#{o.id} {symbol or o.contract_id} {o.side.value} {o.type.value.replace('_', '-')} {o.size}{at}"


def pnl_table(unit: str, rows: Sequence[PnlRow]) -> Card:
    """The daily or weekly table, newest first, with its total."""
    head = "day (ET)" if unit == "daily" else "week from (ET)"
    body = [[f"{r.start:%a %m-%d}", money(r.net), money(r.realized), money(r.fees), str(r.trades)] for r in rows]
    total = sum((r.net for r in rows), Decimal(0))
    return Card(
        title=f"P&L {unit}, last {len(rows)} {'day' if unit == 'daily' else 'week'}(s): {money(total)}",
        description=table((head, "net", "realized", "fees", "trades"), body),
        color=GREEN if total >= 0 else RED,
    )


def performance(days: int, rows: Sequence[SymbolResult]) -> Card:
    body = [[r.symbol, str(r.trades), pct(r.win_rate), money(r.net), money(r.fees)] for r in rows]
    if not body:
        return Card(
            title=f"Performance, last {days} day(s)", description="No closed trades in that period.", color=GREY
        )
    return Card(
        title=f"Performance, last {days} day(s)",
        description=table(("symbol", "trades", "win rate", "net P&L", "fees"), body),
    )


def version(v: VersionInfo) -> Card:
    items = {"tradebot": v.package, "Commit": v.commit or "unknown (not a git checkout)", "Order path": v.native}
    return Card(title=f"tradebot {v.package}", fields=fields(items, inline=False))


def health_runtime(h: Health, notifier_sent: int, notifier_error: str, r: Runtime) -> Card:
    """/stats health: the broker, database and notification checks, then the running process."""
    card = health(h, notifier_sent, notifier_error)
    if r.feed_seen_at is None:
        feed = "no market event yet"
    else:
        feed = f"{r.feed_age_s:.0f} s ago ({ny_time(r.feed_seen_at, with_date=True)})"
    bars = {sym: ny_time(at, with_date=True) if at is not None else "none" for sym, at in r.last_bars.items()}
    items: dict[str, Any] = {
        "Mode": r.mode,
        "Engine": r.engine,
        **{hub.name.capitalize(): hub.state for hub in r.hubs},
        "Market feed": feed,
        "Last 1-minute bar": "\n".join(f"{sym} {at}" for sym, at in bars.items()) or "no symbol on the feed",
        "Version": f"{r.version.package} ({r.version.commit or 'no commit'}), {r.version.native}",
    }
    if r.routes:
        items["Routes"] = "\n".join(route_lines(r.routes, r.executor_fallbacks))
    ok = h.broker_ok and h.database_ok and all(hub.state != "disconnected" for hub in r.hubs)
    title = "Health: ok" if ok else "Health: degraded"
    return Card(title, card.description, card.fields + fields(items), GREEN if ok else RED)


def route_lines(routes: Sequence[RouteState], executor_fallbacks: int) -> list[str]:
    """One line per component: what serves it now, and how often it fell back to Python."""
    lines = []
    for st in routes:
        falls = f"; breaker trips {st.fallbacks}" if st.fallbacks else ""
        calls = (
            f"; calls served by Python {executor_fallbacks}"
            if st.component == "executor" and executor_fallbacks
            else ""
        )
        lines.append(f"{st.component}: {route_text(st)}{falls}{calls}")
    return lines


def routes(view: RoutesView) -> Card:
    """/stats route: every component's route, then the latest changes (who, when, old -> new)."""
    changes = [
        f"{ny_time(c.changed_at, with_date=True)} {c.component}: {c.old_route} → {c.new_route}"
        f" by {c.changed_by or '?'}" + (f" ({c.reason})" if c.reason else "")
        for c in view.changes
    ]
    items = {"Routes": "\n".join(route_lines(view.routes, view.executor_fallbacks))}
    if changes:
        items["Latest changes (New York)"] = "\n".join(changes)[:1000]
    return Card(title="Component routes", fields=fields(items, inline=False))


def parity(view: ParityView) -> Card:
    """/stats parity: comparisons made and mismatches per kind, by component."""
    lines = [f"{c}: {n} compared" for c, n in sorted(view.compared.items())]
    lines += [
        f"{m.component} {m.kind}: {m.mismatches} mismatch{'es' if m.mismatches != 1 else ''}"
        f" (last {ny_time(m.last_at, with_date=True)})"
        for m in view.mismatches
    ]
    bad = sum(m.mismatches for m in view.mismatches)
    title = f"Parity: {bad} mismatch{'es' if bad != 1 else ''}" if bad else "Parity: no mismatch"
    return Card(title, "\n".join(lines) or "No shadow run has compared anything yet.", color=RED if bad else GREEN)


def settings_lines(masked: dict[str, Any], prefix: str = "") -> list[str]:
    """`section.key = value` per setting (the masked tree: secrets are ********)."""
    lines = []
    for key, value in masked.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            lines += settings_lines(value, f"{name}.")
        elif isinstance(value, list):
            lines.append(f"`{name}` = {', '.join(fmt(v) for v in value) or '(none)'}")
        else:
            lines.append(f"`{name}` = {fmt(value) if value != '' else '(empty)'}")
    return lines


def config(masked: dict[str, Any]) -> list[Card]:
    title = "Effective configuration (secrets hidden)"
    return [Card(title=title, description=p) for p in pages(settings_lines(masked), per_page=40)]


def logs(path: str, lines: Sequence[str]) -> list[Card]:
    """The log's last lines in code blocks (each page under Discord's description limit)."""
    shown = [ln.replace("```", "'''")[:300] for ln in lines]
    out = []
    for page in pages(shown, per_page=25) if shown else [""]:
        out.append(Card(title=f"Log {path}, last {len(lines)} line(s)", description=f"```\n{page or '(empty)'}\n```"))
    return out


def reloaded(r: Reloaded, source: str) -> Card:
    if not r.changed:
        return Card(title="Configuration reloaded: nothing changed", description=source, color=GREY)
    items = {
        "Applied now": ", ".join(r.applied) or "nothing",
        "Changed, needs a restart (not applied)": ", ".join(r.restart) or "nothing",
    }
    return Card(title="Configuration reloaded", description=source, fields=fields(items, inline=False), color=GREEN)
