"""Watching the simulator's exchange from a test: every call of one of its methods (place, modify, ...)
recorded once applied, and a process killed (SIGKILL) from inside the first one, after the exchange
applied it and before its answer leaves: the caller never hears back."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from trading.sim.exchange import Exchange

T = TypeVar("T")


@contextmanager
def tapped(
    exchange: Exchange, method: str, seen_of: Callable[[Any], T], kill: subprocess.Popen[bytes] | None = None
) -> Iterator[list[T]]:
    """`seen_of(request)` of every `exchange.<method>` call, taken after the call is applied; the first
    one kills `kill` before its answer is returned."""
    seen: list[T] = []
    real = getattr(exchange, method)

    def call(req: Any) -> Any:
        answer = real(req)
        seen.append(seen_of(req))
        if kill is not None and len(seen) == 1:
            os.kill(kill.pid, signal.SIGKILL)
        return answer

    setattr(exchange, method, call)
    try:
        yield seen
    finally:
        setattr(exchange, method, real)
