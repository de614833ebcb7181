"""Timing helpers and table printing shared by the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Summary:
    name: str
    n: int
    p50: float  # ns
    p95: float
    p99: float
    lo: float
    hi: float

    @property
    def spread(self) -> str:
        """(p95 - p5)/p50 would hide outliers; we show min..max around the median instead."""
        return f"{fmt(self.lo)}..{fmt(self.hi)}"


def pct(sorted_ns: Sequence[float], q: float) -> float:
    if not sorted_ns:
        return float("nan")
    i = min(len(sorted_ns) - 1, max(0, round(q * (len(sorted_ns) - 1))))
    return float(sorted_ns[i])


def summarize(name: str, samples: Sequence[float]) -> Summary:
    s = sorted(samples)
    return Summary(name, len(s), pct(s, 0.5), pct(s, 0.95), pct(s, 0.99), s[0], s[-1])


def measure(fn: Callable[[], object], repeat: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    out: list[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        fn()
        out.append(float(time.perf_counter_ns() - t0))
    return out


def fmt(ns: float) -> str:
    if ns != ns:
        return "n/a"
    if ns < 0:  # a difference that came out below zero (the noise of two medians): the same unit as its size
        return "-" + fmt(-ns)
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def table(title: str, rows: Sequence[Summary], baseline: str, extra: dict[str, str] | None = None) -> str:
    """Rows with p50/p95/p99, min..max and each row's p50 and p99 as a ratio to the baseline row."""
    base = next(r for r in rows if r.name == baseline)
    head = f"{'path':<28} {'n':>6} {'p50':>10} {'p95':>10} {'p99':>10} {'min..max':>22} {'p50 ×':>7} {'p99 ×':>7}"
    lines = [f"\n## {title}", head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.name:<28} {r.n:>6} {fmt(r.p50):>10} {fmt(r.p95):>10} {fmt(r.p99):>10} {r.spread:>22} "
            f"{r.p50 / base.p50:>7.2f} {r.p99 / base.p99:>7.2f}"
        )
    for k, v in (extra or {}).items():
        lines.append(f"{k}: {v}")
    lines.append(f"(ratios relative to '{baseline}'; > 1 means slower than it)")
    return "\n".join(lines)
