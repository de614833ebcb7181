"""Read/trade/admin classes from user and role ids; default deny; guild and channel limits; audit."""

from __future__ import annotations

from typing import Any

import pytest

from bot.permissions import Access, Actor, Permissions, Refused
from trading.config import PermissionSettings
from trading.store import Store

TRADER, ADMIN, READER, STRANGER = 11, 12, 13, 14
TRADE_ROLE, READ_ROLE = 21, 22


def settings(**over: Any) -> PermissionSettings:
    base: dict[str, Any] = {
        "trade_users": (TRADER,),
        "admin_users": (ADMIN,),
        "trade_roles": (TRADE_ROLE,),
        "read_users": (READER,),
        "read_roles": (READ_ROLE,),
    }
    base.update(over)
    return PermissionSettings(**base)


class Ignore:
    """An audit log that keeps entries in memory (for the decision-only tests)."""

    def __init__(self) -> None:
        self.entries: list[Any] = []

    async def record(self, entry: Any) -> int:
        self.entries.append(entry)
        return len(self.entries)


def test_default_deny_for_trade_and_admin() -> None:
    p = Permissions(PermissionSettings(), Ignore())
    someone = Actor(STRANGER)
    assert p.decide(someone, Access.READ).allowed
    assert not p.decide(someone, Access.TRADE).allowed
    assert not p.decide(someone, Access.ADMIN).allowed


def test_classes_by_user_and_role() -> None:
    p = Permissions(settings(read_everyone=False), Ignore())
    assert p.level(Actor(ADMIN)) is Access.ADMIN
    assert p.level(Actor(TRADER)) is Access.TRADE
    assert p.level(Actor(STRANGER, role_ids=frozenset({TRADE_ROLE}))) is Access.TRADE
    assert p.level(Actor(STRANGER, role_ids=frozenset({READ_ROLE}))) is Access.READ
    assert p.level(Actor(READER)) is Access.READ
    assert p.level(Actor(STRANGER)) is None
    assert p.decide(Actor(ADMIN), Access.TRADE).allowed
    assert not p.decide(Actor(TRADER), Access.ADMIN).allowed
    assert "trade permission" in p.decide(Actor(READER), Access.TRADE).reason


def test_guild_and_channel_limits() -> None:
    p = Permissions(settings(allowed_guilds=(1,), allowed_channels=(5,)), Ignore())
    assert p.decide(Actor(ADMIN, guild_id=1, channel_id=5), Access.ADMIN).allowed
    assert "server" in p.decide(Actor(ADMIN, guild_id=2, channel_id=5), Access.READ).reason
    assert "channel" in p.decide(Actor(ADMIN, guild_id=1, channel_id=6), Access.READ).reason


async def test_refusals_and_trades_are_audited_reads_are_not(store: Store) -> None:
    p = Permissions(settings(), store.audit)
    await p.require(Actor(READER, "reader"), "/position list", {}, Access.READ)
    await p.require(Actor(TRADER, "trader"), "/order market", {"symbol": "MNQ", "quantity": 1}, Access.TRADE)
    with pytest.raises(Refused, match="admin permission"):
        await p.require(Actor(TRADER, "trader"), "/risk halt", {"reason": "news"}, Access.ADMIN)
    entries = await store.audit.recent(10)
    assert [(e.command, e.allowed, e.user_id) for e in entries] == [
        ("/risk halt", False, TRADER),
        ("/order market", True, TRADER),
    ]
    assert entries[1].arguments == {"symbol": "MNQ", "quantity": 1}
    assert entries[0].arguments == {"reason": "news"}
