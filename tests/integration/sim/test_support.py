"""Helpers for the simulator tests: a plain httpx client and a plain SignalR-over-aiohttp client.
(Also holds two smoke tests of the helpers themselves.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx

from trading.config import SimSettings
from trading.projectx import schema as s
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions

WAIT_S = 5.0  # liveness bound for awaited frames (a hang fails the test instead of blocking it)


@asynccontextmanager
async def running(options: SimOptions | None = None, **settings: Any) -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0, **settings), options=options) as sim:
        yield sim


async def login(http: httpx.AsyncClient, sim: SimGateway) -> str:
    r = await http.post(s.LOGIN_KEY, json={"userName": sim.username, "apiKey": sim.api_key})
    token: str = r.json()["token"]
    return token


@asynccontextmanager
async def client(sim: SimGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.base_url, timeout=10) as http:
        http.headers["Authorization"] = f"Bearer {await login(http, sim)}"
        yield http


async def call(http: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await http.post(path, json=body if body is not None else {})
    assert r.status_code == 200, (path, r.status_code, r.text)
    out: dict[str, Any] = r.json()
    return out


class Hub:
    """A bare SignalR JSON-protocol client over an aiohttp WebSocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._pending: list[dict[str, Any]] = []
        self.pings = 0
        self._ids = 0

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(msg) + s.RECORD_SEPARATOR)

    async def invoke(self, target: str, *args: Any) -> dict[str, Any]:
        """Invoke with an invocationId and return the completion."""
        self._ids += 1
        inv = str(self._ids)
        await self.send({"type": 1, "target": target, "arguments": list(args), "invocationId": inv})
        return await self.next(lambda m: m.get("type") == 3 and m.get("invocationId") == inv)

    async def raw(self) -> str:
        msg = await asyncio.wait_for(self.ws.receive(), WAIT_S)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"hub closed: {msg.type!r}")
        data: str = msg.data
        return data

    async def next(self, want: Any = None) -> dict[str, Any]:
        """The next message (pings counted and skipped unless asked for) matching `want`."""
        while True:
            for i, m in enumerate(self._pending):
                if want is None or want(m):
                    return self._pending.pop(i)
            for record in (await self.raw()).split(s.RECORD_SEPARATOR):
                if not record:
                    continue
                m = json.loads(record)
                if m.get("type") == 6:
                    self.pings += 1
                    if want is None or not want(m):
                        continue
                self._pending.append(m)

    async def event(self, target: str) -> list[Any]:
        m = await self.next(lambda m: m.get("type") == 1 and m.get("target") == target)
        args: list[Any] = m["arguments"]
        return args

    def drain(self) -> list[dict[str, Any]]:
        out, self._pending = self._pending, []
        return out


@asynccontextmanager
async def hub(url: str, token: str, *, header: bool = False) -> AsyncIterator[Hub]:
    async with aiohttp.ClientSession() as session:
        if header:
            ws = await session.ws_connect(url, headers={"Authorization": f"Bearer {token}"})
        else:
            ws = await session.ws_connect(url, params={"access_token": token})
        try:
            h = Hub(ws)
            await ws.send_str(s.HANDSHAKE_REQUEST)
            assert await h.raw() == s.HANDSHAKE_RESPONSE
            yield h
        finally:
            await ws.close()


async def test_support_login_and_handshake() -> None:
    async with running() as sim, client(sim) as http:
        token = http.headers["Authorization"].split()[1]
        async with hub(sim.user_hub_url, token) as h:
            assert (await h.invoke(s.SUBSCRIBE_ACCOUNTS))["result"] is None


async def test_support_call_fails_on_http_errors() -> None:
    async with running() as sim, httpx.AsyncClient(base_url=sim.base_url) as http:
        try:
            await call(http, s.ACCOUNT_SEARCH, {"onlyActiveAccounts": True})
        except AssertionError as exc:
            assert "401" in str(exc)
        else:
            raise AssertionError("an unauthenticated call must fail")
