"""The fake Discord world the e2e tests run in: its guild, channels and users, the bot's settings for
it, and `World` (the fake Discord, the trading desk and the bot, with helpers to invoke and click).
The fixtures that build it are in tests/e2e/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.app import TradeBot
from tests.fakes.discord_interactions import InteractionResult
from tests.fakes.discord_payloads import FakeChannel, FakeGuild, FakeUser
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.trading_env import Desk
from trading.config import Settings
from trading.store import Store

GENERAL = FakeChannel(8101, "trading")
FILLS = FakeChannel(8102, "fills")
ORDERS = FakeChannel(8103, "orders")
ALERTS = FakeChannel(8104, "alerts")
LATENCY = FakeChannel(8105, "latency")
TRADER = FakeUser(6001, "trader")
ADMIN = FakeUser(6002, "boss")
READER = FakeUser(6003, "watcher")
ROLE_TRADER = FakeUser(6004, "role-trader")
TRADE_ROLE = 6901
GUILD = FakeGuild(8100, "desk", [GENERAL, FILLS, ORDERS, ALERTS, LATENCY], roles_of={ROLE_TRADER.id: [TRADE_ROLE]})


def e2e_settings(token: str, **over: Any) -> Settings:
    data: dict[str, Any] = {
        "discord": {
            "token": token,
            "guild_ids": [GUILD.id],
            "channels": {"fills": FILLS.id, "orders": ORDERS.id, "alerts": ALERTS.id, "latency": LATENCY.id},
        },
        "permissions": {
            "trade_users": [TRADER.id],
            "trade_roles": [TRADE_ROLE],
            "admin_users": [ADMIN.id],
            "confirm_above_size": 2,
            "confirm_timeout_s": 30.0,
        },
        "notifications": {"poll_interval_s": 0.05, "retry_base_s": 0.05},
    }
    for key, value in over.items():
        data[key] = {**data.get(key, {}), **value}
    return Settings(**data)


@dataclass
class World:
    fake: FakeDiscord
    desk: Desk
    bot: TradeBot
    store: Store

    @property
    def settings(self) -> Settings:
        return self.bot.settings

    async def run(self, user: FakeUser, command: str, options: dict[str, Any] | None = None) -> InteractionResult:
        return await self.fake.invoke(user, GUILD, GENERAL, command, options)

    async def click(self, user: FakeUser, result: InteractionResult, label: str) -> InteractionResult:
        button = result.button(label)
        return await self.fake.click(user, GUILD, GENERAL, result.message_id, button["custom_id"])

    async def posted(self, channel: FakeChannel, count: int, within: float = 20.0) -> list[str]:
        """Titles of the channel's messages once at least `count` are there."""

        await self.fake.wait_until(lambda: len(self.fake.messages(channel.id)) >= count, within)
        return [m.embeds[0]["title"] if m.embeds else m.content for m in self.fake.messages(channel.id)]


def synced_command(world: World, name: str, guild_id: int | None = GUILD.id) -> dict[str, Any]:
    """The command `name` as the bot synced it to the fake Discord (its JSON payload)."""
    found = [c for c in world.fake.commands.get(guild_id, []) if c["name"] == name]
    assert found, f"/{name} is not synced to {guild_id}"
    return found[0]


def synced_options(command: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every leaf option of a synced command, with the path of the subcommand it belongs to."""
    out: list[tuple[str, dict[str, Any]]] = []

    def walk(path: str, options: list[dict[str, Any]]) -> None:
        for o in options:
            if o["type"] in (1, 2):  # a subcommand or a subcommand group
                walk(f"{path} {o['name']}", o.get("options") or [])
            else:
                out.append((path, o))

    walk(command["name"], command.get("options") or [])
    return out
