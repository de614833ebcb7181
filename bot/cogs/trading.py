"""/status, /orders, /trades [days], /pnl today|week|month|daily|weekly (read, private).

/status covers freqtrade's /status and /count, /pnl's daily and weekly tables its /daily and /weekly,
/pnl today|week|month its /profit."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards
from bot.cogs.common import ACCOUNT, Days, account_autocomplete, account_services, titled
from bot.commanding import Reply, read, run
from trading import charts
from trading.services import BadInput, Services

PERIODS = [app_commands.Choice(name=p, value=p) for p in ("today", "week", "month", "daily", "weekly")]
TABLES = ("daily", "weekly")
DEFAULT_ROWS = {"daily": 7, "weekly": 4}


class TradingCog(commands.Cog):
    @app_commands.command(
        name="status", description="Mode, engine, kill switch, positions with open P&L, orders", extras=read()
    )
    @app_commands.describe(account=ACCOUNT)
    @app_commands.autocomplete(account=account_autocomplete)
    @app_commands.guild_only()
    async def status(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return titled(cards.status(await services.status()), interaction, services)

        await run(interaction, {"account": account}, work, private=True)

    @app_commands.command(name="orders", description="Working orders", extras=read())
    @app_commands.describe(account=ACCOUNT)
    @app_commands.autocomplete(account=account_autocomplete)
    @app_commands.guild_only()
    async def orders(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return titled(cards.orders(await services.open_orders()), interaction, services)

        await run(interaction, {"account": account}, work, private=True)

    @app_commands.command(name="trades", description="Executions of the last days", extras=read())
    @app_commands.describe(days="How many days back (1-90)", account=ACCOUNT)
    @app_commands.autocomplete(account=account_autocomplete)
    @app_commands.guild_only()
    async def trades(self, interaction: discord.Interaction, days: Days = 1, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return titled(cards.fills(await services.trades(days), days), interaction, services)

        await run(interaction, {"days": days, "account": account}, work, private=True)

    @app_commands.command(name="pnl", description="Realized P&L with a chart, or per day / per week", extras=read())
    @app_commands.describe(
        period="today, week or month (with a chart); daily or weekly (a table)",
        count="Rows of the daily (1-90, default 7) or weekly (1-13, default 4) table",
        account=ACCOUNT,
    )
    @app_commands.autocomplete(account=account_autocomplete)
    @app_commands.choices(period=PERIODS)
    @app_commands.guild_only()
    async def pnl(
        self,
        interaction: discord.Interaction,
        period: app_commands.Choice[str] | None = None,
        count: Days | None = None,
        account: str | None = None,
    ) -> None:
        which = period.value if period else "today"

        async def work() -> Reply:
            services = account_services(interaction, account)
            return titled(await answer(services), interaction, services)

        async def answer(services: Services) -> Reply:
            if count is not None and which not in TABLES:
                raise BadInput(f"count is for the daily and weekly tables; {which} is one period")
            if which in TABLES:
                rows = count or DEFAULT_ROWS[which]
                return cards.pnl_table(which, await services.pnl_table(which, rows))
            p = await services.pnl(which)
            png = await asyncio.to_thread(charts.pnl_png, f"P&L {which}", p.by_day) if p.by_day else None
            return cards.pnl(p, png)

        await run(interaction, {"period": which, "count": count, "account": account}, work, private=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(TradingCog())
