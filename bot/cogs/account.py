"""/account list | info | balance | state (read, private) and /account size | switch (admin)."""

from __future__ import annotations

from decimal import Decimal

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards
from bot.cogs.common import account_autocomplete, account_services
from bot.commanding import Reply, admin, bot_of, read, run
from bot.render import Card, money
from trading.engine.sizing import MAX_CONTRACTS, MAX_MULTIPLIER, MIN_MULTIPLIER
from trading.services import BadInput

Multiplier = app_commands.Range[float, float(MIN_MULTIPLIER), float(MAX_MULTIPLIER)]
Contracts = app_commands.Range[int, 1, MAX_CONTRACTS]


@app_commands.guild_only()
class AccountCog(commands.GroupCog, group_name="account", group_description="The trading account"):
    @app_commands.command(name="list", description="Active accounts on this login", extras=read())
    async def list_(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)
        services = bot.services

        async def work() -> Reply:
            if bot.desk.process is not None:  # [[accounts]]: the accounts this process trades
                return cards.account_rows(await bot.desk.rows())
            return cards.accounts(await services.accounts(), services.account_id)

        await run(interaction, {}, work, private=True)

    @app_commands.command(name="info", description="The account the bot trades", extras=read())
    @app_commands.describe(account="Which account (with several)")
    @app_commands.autocomplete(account=account_autocomplete)
    async def info(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return cards.account(await services.account())

        await run(interaction, {"account": account}, work, private=True)

    @app_commands.command(name="balance", description="Balance of the traded account", extras=read())
    @app_commands.describe(account="Which account (with several)")
    @app_commands.autocomplete(account=account_autocomplete)
    async def balance(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            a = await services.account()
            return Card(title=f"Balance {money(a.balance)}", description=a.name)

        await run(interaction, {"account": account}, work, private=True)

    @app_commands.command(name="state", description="Balance, positions, orders and risk at a glance", extras=read())
    @app_commands.describe(account="Which account (with several)")
    @app_commands.autocomplete(account=account_autocomplete)
    async def state(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return cards.account_state(await services.account_state())

        await run(interaction, {"account": account}, work, private=True)

    @app_commands.command(
        name="size", description="An account's size rule: a multiplier or fixed contracts (stored)", extras=admin()
    )
    @app_commands.describe(
        account="Which account",
        multiplier="Size = what the strategy asks × this (rounded down, at least 1)",
        contracts="Every opening order is this many contracts",
        reset="Back to the [[accounts]] table's rule",
    )
    @app_commands.autocomplete(account=account_autocomplete)
    async def size(
        self,
        interaction: discord.Interaction,
        account: str,
        multiplier: Multiplier | None = None,
        contracts: Contracts | None = None,
        reset: bool = False,
    ) -> None:
        # Spec choice: applied at once without a confirmation step (it places nothing; the next opening
        # order uses it), admin/trader permission as /strategy start, audited by `run` like every command.
        async def work() -> Reply:
            services = account_services(interaction, account)
            change = await services.set_size(
                None if multiplier is None else Decimal(str(multiplier)), contracts, reset, str(interaction.user)
            )
            how = "stored: a restart keeps it" if change.stored else "back to its [[accounts]] table's rule"
            return Card(
                title=f"{change.account}: size {change.new}",
                description=f"Was {change.old}; {how}. Its next opening order uses it.",
            )

        args = {"account": account, "multiplier": multiplier, "contracts": contracts, "reset": reset}
        await run(interaction, args, work, private=True)

    @app_commands.command(name="switch", description="Trade another account on this login", extras=admin())
    @app_commands.describe(account="Account name or id (see /account list)")
    async def switch(self, interaction: discord.Interaction, account: str) -> None:
        bot = bot_of(interaction)
        services = bot.services

        async def work() -> Reply:
            if bot.desk.several:
                raise BadInput(
                    "Every account in [[accounts]] trades in this process: name one with account: "
                    "(every command that reads or acts on one account takes it); nothing was switched"
                )
            a = await services.switch_account(account)
            return Card(title=f"Now trading {a.name}", description=f"Account {a.id}, balance {money(a.balance)}")

        await run(interaction, {"account": account}, work, private=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AccountCog())
