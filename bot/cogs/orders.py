"""/order market | limit | stop | bracket | trail | modify | cancel | cancel-all (trade class).

Every order's customTag is `tb-<interaction id>` of the command that asked for it: a replayed
interaction, a double-click on Confirm or a restart in between can never place it twice.
Orders above `permissions.confirm_above_size` contracts ask for confirmation first. With several accounts
every subcommand names its account (`account:`): the order goes through that account's engine only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import cards
from bot.cogs import common
from bot.cogs.common import (
    ACCOUNT,
    SIDES,
    OrderId,
    Price,
    Quantity,
    Ticks,
    account_autocomplete,
    account_services,
    on_account,
    order_autocomplete,
    symbol_autocomplete,
    titled,
)
from bot.commanding import authorize, bot_of, confirm, fail, run, trade, trade_only
from bot.render import Card
from trading.domain import OrderType
from trading.services import BadInput, OrderSpec, ServiceError

ENTRY_TYPES = [app_commands.Choice(name="market", value="market"), app_commands.Choice(name="limit", value="limit")]


def order_tag(interaction: discord.Interaction) -> str:
    return f"tb-{interaction.id}"


async def submit(
    interaction: discord.Interaction, args: dict[str, Any], build: Callable[[], OrderSpec], account: str | None
) -> None:
    """Parse, then place through the named account's engine (the one account's when there is one) at once
    or after confirmation (large orders)."""
    bot = bot_of(interaction)
    args = {**args, "account": account}
    try:
        spec = build()
    except ServiceError as exc:
        if await authorize(interaction, args):
            await fail(interaction, str(exc))
        return
    tag = order_tag(interaction)

    async def place() -> Card:
        services = account_services(interaction, account)
        return titled(cards.placed(await services.place_order(spec, tag)), interaction, services)

    if spec.quantity > bot.settings.permissions.confirm_above_size:

        async def check() -> None:
            await account_services(interaction, account).validate(spec)

        what = f"{spec.side.value} {spec.quantity} {spec.symbol.upper()} {spec.type.value}" + on_account(account)
        await confirm(interaction, args, what, place, check=check)
    else:
        await run(interaction, args, place)


@app_commands.guild_only()
@trade_only  # every /order subcommand is a trade command
class Orders(commands.GroupCog, group_name="order", group_description="Place, change and cancel orders"):
    @app_commands.command(name="market", description="Buy or sell at the market", extras=trade())
    @app_commands.describe(symbol="Contract root, e.g. MNQ", side="buy or sell", quantity="Contracts", account=ACCOUNT)
    @app_commands.choices(side=SIDES)
    @app_commands.autocomplete(symbol=symbol_autocomplete, account=account_autocomplete)
    async def market(
        self,
        interaction: discord.Interaction,
        symbol: str,
        side: app_commands.Choice[str],
        quantity: Quantity,
        account: str | None = None,
    ) -> None:
        args = {"symbol": symbol, "side": side.value, "quantity": quantity}
        await submit(
            interaction, args, lambda: OrderSpec(symbol, common.side(side), OrderType.MARKET, quantity), account
        )

    @app_commands.command(name="limit", description="Buy or sell at a price or better", extras=trade())
    @app_commands.describe(
        symbol="Contract root, e.g. MNQ", side="buy or sell", quantity="Contracts", price="Limit price", account=ACCOUNT
    )
    @app_commands.choices(side=SIDES)
    @app_commands.autocomplete(symbol=symbol_autocomplete, account=account_autocomplete)
    async def limit(
        self,
        interaction: discord.Interaction,
        symbol: str,
        side: app_commands.Choice[str],
        quantity: Quantity,
        price: Price,
        account: str | None = None,
    ) -> None:
        args = {"symbol": symbol, "side": side.value, "quantity": quantity, "price": price}
        await submit(
            interaction,
            args,
            lambda: OrderSpec(
                symbol, common.side(side), OrderType.LIMIT, quantity, limit_price=common.price(price, "limit price")
            ),
            account,
        )

    @app_commands.command(name="stop", description="A stop order (buy above / sell below the market)", extras=trade())
    @app_commands.describe(
        symbol="Contract root, e.g. MNQ",
        side="buy or sell",
        quantity="Contracts",
        stop_price="Stop trigger price",
        account=ACCOUNT,
    )
    @app_commands.choices(side=SIDES)
    @app_commands.autocomplete(symbol=symbol_autocomplete, account=account_autocomplete)
    async def stop(
        self,
        interaction: discord.Interaction,
        symbol: str,
        side: app_commands.Choice[str],
        quantity: Quantity,
        stop_price: Price,
        account: str | None = None,
    ) -> None:
        args = {"symbol": symbol, "side": side.value, "quantity": quantity, "stop_price": stop_price}
        await submit(
            interaction,
            args,
            lambda: OrderSpec(
                symbol, common.side(side), OrderType.STOP, quantity, stop_price=common.price(stop_price, "stop price")
            ),
            account,
        )

    @app_commands.command(name="bracket", description="Entry with stop-loss and take-profit", extras=trade())
    @app_commands.describe(
        symbol="Contract root, e.g. MNQ",
        side="buy or sell",
        quantity="Contracts",
        entry="market or limit entry",
        price="Limit price (limit entry only)",
        stop_loss_ticks="Stop-loss distance in ticks",
        take_profit_ticks="Take-profit distance in ticks",
        stop_loss_price="Stop-loss as a price (instead of ticks)",
        take_profit_price="Take-profit as a price (instead of ticks)",
        account=ACCOUNT,
    )
    @app_commands.choices(side=SIDES, entry=ENTRY_TYPES)
    @app_commands.autocomplete(symbol=symbol_autocomplete, account=account_autocomplete)
    async def bracket(
        self,
        interaction: discord.Interaction,
        symbol: str,
        side: app_commands.Choice[str],
        quantity: Quantity,
        entry: app_commands.Choice[str],
        price: Price | None = None,
        stop_loss_ticks: Ticks | None = None,
        take_profit_ticks: Ticks | None = None,
        stop_loss_price: Price | None = None,
        take_profit_price: Price | None = None,
        account: str | None = None,
    ) -> None:
        args = {
            "symbol": symbol,
            "side": side.value,
            "quantity": quantity,
            "entry": entry.value,
            "price": price,
            "stop_loss_ticks": stop_loss_ticks,
            "take_profit_ticks": take_profit_ticks,
            "stop_loss_price": stop_loss_price,
            "take_profit_price": take_profit_price,
        }

        def build() -> OrderSpec:
            kind = OrderType(entry.value)
            if kind is OrderType.LIMIT and price is None:
                raise BadInput("A limit entry needs a price")
            if stop_loss_ticks is None and stop_loss_price is None:
                raise BadInput("A bracket needs a stop-loss (in ticks or as a price)")
            if take_profit_ticks is None and take_profit_price is None:
                raise BadInput("A bracket needs a take-profit (in ticks or as a price)")
            return OrderSpec(
                symbol,
                common.side(side),
                kind,
                quantity,
                limit_price=common.price(price, "limit price") if kind is OrderType.LIMIT else None,
                stop_loss_ticks=stop_loss_ticks,
                take_profit_ticks=take_profit_ticks,
                stop_loss_price=common.price(stop_loss_price, "stop-loss price"),
                take_profit_price=common.price(take_profit_price, "take-profit price"),
            )

        await submit(interaction, args, build, account)

    @app_commands.command(name="trail", description="A trailing stop a number of ticks from the market", extras=trade())
    @app_commands.describe(
        symbol="Contract root, e.g. MNQ",
        side="buy or sell",
        quantity="Contracts",
        trail_ticks="Distance in ticks",
        account=ACCOUNT,
    )
    @app_commands.choices(side=SIDES)
    @app_commands.autocomplete(symbol=symbol_autocomplete, account=account_autocomplete)
    async def trail(
        self,
        interaction: discord.Interaction,
        symbol: str,
        side: app_commands.Choice[str],
        quantity: Quantity,
        trail_ticks: Ticks,
        account: str | None = None,
    ) -> None:
        args = {"symbol": symbol, "side": side.value, "quantity": quantity, "trail_ticks": trail_ticks}
        await submit(
            interaction,
            args,
            lambda: OrderSpec(symbol, common.side(side), OrderType.TRAILING_STOP, quantity, trail_ticks=trail_ticks),
            account,
        )

    @app_commands.command(name="modify", description="Change a working order's price, stop or size", extras=trade())
    @app_commands.describe(
        order_id="A working order of the account (type to filter)",
        price="New limit price",
        stop="New stop price",
        quantity="New size",
        account="Which account (with several; pick it first to list its orders)",
    )
    @app_commands.autocomplete(order_id=order_autocomplete)  # an int choice: one decorator per choice type
    @app_commands.autocomplete(account=account_autocomplete)
    async def modify(
        self,
        interaction: discord.Interaction,
        order_id: OrderId,
        price: Price | None = None,
        stop: Price | None = None,
        quantity: Quantity | None = None,
        account: str | None = None,
    ) -> None:
        args = {"order_id": order_id, "price": price, "stop": stop, "quantity": quantity, "account": account}

        async def work() -> Card:
            services = account_services(interaction, account)
            order = await services.modify_order(
                order_id, price=common.price(price, "price"), stop=common.price(stop, "stop"), size=quantity
            )
            card = Card(title=f"Order #{order_id} modified", description=cards.order_line(order))
            return titled(card, interaction, services)

        await run(interaction, args, work)

    @app_commands.command(name="cancel", description="Cancel one working order", extras=trade())
    @app_commands.describe(
        order_id="A working order of the account (type to filter)",
        account="Which account (with several; pick it first to list its orders)",
    )
    @app_commands.autocomplete(order_id=order_autocomplete)  # an int choice: one decorator per choice type
    @app_commands.autocomplete(account=account_autocomplete)
    async def cancel(self, interaction: discord.Interaction, order_id: OrderId, account: str | None = None) -> None:
        async def work() -> Card:
            services = account_services(interaction, account)
            order = await services.cancel_order(order_id)
            card = Card(title=f"Order #{order_id} cancelled", description=cards.order_line(order))
            return titled(card, interaction, services)

        await run(interaction, {"order_id": order_id, "account": account}, work)

    @app_commands.command(name="cancel-all", description="Cancel every working order", extras=trade())
    @app_commands.describe(symbol="Only this contract root (default: all)", account=ACCOUNT)
    @app_commands.autocomplete(symbol=symbol_autocomplete, account=account_autocomplete)
    async def cancel_all(
        self, interaction: discord.Interaction, symbol: str | None = None, account: str | None = None
    ) -> None:
        async def check() -> None:
            account_services(interaction, account)  # an unknown or missing account is refused before asking

        async def action() -> Card:
            services = account_services(interaction, account)
            done = await services.cancel_all(symbol)
            card = Card(title=f"Cancelled {len(done)} order(s)", description=", ".join(f"#{i}" for i in done))
            return titled(card, interaction, services)

        what = f"cancel every working {symbol.upper() + ' ' if symbol else ''}order" + on_account(account)
        await confirm(interaction, {"symbol": symbol, "account": account}, what, action, check=check)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Orders())
