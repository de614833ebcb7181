"""/market contracts | quote | depth | bars | chart (read, public)."""

from __future__ import annotations

import asyncio

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards
from bot.cogs.common import symbol_autocomplete
from bot.commanding import Reply, bot_of, read, run
from bot.render import Card, ny_time, price, table
from trading import charts
from trading.calendar import to_ny

TIMEFRAMES = [app_commands.Choice(name=t, value=t) for t in ("1m", "5m", "15m", "30m", "1h", "4h", "1d")]
CHART_TIMEFRAMES = [app_commands.Choice(name=t, value=t) for t in ("1m", "5m", "15m", "30m", "1h")]


@app_commands.guild_only()
class Market(commands.GroupCog, group_name="market", group_description="Contracts, prices and charts"):
    @app_commands.command(name="contracts", description="Tradable contracts", extras=read())
    @app_commands.describe(search="Filter by name, e.g. NQ (default: all available)")
    async def contracts(self, interaction: discord.Interaction, search: str = "") -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return cards.contracts(await services.contracts(search))

        await run(interaction, {"search": search}, work)

    @app_commands.command(name="quote", description="Last price and today's range", extras=read())
    @app_commands.describe(symbol="Contract root, e.g. MNQ")
    @app_commands.autocomplete(symbol=symbol_autocomplete)
    async def quote(self, interaction: discord.Interaction, symbol: str) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            return cards.quote(await services.quote(symbol))

        await run(interaction, {"symbol": symbol}, work)

    @app_commands.command(name="depth", description="Order book depth from the live feed", extras=read())
    @app_commands.describe(symbol="Contract root, e.g. MNQ", levels="Price levels each side (1-20)")
    @app_commands.autocomplete(symbol=symbol_autocomplete)
    async def depth(
        self, interaction: discord.Interaction, symbol: str, levels: app_commands.Range[int, 1, 20] = 10
    ) -> None:
        services = bot_of(interaction).services

        async def work() -> Reply:
            contract = await services.contract(symbol)
            return cards.depth_card(contract.symbol, await services.depth(symbol, levels))

        await run(interaction, {"symbol": symbol, "levels": levels}, work)

    @app_commands.command(name="bars", description="Recent OHLCV bars", extras=read())
    @app_commands.describe(symbol="Contract root, e.g. MNQ", timeframe="Bar size", count="How many bars (1-50)")
    @app_commands.choices(timeframe=TIMEFRAMES)
    @app_commands.autocomplete(symbol=symbol_autocomplete)
    async def bars(
        self,
        interaction: discord.Interaction,
        symbol: str,
        timeframe: app_commands.Choice[str] | None = None,
        count: app_commands.Range[int, 1, 50] = 10,
    ) -> None:
        services = bot_of(interaction).services
        tf = timeframe.value if timeframe else "5m"

        async def work() -> Reply:
            contract, bars = await services.bars(symbol, tf, count)
            rows = [
                [
                    f"{to_ny(b.start):%m-%d %H:%M}",
                    *(price(contract.snap(v), contract.tick_size) for v in (b.open, b.high, b.low, b.close)),
                    f"{b.volume:g}",
                ]
                for b in bars
            ]
            desc = table(("start ET", "open", "high", "low", "close", "vol"), rows) if rows else "No bars."
            return Card(title=f"{contract.symbol} {tf} bars", description=desc)

        await run(interaction, {"symbol": symbol, "timeframe": tf, "count": count}, work)

    @app_commands.command(name="chart", description="Candlesticks with the overnight range (PNG)", extras=read())
    @app_commands.describe(symbol="Contract root, e.g. MNQ", timeframe="Bar size")
    @app_commands.choices(timeframe=CHART_TIMEFRAMES)
    @app_commands.autocomplete(symbol=symbol_autocomplete)
    async def chart(
        self, interaction: discord.Interaction, symbol: str, timeframe: app_commands.Choice[str] | None = None
    ) -> None:
        services = bot_of(interaction).services
        tf = timeframe.value if timeframe else "5m"

        async def work() -> Reply:
            data = await services.chart(symbol, tf)
            c = data.contract
            levels = [
                charts.Level(n, v, charts.LEVEL_COLORS[n])
                for n, v in (("ONH", data.on_high), ("ONL", data.on_low))
                if v is not None
            ]
            if data.entries is not None:
                levels += [
                    charts.Level(n, v, charts.LEVEL_COLORS[n])
                    for n, v in zip(("Long entry", "Short entry"), data.entries, strict=True)
                ]
            marks = [charts.Mark(f.ts_event, f.price, f.side) for f in data.fills]
            low, high = price(data.on_low, c.tick_size), price(data.on_high, c.tick_size)
            title = f"{c.symbol} {tf}, overnight range {low} – {high}"
            png = await asyncio.to_thread(
                charts.candles_png,
                title,
                charts.Candles.of_bars(data.bars),
                tick_size=c.tick_size,
                levels=levels,
                window=(data.window_start, data.window_end),
                open_at=data.open_at,
                fills=marks,
            )
            return Card(
                title=title,
                description=f"{len(data.bars)} bars since {ny_time(data.window_start)}; {len(marks)} fills today",
                image=("chart.png", png),
            )

        await run(interaction, {"symbol": symbol, "timeframe": tf}, work)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Market())
