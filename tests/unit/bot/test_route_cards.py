"""The route and parity cards: each component's implementation now (the executor's Rust share, a
breaker's reason and trips, calls served by Python), the audit in New York time, parity per kind."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import cards
from trading import native
from trading.services.routing import ParityView, RoutesView
from trading.store.routes import ParityCount, RouteChange

AT = datetime(2026, 2, 10, 15, 4, tzinfo=UTC)  # 10:04 in New York


def test_the_routes_card_says_what_serves_each_component_and_why() -> None:
    native.set_route(native.Component.EXECUTOR, "rust", 40)
    native.set_route(native.Component.BARS, "shadow")
    native.breaker(native.Component.MARKET_STREAM).trip("the Rust market stream died: reader failed")
    change = RouteChange("market_stream", "rust", "python", "breaker", "the Rust market stream died", AT)
    text = cards.routes(RoutesView(native.states(), [change], 3)).text()
    assert "executor: rust (40 % of orders); calls served by Python 3" in text, text
    assert "market_stream: python, routed rust: the Rust market stream died: reader failed; breaker trips 1" in text
    assert "bars: shadow" in text and "user_stream: rust" in text
    assert "strategy: each strategy's impl setting (no route set)" in text  # the strategy route never set
    assert "2026-02-10 10:04" in text and "market_stream: rust → python by breaker" in text


def test_the_parity_card_counts_comparisons_and_mismatches() -> None:
    clean = cards.parity(ParityView({"bars": 120}, []))
    assert clean.title == "Parity: no mismatch" and "bars: 120 compared" in clean.text()
    bad = cards.parity(ParityView({"bars": 120}, [ParityCount("bars", "bars.close", 2, AT)]))
    assert bad.title == "Parity: 2 mismatches" and "bars bars.close: 2 mismatches" in bad.text()
