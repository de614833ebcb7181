"""/position list (read, private) | close | flatten (trade, confirmed)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards
from bot.cogs.common import symbol_autocomplete
from bot.commanding import Reply, bot_of, confirm, read, run, trade
from bot.render import Card


@app_commands.guild_only()
class PositionCog(commands.GroupCog, group_name="position", group_description="Open positions"):
    @app_commands.command(name="list", description="Open positions with their open P&L", extras=read())
    async def list_(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return cards.marked_positions(await services.marked_positions())

        await run(interaction, {}, work, private=True)

    @app_commands.command(name="close", description="Close one position at the market", extras=trade())
    @app_commands.describe(symbol="Contract root, e.g. MNQ")
    @app_commands.autocomplete(symbol=symbol_autocomplete)
    async def close(self, interaction: discord.Interaction, symbol: str) -> None:
        services = bot_of(interaction).services

        async def check() -> None:
            await services.contract(symbol)

        async def action() -> Card:
            p = await services.close_position(symbol)
            return Card(title=f"Closed {symbol.upper()}", description=cards.position_line(p))

        await confirm(interaction, {"symbol": symbol}, f"close the {symbol.upper()} position", action, check=check)

    @app_commands.command(name="flatten", description="Cancel every order and close every position", extras=trade())
    async def flatten(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def action() -> Card:
            return cards.flattened(await services.flatten())

        await confirm(interaction, {}, "flatten: cancel every order and close every position", action)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(PositionCog())
