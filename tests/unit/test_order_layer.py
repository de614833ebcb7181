"""The order path's Python layer (trading/execution.py and what it calls on every order) answers as
before its hot-path shortcuts: the environment switch read through its memo, the breaker's ok-outcome
shortcut, the live clock's samples stamped as integer ns, the frozen `Timed` built through its slots."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from trading import native
from trading.breaker import Bounds, Breaker
from trading.clock import LiveClock
from trading.domain import LatencySample
from trading.execution import Timed, _timed_value
from trading.metrics import LatencyMetrics


def test_the_environment_switch_is_read_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADEBOT_RUST", raising=False)
    assert native._env_enabled()
    for raw, on in [("0", False), (" Off ", False), ("1", True), ("no", False), ("yes", True), ("false", False)]:
        monkeypatch.setenv("TRADEBOT_RUST", raw)
        assert native._env_enabled() is on, raw
        assert native._env_enabled() is on, raw  # the memo answers the same
    monkeypatch.delenv("TRADEBOT_RUST")
    assert native._env_enabled()
    monkeypatch.setenv("TRADEBOT_RUST", "0")
    assert native.route(native.Component.EXECUTOR) == "python"
    assert not native.executor_uses_rust("any-tag")


def test_an_ok_outcome_still_trips_a_window_of_failures() -> None:
    b = Breaker("executor", Bounds(window=20, min_calls=10, max_error_rate=0.2))
    for _ in range(9):
        b.record(False)
    assert not b.open  # below min_calls
    b.record(True, 1.0)  # the tenth call: 9 of 10 failed
    assert b.open and "9 of the last 10" in b.reason


def test_ok_outcomes_alone_never_trip_and_are_all_kept() -> None:
    b = Breaker("executor", Bounds(window=5, min_calls=2))
    for i in range(12):
        b.record(True, float(i))
    assert not b.open
    assert list(b._outcomes) == [(True, float(i)) for i in range(7, 12)]
    b.configure(Bounds(window=5, min_calls=2, max_p95_ms=3.0))
    b.record(True, 0.5)
    assert b.open and "p95 latency" in b.reason


async def test_live_clock_samples_carry_the_wall_time() -> None:
    got: list[LatencySample] = []

    class Sink:
        async def insert_batch(self, samples: list[LatencySample]) -> int:
            got.extend(samples)
            return len(samples)

    metrics = LatencyMetrics(LiveClock(), Sink())
    before = datetime.now(UTC)
    metrics.record("cancel", "rust", 1_234, ok=False, extra={"try": "2"})
    after = datetime.now(UTC)
    assert metrics.pending == 1 and await metrics.flush() == 1
    [sample] = got
    assert before <= sample.at <= after and sample.at.tzinfo is UTC
    assert sample == LatencySample("cancel", "rust", 1_234, sample.at, False, {"try": "2"})


def test_the_fast_timed_is_the_same_frozen_value() -> None:
    t = _timed_value(7, 1_000, "rust")
    assert t == Timed(7, 1_000, "rust") and hash(t) == hash(Timed(7, 1_000, "rust"))
    assert type(t) is Timed
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.nanos = 5  # type: ignore[misc]
