"""A circuit breaker per Rust component: the last `window` outcomes (ok or failed, with their
latency) of the Rust path; past the configured bounds it trips, and `trading.native` then answers
"python" for that component until an admin resets it or its probation runs out.

A trip is reported once to every listener (the engine queues the alert and the audit row): listeners
are plain callables, called on the thread that recorded the outcome, and must not block.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Bounds:
    window: int = 50
    min_calls: int = 10
    max_error_rate: float = 0.2
    max_p95_ms: float = 0.0  # 0: no latency bound
    probation_s: float = 0.0  # 0: only an admin moves it back


@dataclass(frozen=True, slots=True)
class Trip:
    component: str
    reason: str


TripListener = Callable[[Trip], None]


class Breaker:
    def __init__(self, component: str, bounds: Bounds, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.component = component
        self.bounds = bounds
        self._monotonic = monotonic
        self._outcomes: deque[tuple[bool, float | None]] = deque(maxlen=bounds.window)
        self._failed = 0  # failures in the window, kept as outcomes come and go (record is on hot paths: bars)
        self.reason = ""  # why it is open now ("" when closed)
        self.tripped_at: float | None = None
        self.trips = 0  # how many times it moved the component to Python (fallback count)
        self.listeners: list[TripListener] = []

    @property
    def open(self) -> bool:
        """True while traffic is held on Python; a lapsed probation closes it on the way."""
        if self.tripped_at is None:
            return False
        probation = self.bounds.probation_s
        if probation > 0 and self._monotonic() - self.tripped_at >= probation:
            log.warning("%s: probation over, back to its configured route", self.component)
            self.reset()
            return False
        return True

    def configure(self, bounds: Bounds) -> None:
        self.bounds = bounds
        self._outcomes = deque(self._outcomes, maxlen=bounds.window)
        self._failed = sum(1 for ok, _ in self._outcomes if not ok)

    def record(self, ok: bool, millis: float | None = None) -> None:
        """One outcome of the Rust path; trips when the window is past a bound."""
        if self.tripped_at is not None:
            return
        window = self._outcomes
        if len(window) == window.maxlen and window and not window[0][0]:
            self._failed -= 1  # the oldest, a failure, leaves the window
        window.append((ok, millis))
        if ok:
            # The hot path (every Rust order, every bar): with no failure in the window and no latency
            # bound, an ok outcome cannot put the window past a bound, so `_judge` has nothing to find.
            if not self._failed and self.bounds.max_p95_ms <= 0:
                return
        else:
            self._failed += 1
        reason = self._judge()
        if reason:
            self.trip(reason)

    def _judge(self) -> str:
        b = self.bounds
        n = len(self._outcomes)
        if n < b.min_calls:
            return ""
        failed = self._failed
        if failed / n > b.max_error_rate:
            return f"{failed} of the last {n} Rust calls failed (bound {b.max_error_rate:.0%})"
        if b.max_p95_ms > 0:
            times = sorted(ms for ok, ms in self._outcomes if ok and ms is not None)
            if len(times) >= b.min_calls:
                p95 = times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)]
                if p95 > b.max_p95_ms:
                    return f"p95 latency {p95:.1f} ms over the last {len(times)} Rust calls (bound {b.max_p95_ms:g} ms)"
        return ""

    def trip(self, reason: str) -> bool:
        """Move the component to Python now (a dead stream, a bound crossed); False when it was already."""
        if self.tripped_at is not None:
            return False
        self.tripped_at = self._monotonic()
        self.reason = reason
        self.trips += 1
        log.error("%s: circuit breaker tripped, now on Python: %s", self.component, reason)
        trip = Trip(self.component, reason)
        for listener in list(self.listeners):
            try:
                listener(trip)
            except Exception:
                log.exception("a breaker listener failed")
        return True

    def reset(self) -> None:
        """Closed again (an admin's command, or the probation over): a fresh window."""
        self.tripped_at = None
        self.reason = ""
        self._outcomes.clear()
        self._failed = 0
