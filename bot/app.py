"""`TradeBot`: the Discord application around `Services`.

`setup_hook` loads the cogs, starts the notifier (outbox → channels) and the scheduler (daily latency
report), and syncs the command tree to the configured guilds (or globally). `close()` stops all of it.
`keep_connected` runs Discord in the background of trading: the notifier and the scheduler start at
once, login and the gateway are retried with backoff for as long as Discord is unreachable or refuses,
and nothing Discord does ever stops the process (the outbox holds the notifications meanwhile).
Fills reach the outbox through the engine's user hub only. Without a Discord token, `run_headless`
runs the same notifier with console output.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.commanding import CommandBot, fail
from bot.notifier import ConsoleSink, DirectRoute, DiscordSink, EchoSink, Notifier, Sink, backoff_s
from bot.permissions import Permissions
from bot.scheduler import default_scheduler
from trading.clock import Clock, LiveClock
from trading.config import Settings
from trading.metrics import LatencyMetrics
from trading.services import ServiceError, Services
from trading.services.accounts import AccountDesk
from trading.store import Store

log = logging.getLogger(__name__)

COGS = ("account", "market", "orders", "position", "trading", "strategy", "risk", "stats", "help")


class TradeBot(CommandBot):
    def __init__(
        self,
        settings: Settings,
        services: Services,
        store: Store,
        *,
        sink: Sink | None = None,
        clock: Clock | None = None,
        desk: AccountDesk | None = None,
        posted: LatencyMetrics | None = None,
        **options: Any,
    ) -> None:
        options.setdefault("guild_ready_timeout", 2.0)
        # A longer rate limit comes back to the notifier as RateLimited and is retried at its retry_after,
        # instead of holding a send (and the claim's lease) for as long as Discord says.
        options.setdefault("max_ratelimit_timeout", 30.0)
        super().__init__(
            command_prefix=commands.when_mentioned, intents=discord.Intents.default(), help_command=None, **options
        )
        self.settings = settings
        self.services = services  # several accounts: the first one's (market data, the daily report)
        self.desk = desk or AccountDesk.single(services)
        self.store = store
        self.permissions = Permissions(settings.permissions, store.audit)
        route = None
        if sink is None:
            sink = DiscordSink(self, settings.discord.channels)
            route = DirectRoute.of(settings.discord)  # the owners' direct messages need Discord itself
            if settings.notifications.console:
                sink = EchoSink(sink, ConsoleSink())
        self.notifier = Notifier(
            store.outbox, sink, settings.notifications, route=route, metrics=posted or services.engine.metrics
        )
        self.scheduler = default_scheduler(settings, store, services, clock or LiveClock())
        self.tree.error(self._on_tree_error)
        self._keeper: asyncio.Task[None] | None = None
        self._shutting_down = asyncio.Event()

    async def setup_hook(self) -> None:
        """At every login (again after a failed one): safe to run twice."""
        for name in COGS:
            if f"bot.cogs.{name}" not in self.extensions:
                await self.load_extension(f"bot.cogs.{name}")
        self.start_background()
        await self.sync_commands()

    def start_background(self) -> None:
        """The notifier and the scheduler: they run whether or not Discord is reachable."""
        self.notifier.start()
        self.scheduler.start()

    async def keep_connected(self, token: str) -> None:
        """Log in and stay connected until `close()`, retrying after any failure (discord.com unreachable,
        5xx, a refused token, a connection discord.py gives up on) with backoff (`retry_base_s` doubling to
        `retry_max_s`). Never raises: Discord is a face, not a dependency."""
        self._keeper = asyncio.current_task()
        self.start_background()
        failures = 0
        loop = asyncio.get_running_loop()
        while not self._shutting_down.is_set():
            began = loop.time()
            level, error = logging.WARNING, "the connection was closed"
            try:
                await self.login(token)
                await self.connect(reconnect=True)
            except discord.LoginFailure as exc:  # the token is refused: the operator must act
                level, error = logging.ERROR, f"{exc} Check TRADEBOT_DISCORD__TOKEN"
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
            if self._shutting_down.is_set():
                return
            # A connection that lived a while starts the backoff afresh; one refused at once does not.
            failures = 1 if loop.time() - began > self.settings.notifications.retry_max_s else failures + 1
            delay = backoff_s(self.settings.notifications, failures)
            log.log(
                level,
                "Discord unavailable (%s): trading goes on, notifications wait in the outbox; retry in %.1f s",
                error,
                delay,
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):  # not wait_for: see trading/engine/copy.py run()
                    await self._shutting_down.wait()
            if not self._shutting_down.is_set():
                await self._reopen()

    async def _reopen(self) -> None:
        """Before logging in again: close the HTTP session the failed attempt left open and, when discord.py
        closed the client itself, reopen it, so the next login starts clean."""
        await self.http.close()
        self.http.connector = discord.utils.MISSING  # closed with its session: the next login makes a new one
        if self.is_closed():
            self.clear()
            await self._async_setup_hook()

    async def sync_commands(self) -> None:
        guilds = self.settings.discord.guild_ids
        if not guilds:
            await self.tree.sync()
            return
        for gid in guilds:
            guild = discord.Object(gid)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)

    async def close(self) -> None:
        if self._keeper is not None and asyncio.current_task() is self._keeper and not self._shutting_down.is_set():
            # discord.py closes the client from inside connect() when it gives up on a connection: only
            # Discord goes (keep_connected logs in again); trading and notifications go on.
            await super().close()
            return
        self._shutting_down.set()
        self.scheduler.shutdown()
        await self.notifier.stop()
        await super().close()

    async def _on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        if isinstance(original, ServiceError):
            message = str(original)
        elif isinstance(error, app_commands.TransformerError | app_commands.CommandSignatureMismatch):
            message = f"That input was not understood: {error}"
        else:
            log.error("command %s failed", interaction.command, exc_info=original)
            message = "Something went wrong on our side; nothing further was done. The error is in the bot's log."
        with contextlib.suppress(discord.HTTPException):
            await fail(interaction, message)


@contextlib.asynccontextmanager
async def console_notifications(
    settings: Settings, store: Store, metrics: LatencyMetrics | None = None
) -> AsyncIterator[Notifier]:
    """The one headless notification path: the outbox delivered by the notifier to the console
    (`python -m bot` without a token, and `tradebot run` headless around the engine); `metrics`
    takes the posted stage's samples."""
    notifier = Notifier(store.outbox, ConsoleSink(), settings.notifications, metrics=metrics)
    notifier.start()
    try:
        yield notifier
    finally:
        await notifier.stop()


async def run_headless(
    settings: Settings, store: Store, stop: asyncio.Event, metrics: LatencyMetrics | None = None
) -> None:
    """No Discord token: deliver notifications to the console until `stop`."""
    async with console_notifications(settings, store, metrics):
        await stop.wait()
