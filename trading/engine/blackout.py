"""Scheduled-news blackout: the engine's side of the windows read from the trader's news file
(trading/news.py holds the file's format and the window maths; `[blackout]` the settings).

- In the order path (`Engine.screen`): inside a window, an opening order from a strategy is refused with
  a reason naming the event; a trader's own opening order too when `refuse_manual`. An order that only
  reduces a position (the opposite side, no larger than it: a stop, a target, a close) always passes.
- On the engine's healing loop, every `check_interval_s` (so a restart inside a window still acts):
  when a window opens, with `cancel_entries` the working entry orders are cancelled (working, not a
  bracket child, not reducing a position), and one notification per event says the blackout is acting;
  with `flatten`, from `flatten_minutes_before` the release (never before the window opens) until the
  release, the engine's own flatten (`Engine.flatten_all`) closes every position once per event.
- The file is read when the engine starts (a bad file stops the start, naming the event and the
  problem) and again whenever it changes; a bad edit while running is said once and changes nothing:
  the windows read before stay in force.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from trading import notifications
from trading.clock import Clock
from trading.config import ConfigError, Settings
from trading.domain import NotificationKind, Order, OrderRequest, Position, PositionSide, Side
from trading.engine.order_index import OrderIndex
from trading.engine.order_path import OrderPath
from trading.news import NewsCalendar, NewsEvent, NewsFileError, file_problems, load_news
from trading.projectx.errors import ProjectXError
from trading.store import Store

log = logging.getLogger(__name__)


class BlackedOutEngine(Protocol):
    """The engine (core.py) as the blackout reads and acts on it."""

    settings: Settings
    store: Store
    clock: Clock
    account_id: int
    path: OrderPath
    book: OrderIndex
    positions: dict[str, Position]
    _lock: asyncio.Lock

    async def flatten_all(self, reason: str) -> dict[str, list[Any]]: ...


@dataclass
class BlackoutStats:
    """What the blackout did (status commands, tests)."""

    checks: int = 0
    refused: int = 0  # opening orders refused inside a window
    cancelled: int = 0  # working entries cancelled when a window opened
    flattens: int = 0  # flattens before a release
    reload_errors: int = 0  # edits of the file refused (the windows before kept)


def reducing(side: Side, size: int, position: Position | None) -> bool:
    """An order that can only make `position` smaller: the opposite side, no larger than it."""
    if position is None or position.size <= 0:
        return False
    closing = Side.SELL if position.side is PositionSide.LONG else Side.BUY
    return side is closing and size <= position.size


class Blackout:
    def __init__(self, engine: BlackedOutEngine) -> None:
        self.engine = engine
        self.cfg = engine.settings.blackout
        self.stats = BlackoutStats()
        self.calendar = NewsCalendar()
        self._mtime: float | None = None
        self._acted: set[str] = set()  # events whose opening was handled (entries cancelled, said)
        self._flattened: set[str] = set()  # events flattened for
        self._next = 0.0

    def load(self) -> None:
        """Read the news file (the engine's start: a bad file stops it, naming the event and the problem;
        an engine built only to act on the broker, `tradebot flatten` with no instance running, never reads it)."""
        if self.cfg.file is None:
            return
        try:
            self.calendar = self._read()
        except NewsFileError as exc:
            raise ConfigError(file_problems(exc)) from None

    def _read(self) -> NewsCalendar:
        assert self.cfg.file is not None
        path = self.cfg.file.expanduser()
        self._mtime = path.stat().st_mtime if path.exists() else None
        return load_news(path, self.cfg.minutes_before, self.cfg.minutes_after)

    # ------------------------------------------------------------------ the order path
    def refusal(self, request: OrderRequest, *, strategy: bool) -> str | None:
        """Why `request` may not be placed now (None: it may)."""
        event = self.calendar.at(self.engine.clock.now())
        if event is None or not (strategy or self.cfg.refuse_manual):
            return None
        if reducing(request.side, request.size, self.engine.positions.get(request.contract_id)):
            return None
        self.stats.refused += 1
        return f"news blackout: {event.name} at {event.release_ny()}, no new entries {event.window_ny()}"

    # ------------------------------------------------------------------ the healing loop
    async def check(self) -> None:
        if self.cfg.file is None or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.cfg.check_interval_s
        self.stats.checks += 1
        await self._reload()
        now = self.engine.clock.now()
        event = self.calendar.at(now)
        if event is None:
            return
        if event.key not in self._acted:
            await self._open(event)
        flatten_at = max(event.start, event.release - timedelta(minutes=self.cfg.flatten_minutes_before))
        if self.cfg.flatten and flatten_at <= now < event.release and event.key not in self._flattened:
            await self._flatten(event)

    async def _reload(self) -> None:
        assert self.cfg.file is not None
        path = self.cfg.file.expanduser()
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return  # gone for a moment (an editor saving): the windows read before stay
        if mtime == self._mtime:
            return
        try:
            self.calendar = self._read()
            log.info("news file %s read again: %d event(s)", path, len(self.calendar.events))
        except NewsFileError as exc:
            self.stats.reload_errors += 1
            log.warning("news file edit refused, the windows read before stay: %s", exc)
            await self.engine.store.outbox.enqueue(
                NotificationKind.ALERT,
                dict(notifications.alert("News file not read", f"{exc}. The windows read before stay in force.")),
                dedupe_key=f"news-file-{mtime}",
            )

    async def _open(self, event: NewsEvent) -> None:
        """A window has opened (or the engine started inside it): cancel entries by config, say so once."""
        e = self.engine
        cancelled: list[int] = []
        if self.cfg.cancel_entries:
            async with e._lock:
                for o in list(e.book.working.values()):  # an entry is a working order
                    if not self._entry(o):
                        continue
                    assert o.id is not None
                    try:
                        await e.path.cancel(e.account_id, o.id)
                        cancelled.append(o.id)
                    except ProjectXError as exc:
                        log.warning("blackout %s: cancelling entry #%s failed (%s); next check", event.name, o.id, exc)
                        self.stats.cancelled += len(cancelled)
                        return  # tried again on the next check (the notification waits for it)
        self.stats.cancelled += len(cancelled)
        self._acted.add(event.key)
        log.warning("news blackout %s (%s): no entries %s; cancelled %s", event.name, event.release_ny(),
                    event.window_ny(), cancelled)  # fmt: skip
        payload = notifications.blackout(event.name, event.release_ny(), event.window_ny(), cancelled=cancelled)
        await e.store.outbox.enqueue(
            NotificationKind.RISK, dict(payload), dedupe_key=f"blackout-{e.account_id}-{event.key}"
        )

    def _entry(self, o: Order) -> bool:
        return (
            o.id is not None
            and o.status.is_working
            and o.parent_id is None
            and not reducing(o.side, o.size - o.fill_volume, self.engine.positions.get(o.contract_id))
        )

    async def _flatten(self, event: NewsEvent) -> None:
        e = self.engine
        if not e.positions:
            return
        done = await e.flatten_all(f"news blackout: {event.name} at {event.release_ny()}")
        if done["errors"]:
            log.warning("blackout %s: flatten incomplete (%s); next check", event.name, "; ".join(done["errors"]))
            return
        self._flattened.add(event.key)
        self.stats.flattens += 1
