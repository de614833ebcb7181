"""SignalR JSON-protocol hubs of the simulated gateway (`/hubs/user`, `/hubs/market`), projectx-api.md §8.

Standard SignalR over WebSocket: `/negotiate` is served (so negotiate and skipNegotiation both work),
the token comes from `access_token` or the Authorization header, handshake
`{"protocol":"json","version":1}\\x1e` → `{}\\x1e`, type 6 pings both ways, type 1 invocations
answered by a type 3 completion when they carry an `invocationId`, type 7 close. Subscriptions belong
to the connection and are gone when it drops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import WSMsgType, web

from trading.projectx import schema as s
from trading.sim.auth import TokenAuthority, bearer
from trading.sim.options import SimOptions

log = logging.getLogger(__name__)
Hub = Literal["user", "market"]
_SEP = s.RECORD_SEPARATOR
MAX_QUEUED_FRAMES = 100_000
_PING = '{"type":6}' + _SEP

# Which subscription an event needs, and which (un)subscribe method manages it.
_EVENT_KIND = {
    s.EVENT_USER_ACCOUNT: "accounts",
    s.EVENT_USER_ORDER: "orders",
    s.EVENT_USER_POSITION: "positions",
    s.EVENT_USER_TRADE: "trades",
    s.EVENT_QUOTE: "quotes",
    s.EVENT_TRADE: "trades",
    s.EVENT_DEPTH: "depth",
}
_METHODS: dict[Hub, dict[str, tuple[str, bool]]] = {
    "user": {
        s.SUBSCRIBE_ACCOUNTS: ("accounts", True),
        s.SUBSCRIBE_ORDERS: ("orders", True),
        s.SUBSCRIBE_POSITIONS: ("positions", True),
        s.SUBSCRIBE_TRADES: ("trades", True),
        s.UNSUBSCRIBE_ACCOUNTS: ("accounts", False),
        s.UNSUBSCRIBE_ORDERS: ("orders", False),
        s.UNSUBSCRIBE_POSITIONS: ("positions", False),
        s.UNSUBSCRIBE_TRADES: ("trades", False),
    },
    "market": {
        s.SUBSCRIBE_CONTRACT_QUOTES: ("quotes", True),
        s.SUBSCRIBE_CONTRACT_TRADES: ("trades", True),
        s.SUBSCRIBE_CONTRACT_MARKET_DEPTH: ("depth", True),
        s.UNSUBSCRIBE_CONTRACT_QUOTES: ("quotes", False),
        s.UNSUBSCRIBE_CONTRACT_TRADES: ("trades", False),
        s.UNSUBSCRIBE_CONTRACT_MARKET_DEPTH: ("depth", False),
    },
}


def frame(msg: dict[str, Any]) -> str:
    return json.dumps(msg, separators=(",", ":")) + _SEP


class HubProtocolError(ValueError):
    """A client frame the hub cannot accept."""


@dataclass(eq=False)
class HubConnection:
    hub: Hub
    ws: web.WebSocketResponse
    request: web.Request
    subs: set[tuple[str, int | str | None]] = field(default_factory=set)
    queue: asyncio.Queue[str] = field(default_factory=asyncio.Queue)
    stalled: bool = False
    closing: bool = False
    received_pings: int = 0

    def send(self, text: str) -> None:
        if self.stalled:
            return
        if self.queue.qsize() >= MAX_QUEUED_FRAMES:  # a client that stopped reading: cut it off
            log.warning("sim hub: %s client fell %d frames behind; dropping it", self.hub, MAX_QUEUED_FRAMES)
            transport = self.request.transport
            if transport is not None:
                transport.abort()
            return
        self.queue.put_nowait(text)


class HubServer:
    def __init__(self, auth: TokenAuthority, options: SimOptions) -> None:
        self.auth = auth
        self.options = options
        self.connections: set[HubConnection] = set()
        self.events_sent = 0
        self.refusing: set[Hub] = set()  # hubs answering 503 to new connections (a fault: the hub away)
        # A full quote for a contract, sent to a new quote subscriber (set by the gateway).
        self.quote_snapshot: Callable[[str], dict[str, Any] | None] = lambda _cid: None

    # ------------------------------------------------------------------ publishing (sinks)

    def user_event(self, account_id: int, target: str, build: Callable[[], s.WireModel]) -> None:
        kind = _EVENT_KIND[target]
        text: str | None = None
        for conn in self.connections:
            if conn.hub == "user" and (
                (kind, account_id) in conn.subs or (kind == "accounts" and (kind, None) in conn.subs)
            ):
                if text is None:
                    arg: Any = build().to_wire()
                    if target == s.EVENT_USER_ORDER and self.options.wrap_order_events:
                        arg = s.wrap_user_event(arg, self.options.order_event_action)
                    text = frame({"type": 1, "target": target, "arguments": [arg]})
                conn.send(text)
                self.events_sent += 1

    def wants(self, contract_id: str, target: str) -> bool:
        key = (_EVENT_KIND[target], contract_id)
        return any(c.hub == "market" and key in c.subs for c in self.connections)

    def market_event(self, contract_id: str, target: str, payload: Any) -> None:
        key = (_EVENT_KIND[target], contract_id)
        text: str | None = None
        for conn in self.connections:
            if conn.hub == "market" and key in conn.subs:
                text = text or frame({"type": 1, "target": target, "arguments": [contract_id, payload]})
                conn.send(text)
                self.events_sent += 1

    # ------------------------------------------------------------------ control (faults)

    def count(self, hub: Hub | None = None) -> int:
        return sum(1 for c in self.connections if hub is None or c.hub == hub)

    def stall(self, hub: Hub | None = None, on: bool = True) -> int:
        """Silent stall: sockets stay open, no events and no pings reach the client."""
        hit = [c for c in self.connections if hub is None or c.hub == hub]
        for c in hit:
            c.stalled = on
        return len(hit)

    def drop(self, hub: Hub | None = None, graceful: bool = False) -> int:
        """Abrupt drop (like a network cut): the transport is aborted, no close frame. `graceful`
        sends a SignalR close (type 7, allowReconnect) and a WebSocket close instead."""
        hit = [c for c in self.connections if hub is None or c.hub == hub]
        for c in hit:
            self.connections.discard(c)
            if graceful:
                c.stalled = False
                c.send(
                    frame(
                        {"type": s.MessageType.CLOSE, "error": "Server closed the connection.", "allowReconnect": True}
                    )
                )
                c.closing = True
                c.queue.put_nowait("")
                continue
            transport = c.request.transport
            if transport is not None:
                transport.abort()
        return len(hit)

    def refuse(self, hub: Hub | None = None, on: bool = True) -> int:
        """`on`: drop the hub's connections (abruptly) and answer 503 to new ones until called with `on`
        False. The number of connections dropped."""
        hubs: tuple[Hub, ...] = ("user", "market") if hub is None else (hub,)
        if not on:
            self.refusing.difference_update(hubs)
            return 0
        self.refusing.update(hubs)
        return sum(self.drop(h) for h in hubs)

    def logout(self) -> int:
        """Send `GatewayLogout` (undocumented; payload [UNCERTAIN] — the sim sends no arguments)."""
        hit = list(self.connections)
        for c in hit:
            c.send(frame({"type": 1, "target": s.EVENT_LOGOUT, "arguments": []}))
        return len(hit)

    async def close_all(self) -> None:
        for c in list(self.connections):
            with contextlib.suppress(Exception):
                await c.ws.close()
        self.connections.clear()

    # ------------------------------------------------------------------ HTTP side

    def _token(self, request: web.Request) -> str | None:
        return request.query.get(s.HUB_ACCESS_TOKEN_PARAM) or bearer(request.headers.get("Authorization"))

    async def negotiate(self, request: web.Request) -> web.StreamResponse:
        hub: Hub = "user" if request.path.startswith(s.USER_HUB_PATH) else "market"
        if hub in self.refusing:
            return web.Response(status=503, text="Service Unavailable (sim fault: hub refusing connections)")
        if self.auth.check(self._token(request)) is None:
            return web.Response(status=401)
        conn_id = secrets.token_urlsafe(16)
        body = {
            "negotiateVersion": 1,
            "connectionId": conn_id,
            "connectionToken": secrets.token_urlsafe(16),
            "availableTransports": [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}],
        }
        return web.json_response(body)

    async def handle(self, request: web.Request, hub: Hub) -> web.StreamResponse:
        if hub in self.refusing:
            return web.Response(status=503, text="Service Unavailable (sim fault: hub refusing connections)")
        if self.auth.check(self._token(request)) is None:
            return web.Response(status=401)
        # WebSocket pings are answered by hand so that a stalled connection ignores them too.
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = HubConnection(hub, ws, request)
        writer = asyncio.create_task(self._writer(conn), name=f"sim-hub-{hub}-writer")
        try:
            await self._reader(conn)
        finally:
            self.connections.discard(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer
            if not ws.closed:
                with contextlib.suppress(Exception):
                    await ws.close()
        return ws

    async def _writer(self, conn: HubConnection) -> None:
        interval = self.options.hub_ping_interval_s
        while True:
            try:
                async with asyncio.timeout(interval):  # not wait_for: see trading/engine/copy.py run()
                    text = await conn.queue.get()
            except TimeoutError:
                if not conn.stalled:
                    await conn.ws.send_str(_PING)
                continue
            parts = [text]
            while not conn.queue.empty():
                parts.append(conn.queue.get_nowait())
            if not conn.stalled:
                await conn.ws.send_str("".join(parts))
            if conn.closing:
                await conn.ws.close()
                return

    async def _reader(self, conn: HubConnection) -> None:
        buffer = ""
        handshaken = False
        async for msg in conn.ws:
            if msg.type == WSMsgType.TEXT:
                buffer += msg.data
            elif msg.type == WSMsgType.BINARY:
                buffer += msg.data.decode("utf-8", "replace")
            elif msg.type == WSMsgType.PING:
                if not conn.stalled:
                    await conn.ws.pong(msg.data)
                continue
            elif msg.type == WSMsgType.PONG:
                continue
            else:
                break
            *records, buffer = buffer.split(_SEP)
            for record in records:
                if not handshaken:
                    error = _check_handshake(record)
                    if error:
                        await conn.ws.send_str(frame({"error": error}))
                        return
                    handshaken = True
                    self.connections.add(conn)
                    await conn.ws.send_str(s.HANDSHAKE_RESPONSE)
                    continue
                if not await self._on_message(conn, record):
                    return

    async def _on_message(self, conn: HubConnection, record: str) -> bool:
        """False when the connection should end."""
        try:
            msg = json.loads(record)
            if not isinstance(msg, dict):
                raise HubProtocolError("a message must be a JSON object")
        except (ValueError, HubProtocolError) as exc:
            log.info("sim hub: bad frame %r: %s", record[:200], exc)
            await conn.ws.send_str(frame({"type": s.MessageType.CLOSE, "error": f"Invalid message: {exc}"}))
            return False
        kind = msg.get("type")
        if kind == s.MessageType.PING:
            conn.received_pings += 1
            return True
        if kind == s.MessageType.CLOSE:
            return False
        if kind != s.MessageType.INVOCATION:
            return True  # stream items, cancels: not used by the Gateway hubs
        inv_id = msg.get("invocationId")
        target, args = msg.get("target"), msg.get("arguments")
        error = self._invoke(conn, target, args)
        if inv_id is not None:
            reply: dict[str, Any] = {"type": s.MessageType.COMPLETION, "invocationId": inv_id}
            if error is None:
                reply["result"] = None
            else:
                reply["error"] = error
            conn.send(frame(reply))
        if error is None and target == s.SUBSCRIBE_CONTRACT_QUOTES and self.options.quote_snapshot_on_subscribe:
            cid = args[0] if isinstance(args, list) and args else None
            snap = self.quote_snapshot(cid) if isinstance(cid, str) else None
            if snap is not None:
                conn.send(frame({"type": 1, "target": s.EVENT_QUOTE, "arguments": [cid, snap]}))
        return True

    def _invoke(self, conn: HubConnection, target: object, args: object) -> str | None:
        methods = _METHODS[conn.hub]
        if not isinstance(target, str) or target not in methods:
            return f"Failed to invoke '{target}' due to an error on the server. HubException: Method does not exist."
        kind, subscribe = methods[target]
        arguments = args if isinstance(args, list) else []
        key: int | str | None
        if target in (s.SUBSCRIBE_ACCOUNTS, s.UNSUBSCRIBE_ACCOUNTS):
            key = None
        elif conn.hub == "user":
            if len(arguments) != 1 or isinstance(arguments[0], bool) or not isinstance(arguments[0], int | str):
                return f"Failed to invoke '{target}': expected one accountId argument."
            try:
                key = int(arguments[0])
            except ValueError:
                return f"Failed to invoke '{target}': accountId must be an integer."
        else:
            if len(arguments) != 1 or not isinstance(arguments[0], str):
                return f"Failed to invoke '{target}': expected one contractId argument."
            key = arguments[0]
        if subscribe:
            conn.subs.add((kind, key))
        else:
            conn.subs.discard((kind, key))
        return None


def _check_handshake(record: str) -> str | None:
    try:
        hs = json.loads(record)
    except ValueError:
        return "Handshake was not valid JSON."
    if not isinstance(hs, dict) or hs.get("protocol") != "json":
        return f"The protocol '{hs.get('protocol') if isinstance(hs, dict) else hs}' is not supported."
    if hs.get("version") != 1:
        return f"The server does not support version {hs.get('version')} of the 'json' protocol."
    return None
