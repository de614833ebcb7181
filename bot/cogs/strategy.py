"""/strategy list | status | test (read) and start | stop (admin, confirmed) | run-now (admin)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.common import strategy_autocomplete
from bot.commanding import Reply, admin, bot_of, confirm, read, run
from bot.render import Card, fields


class StrategyCog(commands.GroupCog, group_name="strategy", group_description="Automated strategies"):
    @app_commands.command(name="list", description="Configured strategies", extras=read())
    async def list_(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            lines = [
                f"**{s['name']}** {'enabled' if s['enabled'] else 'disabled'}, "
                f"{'running' if s['running'] else 'not running'} — {s['symbols']}"
                for s in services.strategy_list()
            ]
            return Card(title="Strategies", description="\n".join(lines))

        await run(interaction, {}, work)

    @app_commands.command(name="status", description="Today's state of a strategy", extras=read())
    @app_commands.describe(name="Strategy name")
    @app_commands.autocomplete(name=strategy_autocomplete)
    async def status(self, interaction: discord.Interaction, name: str) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            st = await services.strategy_status(name)
            symbols = st.pop("symbols", {})
            items = {k: v for k, v in st.items() if k != "name"}
            items.update(
                {sym: ", ".join(f"{k}={v}" for k, v in state.items())[:1000] for sym, state in symbols.items()}
            )
            return Card(title=f"Strategy {st['name']}", fields=fields(items))

        await run(interaction, {"name": name}, work)

    @app_commands.command(
        name="test", description="Today's levels and the orders it would place (places nothing)", extras=read()
    )
    @app_commands.describe(name="Strategy name")
    @app_commands.autocomplete(name=strategy_autocomplete)
    async def test(self, interaction: discord.Interaction, name: str) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            levels = await services.strategy_test(name)
            items = {
                sym: ", ".join(f"{k} {v}" for k, v in lv.items() if v is not None) or "no data"
                for sym, lv in levels.items()
            }
            return Card(title=f"Dry run of {name}: today's levels (nothing placed)", fields=fields(items, inline=False))

        await run(interaction, {"name": name}, work)

    @app_commands.command(name="start", description="Start a strategy", extras=admin())
    @app_commands.describe(name="Strategy name")
    @app_commands.autocomplete(name=strategy_autocomplete)
    async def start(self, interaction: discord.Interaction, name: str) -> None:
        services = bot_of(interaction).services

        async def check() -> None:
            await services.strategy_status(name)

        async def action() -> Card:
            return Card(title=f"Strategy {name}", description=await services.strategy_start(name))

        await confirm(interaction, {"name": name}, f"start strategy {name}", action, check=check)

    @app_commands.command(name="stop", description="Stop a strategy", extras=admin())
    @app_commands.describe(name="Strategy name")
    @app_commands.autocomplete(name=strategy_autocomplete)
    async def stop(self, interaction: discord.Interaction, name: str) -> None:
        services = bot_of(interaction).services

        async def check() -> None:
            await services.strategy_status(name)

        async def action() -> Card:
            return Card(title=f"Strategy {name}", description=await services.strategy_stop(name))

        await confirm(interaction, {"name": name}, f"stop strategy {name}", action, check=check)

    @app_commands.command(name="run-now", description="Run the strategy's session step now", extras=admin())
    @app_commands.describe(name="Strategy name")
    @app_commands.autocomplete(name=strategy_autocomplete)
    async def run_now(self, interaction: discord.Interaction, name: str) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return Card(title=f"Strategy {name}", description=await services.strategy_run_now(name))

        await run(interaction, {"name": name}, work)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(StrategyCog())
