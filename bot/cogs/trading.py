"""/orders, /trades [days], /pnl today|week|month (read, private)."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards
from bot.commanding import Reply, bot_of, read, run
from trading import charts

PERIODS = [app_commands.Choice(name=p, value=p) for p in ("today", "week", "month")]


class TradingCog(commands.Cog):
    @app_commands.command(name="orders", description="Working orders", extras=read())
    async def orders(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return cards.orders(await services.open_orders())

        await run(interaction, {}, work, private=True)

    @app_commands.command(name="trades", description="Executions of the last days", extras=read())
    @app_commands.describe(days="How many days back (1-90)")
    async def trades(self, interaction: discord.Interaction, days: int = 1) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return cards.fills(await services.trades(days), days)

        await run(interaction, {"days": days}, work, private=True)

    @app_commands.command(name="pnl", description="Realized P&L with a chart", extras=read())
    @app_commands.describe(period="today, week or month")
    @app_commands.choices(period=PERIODS)
    async def pnl(self, interaction: discord.Interaction, period: app_commands.Choice[str] | None = None) -> None:
        services = bot_of(interaction).services
        which = period.value if period else "today"

        async def work() -> Reply:
            p = await services.pnl(which)
            png = await asyncio.to_thread(charts.pnl_png, f"P&L {which}", p.by_day) if p.by_day else None
            return cards.pnl(p, png)

        await run(interaction, {"period": which}, work, private=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(TradingCog())
