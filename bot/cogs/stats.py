"""/stats latency | health | jobs | notifications | performance | version | route | parity (read) and
config | reload | logs | route-set | route-reset (admin, private): freqtrade's /health, /performance,
/version, /show_config, /reload_config, /logs; the routes of trading/native.py.

With several accounts, health, jobs and performance are one account's (`account:`); the others serve the
process (`bot.commanding.SHARED_COMMANDS` says why, each): the routes and breakers are process-global, so
a change is followed by every account's engine and the route table counts every engine's fallbacks.
/stats reload is refused with several accounts (`bot.commanding.SINGLE_ACCOUNT_ONLY`)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards, render
from bot.cogs.common import ACCOUNT, Days, account_autocomplete, account_services, titled
from bot.commanding import Reply, admin, bot_of, read, run
from bot.render import Card
from trading import charts, native
from trading.config import masked
from trading.services.operator_views import LOG_MAX_LINES

COMPONENTS = [app_commands.Choice(name=c.value, value=c.value) for c in native.Component]


@app_commands.guild_only()
class StatsCog(commands.GroupCog, group_name="stats", group_description="How the bot is doing"):
    @app_commands.command(
        name="latency", description="p50/p95/p99 per stage and broker call, Rust and Python side by side", extras=read()
    )
    @app_commands.describe(hours="Window in hours (default 24)")
    async def latency(self, interaction: discord.Interaction, hours: app_commands.Range[int, 1, 720] = 24) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            stats = await services.latency(hours)
            rows = cards.latency_rows(stats)
            png = (
                await asyncio.to_thread(charts.table_png, f"Latency, last {hours} h", render.LATENCY_HEADERS, rows)
                if rows
                else None
            )
            return cards.latency(stats, png)

        await run(interaction, {"hours": hours}, work)

    @app_commands.command(
        name="health", description="Broker, database, hubs, feed age, last bar, mode, version", extras=read()
    )
    @app_commands.describe(account=ACCOUNT)
    @app_commands.autocomplete(account=account_autocomplete)
    async def health(self, interaction: discord.Interaction, account: str | None = None) -> None:
        bot = bot_of(interaction)

        async def work() -> Reply:
            s = account_services(interaction, account)
            card = cards.health_runtime(await s.health(), bot.notifier.sent, bot.notifier.last_error, await s.runtime())
            return titled(card, interaction, s)

        await run(interaction, {"account": account}, work)

    @app_commands.command(name="jobs", description="Recent scheduled job runs", extras=read())
    @app_commands.describe(account=ACCOUNT)
    @app_commands.autocomplete(account=account_autocomplete)
    async def jobs(self, interaction: discord.Interaction, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)  # job runs are stored per account
            return titled(cards.jobs(await services.jobs()), interaction, services)

        await run(interaction, {"account": account}, work)

    @app_commands.command(name="notifications", description="The notification outbox", extras=read())
    async def notifications(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            pending, recent = await services.notifications()
            return cards.notifications(pending, recent)

        await run(interaction, {}, work)

    @app_commands.command(name="performance", description="Per symbol: closed trades, win rate, net P&L", extras=read())
    @app_commands.describe(days="How many days back (1-90, default 7)", account=ACCOUNT)
    @app_commands.autocomplete(account=account_autocomplete)
    async def performance(self, interaction: discord.Interaction, days: Days = 7, account: str | None = None) -> None:
        async def work() -> Reply:
            services = account_services(interaction, account)
            return titled(cards.performance(days, await services.performance(days)), interaction, services)

        await run(interaction, {"days": days, "account": account}, work, private=True)

    @app_commands.command(name="version", description="tradebot's version, commit and Rust extension", extras=read())
    async def version(self, interaction: discord.Interaction) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return cards.version(await services.version())

        await run(interaction, {}, work)

    @app_commands.command(name="config", description="The effective settings, secrets hidden", extras=admin())
    async def config(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)

        async def work() -> Reply:
            return cards.config(masked(bot.settings))

        await run(interaction, {}, work, private=True)

    @app_commands.command(
        name="reload", description="Re-read the config file; apply permissions, channels, risk limits", extras=admin()
    )
    async def reload(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)

        async def work() -> Reply:
            new, done = await bot.services.reload_settings(bot.config_file, bot.settings)
            bot.apply_settings(new)  # the bot's part: whom the allow-lists admit, where notifications go
            source = bot.config_file or os.environ.get("TRADEBOT_CONFIG") or "config/default.toml"
            return cards.reloaded(done, f"Read {source}, .env and the environment")

        await run(interaction, {}, work, private=True)

    @app_commands.command(name="logs", description="The last lines of the log file", extras=admin())
    @app_commands.describe(lines=f"How many lines (1-{LOG_MAX_LINES}, default 30)")
    async def logs(
        self, interaction: discord.Interaction, lines: app_commands.Range[int, 1, LOG_MAX_LINES] = 30
    ) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            tail = await services.log_tail(lines)
            if tail is None:
                return Card(
                    title="No log file",
                    description="This process logs to the console only: no log file is configured.",
                )
            return cards.logs(str(tail[0]), tail[1])

        await run(interaction, {"lines": lines}, work, private=True)

    @app_commands.command(
        name="route", description="Which implementation (Rust or Python) serves each component", extras=read()
    )
    async def route(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)

        async def work() -> Reply:
            view = await bot.services.routes()
            return cards.routes(replace(view, executor_fallbacks=bot.desk.executor_fallbacks()))

        await run(interaction, {}, work)

    @app_commands.command(
        name="route-set", description="Route a component to Rust, Python or shadow (stored, audited)", extras=admin()
    )
    @app_commands.describe(
        component="The component", mode="rust, python or shadow (bars, strategy)", share="Executor: % of orders to Rust"
    )
    @app_commands.choices(component=COMPONENTS, mode=[app_commands.Choice(name=m, value=m) for m in native.MODES])
    async def route_set(
        self,
        interaction: discord.Interaction,
        component: app_commands.Choice[str],
        mode: app_commands.Choice[str],
        share: app_commands.Range[int, 0, 100] | None = None,
    ) -> None:
        bot = bot_of(interaction)
        args = {"component": component.value, "mode": mode.value, "share": share}

        async def work() -> Reply:
            view = await bot.services.set_route(component.value, mode.value, share, str(interaction.user))
            await bot.desk.follow_routes(bot.services)
            return cards.routes(view)

        await run(interaction, args, work, private=True)

    @app_commands.command(
        name="route-reset", description="Move a component its breaker put on Python back to its route", extras=admin()
    )
    @app_commands.describe(component="The component")
    @app_commands.choices(component=COMPONENTS)
    async def route_reset(self, interaction: discord.Interaction, component: app_commands.Choice[str]) -> None:
        bot = bot_of(interaction)

        async def work() -> Reply:
            view = await bot.services.reset_route(component.value, str(interaction.user))
            await bot.desk.follow_routes(bot.services)
            return cards.routes(view)

        await run(interaction, {"component": component.value}, work, private=True)

    @app_commands.command(name="parity", description="Shadow runs: comparisons and mismatches", extras=read())
    async def parity(self, interaction: discord.Interaction) -> None:
        bot = bot_of(interaction)

        async def work() -> Reply:
            await bot.desk.count_compared()
            return cards.parity(await bot.services.parity())

        await run(interaction, {}, work)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(StatsCog())
