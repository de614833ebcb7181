"""The operator commands a freqtrade user looks for, over the running engine: status (with each
position's unrealized P&L, the engine's own marks), P&L per day and per week, results per symbol, the
running process (hubs, feed, bars, mode, version), the log file's tail and a configuration reload that
applies what can change safely at run time."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import logging.handlers
import os
import subprocess
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from trading import native
from trading.calendar import to_ny
from trading.config import ROOT, ConfigError, Settings, load_settings
from trading.domain import Fill
from trading.services.errors import BadInput
from trading.services.operator_views import (
    LOG_MAX_LINES,
    PERFORMANCE_MAX_DAYS,
    PNL_MAX_DAYS,
    PNL_MAX_WEEKS,
    Hub,
    MarkedPosition,
    PnlRow,
    Reloaded,
    Runtime,
    Status,
    SymbolResult,
    VersionInfo,
)
from trading.services.strategy import Strategies

# Settings a reload applies at once (each is read afresh by whoever uses it); every other section is
# read at start-up only, so a change there waits for a restart.
HOT_SECTIONS = ("permissions", "risk", "discord.channels")


class Operator(Strategies):
    """Status, P&L tables, performance, runtime health, version, logs and the reload."""

    def engine_state(self) -> str:
        return "active" if self.engine.started else "standby"

    async def marked_positions(self) -> list[MarkedPosition]:
        """The broker's open positions, each marked with the engine's last trade and unrealized P&L."""
        marks = self.engine.marks()
        out = []
        for p in await self.positions():
            if not p.size:
                continue
            contract = await self.contract_by_id(p.contract_id)
            last, pnl = marks.get(p.contract_id, (None, None))
            out.append(
                MarkedPosition(
                    contract.symbol, p.contract_id, p.side, p.size, p.average_price, contract.tick_size, last, pnl
                )
            )
        return out

    async def status(self) -> Status:
        positions = await self.marked_positions()
        orders = [o for o in await self.open_orders() if o.status.is_working]
        contracts = {o.contract_id: await self.contract_by_id(o.contract_id) for o in orders}
        risk = await self.risk_status()
        return Status(
            mode=self.settings.app.mode,
            engine=self.engine_state(),
            kill_switch=risk.kill_switch,
            kill_reason=risk.reason,
            positions=positions,
            orders=sorted(orders, key=lambda o: o.id or 0),
            symbols_of={cid: c.symbol for cid, c in contracts.items()},
            ticks={cid: c.tick_size for cid, c in contracts.items()},
            open_contracts=sum(p.size for p in positions),
            max_contracts=self.settings.risk.max_position_total,
            unrealized=risk.unrealized,
            day_pnl=risk.day_pnl,
        )

    async def _fills_since(self, days: int) -> list[Fill]:
        end = self.clock.now()
        fills = await self._broker(self.broker.search_trades(self.account_id, end - timedelta(days=days), end))
        return [f for f in fills if not f.voided]

    async def pnl_table(self, unit: str, count: int) -> list[PnlRow]:
        """Realized P&L, fees and closing trades per New York day ("daily") or week from Monday
        ("weekly"), the newest first, `count` rows (empty days included)."""
        today = to_ny(self.clock.now()).date()
        if unit == "daily":
            if not 1 <= count <= PNL_MAX_DAYS:
                raise BadInput(f"Days must be between 1 and {PNL_MAX_DAYS}")
            starts = [today - timedelta(days=i) for i in range(count)]
        elif unit == "weekly":
            if not 1 <= count <= PNL_MAX_WEEKS:
                raise BadInput(f"Weeks must be between 1 and {PNL_MAX_WEEKS}")
            monday = today - timedelta(days=today.weekday())
            starts = [monday - timedelta(weeks=i) for i in range(count)]
        else:
            raise BadInput("The table is daily or weekly")
        fills = await self._fills_since((today - starts[-1]).days + 1)
        buckets: dict[date, list[Fill]] = {s: [] for s in starts}
        for f in fills:
            day = to_ny(f.ts_event).date()
            key = day if unit == "daily" else day - timedelta(days=day.weekday())
            if key in buckets:
                buckets[key].append(f)
        return [_pnl_row(s, buckets[s]) for s in starts]

    async def performance(self, days: int) -> list[SymbolResult]:
        """Per symbol over the last `days`: closing trades, wins, realized P&L and fees (best first)."""
        if not 1 <= days <= PERFORMANCE_MAX_DAYS:
            raise BadInput(f"Days must be between 1 and {PERFORMANCE_MAX_DAYS}")
        by_symbol: dict[str, list[Fill]] = {}
        for f in await self._fills_since(days):
            symbol = (await self.contract_by_id(f.contract_id)).symbol
            by_symbol.setdefault(symbol, []).append(f)
        rows = [_symbol_result(sym, fills) for sym, fills in by_symbol.items()]
        return sorted(rows, key=lambda r: (-r.net, r.symbol))

    async def version(self) -> VersionInfo:
        try:
            package = importlib.metadata.version("tradebot")
        except importlib.metadata.PackageNotFoundError:
            package = "unknown (not installed as a package)"
        return VersionInfo(package, await asyncio.to_thread(git_commit, ROOT), native.describe())

    async def runtime(self) -> Runtime:
        e = self.engine
        now = self.clock.now()
        hubs = [
            Hub(name, "not used" if s is None else "connected" if s.connected else "disconnected")
            for name, s in (("user hub", e.user_stream), ("market hub", e.market_stream))
        ]
        seen = e.market_seen_at
        return Runtime(
            mode=self.settings.app.mode,
            engine=self.engine_state(),
            hubs=hubs,
            feed_seen_at=seen,
            feed_age_s=None if seen is None else max(0.0, (now - seen).total_seconds()),
            last_bars={sym: cache.latest for sym, cache in sorted(e.bars.items())},
            version=await self.version(),
            routes=native.states(),
            executor_fallbacks=int(getattr(e.path, "fallbacks", 0)),
        )

    async def reload_settings(self, config_file: str | None, loaded: Settings) -> tuple[Settings, Reloaded]:
        """Read and validate the configuration again (`config_file`, else TRADEBOT_CONFIG, with .env and
        the environment), then apply what can change at run time. An invalid configuration changes
        nothing: `BadInput` lists each problem."""
        try:
            new = await asyncio.to_thread(load_settings, config_file)
        except ConfigError as exc:
            problems = "\n".join(f"- {p}" for p in exc.problems)
            raise BadInput(f"The configuration was not reloaded, nothing changed:\n{problems}") from None
        return new, self.apply_settings(new, loaded)

    async def log_tail(self, lines: int) -> tuple[Path, list[str]] | None:
        """The log file and its last `lines` lines, or None when the process logs to the console only."""
        path = log_file()
        return None if path is None else (path, await asyncio.to_thread(log_tail, path, lines))

    def apply_settings(self, new: Settings, loaded: Settings | None = None) -> Reloaded:
        """Apply a validated configuration: risk limits now (the engine's risk check reads them on every
        order); permissions and notification channels are the bot's to apply (listed in `applied`).
        Every other changed section is listed in `restart` and left as it is. `loaded` is the
        configuration as it was read at start (the engine's copy may differ: paper mode points it at the
        simulator); what changed is measured against it."""
        was = loaded or self.settings
        applied = [s for s in HOT_SECTIONS if _section(was, s) != _section(new, s)]
        restart = [s for s in _sections(was) if s not in HOT_SECTIONS and _section(was, s) != _section(new, s)]
        old = self.settings
        channels = old.discord.model_copy(update={"channels": new.discord.channels})
        settings = old.model_copy(update={"permissions": new.permissions, "risk": new.risk, "discord": channels})
        self.settings = self.engine.settings = settings
        self.engine.risk.settings = new.risk
        return Reloaded(applied, restart)


def _sections(settings: Settings) -> Iterable[str]:
    for name in type(settings).model_fields:
        if name == "discord":
            yield from ("discord.token", "discord.guild_ids")
            for key in type(settings.discord).model_fields:
                if key not in ("token", "guild_ids", "channels"):
                    yield f"discord.{key}"
        else:
            yield name


def _section(settings: Settings, dotted: str) -> object:
    node: object = settings
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def _pnl_row(start: date, fills: list[Fill]) -> PnlRow:
    closing = [f for f in fills if f.pnl is not None]
    return PnlRow(
        start,
        sum((f.pnl or Decimal(0) for f in closing), Decimal(0)),
        sum((f.fees for f in fills), Decimal(0)),
        len(closing),
    )


def _symbol_result(symbol: str, fills: list[Fill]) -> SymbolResult:
    closing = [f for f in fills if f.pnl is not None]
    return SymbolResult(
        symbol,
        len(closing),
        sum(1 for f in closing if (f.pnl or 0) > 0),
        sum((f.pnl or Decimal(0) for f in closing), Decimal(0)),
        sum((f.fees for f in fills), Decimal(0)),
    )


def git_commit(root: Path) -> str | None:
    """The checkout's commit (short), or None outside a git checkout (an installed wheel, the image)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def log_file() -> Path | None:
    """The file the process logs to (a file handler on the root logger, a rotating one first), or None
    when it logs to the console only."""
    files = [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.FileHandler) and h.baseFilename != os.path.abspath(os.devnull)
    ]
    files.sort(key=lambda h: not isinstance(h, logging.handlers.BaseRotatingHandler))
    return Path(files[0].baseFilename) if files else None


def log_tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of the log file."""
    if not 1 <= lines <= LOG_MAX_LINES:
        raise BadInput(f"Lines must be between 1 and {LOG_MAX_LINES}")
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            start = max(0, size - 512 * lines)
            fh.seek(start)
            text = fh.read().decode("utf-8", errors="replace")
    except OSError as exc:
        raise BadInput(f"The log file {path} cannot be read: {exc.strerror}") from None
    rows = text.splitlines()
    return (rows[1:] if start else rows)[-lines:]  # a read from the middle starts inside a line
