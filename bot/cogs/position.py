"""/position list (read, private) | close | flatten (trade, confirmed), each on one account (`account:`
with several)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards
from bot.cogs.common import ACCOUNT, account_autocomplete, account_services, on_account, symbol_autocomplete, titled
from bot.commanding import Reply, confirm, read, run, trade
from bot.render import Card


@app_commands.guild_only()
class PositionCog(commands.GroupCog, group_name="position", group_description="Open positions"):
    @app_commands.command(name="list", description="Open positions with their open P&L", extras=read())
    @app_commands.describe(account=ACCOUNT)
    @app_commands.autocomplete(account=account_autocomplete)
    async def list_(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return titled(cards.marked_positions(await services.marked_positions()), interaction, services)

        await run(interaction, {"account": account}, work, private=True)

    @app_commands.command(name="close", description="Close one position at the market", extras=trade())
    @app_commands.describe(symbol="Contract root, e.g. MNQ", account=ACCOUNT)
    @app_commands.autocomplete(symbol=symbol_autocomplete, account=account_autocomplete)
    async def close(self, interaction: discord.Interaction, symbol: str, account: str | None = None) -> None:
        async def check() -> None:
            await account_services(interaction, account).contract(symbol)

        async def action() -> Card:
            services = account_services(interaction, account)
            p = await services.close_position(symbol)
            card = Card(title=f"Closed {symbol.upper()}", description=cards.position_line(p))
            return titled(card, interaction, services)

        what = f"close the {symbol.upper()} position" + on_account(account)
        await confirm(interaction, {"symbol": symbol, "account": account}, what, action, check=check)

    @app_commands.command(name="flatten", description="Cancel every order and close every position", extras=trade())
    @app_commands.describe(account=ACCOUNT)
    @app_commands.autocomplete(account=account_autocomplete)
    async def flatten(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def check() -> None:
            account_services(interaction, account)  # an unknown or missing account is refused before asking

        async def action() -> Card:
            services = account_services(interaction, account)
            return titled(cards.flattened(await services.flatten()), interaction, services)

        what = "flatten: cancel every order and close every position" + on_account(account)
        await confirm(interaction, {"account": account}, what, action, check=check)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(PositionCog())
