"""Sequential round trips of several contenders, interleaved in chunks with the order rotating per
chunk, so a noisy second on this shared machine hits every contender alike; each repetition's
percentiles per contender (ratios are then paired per repetition)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.stats import pct

CHUNK = 50
WARMUP = 200

Chunk = Callable[[int, int], Awaitable[list[float]]]  # (n, first index) -> n round trips' ns


@dataclass(frozen=True, slots=True)
class Rep:
    """One repetition's percentiles of one contender, in ns."""

    p50: float
    p95: float
    p99: float


def rep(ns: list[float]) -> Rep:
    s = sorted(ns)
    return Rep(pct(s, 0.5), pct(s, 0.95), pct(s, 0.99))


def timed(once: Callable[[int], Awaitable[None]]) -> Chunk:
    """A chunk of `once(i)` calls, each timed on its own."""

    async def chunk(n: int, start: int) -> list[float]:
        out: list[float] = []
        for i in range(start, start + n):
            t0 = time.perf_counter_ns()
            await once(i)
            out.append(float(time.perf_counter_ns() - t0))
        return out

    return chunk


async def interleaved(contenders: dict[str, Chunk], n: int, reps: int) -> dict[str, list[Rep]]:
    """Warm every contender up, then `reps` repetitions of `n` round trips each. Indexes never repeat
    (a contender may use them for unique order tags)."""
    names = list(contenders)
    for k, name in enumerate(names):  # connections, caches, allocator
        await contenders[name](min(WARMUP, n), -(k + 1) * 10**7)
    results: dict[str, list[Rep]] = {name: [] for name in names}
    for r in range(reps):
        got: dict[str, list[float]] = {name: [] for name in names}
        for c, first in enumerate(range(0, n, CHUNK)):
            k = (r + c) % len(names)
            for name in names[k:] + names[:k]:
                got[name] += await contenders[name](min(CHUNK, n - first), (r + 1) * 10**7 + first)
        for name in names:
            results[name].append(rep(got[name]))
    return results
