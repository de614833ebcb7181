"""Every REST endpoint through `ProjectXClient` against the simulated gateway over real HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.config import ProjectXSettings, SimSettings
from trading.domain import Bracket, OrderRequest, OrderStatus, OrderType, PositionSide, Side
from trading.projectx import schema as s
from trading.projectx.errors import ApiError, ContractNotFound, OrderRejected, ProjectXError
from trading.projectx.rest import ProjectXClient, Unit, parse_timeframe
from trading.sim.gateway import SimGateway


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0)) as gateway:
        yield gateway


@pytest.fixture
async def px(sim: SimGateway) -> AsyncIterator[ProjectXClient]:
    settings = ProjectXSettings(
        base_url=sim.base_url, username=sim.username, api_key=sim.api_key, retry_delays_s=(0.02, 0.05, 0.1)
    )
    async with ProjectXClient(settings) as client:
        yield client


def tag() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def limit_buy(sim: SimGateway, price: str, size: int = 1, custom_tag: str | None = None) -> OrderRequest:
    return OrderRequest(
        account_id=sim.account_id,
        contract_id=sim.contract("MNQ"),
        side=Side.BUY,
        type=OrderType.LIMIT,
        size=size,
        custom_tag=custom_tag or tag(),
        limit_price=Decimal(price),
    )


def market(sim: SimGateway, side: Side, size: int = 1) -> OrderRequest:
    return OrderRequest(sim.account_id, sim.contract("MNQ"), side, OrderType.MARKET, size, tag())


async def test_login_validate_logout(px: ProjectXClient) -> None:
    seen: list[str] = []
    px.on_token(seen.append)
    first = await px.login()
    assert px.tokens.session is not None and px.tokens.session.expires_at > datetime.now(UTC).timestamp()
    second = await px.validate()
    assert seen == [first, second]
    await px.logout()
    assert px.token is None
    # The next call logs in again by itself.
    assert await px.accounts()
    assert px.stats["login"] == 2


async def test_bad_credentials_are_an_auth_error(sim: SimGateway) -> None:
    from trading.projectx.errors import AuthError

    settings = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key="wrong")
    async with ProjectXClient(settings) as client:
        with pytest.raises(AuthError) as info:
            await client.accounts()
    assert "Login to ProjectX failed" in str(info.value)
    assert info.value.code is not None and info.value.code != s.LoginErrorCode.SUCCESS


async def test_ping(px: ProjectXClient) -> None:
    assert await px.ping() is True


async def test_accounts(px: ProjectXClient, sim: SimGateway) -> None:
    accounts = await px.accounts()
    assert [a.id for a in accounts] == [sim.account_id]
    assert accounts[0].can_trade and accounts[0].balance == Decimal("50000")


async def test_resolve_account(px: ProjectXClient, sim: SimGateway) -> None:
    assert (await px.resolve_account()).id == sim.account_id
    second = sim.add_account("PRAC-TWO")
    with pytest.raises(ProjectXError) as many:
        await px.resolve_account()
    assert "Several active accounts" in str(many.value)
    by_name = ProjectXSettings(
        base_url=sim.base_url, username=sim.username, api_key=sim.api_key, account_name="prac-two"
    )
    async with ProjectXClient(by_name) as client:
        assert (await client.resolve_account()).id == second.id
    by_id = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key, account_id=424242)
    async with ProjectXClient(by_id) as client:
        with pytest.raises(ProjectXError) as none:
            await client.resolve_account()
    assert "No active account #424242" in str(none.value)


async def test_contracts_search_by_id_available_and_front_month(px: ProjectXClient, sim: SimGateway) -> None:
    mnq = await px.front_month("MNQ")
    assert mnq.id == sim.contract("MNQ")
    assert mnq.tick_size == Decimal("0.25") and mnq.tick_value == Decimal("0.5")
    es = await px.front_month("ES")  # the ES root is EP in ProjectX ids; fuzzy search also returns MES
    assert es.id == sim.contract("ES") and es.symbol_id.endswith(".EP")
    assert (await px.front_month(es.symbol_id)).id == es.id
    assert (await px.contract_by_id(mnq.id)) == mnq
    available = await px.available_contracts()
    assert {mnq.id, es.id} <= {c.id for c in available}
    assert any(c.id == mnq.id for c in await px.search_contracts("MNQ"))
    with pytest.raises(ContractNotFound):
        await px.front_month("NOPE")
    with pytest.raises(ApiError) as info:
        await px.contract_by_id("CON.F.US.NOPE.Z99")
    assert info.value.code is s.ContractByIdErrorCode.CONTRACT_NOT_FOUND


async def test_bars_are_ascending_and_long_ranges_are_split(px: ProjectXClient, sim: SimGateway) -> None:
    cid = sim.contract("MNQ")
    now = datetime.now(UTC)
    end = now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    start = end - timedelta(days=15)  # 21,600 one-minute slots: more than one request of 20,000
    stamps = [start + timedelta(minutes=m) for m in (1, 2, 3, 20_500, 21_000)]
    for i, at in enumerate(stamps):
        await sim.market.trade(cid, Decimal("21000") + i, 1, at=at)
    calls: list[tuple[int, int, int]] = []
    await px.login()
    general = px.limiter.in_window
    bars = await px.retrieve_bars(cid, start, end, "1m", progress=lambda *a: calls.append(a))
    # Both requests went through the History limiter (50 / 30 s), not the general one.
    assert px.history_limiter.in_window == 2 and px.limiter.in_window == general
    assert [b.start for b in bars] == stamps
    assert [b.close for b in bars] == [21000.0, 21001.0, 21002.0, 21003.0, 21004.0]
    assert [c[:2] for c in calls] == [(1, 2), (2, 2)]
    assert calls[-1][2] == 5
    five = await px.retrieve_bars(cid, start, start + timedelta(minutes=10), "5m")
    assert len(five) == 1 and five[0].timeframe == "5m" and five[0].volume == 3.0


def test_timeframes() -> None:
    assert parse_timeframe("5m")[1] == 5
    assert parse_timeframe("1mo")[0] is Unit.MONTH
    with pytest.raises(ValueError):
        parse_timeframe("0m")
    with pytest.raises(ValueError):
        parse_timeframe("5x")


async def test_order_lifecycle(px: ProjectXClient, sim: SimGateway) -> None:
    acct = sim.account_id
    req = limit_buy(sim, "100.25")
    oid = await px.place_order(req)
    open_orders = await px.search_open_orders(acct)
    assert [(o.id, o.custom_tag, o.status) for o in open_orders] == [(oid, req.custom_tag, OrderStatus.OPEN)]
    await px.modify_order(acct, oid, limit_price=Decimal("101.5"), size=2)
    order = await px.order_by_id(acct, oid)
    assert (order.limit_price, order.size) == (Decimal("101.5"), 2)
    await px.cancel_order(acct, oid)
    assert (await px.order_by_id(acct, oid)).status is OrderStatus.CANCELLED
    assert await px.search_open_orders(acct) == []
    history = await px.search_orders(acct, datetime.now(UTC) - timedelta(hours=1))
    assert [o.id for o in history] == [oid]
    found = await px.find_order_by_tag(acct, req.custom_tag)
    assert found is not None and found.id == oid


async def test_place_without_a_tag_gets_a_unique_one(px: ProjectXClient, sim: SimGateway) -> None:
    ids = [await px.place_order(limit_buy(sim, "100", custom_tag="")) for _ in range(2)]
    tags = {o.custom_tag for o in await px.search_open_orders(sim.account_id)}
    assert len(ids) == 2 and len(tags) == 2 and None not in tags


async def test_errors_map_to_the_endpoint_enum(px: ProjectXClient, sim: SimGateway) -> None:
    with pytest.raises(ApiError) as cancel:
        await px.cancel_order(sim.account_id, 999_999)
    assert cancel.value.code is s.CancelOrderErrorCode.ORDER_NOT_FOUND
    with pytest.raises(ApiError) as modify:
        await px.modify_order(sim.account_id, 999_999, size=1)
    assert modify.value.code is s.ModifyOrderErrorCode.ORDER_NOT_FOUND
    with pytest.raises(ApiError) as by_id:
        await px.order_by_id(sim.account_id, 999_999)
    assert by_id.value.code is s.OrderByIdErrorCode.ORDER_NOT_FOUND
    with pytest.raises(ApiError) as close:
        await px.close_position(sim.account_id, sim.contract("MNQ"))
    assert close.value.code is s.ClosePositionErrorCode.POSITION_NOT_FOUND


async def test_duplicate_tag_and_injected_rejection_are_rejections_with_an_order_id(
    px: ProjectXClient, sim: SimGateway
) -> None:
    req = limit_buy(sim, "100")
    await px.place_order(req)
    with pytest.raises(OrderRejected) as dup:
        await px.place_order(req)
    assert dup.value.code is s.PlaceOrderErrorCode.ORDER_REJECTED
    sim.faults.reject_next_order(message="Risk check failed")
    with pytest.raises(OrderRejected) as rejected:
        await px.place_order(limit_buy(sim, "100"))
    assert rejected.value.order_id is not None
    assert "Risk check failed" in str(rejected.value)
    assert (await px.order_by_id(sim.account_id, rejected.value.order_id)).status is OrderStatus.REJECTED


async def test_bracket_rejected_in_position_bracket_mode_carries_the_order_id(sim: SimGateway) -> None:
    account = sim.add_account("PRAC-NO-OCO", auto_oco_brackets=False)
    settings = ProjectXSettings(base_url=sim.base_url, username=sim.username, api_key=sim.api_key)
    async with ProjectXClient(settings) as client:
        req = OrderRequest(
            account.id, sim.contract("MNQ"), Side.BUY, OrderType.MARKET, 1, tag(), bracket=Bracket(10, 20)
        )
        with pytest.raises(OrderRejected) as info:
            await client.place_order(req)
    assert info.value.order_id is not None
    assert info.value.broker_message == s.MSG_BRACKETS_POSITION_MODE


async def test_positions_trades_partial_and_full_close(px: ProjectXClient, sim: SimGateway) -> None:
    acct, cid = sim.account_id, sim.contract("MNQ")
    await sim.market.quote(cid, "21000", "21000.25")
    await px.place_order(market(sim, Side.BUY, 3))
    positions = await px.open_positions(acct)
    assert [(p.contract_id, p.side, p.size) for p in positions] == [(cid, PositionSide.LONG, 3)]
    await px.partial_close_position(acct, cid, 1)
    assert [p.size for p in await px.open_positions(acct)] == [2]
    await px.close_position(acct, cid)
    assert await px.open_positions(acct) == []
    fills = await px.search_trades(acct, datetime.now(UTC) - timedelta(hours=1))
    assert [(f.side, f.size) for f in fills] == [(Side.BUY, 3), (Side.SELL, 1), (Side.SELL, 2)]
    assert fills[0].pnl is None and fills[1].pnl is not None


async def test_query_orders_pages_past_the_100_row_cap(px: ProjectXClient, sim: SimGateway) -> None:
    acct = sim.account_id
    ids = [await px.place_order(limit_buy(sim, "100")) for _ in range(130)]
    every = await px.query_orders(acct)
    assert [o.id for o in every] == sorted(ids)
    newest = await px.query_orders(acct, newest_first=True)
    assert [o.id for o in newest] == sorted(ids, reverse=True)
    await px.cancel_order(acct, ids[0])
    open_only = await px.query_orders(acct, statuses=[OrderStatus.OPEN, OrderStatus.SUSPENDED])
    assert len(open_only) == 129 and ids[0] not in {o.id for o in open_only}
    assert await px.query_orders(acct, contract_id="CON.F.US.OTHER.Z99") == []
