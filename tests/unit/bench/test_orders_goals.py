"""bench/orders.py's goal rows: added time over the fastest floor, and the hand-off's price named."""

from __future__ import annotations

from bench.interleave import Rep
from bench.orders import BLOCKING, FLOOR, HANDED, HTTPX, RUST, RUST_FLOOR, THREADED, goals


def _rep(p50_us: float) -> Rep:
    return Rep(p50_us * 1e3, p50_us * 1.5e3, p50_us * 2e3)


def test_added_time_is_over_the_fastest_floor_and_the_hop_is_named() -> None:
    reps = {
        RUST: [_rep(1230), _rep(1250)],
        HANDED: [_rep(1530), _rep(1560)],
        HTTPX: [_rep(3500), _rep(3600)],
        FLOOR: [_rep(1020), _rep(1030)],
        BLOCKING: [_rep(920), _rep(930)],
        THREADED: [_rep(1220), _rep(1230)],
        RUST_FLOOR: [_rep(900), _rep(960)],
    }
    rows = {g.name: g for g in goals(reps, "unpinned")}
    added = rows["orders, unpinned: rust added over the raw-socket floor, p50"]
    # Per repetition over the fastest floor: the Rust one in the first, the blocking socket in the second.
    assert added.figure.values == (330.0, 320.0) and added.verdict == "MISSED"
    assert "(threaded floor - blocking socket) 300.0 µs" in added.remarks
    assert "answered on the loop's thread, 305.0 µs less than handed back to it" in added.remarks


def test_without_the_threaded_floor_no_hop_is_claimed() -> None:
    reps = {RUST: [_rep(1000)], HTTPX: [_rep(3000)], FLOOR: [_rep(990)]}
    added = goals(reps, "pinned")[0]
    assert added.verdict == "met" and "hand-off" not in added.remarks
