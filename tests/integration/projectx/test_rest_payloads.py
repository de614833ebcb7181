"""The client reads the canonical payloads (tests/data/projectx/rest, shaped like the docs' examples),
and malformed gateway answers give typed errors, never crashes or wrong data.

The simulator speaks the protocol correctly, so these answers come from a small aiohttp server over
a real socket that serves a valid login and then whatever body a test sets for an endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import jwt
import pytest
from aiohttp import web

from trading.config import ProjectXSettings
from trading.domain import OrderRequest, OrderStatus, OrderType, PositionSide, Side
from trading.projectx import schema as s
from trading.projectx.errors import (
    AmbiguousContract,
    AuthError,
    HttpStatusError,
    OrderRejected,
    UncertainOutcome,
    WireFormatError,
)
from trading.projectx.rest import ProjectXClient


@dataclass
class Canned:
    bodies: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)


def _token() -> str:
    exp = int((datetime.now(UTC) + timedelta(hours=24)).timestamp())
    return jwt.encode({"sub": "t", "exp": exp}, "a-test-signing-key-of-32-bytes-or-more", algorithm="HS256")


@pytest.fixture
async def canned() -> AsyncIterator[tuple[Canned, str]]:
    state = Canned()

    async def handle(request: web.Request) -> web.Response:
        path = request.path
        state.hits[path] = state.hits.get(path, 0) + 1
        if path == s.LOGIN_KEY and path not in state.bodies:
            body = json.dumps({"token": _token(), "success": True, "errorCode": 0, "errorMessage": None})
            return web.Response(text=body, content_type="application/json")
        return web.Response(
            text=state.bodies.get(path, "{}"), status=state.statuses.get(path, 200), content_type="application/json"
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield state, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def _client(base: str) -> ProjectXClient:
    settings = ProjectXSettings(
        base_url=base, username="u", api_key="k", retry_delays_s=(0.01, 0.01, 0.01), request_timeout_s=2.0
    )
    return ProjectXClient(settings)


async def test_truncated_json_is_a_wire_format_error(canned: tuple[Canned, str]) -> None:
    state, base = canned
    state.bodies[s.ACCOUNT_SEARCH] = '{"accounts": [{"id": 1, "name": "A", "bal'
    async with _client(base) as px:
        with pytest.raises(WireFormatError) as info:
            await px.accounts()
    assert info.value.endpoint == "Account/search"
    assert "Unreadable answer from the broker" in str(info.value)


async def test_missing_field_is_a_wire_format_error(canned: tuple[Canned, str]) -> None:
    state, base = canned
    order = {"id": 5, "accountId": 1, "contractId": "CON.F.US.MNQ.Z25", "type": 2, "side": 0, "size": 1}  # no status
    state.bodies[s.ORDER_SEARCH_OPEN] = json.dumps({"orders": [order], "success": True, "errorCode": 0})
    async with _client(base) as px:
        with pytest.raises(WireFormatError) as info:
            await px.search_open_orders(1)
    assert "status" in info.value.detail


async def test_wrong_type_is_a_wire_format_error(canned: tuple[Canned, str]) -> None:
    state, base = canned
    position = {"id": 1, "accountId": 1, "contractId": "C", "type": 1, "size": "two", "averagePrice": 1.0}
    state.bodies[s.POSITION_SEARCH_OPEN] = json.dumps({"positions": [position], "success": True, "errorCode": 0})
    async with _client(base) as px:
        with pytest.raises(WireFormatError):
            await px.open_positions(1)


async def test_unknown_enum_value_is_a_wire_format_error(canned: tuple[Canned, str]) -> None:
    state, base = canned
    order = {"id": 5, "accountId": 1, "contractId": "C", "status": 42, "type": 2, "side": 0, "size": 1}
    state.bodies[s.ORDER_SEARCH_OPEN] = json.dumps({"orders": [order], "success": True, "errorCode": 0})
    async with _client(base) as px:
        with pytest.raises(WireFormatError):
            await px.search_open_orders(1)


async def test_envelope_without_success_is_a_wire_format_error(canned: tuple[Canned, str]) -> None:
    state, base = canned
    state.bodies[s.CONTRACT_SEARCH] = json.dumps({"contracts": []})
    async with _client(base) as px:
        with pytest.raises(WireFormatError):
            await px.search_contracts("MNQ")


async def test_problem_details_400_is_an_http_status_error(canned: tuple[Canned, str]) -> None:
    state, base = canned
    state.statuses[s.ORDER_QUERY_V2] = 400
    state.bodies[s.ORDER_QUERY_V2] = json.dumps(
        {"title": "One or more validation errors occurred.", "status": 400, "errors": {"filter": ["required"]}}
    )
    async with _client(base) as px:
        with pytest.raises(HttpStatusError) as info:
            await px.query_orders(1)
    assert info.value.status == 400
    assert "filter: required" in str(info.value)


async def test_place_with_success_false_and_an_order_id_is_a_rejection(canned: tuple[Canned, str]) -> None:
    state, base = canned
    state.bodies[s.ORDER_PLACE] = json.dumps(
        {"orderId": 9057, "success": False, "errorCode": 2, "errorMessage": s.MSG_BRACKETS_POSITION_MODE}
    )
    async with _client(base) as px:
        with pytest.raises(OrderRejected) as info:
            await px.place_order(_market_buy())
    assert info.value.order_id == 9057
    assert info.value.code is s.PlaceOrderErrorCode.ORDER_REJECTED
    assert state.hits[s.ORDER_PLACE] == 1


async def test_unreadable_place_answer_is_reconciled_not_resent_blindly(canned: tuple[Canned, str]) -> None:
    """A garbled 200 to a place may hide a created order: the client looks the tag up, and when the
    lookup itself is unreadable it gives up with UncertainOutcome rather than sending again."""
    state, base = canned
    state.bodies[s.ORDER_PLACE] = '{"orderId": 12, "succ'
    state.bodies[s.ORDER_SEARCH] = "not json"
    async with _client(base) as px:
        with pytest.raises(UncertainOutcome) as info:
            await px.place_order(_market_buy())
    assert info.value.custom_tag == "tag-malformed"
    assert state.hits[s.ORDER_PLACE] == 1
    assert state.hits[s.ORDER_SEARCH] == 3  # one lookup per retry delay


async def test_unreadable_place_answer_then_lookup_finds_the_order(canned: tuple[Canned, str]) -> None:
    state, base = canned
    state.bodies[s.ORDER_PLACE] = "<html>"
    found = {
        "id": 77, "accountId": 1, "contractId": "CON.F.US.MNQ.Z25", "status": 1, "type": 1, "side": 0, "size": 1,
        "limitPrice": 100.25, "customTag": "tag-malformed",
    }  # fmt: skip
    state.bodies[s.ORDER_SEARCH] = json.dumps({"orders": [found], "success": True, "errorCode": 0})
    async with _client(base) as px:
        assert await px.place_order(_market_buy()) == 77
    assert state.hits[s.ORDER_PLACE] == 1


CANONICAL = Path(__file__).resolve().parents[2] / "data" / "projectx" / "rest"


def serve(state: Canned, path: str, name: str, status: int = 200) -> None:
    state.bodies[path] = (CANONICAL / f"{name}.json").read_text()
    state.statuses[path] = status


async def test_canonical_reads(canned: tuple[Canned, str]) -> None:
    state, base = canned
    serve(state, s.ACCOUNT_SEARCH, "account_search")
    serve(state, s.CONTRACT_SEARCH, "contract_search")
    serve(state, s.ORDER_SEARCH, "order_search")
    serve(state, s.ORDER_SEARCH_OPEN, "order_search_open")
    serve(state, s.POSITION_SEARCH_OPEN, "position_search_open")
    serve(state, s.TRADE_SEARCH, "trade_search")
    since = datetime(2025, 1, 1, tzinfo=UTC)
    async with _client(base) as px:
        (account,) = await px.accounts()
        assert (account.id, account.name, account.balance, account.can_trade) == (
            1,
            "TEST_ACCOUNT_1",
            Decimal(50000),
            True,
        )
        mnq = await px.front_month("MNQ")
        assert (mnq.id, mnq.tick_size, mnq.tick_value) == ("CON.F.US.MNQ.U25", Decimal("0.25"), Decimal("0.5"))
        assert (await px.front_month("NQ")).id == "CON.F.US.ENQ.U25"  # by name NQU5, symbolId root ENQ
        (filled,) = await px.search_orders(704, since)
        assert (filled.id, filled.status, filled.filled_price) == (36598, OrderStatus.FILLED, Decimal("6335.25"))
        assert filled.created_at == datetime(2025, 7, 18, 21, 0, 1, 268009, tzinfo=UTC)
        (stop,) = await px.search_open_orders(212)
        assert (stop.type, stop.side, stop.stop_price) == (OrderType.STOP, Side.SELL, Decimal("5138.0"))
        (pos,) = await px.open_positions(536)
        assert (pos.side, pos.size, pos.average_price) == (PositionSide.LONG, 2, Decimal("1575.75"))
        fills = await px.search_trades(203, since)
        assert fills[0].pnl == Decimal("50.0") and fills[0].fees == Decimal("1.4")


async def test_front_month_refuses_ambiguity_and_ignores_fuzzy_and_expired_matches(canned: tuple[Canned, str]) -> None:
    state, base = canned

    def contract(cid: str, name: str, symbol_id: str, active: bool = True) -> dict[str, object]:
        return {
            "id": cid, "name": name, "description": name, "tickSize": 0.25, "tickValue": 0.5,
            "activeContract": active, "symbolId": symbol_id,
        }  # fmt: skip

    fuzzy = [
        contract("CON.F.US.MNQ.Z25", "MNQZ5", "F.US.MNQ"),
        contract("CON.F.US.MNQ.U25", "MNQU5", "F.US.MNQ", active=False),
        contract("CON.F.US.ENQ.Z25", "NQZ5", "F.US.ENQ"),
    ]
    state.bodies[s.CONTRACT_SEARCH] = json.dumps({"contracts": fuzzy, "success": True, "errorCode": 0})
    async with _client(base) as px:
        assert (await px.front_month("MNQ")).id == "CON.F.US.MNQ.Z25"  # NQ and the expired month left out
        assert (await px.front_month("NQ")).id == "CON.F.US.ENQ.Z25"
        fuzzy.append(contract("CON.F.US.MNQ.H26", "MNQH6", "F.US.MNQ"))
        state.bodies[s.CONTRACT_SEARCH] = json.dumps({"contracts": fuzzy, "success": True, "errorCode": 0})
        with pytest.raises(AmbiguousContract) as info:
            await px.front_month("MNQ")
    assert info.value.candidates == ["CON.F.US.MNQ.H26", "CON.F.US.MNQ.Z25"]


async def test_canonical_contract_by_id_in_both_shapes(canned: tuple[Canned, str]) -> None:
    state, base = canned
    async with _client(base) as px:
        for name in ("contract_search_by_id", "contract_search_by_id_legacy"):
            serve(state, s.CONTRACT_SEARCH_BY_ID, name)
            contract = await px.contract_by_id("CON.F.US.ENQ.H25")
            assert (contract.id, contract.active, contract.tick_value) == ("CON.F.US.ENQ.H25", False, Decimal("5"))


async def test_canonical_bars_come_back_ascending(canned: tuple[Canned, str]) -> None:
    state, base = canned
    serve(state, s.RETRIEVE_BARS, "retrieve_bars")
    async with _client(base) as px:
        bars = await px.retrieve_bars(
            "CON.F.US.RTY.Z24", datetime(2024, 12, 20, 12, tzinfo=UTC), datetime(2024, 12, 20, 15, tzinfo=UTC), "1h"
        )
    assert [b.start.hour for b in bars] == [12, 13, 14]
    assert [b.volume for b in bars] == [300, 536, 87]


async def test_canonical_place_answers(canned: tuple[Canned, str]) -> None:
    state, base = canned
    async with _client(base) as px:
        serve(state, s.ORDER_PLACE, "place_ok")
        assert await px.place_order(_market_buy()) == 9056
        serve(state, s.ORDER_PLACE, "place_rejected_bracket")
        with pytest.raises(OrderRejected) as info:
            await px.place_order(_market_buy())
        assert info.value.order_id == 9057
        serve(state, s.ORDER_CANCEL, "envelope_only")
        await px.cancel_order(1, 9056)


async def test_canonical_auth_answers(canned: tuple[Canned, str]) -> None:
    state, base = canned
    serve(state, s.VALIDATE, "validate")
    async with _client(base) as px:
        await px.login()
        new = await px.validate()
        assert new.startswith("eyJ") and px.token == new
        assert px.tokens.session is not None and px.tokens.session.expires_at == 1752963200  # the JWT's exp


async def test_canonical_failed_login(canned: tuple[Canned, str]) -> None:
    state, base = canned
    state.bodies[s.LOGIN_KEY] = (CANONICAL / "login_failed.json").read_text()
    async with _client(base) as px:
        with pytest.raises(AuthError) as info:
            await px.accounts()
    assert info.value.code is s.LoginErrorCode.INVALID_CREDENTIALS
    assert "INVALID_CREDENTIALS" in str(info.value)


async def test_canonical_validation_problem(canned: tuple[Canned, str]) -> None:
    state, base = canned
    serve(state, s.ORDER_QUERY_V2, "order_query_missing_filter", status=400)
    async with _client(base) as px:
        with pytest.raises(HttpStatusError) as info:
            await px.query_orders(1)
    assert "missing required properties" in str(info.value)


def _market_buy() -> OrderRequest:
    return OrderRequest(
        account_id=1,
        contract_id="CON.F.US.MNQ.Z25",
        side=Side.BUY,
        type=OrderType.LIMIT,
        size=1,
        custom_tag="tag-malformed",
        limit_price=Decimal("100.25"),
    )
