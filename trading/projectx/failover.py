"""A hub whose implementation can change while it runs: the Rust stream (`stream_rust.py`) or
signalrcore (`realtime.py`), as `trading.native.route` says for the market or user stream.

- When the Rust stream dies (its client ends or its reader fails while nobody stopped it), the
  component's circuit breaker trips (an alert says why) and the hub moves to signalrcore: the new
  stream gets every subscription made so far and connects; its first event is a
  `StatusEvent(RECONNECTED)` saying why, so the engine heals the gap the way it heals any reconnect
  (the user hub's RECONNECTED makes it reconcile with the broker: an order or fill missed while the
  hub moved is read back; the market's bars are re-read from the broker before levels are used).
- `follow_route()` moves it when an admin changed the route (stop the old stream, then start the new:
  a gap healed the same way, never an event delivered twice).
- Route `shadow`: signalrcore serves and a second connection on the Rust stream runs beside it, its
  events only compared with the served ones (`decode_parity.DecodeParity`), never delivered.

Events the old stream had queued are still delivered; its status events (the STOPPED of its stop,
a DISCONNECTED as it dies) are not: the hub did not stop, it changed hands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from trading import domain, native
from trading.metrics import LatencyMetrics
from trading.projectx.decode_parity import DecodeParity
from trading.projectx.hub import HubClient, TokenSource
from trading.projectx.realtime import MarketHub, UserHub
from trading.projectx.stream_rust import RustMarketStream, RustUserStream, _RustTransport
from trading.streaming import BatchHandler, Hub, StatusEvent, StreamEvent, StreamState

log = logging.getLogger(__name__)

Path = Literal["rust", "python"]
Factory = Callable[[Path, BatchHandler], HubClient]
RETRY_S = 1.0  # a signalrcore stream that cannot connect after a failover is tried again this often
DRAIN_S = 10.0  # how long a stream that hands over may take to deliver what it holds


class FailoverHub:
    """The `Stream` face over whichever implementation serves the hub now."""

    def __init__(
        self,
        component: native.Component,
        hub: Hub,
        build: Factory,
        handler: BatchHandler,
        parity: DecodeParity | None = None,
    ) -> None:
        self.component = component
        self.hub = hub
        self._build = build
        self._handler = handler
        self.parity = parity  # the shadow run's comparison (route shadow); None: shadow not available
        self._calls: dict[tuple[str, tuple[Any, ...]], None] = {}  # subscriptions made, in order
        self._unfollow: Callable[[], None] | None = None
        self._started = False
        self._moving: asyncio.Task[None] | None = None
        self.moves = 0  # how many times the hub changed implementation
        self.shadow: HubClient | None = None  # the Rust stream compared beside the serving one
        self._busy: dict[int, int] = {}  # batches each stream's handler is in (by id of the stream)
        self._metrics: LatencyMetrics | None = None  # the decoded and handler stages of the serving stream
        self.current = self._new(self._wanted())

    @property
    def metrics(self) -> LatencyMetrics | None:
        return self._metrics

    @metrics.setter
    def metrics(self, metrics: LatencyMetrics | None) -> None:
        """Stage timing for whichever implementation serves, now and after a move (never the shadow)."""
        self._metrics = metrics
        self.current.metrics = metrics

    # ------------------------------------------------------------------ which implementation
    def _wanted(self) -> Path:
        return "rust" if native.route(self.component) == "rust" else "python"

    def _shadow_wanted(self) -> bool:
        return self.parity is not None and native.route(self.component) == "shadow"

    @property
    def path(self) -> str:
        """rust or python: which implementation serves the hub now."""
        return "rust" if isinstance(self.current, _RustTransport) else "python"

    def _new(self, path: Path) -> HubClient:
        stream: HubClient | None = None

        async def handler(batch: Sequence[StreamEvent]) -> None:
            if stream is not self.current:  # a stream that handed over: its data still counts, its status not
                batch = [ev for ev in batch if not isinstance(ev, StatusEvent)]
                if not batch:
                    return
            else:
                if self.shadow is not None and self.parity is not None:
                    self.parity.python(batch)
                self._follow_if_changed()
            self._busy[id(stream)] = self._busy.get(id(stream), 0) + 1
            try:
                # Shielded: stopping a stream that hands over never cuts the engine's handling of a batch.
                await asyncio.shield(self._handler(batch))
            finally:
                self._busy[id(stream)] -= 1

        stream = self._build(path, handler)
        stream.metrics = getattr(self, "_metrics", None)  # None while __init__ builds the first one
        if isinstance(stream, _RustTransport):
            stream.on_death = self._died
        return stream

    # ------------------------------------------------------------------ the shadow stream
    async def _start_shadow(self) -> None:
        parity = self.parity
        if parity is None or self.shadow is not None:
            return

        async def compare(batch: Sequence[StreamEvent]) -> None:
            if stream is self.shadow:
                parity.rust(batch)

        stream = self._build("rust", compare)
        if isinstance(stream, _RustTransport):
            stream.on_death = self._shadow_died
        self.shadow = stream
        try:
            for name, args in list(self._calls):
                await getattr(stream, name)(*args)
            await stream.start()
        except Exception:
            log.exception("%s hub: the Rust shadow stream could not start; no comparison", self.hub)
            self.shadow = None
            with contextlib.suppress(Exception):
                await stream.stop()

    async def _stop_shadow(self) -> None:
        shadow, self.shadow = self.shadow, None
        if shadow is not None:
            with contextlib.suppress(Exception):
                await shadow.stop()

    def _shadow_died(self, reason: str) -> None:
        if self._started and self.shadow is not None:
            native.breaker(self.component).trip(f"the Rust {self.hub} shadow stream died: {reason}")
            asyncio.get_running_loop().create_task(self._stop_shadow(), name=f"{self.hub}-shadow-stop")

    def _died(self, reason: str) -> None:
        if not self._started or self._moving is not None:
            return
        native.breaker(self.component).trip(f"the Rust {self.hub} stream died: {reason}")
        self._moving = asyncio.get_running_loop().create_task(self._fail_over(reason), name=f"{self.hub}-hub-failover")

    async def _fail_over(self, reason: str) -> None:
        try:
            while self._started:
                try:
                    await self._move("python", f"the Rust stream died ({reason})")
                    return
                except Exception:
                    log.exception("%s hub: signalrcore could not take over yet; trying again", self.hub)
                    await asyncio.sleep(RETRY_S)
        finally:
            self._moving = None

    def _follow_if_changed(self) -> None:
        """A breaker's probation over (the route answers rust again): move back, off the event path."""
        if self._started and self._moving is None and self._wanted() != self.path:
            self._moving = asyncio.get_running_loop().create_task(self._follow(), name=f"{self.hub}-hub-follow")

    async def _follow(self) -> None:
        try:
            await self._move(self._wanted(), "its circuit breaker's probation is over")
        except Exception:
            log.exception("%s hub: could not move back to its route; staying where it is", self.hub)
        finally:
            self._moving = None

    async def follow_route(self) -> bool:
        """Move to the implementation the route asks for now (an admin's change); True when it moved."""
        if not self._started or self._moving is not None:
            return False
        want, moved = self._wanted(), False
        if want != self.path:
            await self._move(want, "an admin changed its route")
            moved = True
        if self._shadow_wanted() and self.shadow is None:
            await self._start_shadow()
            moved = True
        elif not self._shadow_wanted() and self.shadow is not None:
            await self._stop_shadow()
            moved = True
        return moved

    async def _move(self, path: Path, why: str) -> None:
        old, new = self.current, self._new(path)
        self.current = new  # from here the old stream's status events are not the hub's
        for name, args in list(self._calls):
            await getattr(new, name)(*args)  # before start: remembered, sent on connect
        await self._delivered(old)
        with contextlib.suppress(Exception):
            await old.stop()
        self._busy.pop(id(old), None)
        try:
            await new.start()
        except Exception as exc:
            if path != "rust":
                raise
            # The Rust stream cannot connect where signalrcore may: its breaker trips, Python serves.
            native.breaker(self.component).trip(f"the Rust {self.hub} stream could not start: {exc}")
            await self._move("python", f"the Rust stream could not start ({exc})")
            return
        self.moves += 1
        was = "Rust" if path == "python" else "Python"
        message = f"{self.hub.capitalize()} feed moved from {was} to {path.capitalize()}: {why}"
        log.warning("%s", message)
        new._push([StatusEvent(self.hub, StreamState.RECONNECTED, message, datetime.now(UTC))])

    async def _delivered(self, stream: HubClient) -> None:
        """Let a stream that hands over deliver every event it holds (bounded by `DRAIN_S`): nothing it
        took off its socket is lost to the stop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_S
        while (self._busy.get(id(stream)) or stream._pending) and loop.time() < deadline:  # noqa: ASYNC110 (a queue with no event to wait on)
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ the Stream face
    async def start(self) -> None:
        self._started = True
        await self.current.start()
        if self._shadow_wanted():
            await self._start_shadow()

    async def stop(self) -> None:
        self._started = False
        moving, self._moving = self._moving, None
        if moving is not None and moving is not asyncio.current_task():
            moving.cancel()
            await asyncio.gather(moving, return_exceptions=True)
        if self._unfollow is not None:
            self._unfollow()
            self._unfollow = None
        await self._stop_shadow()
        await self.current.stop()

    async def reconnect(self, reason: str) -> None:
        await self.current.reconnect(reason)

    async def token_changed(self, token: str | None = None) -> None:
        await self.current.token_changed(token or "")
        if self.shadow is not None:
            await self.shadow.token_changed(token or "")

    def follow_tokens(self, tokens: TokenSource) -> None:
        self._unfollow = tokens.on_token(self.token_changed)

    @property
    def connected(self) -> bool:
        return self.current.connected

    @property
    def stats(self) -> dict[str, int]:
        return self.current.stats

    async def _remember(self, name: str, *args: Any) -> None:
        self._calls[(name, args)] = None
        await getattr(self.current, name)(*args)
        if self.shadow is not None:
            try:
                await getattr(self.shadow, name)(*args)
            except Exception:
                log.exception("%s hub: the Rust shadow stream refused %s", self.hub, name)


class FailoverMarketStream(FailoverHub):
    async def subscribe_quotes(self, contract_id: str) -> None:
        await self._remember("subscribe_quotes", contract_id)

    async def subscribe_trades(self, contract_id: str) -> None:
        await self._remember("subscribe_trades", contract_id)

    async def subscribe_depth(self, contract_id: str) -> None:
        await self._remember("subscribe_depth", contract_id)

    async def unsubscribe(self, contract_id: str) -> None:
        for name in ("subscribe_quotes", "subscribe_trades", "subscribe_depth"):
            self._calls.pop((name, (contract_id,)), None)
        for stream in (self.current, self.shadow):
            if isinstance(stream, MarketHub):
                await stream.unsubscribe(contract_id)

    def last_quote(self, contract_id: str) -> domain.Quote | None:
        current = self.current
        assert isinstance(current, MarketHub)
        return current.last_quote(contract_id)


class FailoverUserStream(FailoverHub):
    async def subscribe_accounts(self) -> None:
        await self._remember("subscribe_accounts")

    async def subscribe_account(self, account_id: int) -> None:
        await self._remember("subscribe_account", account_id)

    async def unsubscribe_account(self, account_id: int) -> None:
        self._calls.pop(("subscribe_account", (account_id,)), None)
        for stream in (self.current, self.shadow):
            if isinstance(stream, UserHub):
                await stream.unsubscribe_account(account_id)


def market_stream(
    url: str, handler: BatchHandler, token: Any, parity: DecodeParity | None = None, **kwargs: Any
) -> MarketHub | FailoverMarketStream:
    """The market stream: routed with failover (and a shadow run when given `parity`) when the extension
    is loaded, else signalrcore alone."""
    if not native.loaded():
        return MarketHub(url, handler, token, **kwargs)

    def build(path: Path, h: BatchHandler) -> HubClient:
        if path == "rust":
            return RustMarketStream(url, h, token, **kwargs)
        return MarketHub(url, h, token, **kwargs)

    return FailoverMarketStream(native.Component.MARKET_STREAM, Hub.MARKET, build, handler, parity)


def user_stream(
    url: str, handler: BatchHandler, token: Any, parity: DecodeParity | None = None, **kwargs: Any
) -> UserHub | FailoverUserStream:
    """The user stream: routed with failover (and a shadow run when given `parity`) when the extension is
    loaded, else signalrcore alone."""
    if not native.loaded():
        return UserHub(url, handler, token, **kwargs)

    def build(path: Path, h: BatchHandler) -> HubClient:
        if path == "rust":
            return RustUserStream(url, h, token, **kwargs)
        return UserHub(url, h, token, **kwargs)

    return FailoverUserStream(native.Component.USER_STREAM, Hub.USER, build, handler, parity)
