"""/help: every command with its permission class, read from the command tree itself."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.commanding import Reply, access_of, bot_of, read, run
from bot.render import Card


def command_table(tree: app_commands.CommandTree[discord.Client]) -> list[tuple[str, str, str]]:
    """(command, permission class, description) for every slash command."""
    out = []
    for cmd in tree.walk_commands():
        if isinstance(cmd, app_commands.Command):
            out.append((f"/{cmd.qualified_name}", access_of(cmd).label, cmd.description))
    return sorted(out)


class HelpCog(commands.Cog):
    @app_commands.command(name="help", description="Every command and who may use it", extras=read())
    @app_commands.guild_only()
    async def help(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)

        async def work() -> Reply:
            rows = command_table(bot.tree)
            lines = [f"`{name}` ({access}) — {desc}" for name, access, desc in rows]
            half = (len(lines) + 1) // 2
            return [
                Card(title="tradebot commands", description="\n".join(lines[:half])),
                Card(title="tradebot commands", description="\n".join(lines[half:])),
            ]

        await run(interaction, {}, work, private=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(HelpCog())
