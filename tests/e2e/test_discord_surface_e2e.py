"""What Discord itself is told about every command: guild only (never in DMs), default member permissions
on the groups whose every subcommand is trade or admin, bounds on every number, and the order-id
autocomplete. Checked on the command tree the bot builds and on the payload it syncs to the fake Discord."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord import app_commands

from bot.commanding import ADMIN_DEFAULT, TRADE_DEFAULT, access_of
from bot.permissions import Access
from tests.support.discord_world import GENERAL, GUILD, READER, TRADER, World, synced_command, synced_options

NUMBER_TYPES = (discord.AppCommandOptionType.integer, discord.AppCommandOptionType.number)


def leaves(node: app_commands.Command[Any, ..., Any] | app_commands.Group) -> list[app_commands.Command[Any, ..., Any]]:
    if isinstance(node, app_commands.Command):
        return [node]
    return [c for c in node.walk_commands() if isinstance(c, app_commands.Command)]


def expected_default(node: app_commands.Command[Any, ..., Any] | app_commands.Group) -> discord.Permissions | None:
    """Admin only → Manage Server; trade or admin only → Manage Messages; any read command → none."""
    least = min(access_of(c) for c in leaves(node))
    return {Access.ADMIN: ADMIN_DEFAULT, Access.TRADE: TRADE_DEFAULT}.get(least)


async def test_every_command_is_guild_only_and_trade_admin_groups_are_hidden_by_default(world: World) -> None:
    top = world.bot.tree.get_commands()
    assert top
    for node in top:
        assert isinstance(node, app_commands.Command | app_commands.Group)
        assert node.guild_only, f"/{node.name} is usable in DMs"
        assert node.default_permissions == expected_default(node), f"/{node.name}: {node.default_permissions}"
    assert world.bot.tree.get_command("order") is not None
    assert expected_default(world.bot.tree.get_command("order")) == TRADE_DEFAULT  # type: ignore[arg-type]


async def test_the_sync_payload_carries_guild_only_and_default_permissions(world: World) -> None:
    for node in world.bot.tree.get_commands():
        synced = synced_command(world, node.name)
        assert synced["dm_permission"] is False, node.name
        assert synced["contexts"] == [0], node.name  # 0: guild; never bot DMs (1) or private channels (2)
        want = expected_default(node)  # type: ignore[arg-type]
        # discord.py 2.7 sends the permission bits as an integer (Discord answers with them as a string).
        assert synced["default_member_permissions"] == (None if want is None else want.value), node.name
    assert synced_command(world, "order")["default_member_permissions"] == TRADE_DEFAULT.value
    assert synced_command(world, "status")["default_member_permissions"] is None


ZERO_ALLOWED = {("stats route-set", "share")}


async def test_every_number_has_bounds(world: World) -> None:
    numbers = 0
    for cmd in world.bot.tree.walk_commands():
        if not isinstance(cmd, app_commands.Command):
            continue
        for p in cmd.parameters:
            if p.type in NUMBER_TYPES:
                numbers += 1
                assert p.min_value is not None and p.max_value is not None, f"/{cmd.qualified_name} {p.name}"
                # 0 is a real choice only for the executor's Rust share (0 % = every order the Python way)
                if (cmd.qualified_name, p.name) not in ZERO_ALLOWED:
                    assert p.min_value > 0, f"/{cmd.qualified_name} {p.name} allows {p.min_value}"
                else:
                    assert p.min_value == 0, f"/{cmd.qualified_name} {p.name} starts at {p.min_value}"
    assert numbers >= 20
    for node in world.bot.tree.get_commands():
        for path, o in synced_options(synced_command(world, node.name)):
            if o["type"] in (4, 10):
                assert "min_value" in o and "max_value" in o, f"/{path} {o['name']} is unbounded at Discord"


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("order market", {"symbol": "MNQ", "side": "buy", "quantity": 0}),
        ("order market", {"symbol": "MNQ", "side": "buy", "quantity": 10**6}),
        ("order limit", {"symbol": "MNQ", "side": "buy", "quantity": 1, "price": -5.0}),
        ("order trail", {"symbol": "MNQ", "side": "sell", "quantity": 1, "trail_ticks": 0}),
        ("order cancel", {"order_id": 0}),
        ("trades", {"days": 91}),
    ],
)
async def test_discord_sends_no_number_outside_its_bounds(world: World, command: str, options: dict[str, Any]) -> None:
    """The fake refuses what Discord's client refuses: a value outside the synced min/max."""
    with pytest.raises(AssertionError, match="outside"):
        await world.run(TRADER, command, options)
    assert await world.desk.broker_orders() == 0


async def test_order_id_autocomplete_lists_working_orders_filtered_by_what_was_typed(world: World) -> None:
    await world.run(TRADER, "order limit", {"symbol": "MNQ", "side": "buy", "quantity": 1, "price": 20600.0})
    await world.run(TRADER, "order stop", {"symbol": "MES", "side": "sell", "quantity": 1, "stop_price": 5700.0})
    orders = {o.type.value: o for o in await world.desk.services.open_orders()}
    limit, stop = orders["limit"], orders["stop"]

    every = await world.fake.autocomplete(TRADER, GUILD, GENERAL, "order cancel", {"order_id": ""}, focused="order_id")
    labels = {c["value"]: c["name"] for c in every.choices}
    assert labels[limit.id] == f"#{limit.id} MNQ buy limit 1 @ 20600.00"  # the price on MNQ's 0.25 grid
    assert labels[stop.id] == f"#{stop.id} MES sell stop 1 @ 5700.00"

    typed = await world.fake.autocomplete(
        TRADER, GUILD, GENERAL, "order modify", {"order_id": "mes"}, focused="order_id"
    )
    assert [c["value"] for c in typed.choices] == [stop.id]
    by_id = await world.fake.autocomplete(
        TRADER, GUILD, GENERAL, "order cancel", {"order_id": str(limit.id)}, focused="order_id"
    )
    assert limit.id in [c["value"] for c in by_id.choices]

    # Working orders are account data: a reader (who may not trade them) gets no suggestions.
    hidden = await world.fake.autocomplete(READER, GUILD, GENERAL, "order cancel", {"order_id": ""}, focused="order_id")
    assert hidden.choices == []

    # The chosen id cancels that order.
    cancelled = await world.run(TRADER, "order cancel", {"order_id": limit.id})
    assert f"Order #{limit.id} cancelled" in cancelled.text()
