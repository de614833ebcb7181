"""/risk status | limits | compliance (read) and halt (admin, confirmed) | resume (admin)."""

from __future__ import annotations

from dataclasses import replace

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards
from bot.commanding import Reply, admin, bot_of, confirm, read, run
from bot.render import Card, fields, money


@app_commands.guild_only()
class RiskCog(commands.GroupCog, group_name="risk", group_description="Limits and the kill switch"):
    @app_commands.command(
        name="status", description="Kill switch, today's loss usage and the position guard", extras=read()
    )
    async def status(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            view = await services.risk_status()
            card = cards.risk(view)
            # The engine's exposure: what every order's risk check (a strategy's or a trader's) reads.
            held = ", ".join(f"{s} {q:+d}" for s, q in sorted(view.positions.items())) or "flat"
            working = ", ".join(f"{s} {q:+d}" for s, q in sorted(view.working.items())) or "none"
            exposure = {"Positions": held, "Working orders": working, "Open P&L": money(view.unrealized)}
            return replace(card, fields=card.fields + fields(exposure) + fields(cards.guard(services.guard_status())))

        await run(interaction, {}, work, private=True)

    @app_commands.command(name="limits", description="Configured risk limits", extras=read())
    async def limits(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return Card(title="Risk limits", fields=fields(services.risk_limits()))

        await run(interaction, {}, work)

    @app_commands.command(name="compliance", description="Daily-loss and trailing-drawdown usage", extras=read())
    async def compliance(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return cards.compliance(await services.risk_status())

        await run(interaction, {}, work, private=True)

    @app_commands.command(name="halt", description="Trip the kill switch: no new orders", extras=admin())
    @app_commands.describe(reason="Why (shown to everyone)")
    async def halt(self, interaction: discord.Interaction, reason: str = "") -> None:
        services = bot_of(interaction).services

        async def action() -> Card:
            view, flattened = await services.halt(reason)
            card = cards.risk(view)
            done = cards.flattened(flattened)
            return Card(card.title + " — halted", done.title, card.fields + done.fields, card.color)

        what = "halt trading: kill switch on, cancel every order, close every position"
        await confirm(interaction, {"reason": reason}, what, action)

    @app_commands.command(name="resume", description="Reset the kill switch", extras=admin())
    async def resume(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return cards.risk(await services.resume())

        await run(interaction, {}, work)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(RiskCog())
