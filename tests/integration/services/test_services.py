"""`Services` over a running engine on the simulated gateway and a real Postgres: every action once, bad
input refused before the broker sees anything, fills through the engine's user hub once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest

from tests.fakes.trading_env import Desk, trading_desk
from trading.domain import NotificationKind, OrderType, Side
from trading.services import BadInput, BrokerFailed, NotFound, OrderSpec, RiskRefused, Unavailable
from trading.store import Store


@pytest.fixture
async def desk(store: Store) -> AsyncIterator[Desk]:
    async with trading_desk(store) as d:
        yield d


def market(qty: int = 1, side: Side = Side.BUY, symbol: str = "MNQ") -> OrderSpec:
    return OrderSpec(symbol, side, OrderType.MARKET, qty)


async def test_market_order_once_per_tag(desk: Desk, store: Store) -> None:
    placed = await desk.services.place_order(market(), "tb-1")
    again = await desk.services.place_order(market(), "tb-1")
    assert placed.order_id is not None and not placed.duplicate
    assert again.duplicate and again.order_id == placed.order_id
    assert await desk.broker_orders() == 1
    positions = await desk.services.positions()
    assert [(p.contract_id, p.size) for p in positions] == [(placed.contract.id, 1)]
    intent = await store.orders.by_tag("tb-1")
    assert intent is not None and intent.id == placed.order_id


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (OrderSpec("XYZQ", Side.BUY, OrderType.MARKET, 1), "Unknown symbol"),
        (market(0), "at least 1"),
        (market(-3), "at least 1"),
        (market(100000), "not plausible"),
        (market(6), "above the limit"),
        (OrderSpec("MNQ", Side.BUY, OrderType.LIMIT, 1, limit_price=Decimal("20990.10")), "tick grid"),
        (OrderSpec("MNQ", Side.BUY, OrderType.LIMIT, 1), "needs a limit price"),
        (OrderSpec("MNQ", Side.BUY, OrderType.STOP, 1, stop_price=Decimal("20990.00")), "above the market"),
        (OrderSpec("MNQ", Side.SELL, OrderType.STOP, 1, stop_price=Decimal("21010.00")), "below the market"),
        (
            OrderSpec(
                "MNQ", Side.BUY, OrderType.LIMIT, 1, limit_price=Decimal("20990"), stop_loss_price=Decimal("21000")
            ),
            "must be below the entry",
        ),
    ],
)
async def test_bad_orders_never_reach_the_broker(desk: Desk, spec: OrderSpec, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        await desk.services.place_order(spec, "tb-bad")
    assert await desk.broker_orders() == 0


async def test_limit_modify_cancel_and_unknown_ids(desk: Desk) -> None:
    spec = OrderSpec("MNQ", Side.BUY, OrderType.LIMIT, 1, limit_price=Decimal("20900.00"))
    placed = await desk.services.place_order(spec, "tb-limit")
    assert placed.order_id is not None
    moved = await desk.services.modify_order(placed.order_id, price=Decimal("20901.25"))
    assert moved.limit_price == Decimal("20901.25")
    with pytest.raises(BadInput, match="no stop price"):
        await desk.services.modify_order(placed.order_id, stop=Decimal("20800"))
    with pytest.raises(NotFound, match="No working order #999999"):
        await desk.services.cancel_order(999999)
    cancelled = await desk.services.cancel_order(placed.order_id)
    assert cancelled.id == placed.order_id
    assert await desk.services.open_orders() == []


async def test_bracket_in_prices_becomes_ticks(desk: Desk) -> None:
    spec = OrderSpec(
        "MNQ",
        Side.BUY,
        OrderType.LIMIT,
        1,
        limit_price=Decimal("20900"),
        stop_loss_price=Decimal("20890"),
        take_profit_price=Decimal("20920"),
    )
    _, request = await desk.services.validate(spec)
    assert request.bracket is not None
    assert (request.bracket.stop_loss_ticks, request.bracket.take_profit_ticks) == (40, 80)


async def test_flatten_cancels_and_closes(desk: Desk) -> None:
    await desk.services.place_order(market(2), "tb-m")
    await desk.services.place_order(
        OrderSpec("MES", Side.SELL, OrderType.LIMIT, 1, limit_price=Decimal("5900.00")), "tb-l"
    )
    result = await desk.services.flatten()
    assert len(result.cancelled) == 1 and len(result.closed) == 1 and result.errors == []
    assert await desk.services.positions() == []
    assert await desk.services.open_orders() == []
    with pytest.raises(NotFound, match="No open MNQ position"):
        await desk.services.close_position("MNQ")


async def fill_notifications(store: Store, count: int) -> None:
    """Wait until the engine has stored `count` fill notifications (a hang guard, not a timing check)."""
    fills = (NotificationKind.ENTRY_FILL, NotificationKind.EXIT_FILL)
    async with asyncio.timeout(30):
        while True:
            if len([m for m in await store.outbox.recent(50) if m.kind in fills]) >= count:
                return
            await asyncio.sleep(0.02)


async def test_fills_reach_the_outbox_once(desk: Desk, store: Store) -> None:
    await desk.services.place_order(market(1), "tb-f1")
    await desk.services.place_order(market(1, Side.SELL), "tb-f2")
    await fill_notifications(store, 2)  # through the engine's user hub
    report = await desk.engine.reconcile()  # the broker's trades again (as after a restart): none new
    assert report.fills_inserted == []
    kinds = [m.kind for m in reversed(await store.outbox.recent(10)) if m.kind is not NotificationKind.ORDER]
    assert kinds == [NotificationKind.ENTRY_FILL, NotificationKind.EXIT_FILL]
    pnl = await desk.services.pnl("today")
    assert pnl.trades == 2 and pnl.fees == Decimal("0.74")


async def test_halt_refuses_new_orders_until_resumed(desk: Desk) -> None:
    await desk.services.place_order(
        OrderSpec("MNQ", Side.BUY, OrderType.LIMIT, 1, limit_price=Decimal("20900")), "tb-w"
    )
    view, flattened = await desk.services.halt("news at 10:30")
    assert view.kill_switch == "halted" and view.reason == "news at 10:30"
    assert len(flattened.cancelled) == 1 and await desk.services.open_orders() == []
    with pytest.raises(RiskRefused, match="HALTED"):
        await desk.services.place_order(market(), "tb-h1")
    assert await desk.broker_orders() == 1
    await desk.services.resume()
    await desk.services.place_order(market(), "tb-h2")
    assert await desk.broker_orders() == 2


async def test_the_kill_switch_refuses_what_changes_nothing(desk: Desk, store: Store) -> None:
    """A halt while halted, a resume with nothing set, reduce-only while halted: refused, nothing stored."""
    with pytest.raises(BadInput, match="Trading is not halted: nothing to resume"):
        await desk.services.resume()
    view = await desk.services.reduce_only("CPI at 08:30")
    assert (view.kill_switch, view.reason) == ("reduce_only", "CPI at 08:30")
    with pytest.raises(BadInput, match=r"already reduce-only \(CPI at 08:30\)"):
        await desk.services.reduce_only("again")
    with pytest.raises(RiskRefused, match="REDUCE-ONLY"):
        await desk.services.place_order(market(), "tb-r1")  # it would open a position
    view, _ = await desk.services.halt("stricter")  # reduce-only to halted: allowed
    assert view.kill_switch == "halted"
    with pytest.raises(BadInput, match=r"already halted \(stricter\)"):
        await desk.services.halt("twice")
    with pytest.raises(BadInput, match="resume first"):
        await desk.services.reduce_only("looser")
    stored = await store.risk_state.get(desk.engine.account_id)
    assert stored is not None and (stored.kill_switch.value, stored.reason) == ("halted", "stricter")


async def test_strategies_in_an_engine_running_none(desk: Desk) -> None:
    assert "overnight_range" in [s["name"] for s in desk.services.strategy_list()]
    with pytest.raises(NotFound, match="No strategy named 'nope'"):
        await desk.services.strategy_status("nope")
    with pytest.raises(Unavailable, match="overnight_range is not loaded in the engine"):
        await desk.services.strategy_test("overnight-range")
    with pytest.raises(Unavailable, match="overnight_range is stopped"):
        await desk.services.strategy_run_now("overnight-range")
    status = await desk.services.strategy_status("overnight-range")
    assert status["name"] == "overnight_range" and status["running"] is False


async def test_an_intent_the_broker_never_got_is_sent_once(desk: Desk, store: Store) -> None:
    """A crash between writing the intent and placing: asking again with the tag sends it, once."""
    _, request = await desk.services.validate(market())
    await store.orders.record_intent(replace(request, custom_tag="tb-crash"))
    placed = await desk.services.place_order(market(), "tb-crash")
    assert placed.order_id is not None and await desk.broker_orders() == 1
    again = await desk.services.place_order(market(), "tb-crash")
    assert again.duplicate and again.order_id == placed.order_id and await desk.broker_orders() == 1


async def test_an_intent_the_broker_did_get_is_not_sent_again(desk: Desk, store: Store) -> None:
    """A crash after the broker took the order but before we stored its id: found by tag, not re-sent."""
    _, request = await desk.services.validate(market())
    tagged = replace(request, custom_tag="tb-lost-answer")
    await store.orders.record_intent(tagged)
    broker_id = await desk.broker.place_order(tagged)
    placed = await desk.services.place_order(market(), "tb-lost-answer")
    assert placed.duplicate and placed.order_id == broker_id
    assert await desk.broker_orders() == 1
    stored = await store.orders.by_tag("tb-lost-answer")
    assert stored is not None and stored.id == broker_id


async def test_a_rejected_tag_is_not_resent(desk: Desk) -> None:
    desk.sim.exchange.reject_next.append("Simulated rejection")
    with pytest.raises(BrokerFailed, match="Simulated rejection"):
        await desk.services.place_order(market(), "tb-rej")
    with pytest.raises(BrokerFailed, match="already sent and rejected"):
        await desk.services.place_order(market(), "tb-rej")
    assert await desk.broker_orders() == 1  # the rejected order the gateway created
