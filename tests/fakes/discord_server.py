"""A small local Discord: REST v10 and the gateway, enough for discord.py to log in, sync its command
tree, receive interactions and answer them, and post messages to channels.

    async with FakeDiscord(guilds=[FakeGuild(1, "desk", [FakeChannel(10, "fills")])]) as fake:
        bot = TradeBot(...)                  # built while `fake.patched()` is active
        result = await fake.invoke(trader, guild, channel, "order market", {"symbol": "MNQ", ...})
        result.text(), result.ephemeral, fake.messages(channel_id)

`patched()` points discord.py at this server (`discord.http.Route.BASE` and the gateway URL; discord.py
2.7 connects to `DiscordWebSocket.DEFAULT_GATEWAY` and then to READY's `resume_gateway_url`).
`set_down(True)` answers every REST call with 503 and drops the gateway; `rate_limit(n)` answers the
next n channel posts with 429 and a `retry_after`.

Direct messages as discord.py sends them (`Client.create_dm`, `User.send`): `POST /users/@me/channels`
{recipient_id} opens (or returns the same) DM channel, type 1; posts to it are kept per user
(`dms(user_id)`); `close_dms(user_id)` makes them refused as Discord does when a user's DMs are closed
(403, code 50007 "Cannot send messages to this user").

Longer than 500 lines on purpose: it is one protocol server (REST routes and the gateway share the
guild, channel and interaction state); the payload shapes live apart in discord_payloads.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import web

from tests.fakes.discord_interactions import (
    AUTOCOMPLETE_RESULT,
    CHANNEL_MESSAGE,
    DEFERRED_CHANNEL_MESSAGE,
    EPHEMERAL,
    UPDATE_MESSAGE,
    InteractionResult,
    Response,
)
from tests.fakes.discord_payloads import (
    ALL_PERMISSIONS,
    ATTACHMENT_SIZE_LIMIT,
    JSON,
    FakeChannel,
    FakeGuild,
    FakeUser,
    Snowflakes,
    dm_channel_payload,
    member_payload,
    message_payload,
)

Handler = Callable[[web.Request, re.Match[str]], Awaitable[web.Response]]

# Discord's application command option types that carry a value.
_SUB_COMMAND, _SUB_COMMAND_GROUP = 1, 2


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly "application/json".
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=hdrs)


def _error(status: int, message: str, code: int = 0) -> web.Response:
    return json_response({"message": message, "code": code}, status)


class _Conn:
    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.seq = 0
        self.ready = False

    async def dispatch(self, event: str, data: Any) -> None:
        self.seq += 1
        await self.ws.send_str(json.dumps({"op": 0, "t": event, "s": self.seq, "d": data}))


class FakeDiscord:
    def __init__(
        self,
        guilds: list[FakeGuild],
        *,
        token: str = "fake-bot-token",
        bot_name: str = "tradebot",
        host: str = "127.0.0.1",
    ) -> None:
        self.ids = Snowflakes()
        self.token = token
        self.guilds = {g.id: g for g in guilds}
        self.bot = FakeUser(self.ids.next(), bot_name, bot=True)
        self.app_id = self.bot.id
        self.host = host
        self.port = 0
        self.commands: dict[int | None, list[JSON]] = {}  # guild id (None: global) -> synced commands
        self.requests: list[tuple[str, str]] = []  # every REST call: (method, path)
        self.unhandled: list[tuple[str, str]] = []
        self._messages: dict[int, tuple[int, Response]] = {}  # message id -> (channel id, message)
        self._interactions: dict[str, InteractionResult] = {}  # token -> result
        self._clicked: dict[str, int] = {}  # token of a button click -> the message clicked
        self._changed = asyncio.Event()  # set whenever a message is posted or edited
        self._acked: set[int] = set()  # interaction ids that got their callback
        self._conns: list[_Conn] = []
        self._connected = asyncio.Event()
        self._down = False
        self._rate_limits: list[float] = []
        self._lose_answers = 0
        self._dm_channels: dict[int, int] = {}  # user id -> the id of their DM channel with the bot
        self._dms_closed: set[int] = set()
        self._runner: web.AppRunner | None = None
        self._session_id = secrets.token_hex(8)
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._add_routes()

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=ATTACHMENT_SIZE_LIMIT)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        for conn in list(self._conns):
            await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    @contextlib.contextmanager
    def patched(self) -> Iterator[None]:
        """Point discord.py's REST base and gateway at this server for the duration."""
        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    # -- test controls -----------------------------------------------------------------------

    def set_down(self, down: bool, *, drop_gateway: bool = True) -> None:
        """Simulate an outage: every REST call answers 503 and (by default) the gateway drops."""
        self._down = down
        if down and drop_gateway:
            self._connected.clear()
            for conn in list(self._conns):
                asyncio.get_running_loop().create_task(conn.ws.close(code=4000, message=b"outage"))

    def rate_limit(self, times: int, retry_after: float = 0.05) -> None:
        """Answer the next `times` channel posts with 429 and this `retry_after`."""
        self._rate_limits += [retry_after] * times

    def lose_answers(self, times: int) -> None:
        """Post the next `times` channel messages but answer 503, as if the answer was lost."""
        self._lose_answers += times

    def close_dms(self, user_id: int, closed: bool = True) -> None:
        """The user's DMs are closed to the bot: a message to them answers 403, code 50007."""
        if closed:
            self._dms_closed.add(user_id)
        else:
            self._dms_closed.discard(user_id)

    def dms(self, user_id: int) -> list[Response]:
        """The messages the bot sent the user by direct message, oldest first."""
        cid = self._dm_channels.get(user_id)
        return [] if cid is None else self.messages(cid)

    def dms_channel(self, user_id: int) -> int | None:
        """The id of the user's DM channel with the bot, once discord.py opened it."""
        return self._dm_channels.get(user_id)

    def _dm_recipient(self, channel_id: int) -> int | None:
        for user, cid in self._dm_channels.items():
            if cid == channel_id:
                return user
        return None

    async def wait_connected(self, within: float = 30.0) -> None:
        await asyncio.wait_for(self._connected.wait(), within)

    async def wait_until(self, predicate: Callable[[], bool], within: float = 20.0) -> None:
        """Wait until `predicate()` holds, re-checking whenever a message is posted or edited."""

        async def until() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), within)

    def _store(self, mid: int, channel_id: int, message: Response) -> None:
        self._messages[mid] = (channel_id, message)
        self._changed.set()

    def messages(self, channel_id: int) -> list[Response]:
        """Every visible message in the channel, oldest first, as last edited."""
        return [m for cid, m in self._messages.values() if cid == channel_id and not m.flags & EPHEMERAL]

    def all_messages(self) -> list[tuple[int, Response]]:
        return list(self._messages.values())

    def synced(self, guild_id: int | None = None) -> list[str]:
        return sorted(c["name"] for c in self.commands.get(guild_id, []))

    # -- driving interactions ----------------------------------------------------------------

    async def invoke(
        self,
        user: FakeUser,
        guild: FakeGuild,
        channel: FakeChannel,
        command: str,
        options: dict[str, Any] | None = None,
        *,
        wait: bool = True,
        interaction_id: int | None = None,
    ) -> InteractionResult:
        """Run a slash command ("order market") as `user` and return its answers once settled.
        `interaction_id` replays an earlier interaction (Discord refuses a second acknowledgement)."""
        data = self._command_data(guild.id, command, options or {}, focused=None)
        return await self._send(2, user, guild, channel, data, wait=wait, interaction_id=interaction_id)

    async def autocomplete(
        self,
        user: FakeUser,
        guild: FakeGuild,
        channel: FakeChannel,
        command: str,
        options: dict[str, Any],
        focused: str,
    ) -> InteractionResult:
        data = self._command_data(guild.id, command, options, focused=focused)
        return await self._send(4, user, guild, channel, data, wait=True)

    async def click(
        self,
        user: FakeUser,
        guild: FakeGuild,
        channel: FakeChannel,
        message_id: int,
        custom_id: str,
        *,
        wait: bool = True,
        interaction_id: int | None = None,
    ) -> InteractionResult:
        """Press a button on a message the bot sent. `interaction_id` replays an earlier click."""
        _, msg = self._messages[message_id]
        message = message_payload(message_id, channel.id, self.bot, msg.body, [], webhook_id=None)
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._send(
            3, user, guild, channel, data, wait=wait, message=message, interaction_id=interaction_id
        )

    def _find_command(self, guild_id: int, name: str) -> JSON:
        for cmd in self.commands.get(guild_id, []) + self.commands.get(None, []):
            if cmd["name"] == name:
                return cmd
        raise AssertionError(f"/{name} is not synced (have {self.synced(guild_id)} and {self.synced(None)})")

    def _command_data(self, guild_id: int, command: str, options: dict[str, Any], focused: str | None) -> JSON:
        path = command.split()
        cmd = self._find_command(guild_id, path[0])
        node: JSON = cmd
        nests: list[JSON] = []
        for part in path[1:]:
            found = [o for o in node.get("options") or [] if o["name"] == part]
            if not found:
                raise AssertionError(f"/{command}: no subcommand {part!r}")
            node = found[0]
            nests.append(node)
        params = {o["name"]: o for o in node.get("options") or []}
        leaf: list[JSON] = []
        for key, value in options.items():
            if key not in params:
                raise AssertionError(f"/{command} has no option {key!r} (has {sorted(params)})")
            _check_option(command, params[key], value, autocompleting=key == focused)
            opt: JSON = {"name": key, "type": params[key]["type"], "value": value}
            if key == focused:
                opt["focused"] = True
            leaf.append(opt)
        if focused is None:
            missing = [n for n, o in params.items() if o.get("required") and n not in options]
            if missing:
                raise AssertionError(f"/{command}: Discord would not send it without {missing}")
        inner: list[JSON] = leaf
        for sub in reversed(nests):
            inner = [{"name": sub["name"], "type": sub["type"], "options": inner}]
        return {"id": cmd["id"], "name": cmd["name"], "type": 1, "guild_id": str(guild_id), "options": inner}

    async def _send(
        self,
        kind: int,
        user: FakeUser,
        guild: FakeGuild,
        channel: FakeChannel,
        data: JSON,
        *,
        wait: bool,
        message: JSON | None = None,
        interaction_id: int | None = None,
    ) -> InteractionResult:
        conns = [c for c in self._conns if c.ready and not c.ws.closed]
        if not conns:
            raise AssertionError("the bot is not connected to the fake gateway")
        iid = interaction_id or self.ids.next()
        token = f"tok-{iid}-{secrets.token_hex(4)}"
        result = InteractionResult(id=iid, token=token, channel_id=channel.id)
        self._interactions[token] = result
        if message is not None:
            self._clicked[token] = int(message["id"])
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.app_id),
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": guild.channel_payload(channel),
            "member": member_payload(user, guild.roles_of.get(user.id, []), guild.id),
            "data": data,
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": ALL_PERMISSIONS,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if message is not None:
            payload["message"] = message
        await conns[-1].dispatch("INTERACTION_CREATE", payload)
        if wait:
            await self.settle(result)
        return result

    async def settle(self, result: InteractionResult, within: float = 15.0) -> InteractionResult:
        async def until() -> None:
            while not result.settled():
                result.changed.clear()
                await result.changed.wait()

        await asyncio.wait_for(until(), within)
        return result

    # -- gateway -----------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self._down:
            return _error(503, "Service Unavailable")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = _Conn(ws)
        self._conns.append(conn)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        try:
            async for msg in ws:
                if msg.type.name != "TEXT":
                    continue
                frame = json.loads(msg.data)
                await self._on_frame(conn, frame)
        finally:
            self._conns.remove(conn)
            if not any(c.ready for c in self._conns):
                self._connected.clear()
        return ws

    async def _on_frame(self, conn: _Conn, frame: JSON) -> None:
        op, d = frame.get("op"), frame.get("d") or {}
        if op == 1:  # heartbeat
            await conn.ws.send_str(json.dumps({"op": 11}))
        elif op == 2:  # identify
            if d["token"] != self.token:
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return
            await conn.dispatch("READY", self._ready_payload())
            for guild in self.guilds.values():
                await conn.dispatch("GUILD_CREATE", guild.payload(self.bot))
            conn.ready = True
            self._connected.set()
        elif op == 6:  # resume
            if d["token"] != self.token or d["session_id"] != self._session_id:
                await conn.ws.send_str(json.dumps({"op": 9, "d": False}))
                return
            conn.seq = int(d.get("seq") or 0)
            await conn.dispatch("RESUMED", {})
            conn.ready = True
            self._connected.set()

    def _ready_payload(self) -> JSON:
        return {
            "v": 10,
            "user": self.bot.payload(),
            "guilds": [{"id": str(g), "unavailable": True} for g in self.guilds],
            "session_id": self._session_id,
            "resume_gateway_url": self.gateway_url,
            "shard": [0, 1],
            "application": {"id": str(self.app_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
        }

    # -- REST --------------------------------------------------------------------------------

    def _add_routes(self) -> None:
        r = self._routes
        r.append(("GET", re.compile(r"/gateway(/bot)?"), self._get_gateway))
        r.append(("GET", re.compile(r"/users/@me"), self._get_me))
        r.append(("POST", re.compile(r"/users/@me/channels"), self._create_dm))
        r.append(("GET", re.compile(r"(/oauth2)?/applications/@me"), self._get_app))
        r.append(("PUT", re.compile(r"/applications/(\d+)/commands"), self._put_commands))
        r.append(("PUT", re.compile(r"/applications/(\d+)/guilds/(\d+)/commands"), self._put_commands))
        r.append(("GET", re.compile(r"/applications/(\d+)/commands"), self._get_commands))
        r.append(("GET", re.compile(r"/applications/(\d+)/guilds/(\d+)/commands"), self._get_commands))
        r.append(("GET", re.compile(r"/channels/(\d+)"), self._get_channel))
        r.append(("POST", re.compile(r"/channels/(\d+)/messages"), self._post_message))
        r.append(("PATCH", re.compile(r"/channels/(\d+)/messages/(\d+)"), self._patch_channel_message))
        r.append(("POST", re.compile(r"/interactions/(\d+)/([^/]+)/callback"), self._callback))
        r.append(("POST", re.compile(r"/webhooks/(\d+)/([^/]+)"), self._followup))
        r.append(("PATCH", re.compile(r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)"), self._edit_webhook))
        r.append(("GET", re.compile(r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)"), self._get_webhook))
        r.append(("DELETE", re.compile(r"/webhooks/(\d+)/([^/]+)/messages/(@original|\d+)"), self._delete_webhook))

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        self.requests.append((request.method, path))
        self._changed.set()
        if self._down:
            return _error(503, "Service Unavailable")
        for method, pattern, handler in self._routes:
            m = pattern.fullmatch(path)
            if m and method == request.method:
                if not self._authorized(request, path):
                    return _error(401, "401: Unauthorized")
                return await handler(request, m)
        self.unhandled.append((request.method, path))
        return _error(404, "404: Not Found")

    def _authorized(self, request: web.Request, path: str) -> bool:
        if path.startswith(("/interactions/", "/webhooks/")):
            return True  # authorized by the interaction token in the path
        return request.headers.get("Authorization") == f"Bot {self.token}"

    async def _read_body(self, request: web.Request) -> tuple[JSON, list[tuple[str, bytes]], list[JSON]]:
        """The JSON payload, any uploaded files, and their attachment objects."""
        if not request.content_type.startswith("multipart/"):
            body = await request.json() if request.can_read_body else {}
            return body, [], []
        payload: JSON = {}
        files: list[tuple[str, bytes]] = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            else:
                files.append((part.filename or "file", bytes(await part.read())))
        attachments = [
            {
                "id": str(self.ids.next()),
                "filename": name,
                "size": len(data),
                "url": f"http://{self.host}:{self.port}/attachments/{name}",
                "proxy_url": f"http://{self.host}:{self.port}/attachments/{name}",
                "content_type": "image/png" if name.endswith(".png") else "application/octet-stream",
            }
            for name, data in files
        ]
        return payload, files, attachments

    def _channel(self, channel_id: int) -> tuple[FakeGuild, FakeChannel] | None:
        for g in self.guilds.values():
            for c in g.channels:
                if c.id == channel_id:
                    return g, c
        return None

    async def _get_gateway(self, request: web.Request, m: re.Match[str]) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_me(self, request: web.Request, m: re.Match[str]) -> web.Response:
        return json_response(self.bot.payload())

    async def _get_app(self, request: web.Request, m: re.Match[str]) -> web.Response:
        owner = FakeUser(self.ids.next(), "owner")
        return json_response(
            {
                "id": str(self.app_id),
                "name": self.bot.name,
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": owner.payload(),
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "interactions_endpoint_url": None,
            }
        )

    async def _put_commands(self, request: web.Request, m: re.Match[str]) -> web.Response:
        guild_id = int(m.group(2)) if m.lastindex and m.lastindex >= 2 else None
        body = await request.json()
        synced = []
        for cmd in body:
            out = dict(cmd)
            out.update(
                id=str(self.ids.next()),
                application_id=str(self.app_id),
                version=str(self.ids.next()),
                default_member_permissions=cmd.get("default_member_permissions"),
                dm_permission=cmd.get("dm_permission", True),
                nsfw=cmd.get("nsfw", False),
            )
            out.setdefault("type", 1)
            out.setdefault("description", "")
            out.setdefault("options", [])
            if guild_id is not None:
                out["guild_id"] = str(guild_id)
            synced.append(out)
        self.commands[guild_id] = synced
        return json_response(synced)

    async def _get_commands(self, request: web.Request, m: re.Match[str]) -> web.Response:
        guild_id = int(m.group(2)) if m.lastindex and m.lastindex >= 2 else None
        return json_response(self.commands.get(guild_id, []))

    async def _get_channel(self, request: web.Request, m: re.Match[str]) -> web.Response:
        found = self._channel(int(m.group(1)))
        if found is None:
            return _error(404, "Unknown Channel", 10003)
        guild, channel = found
        return json_response(guild.channel_payload(channel))

    async def _create_dm(self, request: web.Request, m: re.Match[str]) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        try:
            user_id = int(body["recipient_id"])
        except (KeyError, TypeError, ValueError):
            return _error(400, "Invalid Form Body", 50035)
        if user_id == self.bot.id:
            return _error(400, "Invalid Recipient(s)", 50033)
        cid = self._dm_channels.setdefault(user_id, self.ids.next())
        return json_response(dm_channel_payload(cid, FakeUser(user_id, f"user-{user_id}")))

    async def _post_message(self, request: web.Request, m: re.Match[str]) -> web.Response:
        channel_id = int(m.group(1))
        recipient = self._dm_recipient(channel_id)
        if self._channel(channel_id) is None and recipient is None:
            return _error(404, "Unknown Channel", 10003)
        if recipient in self._dms_closed:
            return _error(403, "Cannot send messages to this user", 50007)
        if self._rate_limits:
            retry_after = self._rate_limits.pop(0)
            body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
            # discord.py treats a 429 without a Via header as a Cloudflare ban.
            headers = {"Via": "1.1 google", "Retry-After": str(retry_after), "X-RateLimit-Scope": "user"}
            return json_response(body, 429, headers)
        body, files, attachments = await self._read_body(request)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            for mid, (cid, old) in self._messages.items():
                if cid == channel_id and old.body.get("nonce") == nonce:
                    return json_response(message_payload(mid, cid, self.bot, old.body, [], webhook_id=None))
        mid = self.ids.next()
        self._store(mid, channel_id, Response("channel", None, body, mid, files))
        if self._lose_answers:
            self._lose_answers -= 1
            return _error(503, "Service Unavailable")
        return json_response(message_payload(mid, channel_id, self.bot, body, attachments, webhook_id=None))

    async def _patch_channel_message(self, request: web.Request, m: re.Match[str]) -> web.Response:
        mid = int(m.group(2))
        if mid not in self._messages:
            return _error(404, "Unknown Message", 10008)
        body, files, attachments = await self._read_body(request)
        return json_response(self._edit(mid, body, files, attachments, None))

    def _edit(
        self,
        mid: int,
        body: JSON,
        files: list[tuple[str, bytes]],
        attachments: list[JSON],
        result: InteractionResult | None,
    ) -> JSON:
        channel_id, old = self._messages[mid]
        merged = {**old.body, **body}
        edited = Response("edit", None, merged, mid, files or old.files)
        self._store(mid, channel_id, edited)
        if result is not None:
            result.add(edited)
        return message_payload(mid, channel_id, self.bot, merged, attachments, webhook_id=self.app_id)

    async def _callback(self, request: web.Request, m: re.Match[str]) -> web.Response:
        result = self._interactions.get(m.group(2))
        if result is None or str(result.id) != m.group(1):
            return _error(404, "Unknown interaction", 10062)
        if result.responses or result.id in self._acked:
            result.rejected = True
            result.changed.set()
            return _error(400, "Interaction has already been acknowledged.", 40060)
        self._acked.add(result.id)
        raw, files, attachments = await self._read_body(request)
        kind = int(raw["type"])
        data: JSON = raw.get("data") or {}
        mid: int | None = None
        message: JSON | None = None
        if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            mid = self.ids.next()
            self._store(mid, result.channel_id, Response("callback", kind, data, mid, files))
            message = message_payload(mid, result.channel_id, self.bot, data, attachments, webhook_id=self.app_id)
        elif kind == UPDATE_MESSAGE:
            target = self._clicked.get(result.token)
            if target is not None:
                mid = target
                message = self._edit(target, data, files, attachments, None)
        result.add(Response("callback", kind, data, mid, files))
        answer: JSON = {
            "interaction": {
                "id": str(result.id),
                "type": 2,
                "response_message_id": str(mid) if mid else None,
                "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL),
            }
        }
        if kind != AUTOCOMPLETE_RESULT:
            answer["resource"] = {"type": kind, "message": message} if message else {"type": kind}
        return json_response(answer)

    async def _followup(self, request: web.Request, m: re.Match[str]) -> web.Response:
        result = self._interactions.get(m.group(2))
        if result is None:
            return _error(404, "Unknown Webhook", 10015)
        body, files, attachments = await self._read_body(request)
        mid = self.ids.next()
        response = Response("followup", None, body, mid, files)
        self._store(mid, result.channel_id, response)
        result.add(response)
        return json_response(
            message_payload(mid, result.channel_id, self.bot, body, attachments, webhook_id=self.app_id)
        )

    def _original_id(self, result: InteractionResult, which: str) -> int | None:
        if which != "@original":
            return int(which)
        for r in result.responses:
            if r.via == "callback" and r.message_id is not None:
                return r.message_id
        return None

    async def _edit_webhook(self, request: web.Request, m: re.Match[str]) -> web.Response:
        result = self._interactions.get(m.group(2))
        if result is None:
            return _error(404, "Unknown Webhook", 10015)
        mid = self._original_id(result, m.group(3))
        if mid is None or mid not in self._messages:
            return _error(404, "Unknown Message", 10008)
        body, files, attachments = await self._read_body(request)
        return json_response(self._edit(mid, body, files, attachments, result))

    async def _get_webhook(self, request: web.Request, m: re.Match[str]) -> web.Response:
        result = self._interactions.get(m.group(2))
        mid = self._original_id(result, m.group(3)) if result else None
        if mid is None or mid not in self._messages:
            return _error(404, "Unknown Message", 10008)
        channel_id, msg = self._messages[mid]
        return json_response(message_payload(mid, channel_id, self.bot, msg.body, [], webhook_id=self.app_id))

    async def _delete_webhook(self, request: web.Request, m: re.Match[str]) -> web.Response:
        result = self._interactions.get(m.group(2))
        mid = self._original_id(result, m.group(3)) if result else None
        if mid is None or mid not in self._messages:
            return _error(404, "Unknown Message", 10008)
        del self._messages[mid]
        return web.Response(status=204)


_OPTION_TYPES: dict[int, tuple[type, ...]] = {3: (str,), 4: (int,), 5: (bool,), 10: (int, float)}


def _check_option(command: str, spec: JSON, value: Any, *, autocompleting: bool) -> None:
    """Refuse what Discord's client would refuse: a wrong type, a value outside the declared choices
    or range (an option being autocompleted may hold any partial text)."""
    kind = int(spec["type"])
    if autocompleting:
        return
    expected = _OPTION_TYPES.get(kind)
    if expected and (not isinstance(value, expected) or (kind in (4, 10) and isinstance(value, bool))):
        raise AssertionError(f"/{command} {spec['name']}: Discord sends a {expected[0].__name__}, not {value!r}")
    choices = spec.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise AssertionError(f"/{command} {spec['name']}: {value!r} is not one of the choices")
    if kind in (4, 10):
        lo, hi = spec.get("min_value"), spec.get("max_value")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise AssertionError(f"/{command} {spec['name']}: {value!r} is outside [{lo}, {hi}]")
        if kind == 4 and abs(value) > 2**53:
            raise AssertionError(f"/{command} {spec['name']}: Discord integers stop at 2**53")
