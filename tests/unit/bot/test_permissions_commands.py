"""Every slash command declares its permission class, describes every parameter, autocompletes
symbols and offers sides as choices; the table the README and /help show matches what is enforced."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import COGS
from bot.cogs.help import command_table

EXPECTED = {
    "/account balance": "read",
    "/account info": "read",
    "/account list": "read",
    "/account size": "admin",
    "/account state": "read",
    "/account switch": "admin",
    "/help": "read",
    "/market bars": "read",
    "/market chart": "read",
    "/market contracts": "read",
    "/market depth": "read",
    "/market quote": "read",
    "/order bracket": "trade",
    "/order cancel": "trade",
    "/order cancel-all": "trade",
    "/order limit": "trade",
    "/order market": "trade",
    "/order modify": "trade",
    "/order stop": "trade",
    "/order trail": "trade",
    "/orders": "read",
    "/pnl": "read",
    "/position close": "trade",
    "/position flatten": "trade",
    "/position list": "read",
    "/risk compliance": "read",
    "/risk halt": "admin",
    "/risk limits": "read",
    "/risk resume": "admin",
    "/risk status": "read",
    "/stats config": "admin",
    "/stats health": "read",
    "/stats jobs": "read",
    "/stats latency": "read",
    "/stats logs": "admin",
    "/stats notifications": "read",
    "/stats performance": "read",
    "/stats parity": "read",
    "/stats reload": "admin",
    "/stats route": "read",
    "/stats route-reset": "admin",
    "/stats route-set": "admin",
    "/stats version": "read",
    "/status": "read",
    "/strategy list": "read",
    "/strategy run-now": "admin",
    "/strategy start": "admin",
    "/strategy status": "read",
    "/strategy stop": "admin",
    "/strategy test": "read",
    "/trades": "read",
}


async def loaded_tree() -> app_commands.CommandTree[commands.Bot]:
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default())
    for name in COGS:
        await bot.load_extension(f"bot.cogs.{name}")
    return bot.tree


async def test_every_command_has_its_permission_class() -> None:
    tree = await loaded_tree()
    assert {name: access for name, access, _ in command_table(tree)} == EXPECTED


async def test_parameters_are_described_symbols_autocompleted_sides_chosen() -> None:
    tree = await loaded_tree()
    for cmd in tree.walk_commands():
        if not isinstance(cmd, app_commands.Command):
            continue
        assert cmd.description and cmd.description != "…", cmd.qualified_name
        for p in cmd.parameters:
            assert p.description and p.description != "…", f"/{cmd.qualified_name} {p.name}"
            if p.name == "symbol":
                assert p.autocomplete, f"/{cmd.qualified_name} symbol"
            if p.name in ("side", "entry", "period", "timeframe"):
                assert p.choices, f"/{cmd.qualified_name} {p.name}"
