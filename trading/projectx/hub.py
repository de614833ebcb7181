"""The SignalR hub client on signalrcore under the ProjectX realtime hubs (realtime.py: `MarketHub`,
`UserHub`, the Python implementation of `trading.streaming.MarketStream` and `UserStream`): the
connection, its supervision, the watchdogs and the bridge from signalrcore's threads to the loop.

Threading: signalrcore runs each connection's socket on its own thread and calls our callbacks
there. Those callbacks do nothing but hand the raw arguments to the event loop with
`loop.call_soon_threadsafe`; decoding, quote merging and delivery all happen on the loop.
Callbacks of a connection that has been replaced are ignored (each connection has a generation).

A little over 500 lines on purpose: one connection's supervision (build, watch, rebuild) is one state
machine; split across files its generation checks would have to be shared state.

Reconnection: one mechanism only, ours. signalrcore's automatic reconnect is never enabled (with it
and a supervisor both active, live users saw double reconnects and 429 storms, api doc §10.5). When a
connection closes (or the watchdog finds it silent, or the token changes) the supervisor builds a
fresh connection with the current token in the URL, waits for the handshake and re-sends every
subscription, with backoff between failed attempts.

Liveness: two watchdogs, both answered by a STALE alert and a forced reconnect. The stale-feed one
(`stale_after_s`, the market hub) counts EVENTS and only while something is subscribed and the market
is open. The keep-alive one (`keepalive_stale_s`, the user hub, which is quiet when nothing trades)
counts FRAMES of any kind: the hub sends a SignalR ping (type 6) every few seconds whatever happens, so
no frame at all for that long means a silently stalled socket, at any hour. Frames are counted in
the protocol's `parse_messages`, which signalrcore calls on its websocket thread for every message.

Tolerance: a malformed frame (bad JSON, missing fields) or payload (wrong types, unknown enum) is
logged and skipped; a frame that signalrcore itself cannot parse would kill its receive thread, so
the JSON protocol is replaced by one that skips bad records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from signalrcore.hub_connection_builder import HubConnectionBuilder
from signalrcore.protocol.json_hub_protocol import JsonHubProtocol
from signalrcore.types import HttpTransportType

from trading.calendar import is_market_open
from trading.metrics import LatencyMetrics, stage
from trading.projectx import schema as s
from trading.projectx.errors import StreamError
from trading.streaming import (
    BatchHandler,
    Hub,
    StatusEvent,
    StreamEvent,
    StreamState,
    TokenProvider,
)

log = logging.getLogger(__name__)

MarketHours = Callable[[datetime], bool]


class TokenSource(Protocol):
    def on_token(self, listener: Callable[[str], Awaitable[None] | None]) -> Callable[[], None]: ...


_LOST = "no completion (connection lost or too slow)"
RECONNECT_DELAYS_S: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


def _now() -> datetime:
    return datetime.now(UTC)


def hub_url(base: str, token: str) -> str:
    """The hub URL with the JWT in its query (skipNegotiation requires it there)."""
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}{urlencode({s.HUB_ACCESS_TOKEN_PARAM: token})}"


class TolerantJsonProtocol(JsonHubProtocol):  # type: ignore[misc]
    """signalrcore's JSON hub protocol, but a record that is not valid JSON or not a valid message is
    logged and skipped instead of raising inside the receive thread (which would drop the socket)."""

    def __init__(
        self, on_bad: Callable[[str], None] | None = None, on_frames: Callable[[int], None] | None = None
    ) -> None:
        super().__init__()
        self._on_bad = on_bad
        self._on_frames = on_frames

    def parse_messages(self, raw: str) -> list[Any]:
        out: list[Any] = []
        records = [r for r in raw.split(self.record_separator) if r]
        if self._on_frames is not None and records:
            self._on_frames(len(records))  # every frame, pings included: the keep-alive clock
        for record in records:
            try:
                data = json.loads(record)
                if not isinstance(data, dict):
                    raise ValueError(f"a hub message must be an object, got {type(data).__name__}")
                if data:
                    out.append(self.get_message(data))
            except Exception as exc:
                log.warning("skipping an unreadable hub frame (%s): %.200r", exc, record)
                if self._on_bad is not None:
                    self._on_bad(record)
        return out


_DECODED = stage("decoded")
_HANDLER = stage("handler")


class HubClient:
    """What both hubs share: connection, supervisor, watchdog, batching consumer."""

    path = "python"  # the implementation, for stage timing (the Rust transport says "rust")

    hub: Hub
    events: tuple[str, ...] = ()

    def __init__(
        self,
        url: str,
        handler: BatchHandler,
        token: TokenProvider,
        *,
        stale_after_s: float | None = None,
        keepalive_stale_s: float | None = None,
        market_hours: MarketHours = is_market_open,
        connect_timeout_s: float = 10.0,
        reconnect_delays_s: Sequence[float] = RECONNECT_DELAYS_S,
        keep_alive_s: float = 10.0,
    ) -> None:
        self.url = url
        self._handler = handler
        self._token = token
        self.stale_after_s = stale_after_s
        self.keepalive_stale_s = keepalive_stale_s
        self._market_hours = market_hours
        self._connect_timeout_s = connect_timeout_s
        self._reconnect_delays = tuple(reconnect_delays_s) or (1.0,)
        self._keep_alive_s = keep_alive_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: Any = None
        self._generation = 0
        self._connected = False
        self._started = False
        self._stopping = False
        self._lock = asyncio.Lock()
        self._pending: list[StreamEvent] = []
        self._wake = asyncio.Event()
        self._handling = asyncio.Lock()  # held while the handler runs: batches never overlap
        self._consumer: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._rebuilder: asyncio.Task[None] | None = None
        self._unfollow: Callable[[], None] | None = None
        self._opened: asyncio.Event | None = None
        self._subscriptions: dict[tuple[str, str], list[Any]] = {}  # (method, key) -> arguments
        self._acks: dict[str, asyncio.Future[str | None]] = {}  # invocation id -> completion
        self.last_event_at = time.monotonic()
        self._last_frame_at = time.monotonic()
        self._frames = 0
        self.stats: dict[str, int] = {"events": 0, "batches": 0, "malformed": 0, "connects": 0, "stale": 0}
        # Stage timing (decoded, handler): set by whoever builds the engine; None records nothing.
        self.metrics: LatencyMetrics | None = None
        self._pending_since = 0  # perf_counter_ns when the oldest pending event was pushed

    # ----------------------------------------------------------------------- public

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def last_frame_at(self) -> float:
        """`time.monotonic()` of the last frame of any kind, keep-alive pings included (or connect)."""
        return self._last_frame_at

    @property
    def frames(self) -> int:
        """Frames of any kind received so far (pings included)."""
        return self._frames

    async def start(self) -> None:
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        self._started = True
        self._stopping = False
        self._consumer = asyncio.create_task(self._consume(), name=f"{self.hub}-hub-consumer")
        try:
            async with self._lock:
                await self._connect()
        except BaseException:
            await self.stop()
            raise
        self._emit_status(StreamState.CONNECTED, f"{self.hub.capitalize()} feed connected")
        self._watchdog = asyncio.create_task(self._watch(), name=f"{self.hub}-hub-watchdog")

    async def stop(self) -> None:
        if not self._started:
            return
        self._stopping = True
        self._started = False
        if self._unfollow is not None:
            self._unfollow()
            self._unfollow = None
        for task in (self._watchdog, self._supervisor, self._rebuilder):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._watchdog = self._supervisor = self._rebuilder = None
        await self._drop()
        self._emit_status(StreamState.STOPPED, f"{self.hub.capitalize()} feed stopped")
        self._wake.set()
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await self._drain_then_cancel(consumer)

    async def reconnect(self, reason: str) -> None:
        """Drop the connection and build a new one (current token, every subscription re-sent)."""
        if not self._started or self._stopping:
            return
        async with self._lock:
            await self._drop()
            await self._connect_with_backoff(reason)

    async def token_changed(self, _token: str | None = None) -> None:
        """A new token was issued: rebuild the connection with it (the token is in the URL). Returns at
        once (the rebuild runs as a task) so a token refresh never waits on a hub; a StatusEvent
        TOKEN_REFRESHED follows the rebuild."""
        if not self._started or self._stopping:
            return
        if self._rebuilder is not None and not self._rebuilder.done():
            self._rebuilder.cancel()
        self._rebuilder = asyncio.create_task(self._rebuild(), name=f"{self.hub}-hub-token-rebuild")

    async def _rebuild(self) -> None:
        await self.reconnect("token refreshed")
        if self._connected:
            self._emit_status(
                StreamState.TOKEN_REFRESHED, f"{self.hub.capitalize()} feed reconnected with a fresh token"
            )

    def follow_tokens(self, tokens: TokenSource) -> None:
        """Rebuild on every new token of `tokens` (a ProjectXClient or a TokenKeeper)."""
        self._unfollow = tokens.on_token(self.token_changed)

    # ----------------------------------------------------------------------- subscriptions

    async def _subscribe(self, method: str, key: str, args: list[Any]) -> None:
        """Remember the subscription (re-sent after every reconnect) and, when connected, send it and
        wait for the hub's completion. A refusal by the hub raises `StreamError`."""
        self._subscriptions[(method, key)] = args
        if not self._connected:
            return
        error = await self._ack(self._send(method, args))
        if error is not None and error != _LOST:
            self._subscriptions.pop((method, key), None)
            raise StreamError(f"The {self.hub} feed refused {method}({', '.join(map(str, args))}): {error}")

    async def _unsubscribe(self, method: str, unmethod: str, key: str, args: list[Any]) -> None:
        if self._subscriptions.pop((method, key), None) is not None and self._connected:
            await self._ack(self._send(unmethod, args))

    def _send(self, method: str, args: list[Any]) -> asyncio.Future[str | None] | None:
        """Invoke a hub method; the future resolves to None on completion, else to the error text."""
        conn, loop = self._conn, self._loop
        if conn is None or loop is None:
            return None
        gen = self._generation
        inv_id = uuid.uuid4().hex
        fut: asyncio.Future[str | None] = loop.create_future()
        self._acks[inv_id] = fut
        try:
            conn.send(
                method,
                args,
                on_invocation=lambda _msg: self._threadsafe(self._on_completion, gen, inv_id, None),
                invocation_id=inv_id,
            )
        except Exception as exc:  # the supervisor re-sends after the reconnect the close triggers
            log.warning("%s hub: could not send %s (%s)", self.hub, method, exc)
            self._acks.pop(inv_id, None)
            return None
        return fut

    async def _ack(self, fut: asyncio.Future[str | None] | None) -> str | None:
        """Wait for a completion; `_LOST` when it did not come (connection lost, time-out)."""
        if fut is None:
            return _LOST
        try:
            async with asyncio.timeout(self._connect_timeout_s):  # not wait_for: see trading/engine/copy.py run()
                return await fut
        except TimeoutError:
            log.warning("%s hub: no completion for an invocation within %.0f s", self.hub, self._connect_timeout_s)
            return _LOST

    def _on_completion(self, gen: int, inv_id: str | None, error: str | None) -> None:
        fut = self._acks.pop(inv_id, None) if inv_id else None
        if fut is not None and not fut.done():
            fut.set_result(error)
        elif error:
            log.warning("%s hub error: %s", self.hub, error)

    # ----------------------------------------------------------------------- connection

    async def _connect(self) -> None:
        """Build, start and handshake one connection, then re-send every subscription."""
        loop = self._loop
        assert loop is not None
        self._generation += 1
        gen = self._generation
        opened = asyncio.Event()
        self._opened = opened
        try:
            url = hub_url(self.url, self._token())
        except Exception as exc:
            raise StreamError(f"Could not connect the {self.hub} feed: no session token ({exc})") from exc
        conn = (
            HubConnectionBuilder()
            .with_url(url, options={"skip_negotiation": True, "transport": HttpTransportType.web_sockets})
            .with_hub_protocol(
                TolerantJsonProtocol(
                    lambda _r: self._threadsafe(self._bad_frame, gen), lambda n: self._on_frames(gen, n)
                )
            )
            .build()
        )
        conn.on_open(lambda: self._threadsafe(self._on_open, gen))
        conn.on_close(lambda: self._threadsafe(self._on_close, gen))
        conn.on_error(
            lambda msg: self._threadsafe(
                self._on_completion, gen, getattr(msg, "invocation_id", None), str(getattr(msg, "error", msg))
            )
        )
        for event in self.events:
            conn.on(event, self._make_callback(event, gen))
        self._conn = conn
        try:
            async with asyncio.timeout(self._connect_timeout_s):  # not wait_for: see engine/copy.py run()
                await asyncio.to_thread(conn.start)
            async with asyncio.timeout(self._connect_timeout_s):
                await opened.wait()
        except Exception as exc:
            self._generation += 1  # ignore whatever this connection still reports
            self._conn = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._connect_timeout_s):
                    await asyncio.to_thread(_quiet_stop, conn)
            raise StreamError(f"Could not connect the {self.hub} feed: {exc or type(exc).__name__}") from exc
        self._connected = True
        self.stats["connects"] += 1
        self.last_event_at = self._last_frame_at = time.monotonic()
        subs = list(self._subscriptions.items())
        results = await asyncio.gather(*(self._ack(self._send(method, args)) for (method, _k), args in subs))
        for ((method, _key), args), error in zip(subs, results, strict=True):
            if error is not None:
                log.warning("%s hub: re-subscribing %s%s failed: %s", self.hub, method, args, error)

    async def _connect_with_backoff(self, reason: str) -> None:
        attempt = 0
        while not self._stopping:
            try:
                await self._connect()
            except Exception as exc:  # keep trying whatever went wrong; stop() ends this loop
                delay = self._reconnect_delays[min(attempt, len(self._reconnect_delays) - 1)]
                attempt += 1
                log.warning("%s (attempt %d); next try in %.1f s", exc, attempt, delay)
                await asyncio.sleep(delay)
                continue
            self._emit_status(
                StreamState.RECONNECTED, f"{self.hub.capitalize()} feed reconnected ({reason}); subscriptions renewed"
            )
            return

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self._generation += 1
        self._connected = False
        acks, self._acks = self._acks, {}
        for fut in acks.values():
            if not fut.done():
                fut.set_result(_LOST)
        if conn is not None:
            try:
                async with asyncio.timeout(self._connect_timeout_s):
                    await asyncio.to_thread(_quiet_stop, conn)
            except TimeoutError:
                log.warning("%s hub: the old connection did not stop in time; abandoning it", self.hub)

    def _on_open(self, gen: int) -> None:
        if gen == self._generation and self._opened is not None:
            self._opened.set()

    def _on_close(self, gen: int) -> None:
        if gen != self._generation or self._stopping or not self._started:
            return
        self._connected = False
        self._emit_status(StreamState.DISCONNECTED, f"{self.hub.capitalize()} feed disconnected; reconnecting")
        if self._supervisor is None or self._supervisor.done():
            self._supervisor = asyncio.create_task(self._supervise(gen), name=f"{self.hub}-hub-supervisor")

    async def _supervise(self, gen: int) -> None:
        async with self._lock:
            if gen != self._generation or self._stopping:
                return  # someone already rebuilt it
            await self._drop()
            await self._connect_with_backoff("connection lost")

    async def _watch(self) -> None:
        """The watchdogs: keep-alive (no frame for `keepalive_stale_s`, at any hour) and stale feed (no
        event for `stale_after_s` while something is subscribed and the market is open) → alert and
        force a reconnect."""
        limits = [x for x in (self.stale_after_s, self.keepalive_stale_s) if x is not None]
        if not limits:
            return
        period = max(0.05, min(min(limits) / 4, 1.0))
        while True:
            await asyncio.sleep(period)
            if not self._connected or self._lock.locked():
                continue
            silence = self._silence()
            if silence is None:
                continue
            message, reason = silence
            self.stats["stale"] += 1
            self._emit_status(StreamState.STALE, message)
            await self.reconnect(reason)

    def _silence(self) -> tuple[str, str] | None:
        """(alert, reconnect reason) when a watchdog's limit is passed, else None."""
        name = self.hub.capitalize()
        now = time.monotonic()
        silent = now - self._last_frame_at
        if self.keepalive_stale_s is not None and silent >= self.keepalive_stale_s:
            return (
                f"{name} feed sent nothing, not even a keep-alive ping, for {silent:.1f} s; reconnecting",
                f"no keep-alive for {silent:.1f} s",
            )
        limit, silent = self.stale_after_s, now - self.last_event_at
        if limit is None or not self._subscriptions or silent < limit or not self._market_hours(_now()):
            return None
        return f"{name} feed silent for {silent:.1f} s during market hours; reconnecting", f"silent for {silent:.1f} s"

    # ----------------------------------------------------------------------- thread bridge and delivery

    def _threadsafe(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(fn, *args)

    def _make_callback(self, event: str, gen: int) -> Callable[[Any], None]:
        def callback(arguments: Any) -> None:
            self._threadsafe(self._on_invocation, event, gen, arguments)

        return callback

    def _on_frames(self, gen: int, n: int) -> None:
        """On the websocket thread, for every message (one writer: the current connection's thread)."""
        if gen == self._generation:
            self._last_frame_at = time.monotonic()
            self._frames += n

    def _bad_frame(self, gen: int) -> None:
        if gen == self._generation:
            self.stats["malformed"] += 1

    def _on_invocation(self, event: str, gen: int, arguments: Any) -> None:
        if gen != self._generation:
            return
        received = time.perf_counter_ns()
        self.last_event_at = time.monotonic()
        if event == s.EVENT_LOGOUT:
            self._emit_status(StreamState.LOGOUT, "The broker logged this session out (logged in elsewhere?)")
            return
        try:
            if not isinstance(arguments, list):
                raise s.WireFormatError(event, f"arguments must be a list, got {type(arguments).__name__}")
            events = self._decode(event, arguments)
        except Exception as exc:
            self.stats["malformed"] += 1
            log.warning("%s hub: skipping a malformed %s event (%s): %.300r", self.hub, event, exc, arguments)
            return
        if events:
            if self.metrics is not None:
                self.metrics.record(_DECODED, self.path, time.perf_counter_ns() - received)
            self.stats["events"] += len(events)
            self._push(events)

    def _decode(self, event: str, arguments: list[Any]) -> list[StreamEvent]:
        raise NotImplementedError

    def _push(self, events: Sequence[StreamEvent]) -> None:
        if not self._pending:
            self._pending_since = time.perf_counter_ns()
        self._pending.extend(events)
        self._wake.set()

    def _status_event(self, state: StreamState, message: str) -> StatusEvent:
        log.log(logging.WARNING if state in (StreamState.STALE, StreamState.LOGOUT) else logging.INFO, "%s", message)
        return StatusEvent(self.hub, state, message, _now())

    def _emit_status(self, state: StreamState, message: str) -> None:
        self._push([self._status_event(state, message)])

    async def _consume(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._pending:
                continue
            async with self._handling:
                batch, self._pending = self._pending, []
                if batch:
                    await self._deliver(batch, self._pending_since)

    async def _deliver(self, batch: list[StreamEvent], since_ns: int) -> None:
        """Hand one batch to the handler (the caller holds `_handling`); `since_ns`: when its
        oldest event was in Python's hands (perf_counter_ns), for the handler stage's timing."""
        self.stats["batches"] += 1
        if self.metrics is not None:
            self.metrics.record(_HANDLER, self.path, time.perf_counter_ns() - since_ns)
        try:
            await self._handler(batch)
        except Exception:
            log.exception("%s hub: the event handler failed on a batch of %d", self.hub, len(batch))

    async def _drain_then_cancel(self, consumer: asyncio.Task[None]) -> None:
        # Let the consumer deliver what is pending (the STOPPED status included), then end it.
        for _ in range(100):
            if not self._pending:
                break
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)


def _quiet_stop(conn: Any) -> None:
    """Stop a signalrcore connection without hanging. signalrcore's stop() closes the socket and joins
    its receive thread, but on Linux close() does not wake a thread blocked in recv(): on a silently
    stalled socket stop() would wait forever. Shutting the socket down first wakes the reader."""
    sock = getattr(getattr(getattr(conn, "transport", None), "_client", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    try:
        conn.stop()
    except Exception as exc:
        log.debug("hub stop: %s", exc)
