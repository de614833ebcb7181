"""Shadow runs: one component computed by both implementations on the same live input, Python's
output served and Rust's compared with it (trading/native.py routes a component `shadow`).

`Comparator` is the one comparison any pair plugs into (bars today, strategy decisions when a Rust
strategy exists: give both decisions as plain data): every comparison counted, every mismatch handed
to the sink with both outputs and a `kind` that groups it (the sink stores each and alerts once per
kind). A comparison never raises into the path it watches.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Mismatch:
    component: str
    kind: str  # e.g. "bars.close", "bars.count": one alert per kind
    subject: str  # what was compared (a contract, a strategy and symbol)
    python: Any  # JSON-ready
    rust: Any


MismatchSink = Callable[[Mismatch], None]


class Comparator:
    def __init__(self, component: str, sink: MismatchSink | None = None) -> None:
        self.component = component
        self.sink = sink
        self.compared = 0
        self._unflushed = 0  # comparisons not yet counted in the store
        self.mismatches: Counter[str] = Counter()
        self.by_kind: Counter[str] = Counter()  # comparisons made, per kind

    def same(self, kind: str, subject: str, python: Any, rust: Any) -> bool:
        """Compare one pair of outputs (equal as plain data); a mismatch goes to the sink."""
        self.compared += 1
        self._unflushed += 1
        self.by_kind[kind] += 1
        if python == rust:
            return True
        self.mismatches[kind] += 1
        log.warning("%s shadow run: %s differs on %s: python %r, rust %r", self.component, kind, subject, python, rust)
        if self.sink is not None:
            try:
                self.sink(Mismatch(self.component, kind, subject, python, rust))
            except Exception:
                log.exception("the parity sink failed")
        return False

    def take_compared(self) -> int:
        """Comparisons since the last call (the store adds them up)."""
        n, self._unflushed = self._unflushed, 0
        return n
