"""/strategy list | status | test (read) and start | stop (admin, confirmed) | run-now (admin)."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs.common import account_autocomplete, account_services, on_account, strategy_autocomplete
from bot.commanding import Reply, admin, confirm, read, run
from bot.render import Card, fields


@app_commands.guild_only()
class StrategyCog(commands.GroupCog, group_name="strategy", group_description="Automated strategies"):
    @app_commands.command(name="list", description="Configured strategies", extras=read())
    @app_commands.describe(account="Which account (with several)")
    @app_commands.autocomplete(account=account_autocomplete)
    async def list_(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            lines = [
                f"**{s['name']}** {'enabled' if s['enabled'] else 'disabled'}, "
                f"{'running' if s['running'] else 'not running'} — {s['symbols']}"
                for s in services.strategy_list()
            ]
            return Card(title="Strategies", description="\n".join(lines))

        await run(interaction, {"account": account}, work)

    @app_commands.command(name="status", description="Today's state of a strategy", extras=read())
    @app_commands.describe(name="Strategy name", account="Which account (with several)")
    @app_commands.autocomplete(name=strategy_autocomplete, account=account_autocomplete)
    async def status(self, interaction: discord.Interaction, name: str, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            st = await services.strategy_status(name)
            symbols = st.pop("symbols", {})
            items = {k: v for k, v in st.items() if k != "name"}
            items.update(
                {sym: ", ".join(f"{k}={v}" for k, v in state.items())[:1000] for sym, state in symbols.items()}
            )
            return Card(title=f"Strategy {st['name']}", fields=fields(items))

        await run(interaction, {"name": name, "account": account}, work)

    @app_commands.command(
        name="test", description="Today's levels and the orders it would place (places nothing)", extras=read()
    )
    @app_commands.describe(name="Strategy name", account="Which account (with several)")
    @app_commands.autocomplete(name=strategy_autocomplete, account=account_autocomplete)
    async def test(self, interaction: discord.Interaction, name: str, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            plan = await services.strategy_test(name)
            return Card(
                title=f"Dry run of {name}: today's open (nothing placed)",
                fields=fields({sym: dry_run_text(row) for sym, row in plan.items()}, inline=False),
            )

        await run(interaction, {"name": name, "account": account}, work)

    @app_commands.command(name="start", description="Start a strategy", extras=admin())
    @app_commands.describe(name="Strategy name", account="Which account (with several)")
    @app_commands.autocomplete(name=strategy_autocomplete, account=account_autocomplete)
    async def start(self, interaction: discord.Interaction, name: str, account: str | None = None) -> None:
        async def check() -> None:
            await account_services(interaction, account).strategy_status(name)

        async def action() -> Card:
            return Card(
                title=f"Strategy {name}",
                description=await account_services(interaction, account).strategy_start(name, str(interaction.user)),
            )

        what = f"start strategy {name}" + on_account(account)
        await confirm(interaction, {"name": name, "account": account}, what, action, check=check)

    @app_commands.command(name="stop", description="Stop a strategy", extras=admin())
    @app_commands.describe(name="Strategy name", account="Which account (with several)")
    @app_commands.autocomplete(name=strategy_autocomplete, account=account_autocomplete)
    async def stop(self, interaction: discord.Interaction, name: str, account: str | None = None) -> None:
        async def check() -> None:
            await account_services(interaction, account).strategy_status(name)

        async def action() -> Card:
            return Card(
                title=f"Strategy {name}",
                description=await account_services(interaction, account).strategy_stop(name, str(interaction.user)),
            )

        what = f"stop strategy {name}" + on_account(account)
        await confirm(interaction, {"name": name, "account": account}, what, action, check=check)

    @app_commands.command(name="run-now", description="Run the strategy's session step now", extras=admin())
    @app_commands.describe(name="Strategy name", account="Which account (with several)")
    @app_commands.autocomplete(name=strategy_autocomplete, account=account_autocomplete)
    async def run_now(self, interaction: discord.Interaction, name: str, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return Card(title=f"Strategy {name}", description=await services.strategy_run_now(name))

        await run(interaction, {"name": name, "account": account}, work)


def dry_run_text(row: dict[str, Any]) -> str:
    """One symbol of a dry run: levels, the orders it would place, the sides it would skip and why."""
    levels = row.get("levels") or {}
    lines = [", ".join(f"{k} {v}" for k, v in levels.items() if v is not None) or "no levels"]
    lines += [f"would place: {o}" for o in row.get("orders", [])]
    lines += [f"skipped {s}" for s in row.get("skipped", [])]
    if not row.get("orders") and not row.get("skipped"):
        lines.append("no order")
    lines.append(f"as of {row.get('as of', '')}")
    return "\n".join(lines)[:1000]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(StrategyCog())
