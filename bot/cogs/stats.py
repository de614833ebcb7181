"""/stats latency | health | jobs | notifications (read)."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards, render
from bot.commanding import Reply, bot_of, read, run
from trading import charts


class StatsCog(commands.GroupCog, group_name="stats", group_description="How the bot is doing"):
    @app_commands.command(name="latency", description="p50/p95/p99 per operation, Rust and Python", extras=read())
    @app_commands.describe(hours="Window in hours (default 24)")
    async def latency(self, interaction: discord.Interaction, hours: app_commands.Range[int, 1, 720] = 24) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            stats = await services.latency(hours)
            rows = cards.latency_rows(stats)
            png = (
                await asyncio.to_thread(charts.table_png, f"Latency, last {hours} h", render.LATENCY_HEADERS, rows)
                if rows
                else None
            )
            return cards.latency(stats, png)

        await run(interaction, {"hours": hours}, work)

    @app_commands.command(name="health", description="Broker, database and notification delivery", extras=read())
    async def health(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)

        async def work() -> Reply:
            return cards.health(await bot.services.health(), bot.notifier.sent, bot.notifier.last_error)

        await run(interaction, {}, work)

    @app_commands.command(name="jobs", description="Recent scheduled job runs", extras=read())
    async def jobs(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return cards.jobs(await services.jobs())

        await run(interaction, {}, work)

    @app_commands.command(name="notifications", description="The notification outbox", extras=read())
    async def notifications(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            pending, recent = await services.notifications()
            return cards.notifications(pending, recent)

        await run(interaction, {}, work)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(StatsCog())
