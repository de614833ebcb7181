"""Fault injection of the simulator, observed with plain clients: each fault's effect on the wire
and on the gateway's state (an order exists after a 500-after-accept, not after a 500-before)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import pytest

from tests.integration.sim.test_support import call, client, hub, login, running
from trading.cli import main as tradebot
from trading.projectx import schema as s
from trading.sim.fault_kind import FaultKind
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


def limit(sim: SimGateway, tag: str) -> dict[str, Any]:
    return {"accountId": sim.account_id, "contractId": sim.contract("MNQ"), "type": 1, "side": 0, "size": 1,
            "limitPrice": 100, "customTag": tag}  # fmt: skip


async def tags(http: httpx.AsyncClient, sim: SimGateway) -> list[str]:
    r = await call(http, s.ORDER_SEARCH, {"accountId": sim.account_id, "startTimestamp": "2020-01-01T00:00:00Z"})
    return [o["customTag"] for o in r["orders"]]


async def test_500_before_creates_nothing_500_after_creates_the_order(sim: SimGateway, http: httpx.AsyncClient) -> None:
    sim.faults.http_500_before(s.ORDER_PLACE)
    assert (await http.post(s.ORDER_PLACE, json=limit(sim, "a"))).status_code == 500
    assert await tags(http, sim) == []
    sim.faults.http_500_after(s.ORDER_PLACE)
    assert (await http.post(s.ORDER_PLACE, json=limit(sim, "b"))).status_code == 500
    assert await tags(http, sim) == ["b"]  # accepted despite the 500
    assert (await http.post(s.ORDER_PLACE, json=limit(sim, "c"))).status_code == 200  # count was 1
    assert sim.faults.active == []


async def test_delay_after_accept_times_the_client_out_but_the_order_exists(
    sim: SimGateway, http: httpx.AsyncClient
) -> None:
    sim.faults.delay_after(s.ORDER_PLACE, seconds=2.0)
    with pytest.raises(httpx.ReadTimeout):
        await http.post(s.ORDER_PLACE, json=limit(sim, "slow"), timeout=0.2)
    assert await tags(http, sim) == ["slow"]


async def test_connection_reset_before_and_after(sim: SimGateway, http: httpx.AsyncClient) -> None:
    sim.faults.reset(s.ORDER_PLACE)
    with pytest.raises(httpx.TransportError):
        await http.post(s.ORDER_PLACE, json=limit(sim, "r1"))
    assert await tags(http, sim) == []
    sim.faults.reset(s.ORDER_PLACE, after=True)
    with pytest.raises(httpx.TransportError):
        await http.post(s.ORDER_PLACE, json=limit(sim, "r2"))
    assert await tags(http, sim) == ["r2"]


async def test_429_on_the_next_n_requests_of_a_path(sim: SimGateway, http: httpx.AsyncClient) -> None:
    sim.faults.rate_limit(s.ACCOUNT_SEARCH, count=2)
    codes = [(await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).status_code for _ in range(3)]
    assert codes == [429, 429, 200]
    assert (await http.post(s.CONTRACT_AVAILABLE, json={"live": False})).status_code == 200
    sim.faults.rate_limit(count=1)  # any path
    assert (await http.post(s.CONTRACT_AVAILABLE, json={"live": False})).status_code == 429


async def test_token_expiry_then_relogin(sim: SimGateway, http: httpx.AsyncClient) -> None:
    assert sim.faults.expire_tokens() >= 1
    assert (await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).status_code == 401
    assert (await http.post(s.VALIDATE)).status_code == 401
    http.headers["Authorization"] = f"Bearer {await login(http, sim)}"
    assert (await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).status_code == 200


async def test_reject_next_order(sim: SimGateway, http: httpx.AsyncClient) -> None:
    sim.faults.reject_next_order(message="Risk check failed")
    r = await call(http, s.ORDER_PLACE, limit(sim, "rej"))
    assert (r["success"], r["errorCode"], r["errorMessage"]) == (False, 2, "Risk check failed")
    o = await call(http, s.ORDER_SEARCH_BY_ID, {"accountId": sim.account_id, "orderId": r["orderId"]})
    assert o["order"]["status"] == 5
    assert (await call(http, s.ORDER_PLACE, limit(sim, "ok")))["success"]


async def test_drop_hub_connections(sim: SimGateway, http: httpx.AsyncClient) -> None:
    token = http.headers["Authorization"].split()[1]
    async with hub(sim.market_hub_url, token) as market, hub(sim.user_hub_url, token) as user:
        assert sim.faults.drop_hubs("market") == 1
        with pytest.raises(ConnectionError):
            while True:
                await market.next()
        assert sim.hubs.count("user") == 1 and sim.hubs.count("market") == 0
        assert (await user.invoke(s.SUBSCRIBE_ACCOUNTS))["result"] is None


async def test_refused_hubs_drop_and_turn_new_connections_away_until_accepted(
    sim: SimGateway, http: httpx.AsyncClient
) -> None:
    token = http.headers["Authorization"].split()[1]
    async with httpx.AsyncClient(base_url=sim.base_url) as control, hub(sim.market_hub_url, token) as market:
        said = await control.post("/sim/faults", json={"kind": "refuse_hubs", "hub": "market"})
        assert said.json() == {"kind": "refuse_hubs", "affected": 1}
        with pytest.raises(ConnectionError):
            while True:
                await market.next()
        negotiate = await http.post(s.MARKET_HUB_PATH + "/negotiate", params={"access_token": token})
        assert negotiate.status_code == 503
        with pytest.raises(aiohttp.WSServerHandshakeError):
            async with hub(sim.market_hub_url, token):
                pass
        async with hub(sim.user_hub_url, token) as user:  # the other hub still takes connections
            assert (await user.invoke(s.SUBSCRIBE_ACCOUNTS))["result"] is None
        await control.post("/sim/faults", json={"kind": "accept_hubs"})
        async with hub(sim.market_hub_url, token) as again:
            assert (await again.invoke(s.SUBSCRIBE_CONTRACT_QUOTES, sim.contract("MNQ")))["result"] is None


async def test_down_answers_every_request_503_until_up(sim: SimGateway, http: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as control:
        await control.post("/sim/faults", json={"kind": "down"})
        for _ in range(3):  # not consumed: the gateway stays away
            assert (await http.post(s.ORDER_PLACE, json=limit(sim, "away"))).status_code == 503
            assert (await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).status_code == 503
        assert await asyncio.to_thread(tradebot, ["sim", "--fault", "up", "--url", sim.base_url]) == 0
    assert sim.faults.active == []
    assert await tags(http, sim) == []  # nothing was processed while down
    assert (await http.post(s.ORDER_PLACE, json=limit(sim, "back"))).status_code == 200


async def test_silent_stall_keeps_the_socket_open_without_events_or_pings(
    sim: SimGateway, http: httpx.AsyncClient
) -> None:
    cid = sim.contract("MNQ")
    async with hub(sim.market_hub_url, http.headers["Authorization"].split()[1]) as h:
        await h.invoke(s.SUBSCRIBE_CONTRACT_QUOTES, cid)
        await h.next(lambda m: m.get("type") == 6)  # pings flow before the stall
        assert sim.faults.stall_hubs() == 1
        h.drain()
        await sim.market.trade(cid, "21001", 1)
        with pytest.raises(TimeoutError):  # nothing at all: no event, no ping (10 ping periods)
            await asyncio.wait_for(h.ws.receive(), 0.5)
        assert not h.ws.closed
        sim.faults.stall_hubs(on=False)
        await sim.market.trade(cid, "21002", 1)
        _, quote = await h.event(s.EVENT_QUOTE)
        assert quote["lastPrice"] == 21002  # the stalled event was lost, not queued


async def test_control_endpoint_and_cli(sim: SimGateway, http: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as control:
        bad = await control.post("/sim/faults", json={"kind": "meteor"})
        assert bad.status_code == 400 and "unknown fault kind" in bad.text
        ok = await control.post("/sim/faults", json={"kind": "http_500_before", "path": s.ORDER_PLACE, "count": 1})
        assert ok.json()["kind"] == "http_500_before"
        assert (await http.post(s.ORDER_PLACE, json=limit(sim, "x"))).status_code == 500
        fired = (await control.get("/sim/faults")).json()["fired"]
        assert fired == [["http_500_before", s.ORDER_PLACE]]
        await control.post("/sim/market/trade", json={"contractId": sim.contract("MNQ"), "price": "21003.25"})
        assert sim.exchange.books[sim.contract("MNQ")].last == 21003.25
    argv = ["sim", "--fault", "rate_limit", "--path", s.ACCOUNT_SEARCH, "--count", "1", "--url", sim.base_url]
    assert await asyncio.to_thread(tradebot, argv) == 0
    assert sim.faults.active[0].kind is FaultKind.RATE_LIMIT
    assert (await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).status_code == 429
    assert await asyncio.to_thread(tradebot, ["sim", "--fault", "drop_hubs", "--url", sim.base_url]) == 0


async def test_unknown_fault_kind_is_refused(sim: SimGateway) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        sim.faults.add("meteor")
    with pytest.raises(ValueError, match="count"):
        sim.faults.add(FaultKind.HTTP_500_AFTER, s.ORDER_PLACE, count=0)


async def test_aiohttp_session_sees_closed_socket_on_drop(sim: SimGateway, http: httpx.AsyncClient) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            sim.user_hub_url, params={"access_token": http.headers["Authorization"].split()[1]}
        )
        await ws.send_str(s.HANDSHAKE_REQUEST)
        assert await ws.receive_str() == s.HANDSHAKE_RESPONSE
        sim.faults.drop_hubs()
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE)


async def test_graceful_drop_sends_a_signalr_close(sim: SimGateway, http: httpx.AsyncClient) -> None:
    async with hub(sim.user_hub_url, http.headers["Authorization"].split()[1]) as h:
        assert sim.faults.drop_hubs("user", graceful=True) == 1
        close = await h.next(lambda m: m.get("type") == 7)
        assert close["allowReconnect"] is True
        msg = await asyncio.wait_for(h.ws.receive(), 5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_stalled_connection_ignores_websocket_pings_too(sim: SimGateway, http: httpx.AsyncClient) -> None:
    token = http.headers["Authorization"].split()[1]
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(sim.market_hub_url, params={"access_token": token}, autoping=False)
        await ws.send_str(s.HANDSHAKE_REQUEST)
        assert await ws.receive_str() == s.HANDSHAKE_RESPONSE
        await ws.ping(b"1")
        while (msg := await asyncio.wait_for(ws.receive(), 5)).type != aiohttp.WSMsgType.PONG:
            pass  # SignalR pings may come first
        assert msg.data == b"1"
        sim.faults.stall_hubs("market")
        await ws.ping(b"2")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.receive(), 0.5)
        await ws.close()
