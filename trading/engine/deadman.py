"""The dead-man switch: a position left open while the engine is blind or cut off is closed.

What counts as down, each from the moment it was first seen so (wall time, monotonic):

- the market feed: the market hub not connected, or its stale-feed watchdog fired (a STALE status) and
  no market data came since;
- the broker connection: the user hub not connected, or the REST client's requests getting no answer
  (unreachable, dropped, timed out, 5xx: `ProjectXClient.failing_since`, which every call updates;
  while a position is open the healer asks REST every `engine.reconcile_interval_s`, so a dead REST
  does not go unseen).

Every `protection.check_interval_s` on the engine's healing loop (ready or not: a reconcile cannot
succeed in the very outage this is for): when something has been down for `protection.deadman_after_s`
and the engine holds a position, the engine's own flatten (`Engine.flatten_all`: cancel every working
order, close every position, through REST on the engine's order path) is run. A flatten that REST does
not answer is tried again, backing off up to MAX_RETRY_S, until it answers. One alert per outage (its
dedupe key is the outage's start) says what was down, for how long and what was closed; after it the
switch rests until everything is back. An outage shorter than `deadman_after_s` (the token refresh
rebuilds both hubs in about a second, a reconnect after a network blip) does nothing.

It does not halt the strategies: with the feed back they may trade again, each entry protected as usual.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from trading import notifications
from trading.calendar import to_ny
from trading.clock import Clock
from trading.config import Settings
from trading.domain import NotificationKind, Position
from trading.projectx.errors import ProjectXError
from trading.projectx.rest import ProjectXClient
from trading.store import Store
from trading.streaming import MarketStream, StreamState, UserStream

log = logging.getLogger(__name__)

MAX_RETRY_S = 30.0  # a flatten REST did not answer is tried again after 1, 2, 4… seconds, up to this

MARKET_HUB = "market hub"
MARKET_STALE = "market feed (stale)"
USER_HUB = "user hub"
REST = "REST API"


class DeadManEngine(Protocol):
    """The engine (core.py) as the dead-man switch reads and acts on it."""

    settings: Settings
    store: Store
    client: ProjectXClient
    clock: Clock
    account_id: int
    positions: dict[str, Position]
    user_stream: UserStream | None
    market_stream: MarketStream | None

    async def flatten_all(self, reason: str) -> dict[str, list[Any]]: ...


@dataclass
class DeadManStats:
    """What the switch saw and did (status commands, tests)."""

    checks: int = 0
    outages: int = 0  # outages seen (something down)
    recovered: int = 0  # outages that ended (with or without a flatten)
    attempts: int = 0  # flattens tried
    failures: int = 0  # flattens REST did not answer (or answered with an error)
    flattens: int = 0  # outages ended by a flatten that went through
    longest_s: float = 0.0  # the longest outage seen so far
    fired_after_s: float | None = None  # how long the latest outage had lasted at its first flatten


class DeadMan:
    def __init__(self, engine: DeadManEngine) -> None:
        self.engine = engine
        self.cfg = engine.settings.protection
        self.stats = DeadManStats()
        self._since: dict[str, float] = {}  # what is down -> monotonic time first seen down
        self._stale_since: float | None = None  # the market hub said STALE, and no data came since
        self._outage_at: datetime | None = None  # the engine clock's time the outage began (its alert's key)
        self._outage_start = 0.0  # and its monotonic time
        # Everything seen down in this outage -> (first seen down, last seen down), monotonic: the alert says
        # all of it, also what came back before the flatten (REST answering again is what lets it through).
        self._seen: dict[str, tuple[float, float]] = {}
        self._done = False  # this outage's flatten went through: rest until everything is back
        self._failed = 0
        self._next_try = 0.0
        self._next = 0.0

    # ------------------------------------------------------------------ fed by the engine's market handler
    def market_status(self, state: StreamState) -> None:
        if state is StreamState.STALE and self._stale_since is None:
            self._stale_since = time.monotonic()

    def market_fed(self) -> None:
        self._stale_since = None

    # ------------------------------------------------------------------ the check
    def down(self, now: float) -> dict[str, float]:
        """What is down now, each with the monotonic time it was first seen down."""
        e = self.engine
        seen: dict[str, float] = {}
        if e.market_stream is not None and not e.market_stream.connected:
            seen[MARKET_HUB] = self._since.get(MARKET_HUB, now)
        elif self._stale_since is not None:
            seen[MARKET_STALE] = self._stale_since
        if e.user_stream is not None and not e.user_stream.connected:
            seen[USER_HUB] = self._since.get(USER_HUB, now)
        failing = e.client.failing_since
        if failing is not None:
            seen[REST] = failing
        return seen

    async def check(self) -> None:
        """One look when its interval has come (the healer calls this on every tick, ready or not)."""
        after = self.cfg.deadman_after_s
        if not after or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.cfg.check_interval_s
        self.stats.checks += 1
        now = time.monotonic()
        self._since = self.down(now)
        if not self._since:
            if self._outage_at is not None:
                self._end(now)
            return
        for what, since in self._since.items():
            first = min(since, self._seen.get(what, (since, now))[0])
            self._seen[what] = (first, now)
        start = min(self._since.values())
        self.stats.longest_s = max(self.stats.longest_s, now - start)
        if self._outage_at is None:
            self._outage_at = self.engine.clock.now()
            self._outage_start = start
            self.stats.outages += 1
            log.info("dead-man switch: %s down; positions flattened if it lasts %.0f s", ", ".join(self._since), after)
        if self._done or now - start < after or not self.engine.positions or now < self._next_try:
            return
        if not self._failed:
            self.stats.fired_after_s = now - start
        await self._flatten(now)

    def _end(self, now: float) -> None:
        log.info("dead-man switch: everything back after %.0f s", now - self._outage_start)
        self.stats.recovered += 1
        self._outage_at = None
        self._done = False
        self._failed = 0
        self._next_try = 0.0
        self._seen.clear()

    async def _flatten(self, now: float) -> None:
        e = self.engine
        # Each thing down in this outage and for how long (until now, or until it came back).
        down = {what: last - first for what, (first, last) in self._seen.items()}
        said = ", ".join(f"{what} for {secs:.0f} s" for what, secs in down.items())
        self.stats.attempts += 1
        try:
            done = await e.flatten_all(f"dead-man switch: {said} with a position open")
        except ProjectXError as exc:
            done = {"cancelled": [], "closed": [], "errors": [str(exc)]}
        if done["errors"]:
            self._failed += 1
            self.stats.failures += 1
            delay = min(MAX_RETRY_S, 2.0 ** (self._failed - 1))
            self._next_try = time.monotonic() + delay
            log.warning(
                "dead-man switch: flatten failed (%s); trying again in %.0f s", "; ".join(done["errors"]), delay
            )
            return
        self._done = True
        self.stats.flattens += 1
        log.warning("dead-man switch: %s down; flattened %s", said, done)
        at = e.clock.now()
        payload = notifications.deadman(down, f"{to_ny(at):%H:%M:%S} ET", done["cancelled"], done["closed"])
        assert self._outage_at is not None
        key = f"deadman-{e.account_id}-{self._outage_at.isoformat()}"
        await e.store.outbox.enqueue(NotificationKind.RISK, dict(payload), dedupe_key=key)
