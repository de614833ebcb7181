"""Driving the notifier against the fake Discord: a discord.py client logged in to it, and draining
the outbox pass by pass (a simulated clock stepped past each backoff)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import discord

from bot.notifier import Notifier
from tests.fakes.discord_interactions import Response
from tests.fakes.discord_payloads import FakeGuild
from tests.fakes.discord_server import FakeDiscord
from trading.clock import SimClock


@contextlib.asynccontextmanager
async def logged_in(guild: FakeGuild) -> AsyncIterator[tuple[FakeDiscord, discord.Client]]:
    """A fake Discord with `guild`, and a discord.py client logged in to its REST API (no gateway)."""
    async with FakeDiscord([guild]) as fake:
        with fake.patched():
            client = discord.Client(intents=discord.Intents.default(), max_ratelimit_timeout=0.001)
            await client.login(fake.token)
            try:
                yield fake, client
            finally:
                await client.close()


async def drain(notifier: Notifier, clock: SimClock | None = None, rounds: int = 50) -> None:
    """Deliver until the outbox has nothing due (advancing a simulated clock past backoffs)."""
    for _ in range(rounds):
        if clock is not None:
            clock.advance(timedelta(seconds=1))
        await notifier.deliver_once()
        if await notifier.outbox.pending_count() == 0:
            return


def titles(messages: list[Response]) -> list[str]:
    """The embed titles of posted messages, oldest first."""
    return [m.embeds[0]["title"] for m in messages]
