"""The strategy component's one rule (trading/native.py `strategy_route`): the route, once set, decides
for every strategy with a Rust implementation; unset, each strategy's `impl` does; TRADEBOT_RUST=0 and
an open breaker mean Python whatever was asked."""

from __future__ import annotations

import pytest

from trading import native
from trading.config import RoutingSettings
from trading.engine import routes
from trading.services.routing import route_text

pytestmark = pytest.mark.skipif(not native.enabled(), reason="Rust path not active")
S = native.Component.STRATEGY


def test_unset_the_impl_decides_and_the_operator_reads_so() -> None:
    routes.apply_settings(RoutingSettings())
    assert not native.explicit(S)
    assert native.strategy_route("python") == "python"
    assert native.strategy_route("rust") == "rust"
    assert route_text(native.state(S)) == "each strategy's impl setting (no route set)"
    assert native.label(S) == "impl"


@pytest.mark.parametrize("mode", ["python", "rust", "shadow"])
def test_a_set_route_wins_over_every_impl(mode: str) -> None:
    routes.apply_settings(RoutingSettings(strategy=mode))
    assert native.strategy_route("python") == mode
    assert native.strategy_route("rust") == mode
    assert native.state(S).configured == mode
    native.forget_route(S)  # the store failed: unset again
    assert native.strategy_route("rust") == "rust" and not native.explicit(S)


def test_rust_off_or_a_tripped_breaker_means_python(monkeypatch: pytest.MonkeyPatch) -> None:
    native.set_route(S, "rust")
    native.breaker(S).trip("a Rust strategy raised")
    assert native.strategy_route("rust") == "python"
    native.reset(S)
    assert native.strategy_route("rust") == "rust"
    monkeypatch.setenv("TRADEBOT_RUST", "0")
    assert native.strategy_route("rust") == "python"
    native.forget_route(S)
    assert native.strategy_route("rust") == "python"
    assert native.state(S).effective == "python"
