"""What several cogs share: symbol, strategy and order-id autocomplete, side/type choices, the bounds of
every number a command takes (`app_commands.Range`: Discord's client refuses a value outside them before
it is sent; risk and the services check the real limits), number parsing."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import overload

import discord
from discord import app_commands

from bot import cards
from bot.commanding import Reply, actor_of, bot_of
from bot.permissions import Access
from bot.render import Card
from trading.domain import Contract, Side, to_decimal
from trading.services import MAX_BRACKET_TICKS, MAX_QUANTITY, TRADES_MAX_DAYS, BadInput, ServiceError, Services

# The bounds of every number: hard, sane upper bounds (risk checks the configured limits).
Quantity = app_commands.Range[int, 1, MAX_QUANTITY]
Ticks = app_commands.Range[int, 1, MAX_BRACKET_TICKS]
# Above zero (the smallest tick of a listed future is 0.0000005) and below any futures price.
Price = app_commands.Range[float, 0.0000001, 10_000_000.0]
OrderId = app_commands.Range[int, 1, 2**53]  # broker order ids; Discord integers stop at 2**53
Days = app_commands.Range[int, 1, TRADES_MAX_DAYS]

SIDES = [app_commands.Choice(name="buy", value="buy"), app_commands.Choice(name="sell", value="sell")]


ACCOUNT = "Which account (with several)"  # how every `account` option is described


async def symbol_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    # The contracts of the login: any account's (the picked one's when it names one).
    services = picked_services(interaction) or bot_of(interaction).services
    symbols = await services.symbols(current)
    return [app_commands.Choice(name=s, value=s) for s in symbols[:25]]


async def strategy_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    names = bot_of(interaction).services.strategy_names()
    return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current.lower())][:25]


async def order_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[int]]:
    """The working orders of the account picked in the same command (`account:`; the one account when
    there is one) whose label holds what was typed: `#9061 MNQ sell limit 1 @ 20600.00`."""
    bot = bot_of(interaction)
    if interaction.guild_id is None or not bot.permissions.decide(actor_of(interaction), Access.TRADE).allowed:
        return []  # working orders are account data: only for those who may trade them
    services = picked_services(interaction)
    if services is None:
        return []  # several accounts and none (or an unknown one) picked yet: no account's orders
    typed = str(current).strip().lower().lstrip("#")
    choices = []
    for o in sorted(await services.open_orders(), key=lambda o: o.id or 0):
        if o.id is None or not o.status.is_working:
            continue
        try:
            contract: Contract | None = await services.contract_by_id(o.contract_id)
        except ServiceError:  # a name is a nicety: the contract id is shown instead
            contract = None
        label = cards.working_order_label(
            o, contract.symbol if contract else None, contract.tick_size if contract else None
        )
        if typed in label.lower():
            choices.append(app_commands.Choice(name=label[:100], value=o.id))
    return choices[:25]


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


async def account_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """The accounts this process trades, whose name holds what was typed."""
    typed = str(current).strip().lower()
    names = bot_of(interaction).desk.names()
    return [app_commands.Choice(name=n, value=n) for n in names if typed in n.lower()][:25]


def account_services(interaction: discord.Interaction, account: str | None) -> Services:
    """The services of the named account (none named: the one account; refused when there are several)."""
    return bot_of(interaction).desk.services(account)


def picked_services(interaction: discord.Interaction) -> Services | None:
    """In an autocomplete: the services of the account picked so far in the same command
    (`interaction.namespace.account`); None when that names no account that trades here."""
    picked = getattr(interaction.namespace, "account", None)
    try:
        return account_services(interaction, picked if isinstance(picked, str) else None)
    except ServiceError:
        return None


def on_account(account: str | None) -> str:
    """What a confirmation adds to name the account it acts on (` on PRAC-V2-SIM-2`); none named: ''."""
    name = (account or "").strip()
    return f" on {name}" if name else ""


@overload
def titled(reply: Card, interaction: discord.Interaction, services: Services) -> Card: ...
@overload
def titled(reply: list[Card], interaction: discord.Interaction, services: Services) -> list[Card]: ...
@overload
def titled(reply: Reply, interaction: discord.Interaction, services: Services) -> Reply: ...
def titled(reply: Reply, interaction: discord.Interaction, services: Services) -> Reply:
    """With several accounts, each answer's title names its account."""
    if not bot_of(interaction).desk.several:
        return reply
    name = services.engine.account_name
    if isinstance(reply, list):
        return [replace(c, title=f"[{name}] {c.title}") for c in reply]
    return replace(reply, title=f"[{name}] {reply.title}")
