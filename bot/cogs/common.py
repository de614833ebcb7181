"""What several cogs share: symbol and strategy autocomplete, side/type choices, number parsing."""

from __future__ import annotations

from decimal import Decimal

import discord
from discord import app_commands

from bot.commanding import bot_of
from trading.domain import Side, to_decimal
from trading.services import BadInput

SIDES = [app_commands.Choice(name="buy", value="buy"), app_commands.Choice(name="sell", value="sell")]


async def symbol_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    symbols = await bot_of(interaction).services.symbols(current)
    return [app_commands.Choice(name=s, value=s) for s in symbols[:25]]


async def strategy_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    names = bot_of(interaction).services.strategy_names()
    return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current.lower())][:25]


def side(choice: app_commands.Choice[str] | str) -> Side:
    value = choice.value if isinstance(choice, app_commands.Choice) else choice
    try:
        return Side(value.lower())
    except ValueError:
        raise BadInput(f"Side must be buy or sell, got {value!r}") from None


def price(value: float | None, what: str = "price") -> Decimal | None:
    """A Discord number as an exact decimal (its shortest repr: 21000.25, not 21000.2499…)."""
    if value is None:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        raise BadInput(f"The {what} must be a number")
    d = to_decimal(value)
    if d <= 0:
        raise BadInput(f"The {what} must be positive, got {d}")
    return d
