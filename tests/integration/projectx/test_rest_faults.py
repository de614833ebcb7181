"""The client under injected gateway faults (simulator over real HTTP): no duplicate orders, reads
retried, 429 honoured, expired tokens renewed, uncertain mutations reconciled or reported."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.config import ProjectXSettings, SimSettings
from trading.domain import OrderRequest, OrderStatus, OrderType, Side
from trading.projectx import schema as s
from trading.projectx.errors import AuthError, TransportError, UncertainOutcome
from trading.projectx.rest import ProjectXClient
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.sim.timebase import ScaledClock

TIMEOUT_S = 0.3


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0)) as gateway:
        yield gateway


def settings_for(sim: SimGateway, **over: object) -> ProjectXSettings:
    values: dict[str, object] = {
        "base_url": sim.base_url,
        "username": sim.username,
        "api_key": sim.api_key,
        "retry_delays_s": (0.02, 0.05, 0.1),
        "request_timeout_s": TIMEOUT_S,
    }
    values.update(over)
    return ProjectXSettings(**values)


@pytest.fixture
async def px(sim: SimGateway) -> AsyncIterator[ProjectXClient]:
    async with ProjectXClient(settings_for(sim)) as client:
        await client.login()
        yield client


def limit_buy(sim: SimGateway) -> OrderRequest:
    return OrderRequest(
        account_id=sim.account_id,
        contract_id=sim.contract("MNQ"),
        side=Side.BUY,
        type=OrderType.LIMIT,
        size=1,
        custom_tag=f"f-{uuid.uuid4().hex[:12]}",
        limit_price=Decimal("100.25"),
    )


async def orders_tagged(px: ProjectXClient, sim: SimGateway, tag: str) -> list[int]:
    orders = await px.search_orders(sim.account_id, datetime.now(UTC) - timedelta(hours=1))
    return [o.id for o in orders if o.custom_tag == tag and o.id is not None]


# ------------------------------------------------------------------------------ place idempotency


async def test_500_before_accept_resends_and_places_exactly_one(px: ProjectXClient, sim: SimGateway) -> None:
    req = limit_buy(sim)
    sim.faults.http_500_before(s.ORDER_PLACE)
    oid = await px.place_order(req)
    assert await orders_tagged(px, sim, req.custom_tag) == [oid]
    assert len(sim.exchange.orders) == 1 and px.stats["retries"] >= 1


async def test_500_after_accept_finds_the_order_by_tag_without_resending(px: ProjectXClient, sim: SimGateway) -> None:
    req = limit_buy(sim)
    sim.faults.http_500_after(s.ORDER_PLACE)
    oid = await px.place_order(req)
    assert await orders_tagged(px, sim, req.custom_tag) == [oid]
    assert len(sim.exchange.orders) == 1  # one order on the exchange: no duplicate


async def test_timeout_after_accept_finds_the_order_by_tag(px: ProjectXClient, sim: SimGateway) -> None:
    req = limit_buy(sim)
    sim.faults.delay_after(s.ORDER_PLACE, seconds=TIMEOUT_S * 4)
    oid = await px.place_order(req)
    assert await orders_tagged(px, sim, req.custom_tag) == [oid]
    assert len(sim.exchange.orders) == 1


async def test_reset_before_processing_resends_once(px: ProjectXClient, sim: SimGateway) -> None:
    req = limit_buy(sim)
    sim.faults.reset(s.ORDER_PLACE)
    oid = await px.place_order(req)
    assert await orders_tagged(px, sim, req.custom_tag) == [oid]
    assert len(sim.exchange.orders) == 1


async def test_reset_after_processing_finds_the_order(px: ProjectXClient, sim: SimGateway) -> None:
    req = limit_buy(sim)
    sim.faults.reset(s.ORDER_PLACE, after=True)
    oid = await px.place_order(req)
    assert await orders_tagged(px, sim, req.custom_tag) == [oid]
    assert len(sim.exchange.orders) == 1


async def test_place_that_never_gets_through_is_a_clear_failure(px: ProjectXClient, sim: SimGateway) -> None:
    req = limit_buy(sim)
    sim.faults.http_500_before(s.ORDER_PLACE, count=10)
    with pytest.raises(UncertainOutcome):
        # 500 may follow processing, so each attempt is looked up; none found, re-sent, until the schedule ends
        await px.place_order(req)
    assert await orders_tagged(px, sim, req.custom_tag) == []
    assert len(sim.exchange.orders) == 0


async def test_place_unreachable_gateway_is_not_placed(sim: SimGateway) -> None:
    settings = settings_for(sim, base_url="http://127.0.0.1:9")  # nothing listens on the discard port
    async with ProjectXClient(settings) as client:
        with pytest.raises((TransportError, AuthError)) as info:
            await client.place_order(limit_buy(sim))
    assert "could not connect" in str(info.value)


async def test_lost_answer_and_failed_lookups_give_an_uncertain_outcome(px: ProjectXClient, sim: SimGateway) -> None:
    req = limit_buy(sim)
    sim.faults.http_500_after(s.ORDER_PLACE)
    sim.faults.http_500_before(s.ORDER_SEARCH, count=10)
    with pytest.raises(UncertainOutcome) as info:
        await px.place_order(req)
    assert info.value.custom_tag == req.custom_tag
    sim.faults.clear()
    assert len(await orders_tagged(px, sim, req.custom_tag)) == 1  # it was placed, once


# ------------------------------------------------------------------------------ other mutations


async def test_cancel_after_a_lost_answer_is_reconciled_by_status(px: ProjectXClient, sim: SimGateway) -> None:
    oid = await px.place_order(limit_buy(sim))
    sim.faults.http_500_after(s.ORDER_CANCEL)
    await px.cancel_order(sim.account_id, oid)
    assert (await px.order_by_id(sim.account_id, oid)).status is OrderStatus.CANCELLED


async def test_cancel_after_500_before_is_resent(px: ProjectXClient, sim: SimGateway) -> None:
    oid = await px.place_order(limit_buy(sim))
    sim.faults.http_500_before(s.ORDER_CANCEL)
    await px.cancel_order(sim.account_id, oid)
    assert (await px.order_by_id(sim.account_id, oid)).status is OrderStatus.CANCELLED


async def test_modify_after_a_lost_answer_is_reconciled(px: ProjectXClient, sim: SimGateway) -> None:
    oid = await px.place_order(limit_buy(sim))
    sim.faults.delay_after(s.ORDER_MODIFY, seconds=TIMEOUT_S * 4)
    await px.modify_order(sim.account_id, oid, limit_price=Decimal("99.5"))
    assert (await px.order_by_id(sim.account_id, oid)).limit_price == Decimal("99.5")


async def test_close_after_a_lost_answer_is_done_when_flat(px: ProjectXClient, sim: SimGateway) -> None:
    cid = sim.contract("MNQ")
    await sim.market.quote(cid, "21000", "21000.25")
    await px.place_order(OrderRequest(sim.account_id, cid, Side.BUY, OrderType.MARKET, 2, "close-me"))
    sim.faults.http_500_after(s.POSITION_CLOSE)
    await px.close_position(sim.account_id, cid)
    assert await px.open_positions(sim.account_id) == []


async def test_partial_close_with_a_lost_answer_is_uncertain(px: ProjectXClient, sim: SimGateway) -> None:
    cid = sim.contract("MNQ")
    await sim.market.quote(cid, "21000", "21000.25")
    await px.place_order(OrderRequest(sim.account_id, cid, Side.BUY, OrderType.MARKET, 2, "partial-me"))
    sim.faults.http_500_after(s.POSITION_PARTIAL_CLOSE)
    with pytest.raises(UncertainOutcome):
        await px.partial_close_position(sim.account_id, cid, 1)
    assert [p.size for p in await px.open_positions(sim.account_id)] == [1]  # closed once, never twice


# ------------------------------------------------------------------------------ reads, 429, tokens


async def test_reads_are_retried_after_500_and_reset(px: ProjectXClient, sim: SimGateway) -> None:
    sim.faults.http_500_before(s.ACCOUNT_SEARCH, count=2)
    assert [a.id for a in await px.accounts()] == [sim.account_id]
    sim.faults.reset(s.POSITION_SEARCH_OPEN)
    assert await px.open_positions(sim.account_id) == []
    sim.faults.http_500_before(s.ACCOUNT_SEARCH, count=10)
    with pytest.raises(TransportError) as info:
        await px.accounts()
    assert info.value.status == 500


async def test_429_waits_and_retries_reads_and_places(px: ProjectXClient, sim: SimGateway) -> None:
    sim.faults.rate_limit(s.ACCOUNT_SEARCH)
    assert await px.accounts()
    assert px.stats["429"] == 1
    req = limit_buy(sim)
    sim.faults.rate_limit(s.ORDER_PLACE)
    oid = await px.place_order(req)
    assert await orders_tagged(px, sim, req.custom_tag) == [oid]
    assert px.stats["429"] == 2


async def test_expired_token_gets_one_relogin_and_the_call_succeeds(px: ProjectXClient, sim: SimGateway) -> None:
    old = px.token
    sim.faults.expire_tokens()
    assert await px.accounts()
    assert px.stats["reauth"] == 1 and px.token != old
    req = limit_buy(sim)
    sim.faults.expire_tokens()
    oid = await px.place_order(req)
    assert await orders_tagged(px, sim, req.custom_tag) == [oid]
    assert px.stats["reauth"] == 2


async def test_refresh_before_expiry_uses_validate_and_tells_listeners() -> None:
    # Tokens live 10 minutes; the client refreshes 15 minutes ahead, so every call finds it due.
    async with (
        SimGateway(SimSettings(port=0), options=SimOptions(token_lifetime_s=600)) as sim,
        ProjectXClient(settings_for(sim, token_refresh_margin_s=900)) as client,
    ):
        seen: list[str] = []
        client.on_token(seen.append)
        await client.login()
        await client.accounts()
        assert client.stats["login"] == 1 and client.stats["refresh"] == 1
        assert len(seen) == 2 and seen[-1] == client.token and seen[0] != seen[1]
        assert client.stats["reauth"] == 0


async def test_refresh_falls_back_to_login_when_validate_fails(sim: SimGateway) -> None:
    async with ProjectXClient(settings_for(sim)) as client:
        await client.login()
        sim.faults.http_500_before(s.VALIDATE, count=5)
        await client.refresh_token()
        assert client.stats["login"] == 2 and client.stats["refresh"] == 0


async def test_gateway_clock_far_from_ours() -> None:
    """A gateway on another clock (here the simulator two days behind): tokens are not taken for
    expired, and a lost place answer is still settled by tag (the newest orders of v2/query) rather
    than re-sent."""
    behind = ScaledClock(start=datetime.now(UTC) - timedelta(days=2))
    async with SimGateway(SimSettings(port=0), clock=behind) as sim, ProjectXClient(settings_for(sim)) as client:
        await client.login()
        await client.accounts()
        await client.accounts()
        assert client.stats["login"] == 1 and client.stats["refresh"] == 0
        req = limit_buy(sim)
        sim.faults.http_500_after(s.ORDER_PLACE)
        oid = await client.place_order(req)
        assert [o.id for o in sim.exchange.orders.values()] == [oid]
