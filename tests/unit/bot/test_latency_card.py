"""/stats latency: the stage table first (in the order an event travels, Rust and Python side by side),
then the broker calls; the rows the daily report and the PNG use keep that order."""

from __future__ import annotations

from bot import cards
from trading.metrics import STAGE_NAMES, stage
from trading.store.latency import LatencyStats


def _stats(operation: str, path: str, ms: int) -> LatencyStats:
    ns = ms * 1_000_000
    return LatencyStats(operation, path, 10, ns, 2 * ns, 3 * ns, 4 * ns)


def test_stages_come_first_in_travel_order_then_the_calls() -> None:
    stats = [
        _stats("place", "rust", 1), _stats("place", "python", 2), _stats("cancel", "python", 3),
        _stats(stage("stored"), "rust", 4), _stats(stage("decoded"), "python", 5), _stats(stage("decoded"), "rust", 6),
        _stats(stage("posted"), "python", 7),
    ]  # fmt: skip
    rows = cards.latency_rows(stats)
    assert [r[0] for r in rows] == ["stage decoded", "stage stored", "stage posted", "cancel", "place"]
    decoded = rows[0]
    assert decoded[1:3] == ["6.00", "5.00"]  # p50 rust, p50 python
    assert rows[1][1:3] == ["4.00", "—"] and rows[1][-2:] == ["10", "0"]

    card = cards.latency(stats, None)
    text = card.description
    assert text.index("**Stages**") < text.index("stored") < text.index("**Broker calls**") < text.index("place")
    assert "stage decoded" not in text  # the stage table names the stage alone


def test_every_stage_name_orders_and_an_empty_window_says_so() -> None:
    stats = [_stats(stage(n), "python", i + 1) for i, n in enumerate(reversed(STAGE_NAMES))]
    assert [r[0] for r in cards.latency_rows(stats)] == [f"stage {n}" for n in STAGE_NAMES]
    assert cards.latency([], None).description == "No latency samples in the window."
