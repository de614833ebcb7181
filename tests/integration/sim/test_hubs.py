"""The simulator's SignalR hubs with a plain aiohttp WebSocket client: negotiate, auth, handshake,
invocations and completions, pings both ways, event shapes (§8.4), subscriptions dropped on
disconnect, GatewayLogout, close."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest

from tests.integration.sim.test_support import call, client, hub, running
from trading.projectx import schema as s
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with running(SimOptions(hub_ping_interval_s=0.05)) as gateway:
        yield gateway


@pytest.fixture
async def http(sim: SimGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with client(sim) as c:
        yield c


def token_of(http: httpx.AsyncClient) -> str:
    return http.headers["Authorization"].split()[1]


async def test_negotiate_and_auth(sim: SimGateway, http: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as raw:
        for path in (s.USER_HUB_PATH, s.MARKET_HUB_PATH):
            assert (await raw.post(path + "/negotiate")).status_code == 401
            n = await raw.post(path + "/negotiate?negotiateVersion=1", headers=http.headers)
            body = n.json()
            assert n.status_code == 200 and body["connectionToken"] and body["negotiateVersion"] == 1
            assert body["availableTransports"][0]["transport"] == "WebSockets"
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await session.ws_connect(sim.user_hub_url)
        assert err.value.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(sim.user_hub_url, params={"access_token": "forged"})
    async with hub(sim.market_hub_url, token_of(http), header=True) as h:  # Authorization header works too
        assert (await h.invoke(s.SUBSCRIBE_CONTRACT_QUOTES, sim.contract("MNQ")))["result"] is None


async def test_bad_handshake_gets_an_error(sim: SimGateway, http: httpx.AsyncClient) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(sim.user_hub_url, params={"access_token": token_of(http)})
        await ws.send_str('{"protocol":"messagepack","version":1}\x1e')
        reply = json.loads((await asyncio.wait_for(ws.receive_str(), 5)).rstrip("\x1e"))
        assert "not supported" in reply["error"]
        await ws.close()


async def test_pings_both_ways_and_unknown_methods(sim: SimGateway, http: httpx.AsyncClient) -> None:
    async with hub(sim.user_hub_url, token_of(http)) as h:
        ping = await h.next(lambda m: m.get("type") == 6)
        assert ping == {"type": 6}
        await h.send({"type": 6})
        bad = await h.invoke("SubscribeEverything", 1)
        assert "Method does not exist" in bad["error"]
        wrong_arg = await h.invoke(s.SUBSCRIBE_ORDERS, "not-a-number")
        assert "error" in wrong_arg
        (conn,) = sim.hubs.connections
        assert conn.received_pings == 1


async def test_market_events_have_the_documented_shapes(sim: SimGateway, http: httpx.AsyncClient) -> None:
    cid = sim.contract("ES")
    async with hub(sim.market_hub_url, token_of(http)) as h:
        for method in (s.SUBSCRIBE_CONTRACT_QUOTES, s.SUBSCRIBE_CONTRACT_TRADES, s.SUBSCRIBE_CONTRACT_MARKET_DEPTH):
            assert (await h.invoke(method, cid))["result"] is None
        s_cid, snapshot = await h.event(s.EVENT_QUOTE)  # a full quote on subscribe
        assert s_cid == cid and set(snapshot) == set(s.GatewayQuote.model_fields)
        await sim.market.quote(cid, "6800", "6800.25", bid_size=7, ask_size=9)
        q_cid, quote = await h.event(s.EVENT_QUOTE)
        assert q_cid == cid and quote["symbol"] == "F.US.EP"
        assert quote["bestBid"] == 6800 and quote["bestAsk"] == 6800.25 and "lastPrice" not in quote  # partial
        _, depth = await h.event(s.EVENT_DEPTH)
        assert isinstance(depth, list) and [(d["type"], d["price"], d["volume"]) for d in depth] == [
            (4, 6800, 7),
            (3, 6800.25, 9),
        ]
        await sim.market.trade(cid, "6800.25", 3)
        t_cid, trades = await h.event(s.EVENT_TRADE)
        assert t_cid == cid and isinstance(trades, list)
        assert trades[0]["symbolId"] == "F.US.EP" and trades[0]["price"] == 6800.25 and trades[0]["volume"] == 3
        assert trades[0]["type"] == s.TradeLogType.BUY  # lifted the offer
        _, last = await h.event(s.EVENT_QUOTE)
        assert last["lastPrice"] == 6800.25 and "bestBid" not in last
        other = sim.contract("MES")
        await sim.market.trade(other, "6800", 1)  # not subscribed
        assert (await h.invoke(s.UNSUBSCRIBE_CONTRACT_TRADES, cid))["result"] is None
        await sim.market.trade(cid, "6800", 1)
        marker = await h.invoke("Marker")
        assert "error" in marker
        seen = h.drain()
        assert all(m["arguments"][0] == cid for m in seen if m.get("type") == 1)
        assert not any(m.get("target") == s.EVENT_TRADE for m in seen)
        assert any(m.get("target") == s.EVENT_QUOTE for m in seen)


async def test_user_events_wrapped_order_flat_others(sim: SimGateway, http: httpx.AsyncClient) -> None:
    second = sim.add_account("PRAC-2")
    async with hub(sim.user_hub_url, token_of(http)) as h:
        await h.invoke(s.SUBSCRIBE_ACCOUNTS)
        for acct in (sim.account_id, second.id):  # several accounts on one connection
            for method in (s.SUBSCRIBE_ORDERS, s.SUBSCRIBE_POSITIONS, s.SUBSCRIBE_TRADES):
                await h.invoke(method, acct)
        body = {"accountId": second.id, "contractId": sim.contract("MNQ"), "type": 2, "side": 1, "size": 1}
        placed = await call(http, s.ORDER_PLACE, body)
        (wrapped,) = await h.event(s.EVENT_USER_ORDER)
        assert set(wrapped) == {"action", "data"} and wrapped["data"]["id"] == placed["orderId"]
        assert wrapped["data"]["accountId"] == second.id
        (pos,) = await h.event(s.EVENT_USER_POSITION)
        assert (pos["accountId"], pos["type"], pos["size"]) == (second.id, 2, 1)
        (trade,) = await h.event(s.EVENT_USER_TRADE)
        assert trade["orderId"] == placed["orderId"] and "action" not in trade
        (account,) = await h.event(s.EVENT_USER_ACCOUNT)
        assert account["id"] == second.id and account["balance"] == 50000 - 0.37
        await call(http, s.POSITION_CLOSE, {"accountId": second.id, "contractId": sim.contract("MNQ")})
        flat = await h.next(lambda m: m.get("target") == s.EVENT_USER_POSITION and m["arguments"][0]["size"] == 0)
        assert flat["arguments"][0]["id"] == pos["id"] and flat["arguments"][0]["type"] == 2  # size 0 = closed


async def test_order_wrapper_can_be_switched_off() -> None:
    async with (
        running(SimOptions(wrap_order_events=False)) as sim,
        client(sim) as http,
        hub(sim.user_hub_url, token_of(http)) as h,
    ):
        await h.invoke(s.SUBSCRIBE_ORDERS, sim.account_id)
        body = {"accountId": sim.account_id, "contractId": sim.contract("MNQ"), "type": 1, "side": 0, "size": 1}
        await call(http, s.ORDER_PLACE, {**body, "limitPrice": 100})
        (flat,) = await h.event(s.EVENT_USER_ORDER)
        assert "action" not in flat and flat["status"] == 1


async def test_subscriptions_do_not_survive_a_reconnect(sim: SimGateway, http: httpx.AsyncClient) -> None:
    cid = sim.contract("MNQ")
    async with hub(sim.market_hub_url, token_of(http)) as h:
        await h.invoke(s.SUBSCRIBE_CONTRACT_QUOTES, cid)
        await sim.market.trade(cid, "21000", 1)
        await h.event(s.EVENT_QUOTE)
    async with hub(sim.market_hub_url, token_of(http)) as h:
        await sim.market.trade(cid, "21000.25", 1)
        await h.invoke("Marker")
        assert not any(m.get("target") == s.EVENT_QUOTE for m in h.drain())
        await h.invoke(s.SUBSCRIBE_CONTRACT_QUOTES, cid)
        _, snapshot = await h.event(s.EVENT_QUOTE)
        assert snapshot["lastPrice"] == 21000.25
        await sim.market.trade(cid, "21000.5", 1)
        _, quote = await h.event(s.EVENT_QUOTE)
        assert quote["lastPrice"] == 21000.5


async def test_gateway_logout_and_client_close(sim: SimGateway, http: httpx.AsyncClient) -> None:
    async with hub(sim.user_hub_url, token_of(http)) as h:
        assert sim.faults.logout_hubs() == 1
        assert await h.event(s.EVENT_LOGOUT) == []
        await h.send({"type": 7})
        msg = await asyncio.wait_for(h.ws.receive(), 5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    for _ in range(200):
        if sim.hubs.count() == 0:
            break
        await asyncio.sleep(0.01)
    assert sim.hubs.count() == 0


async def test_non_json_frames_close_the_connection(sim: SimGateway, http: httpx.AsyncClient) -> None:
    async with hub(sim.user_hub_url, token_of(http)) as h:
        await h.ws.send_str("{not json\x1e")
        close: dict[str, Any] = await h.next(lambda m: m.get("type") == 7)
        assert "Invalid message" in close["error"]
