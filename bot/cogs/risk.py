"""/risk status | limits | compliance (read) and halt (admin, confirmed) | resume (admin)."""

from __future__ import annotations

from dataclasses import replace

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards
from bot.cogs.common import account_autocomplete, account_services, on_account, titled
from bot.commanding import Reply, admin, confirm, read, run
from bot.render import Card, fields, money


@app_commands.guild_only()
class RiskCog(commands.GroupCog, group_name="risk", group_description="Limits and the kill switch"):
    @app_commands.command(
        name="status", description="Kill switch, today's loss usage and the position guard", extras=read()
    )
    @app_commands.describe(account="Which account (with several)")
    @app_commands.autocomplete(account=account_autocomplete)
    async def status(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            view = await services.risk_status()
            card = cards.risk(view)
            # The engine's exposure: what every order's risk check (a strategy's or a trader's) reads.
            held = ", ".join(f"{s} {q:+d}" for s, q in sorted(view.positions.items())) or "flat"
            working = ", ".join(f"{s} {q:+d}" for s, q in sorted(view.working.items())) or "none"
            exposure = {"Positions": held, "Working orders": working, "Open P&L": money(view.unrealized)}
            guarded = card.fields + fields(exposure) + fields(cards.guard(services.guard_status()))
            return titled(replace(card, fields=guarded), interaction, services)

        await run(interaction, {"account": account}, work, private=True)

    @app_commands.command(name="limits", description="Configured risk limits", extras=read())
    @app_commands.describe(account="Which account (with several)")
    @app_commands.autocomplete(account=account_autocomplete)
    async def limits(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return Card(title="Risk limits", fields=fields(services.risk_limits()))

        await run(interaction, {"account": account}, work)

    @app_commands.command(name="compliance", description="Daily-loss and trailing-drawdown usage", extras=read())
    @app_commands.describe(account="Which account (with several)")
    @app_commands.autocomplete(account=account_autocomplete)
    async def compliance(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return cards.compliance(await services.risk_status())

        await run(interaction, {"account": account}, work, private=True)

    @app_commands.command(name="halt", description="Trip the kill switch: no new orders", extras=admin())
    @app_commands.describe(reason="Why (shown to everyone)", account="Which account (with several)")
    @app_commands.autocomplete(account=account_autocomplete)
    async def halt(self, interaction: discord.Interaction, reason: str = "", account: str | None = None) -> None:
        async def check() -> None:
            account_services(interaction, account)

        async def action() -> Card:
            services = account_services(interaction, account)
            view, flattened = await services.halt(reason)
            card = cards.risk(view)
            done = cards.flattened(flattened)
            return Card(card.title + " — halted", done.title, card.fields + done.fields, card.color)

        what = "halt trading: kill switch on, cancel every order, close every position" + on_account(account)
        await confirm(interaction, {"reason": reason, "account": account}, what, action, check=check)

    @app_commands.command(name="resume", description="Reset the kill switch", extras=admin())
    @app_commands.describe(account="Which account (with several)")
    @app_commands.autocomplete(account=account_autocomplete)
    async def resume(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return cards.risk(await services.resume())

        await run(interaction, {"account": account}, work)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(RiskCog())
