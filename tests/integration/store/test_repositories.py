"""Every repository round-trips the project's types through a real Postgres."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from trading.domain import (
    Bar,
    Bracket,
    Contract,
    Fill,
    LatencySample,
    NotificationKind,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
)
from trading.store import DuplicateOrderTag, Store, UnknownOrder
from trading.store.audit import AuditEntry
from trading.store.risk_state import KillSwitch, RiskState

T0 = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
MNQ = Contract("CON.F.US.MNQ.H26", "MNQH6", "F.US.MNQ", "Micro E-mini Nasdaq-100", Decimal("0.25"), Decimal("0.50"))


def _bar(minute: int, close: float, timeframe: str = "1m", volume: float = 10) -> Bar:
    start = T0 + timedelta(minutes=minute)
    return Bar(MNQ.id, timeframe, start, close - 1, close + 2, close - 3, close, volume)


def _request(tag: str, **kw: object) -> OrderRequest:
    fields: dict[str, object] = {
        "account_id": 7,
        "contract_id": MNQ.id,
        "side": Side.BUY,
        "type": OrderType.STOP,
        "size": 2,
        "custom_tag": tag,
        "stop_price": Decimal("21034.25"),
        "bracket": Bracket(stop_loss_ticks=-40, take_profit_ticks=80),
        "reason": "overnight high + offset",
    }
    fields.update(kw)
    return OrderRequest(**fields)  # type: ignore[arg-type]


async def test_contracts_round_trip_and_find_by_symbol(store: Store) -> None:
    await store.contracts.upsert(MNQ)
    old = Contract("CON.F.US.MNQ.Z25", "MNQZ5", "F.US.MNQ", "old", Decimal("0.25"), Decimal("0.50"), active=False)
    await store.contracts.upsert(old)
    assert await store.contracts.get(MNQ.id) == MNQ
    assert await store.contracts.by_symbol("MNQ") == [MNQ]
    assert {c.id for c in await store.contracts.by_symbol("MNQ", active_only=False)} == {MNQ.id, old.id}
    assert await store.contracts.get("nope") is None


async def test_bars_copy_upsert_and_range(store: Store) -> None:
    # A batch holding the same bar twice keeps its last copy; a later batch overlapping stored bars corrects them.
    assert await store.bars.insert_many([_bar(0, 100), _bar(1, 101), _bar(1, 111), _bar(2, 102)]) == 3
    assert await store.bars.insert_many([_bar(2, 202, volume=99), _bar(3, 103)]) == 2
    forming = _bar(4, 104, volume=1)
    await store.bars.upsert(forming)
    await store.bars.upsert(Bar(MNQ.id, "1m", forming.start, forming.open, 110, 90, 105.5, 7))
    await store.bars.insert_many([_bar(0, 500, timeframe="5m")])

    got = await store.bars.range(MNQ.id, "1m", T0, T0 + timedelta(minutes=10))
    assert [b.close for b in got] == [100, 111, 202, 103, 105.5]
    assert got[2].volume == 99
    assert got[4] == Bar(MNQ.id, "1m", forming.start, forming.open, 110, 90, 105.5, 7)
    assert all(b.start.tzinfo is not None for b in got)
    assert await store.bars.range(MNQ.id, "1m", T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)) == got[1:3]
    assert await store.bars.count(MNQ.id, "1m") == 5
    assert await store.bars.latest(MNQ.id, "5m") == _bar(0, 500, timeframe="5m")
    assert await store.bars.insert_many([]) == 0


async def test_order_intent_then_broker_id_then_fill_keeps_history(store: Store) -> None:
    intent = await store.orders.record_intent(_request("orb-MNQ-long"), strategy="overnight_range", at=T0)
    assert intent.status is OrderStatus.INTENT and intent.id is None
    assert intent.custom_tag == "orb-MNQ-long" and intent.stop_price == Decimal("21034.25")
    assert await store.orders.open_orders(7) == []
    assert [o.custom_tag for o in await store.orders.open_orders(7, include_intents=True)] == ["orb-MNQ-long"]

    placed = await store.orders.attach_broker_id("orb-MNQ-long", 9001, at=T0 + timedelta(seconds=1))
    assert placed.id == 9001 and placed.status is OrderStatus.OPEN
    assert [o.id for o in await store.orders.open_orders(7, strategy="overnight_range")] == [9001]
    assert await store.orders.open_orders(8) == []

    # The same status reported twice writes one history row.
    await store.orders.update_status(broker_order_id=9001, status=OrderStatus.OPEN)
    filled = await store.orders.update_status(
        broker_order_id=9001,
        status=OrderStatus.FILLED,
        fill_volume=2,
        filled_price=Decimal("21034.50"),
        at=T0 + timedelta(minutes=5),
    )
    assert (filled.fill_volume, filled.filled_price) == (2, Decimal("21034.50"))
    assert await store.orders.open_orders(7) == []
    history = await store.orders.history(custom_tag="orb-MNQ-long")
    assert [e.status for e in history] == [OrderStatus.INTENT, OrderStatus.OPEN, OrderStatus.FILLED]
    assert history[0].at == T0 and history[2].at == T0 + timedelta(minutes=5)
    assert await store.orders.by_tag("orb-MNQ-long") == await store.orders.by_broker_id(9001) == filled
    assert await store.orders.strategy_of("orb-MNQ-long") == "overnight_range"


async def test_duplicate_tag_and_unknown_order_are_refused(store: Store) -> None:
    await store.orders.record_intent(_request("t1"))
    with pytest.raises(DuplicateOrderTag, match="t1"):
        await store.orders.record_intent(_request("t1"))
    with pytest.raises(UnknownOrder):
        await store.orders.attach_broker_id("never-recorded", 1)
    with pytest.raises(UnknownOrder):
        await store.orders.update_status(broker_order_id=404, status=OrderStatus.CANCELLED)
    rejected = await store.orders.update_status(custom_tag="t1", status=OrderStatus.REJECTED, detail="size too big")
    assert rejected.status is OrderStatus.REJECTED


async def test_broker_orders_attach_to_our_intent_or_are_stored_as_foreign(store: Store) -> None:
    await store.orders.record_intent(_request("ours"))
    broker_view = Order(
        id=555,
        account_id=7,
        contract_id=MNQ.id,
        side=Side.BUY,
        type=OrderType.STOP,
        size=2,
        status=OrderStatus.OPEN,
        custom_tag="ours",
        stop_price=Decimal("21034.25"),
    )
    ours = await store.orders.upsert_broker_order(broker_view)
    assert ours.id == 555 and ours.custom_tag == "ours"
    foreign = Order(556, 7, MNQ.id, Side.SELL, OrderType.LIMIT, 1, OrderStatus.OPEN, limit_price=Decimal("21100"))
    stored = await store.orders.upsert_broker_order(foreign, at=T0)
    assert stored.custom_tag is None and stored.limit_price == Decimal("21100") and stored.created_at == T0
    assert {o.id for o in await store.orders.open_orders(7)} == {555, 556}
    await store.orders.upsert_broker_order(Order(556, 7, MNQ.id, Side.SELL, OrderType.LIMIT, 1, OrderStatus.CANCELLED))
    assert [e.status for e in await store.orders.history(broker_order_id=556)] == [
        OrderStatus.OPEN,
        OrderStatus.CANCELLED,
    ]


async def test_fills_are_idempotent_by_broker_trade_id(store: Store) -> None:
    entry = Fill(1, 9001, 7, MNQ.id, Side.BUY, 2, Decimal("21034.50"), T0, fees=Decimal("0.74"), ts_init=T0)
    exit_ = Fill(
        2,
        9002,
        7,
        MNQ.id,
        Side.SELL,
        2,
        Decimal("21044.50"),
        T0 + timedelta(hours=1),
        Decimal("0.74"),
        Decimal("20.00"),
    )
    assert await store.fills.insert(entry) is True
    assert await store.fills.insert(entry) is False
    assert await store.fills.insert(exit_) is True
    assert await store.fills.get(1) == entry
    assert await store.fills.for_order(9002) == [exit_]
    day = (T0 - timedelta(hours=1), T0 + timedelta(hours=2))
    assert await store.fills.between(7, *day) == [entry, exit_]
    assert await store.fills.realized_pnl(7, *day) == (Decimal("20.00"), Decimal("1.48"))
    assert await store.fills.mark_voided(2) is True
    assert await store.fills.mark_voided(99) is False
    assert await store.fills.realized_pnl(7, *day) == (Decimal(0), Decimal("0.74"))


async def test_positions_latest_snapshot_per_contract(store: Store) -> None:
    long = Position(7, MNQ.id, PositionSide.LONG, 2, Decimal("21034.50"), opened_at=T0, id=31)
    await store.positions.record(long, at=T0)
    await store.positions.record(Position(7, "CON.F.US.MES.H26", PositionSide.SHORT, 1, Decimal("5800")), at=T0)
    assert await store.positions.current(7) == [
        Position(7, "CON.F.US.MES.H26", PositionSide.SHORT, 1, Decimal("5800")),
        long,
    ]
    await store.positions.record_flat(7, MNQ.id, at=T0 + timedelta(minutes=1))
    assert [p.contract_id for p in await store.positions.current(7)] == ["CON.F.US.MES.H26"]
    assert await store.positions.current_for(7, MNQ.id) is None


async def test_outbox_claims_in_order_once_and_dedupes(store: Store) -> None:
    ids = [await store.outbox.enqueue(NotificationKind.ENTRY_FILL, {"n": n}, at=T0) for n in range(5)]
    alert = await store.outbox.enqueue(NotificationKind.ALERT, {"stale": True}, dedupe_key="stale-MNQ")
    assert alert is not None
    assert await store.outbox.enqueue(NotificationKind.ALERT, {"stale": True}, dedupe_key="stale-MNQ") is None
    assert await store.outbox.pending_count() == 6

    # Two deliverers at once never get the same message, nor one behind the other's in its channel.
    first, second = await asyncio.gather(
        store.outbox.claim_batch(3, now=T0 + timedelta(seconds=1)),
        store.outbox.claim_batch(3, now=T0 + timedelta(seconds=1)),
    )
    claimed = [m.id for m in first] + [m.id for m in second]
    assert sorted(claimed) == [*ids[:3], alert] and len(set(claimed)) == 4
    assert [m.id for m in first] == sorted(m.id for m in first)
    fills = first if first and first[0].channel == "fills" else second
    assert fills[0].channel == "fills" and fills[0].kind is NotificationKind.ENTRY_FILL
    # Claimed messages are leased: not handed out again until the lease ends, nor the ones behind them.
    assert await store.outbox.claim_batch(10, now=T0 + timedelta(seconds=2)) == []

    a, b, c, *_ = ids
    assert a is not None and b is not None and c is not None
    await store.outbox.mark_sent(a, at=T0 + timedelta(seconds=3))
    await store.outbox.mark_retry(b, 1, "429 rate limited", retry_at=T0 + timedelta(minutes=5))
    sent = await store.outbox.get(a)
    assert sent is not None and sent.status == "sent" and sent.sent_at == T0 + timedelta(seconds=3)
    assert await store.outbox.pending_count() == 5
    assert await store.outbox.pending_count(["alerts"]) == 1

    # After the lease: the ones behind the message waiting for its retry wait with it, in order.
    later = T0 + timedelta(minutes=2)
    assert [m.id for m in await store.outbox.claim_batch(10, now=later)] == [alert]
    await store.outbox.mark_sent(alert)
    retried = await store.outbox.claim_batch(10, now=T0 + timedelta(minutes=6))
    assert [(m.id, m.attempts) for m in retried] == [(b, 1), (c, 0), (ids[3], 0), (ids[4], 0)]
    assert retried[0].payload == {"n": 1}


async def test_a_new_message_is_due_even_for_a_clock_behind_the_database(store: Store) -> None:
    new_id = await store.outbox.enqueue(NotificationKind.RISK, {"title": "Trading halted"})
    long_ago = datetime(2020, 1, 2, tzinfo=UTC)
    assert [m.id for m in await store.outbox.claim_batch(5, now=long_ago)] == [new_id]


async def test_latency_batch_and_stats(store: Store) -> None:
    samples = [LatencySample("place", "rust", n * 1000, T0, extra={"try": "1"}) for n in range(1, 101)]
    samples.append(LatencySample("place", "python", 5_000_000, T0, ok=False))
    assert await store.latency.insert_batch(samples) == 101
    assert await store.latency.insert_batch([]) == 0
    [rust] = await store.latency.stats()
    assert (rust.path, rust.count, rust.p50, rust.p95, rust.p99, rust.max) == (
        "rust",
        100,
        50_000,
        95_000,
        99_000,
        100_000,
    )
    assert len(await store.latency.stats(ok_only=False)) == 2
    back = await store.latency.samples("place", limit=1)
    assert back == [samples[0]]


async def test_job_run_is_claimed_once(store: Store) -> None:
    at = datetime(2026, 3, 9, 13, 25, tzinfo=UTC)
    results = await asyncio.gather(*(store.jobs.claim_run("pre_open", at) for _ in range(4)))
    assert sorted(results) == [False, False, False, True]
    await store.jobs.finish("pre_open", at, "ok", "ranges posted", at=at + timedelta(seconds=2))
    run = await store.jobs.last_run("pre_open")
    assert run is not None and (run.outcome, run.detail, run.finished_at) == (
        "ok",
        "ranges posted",
        at + timedelta(seconds=2),
    )
    assert await store.jobs.claim_run("pre_open", at + timedelta(days=1)) is True
    assert len(await store.jobs.recent()) == 2


async def test_audit_strategy_and_risk_state_round_trip(store: Store) -> None:
    refused = AuditEntry("place", False, 42, "trader", {"symbol": "MNQ", "size": 9}, "size above 5", at=T0)
    await store.audit.record(refused)
    await store.audit.record(AuditEntry("status", True, 43, "reader"))
    assert (await store.audit.recent(user_id=42)) == [refused]
    assert len(await store.audit.recent()) == 2

    day = date(2026, 3, 9)
    await store.strategy_state.save("overnight_range", day, "MNQ", {"high": "21030.25", "armed": True})
    await store.strategy_state.save("overnight_range", day, "MNQ", {"high": "21031.00", "armed": False})
    assert await store.strategy_state.load("overnight_range", day, "MNQ") == {"high": "21031.00", "armed": False}
    assert await store.strategy_state.load("overnight_range", day, "MES") is None
    assert await store.strategy_state.for_day("overnight_range", day) == {"MNQ": {"high": "21031.00", "armed": False}}

    saved = await store.risk_state.save(
        RiskState(7, day=day, day_realized_pnl=Decimal("-412.50"), high_water_balance=Decimal("50250")), at=T0
    )
    assert saved == RiskState(7, KillSwitch.NONE, "", day, Decimal("-412.50"), Decimal("50250"), T0)
    tripped = await store.risk_state.set_kill_switch(7, KillSwitch.HALTED, "daily loss limit reached")
    assert tripped.kill_switch is KillSwitch.HALTED and tripped.day_realized_pnl == Decimal("-412.50")
    assert await store.risk_state.get(7) == tripped
    assert await store.risk_state.get(8) is None


async def test_transaction_commits_together_or_not_at_all(store: Store) -> None:
    fill = Fill(10, 9001, 7, MNQ.id, Side.BUY, 1, Decimal("21000"), T0)
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.fills.insert(fill)
            await tx.outbox.enqueue(NotificationKind.ENTRY_FILL, {"fill": 10})
            raise RuntimeError("delivery crashed mid-way")
    assert await store.fills.get(10) is None and await store.outbox.pending_count() == 0
    async with store.transaction() as tx:
        await tx.fills.insert(fill)
        await tx.outbox.enqueue(NotificationKind.ENTRY_FILL, {"fill": 10})
    assert await store.fills.get(10) == fill and await store.outbox.pending_count() == 1
