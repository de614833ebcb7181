"""Who may read, trade and administer: user and role allow-lists from `[permissions]`.

Read is open to everyone in an allowed guild/channel unless `read_everyone = false`; trade and admin
are denied unless granted. Admin implies trade implies read. Every refusal and every trade or admin
action is written to the audit log with the user, the command and its arguments.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from trading.config import PermissionSettings
from trading.store.audit import AuditEntry


class Access(enum.IntEnum):
    READ = 1
    TRADE = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> int: ...


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is asking, and from where."""

    user_id: int
    user_name: str = ""
    role_ids: frozenset[int] = frozenset()
    guild_id: int | None = None
    channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: str = ""


class Refused(Exception):
    """The actor may not do this; `str()` is the message for the trader."""


class Permissions:
    def __init__(self, settings: PermissionSettings, audit: AuditLog) -> None:
        self.settings = settings
        self._audit = audit

    def _holds(self, actor: Actor, users: Iterable[int], roles: Iterable[int]) -> bool:
        return actor.user_id in set(users) or bool(actor.role_ids & set(roles))

    def level(self, actor: Actor) -> Access | None:
        """The highest class this actor holds, ignoring guild and channel limits."""
        s = self.settings
        if self._holds(actor, s.admin_users, s.admin_roles):
            return Access.ADMIN
        if self._holds(actor, s.trade_users, s.trade_roles):
            return Access.TRADE
        if s.read_everyone or self._holds(actor, s.read_users, s.read_roles):
            return Access.READ
        return None

    def decide(self, actor: Actor, need: Access) -> Decision:
        s = self.settings
        if s.allowed_guilds and actor.guild_id not in s.allowed_guilds:
            return Decision(False, "This bot is not enabled in this server.")
        if s.allowed_channels and actor.channel_id not in s.allowed_channels:
            return Decision(False, "This bot does not take commands in this channel.")
        held = self.level(actor)
        if held is None or held < need:
            return Decision(False, f"You do not have {need.label} permission for this command.")
        return Decision(True)

    async def authorize(self, actor: Actor, command: str, arguments: Mapping[str, Any], need: Access) -> Decision:
        """Decide, and audit the refusal or the trade/admin action."""
        decision = self.decide(actor, need)
        if not decision.allowed or need >= Access.TRADE:
            await self._audit.record(
                AuditEntry(
                    command=command,
                    allowed=decision.allowed,
                    user_id=actor.user_id,
                    user_name=actor.user_name,
                    arguments=_plain(arguments),
                    reason=decision.reason or f"{need.label} granted",
                )
            )
        return decision

    async def audit_action(self, actor: Actor, command: str, arguments: Mapping[str, Any]) -> None:
        """Record an action taken after its command was authorized (a confirmed flatten, say)."""
        await self._audit.record(
            AuditEntry(
                command=command,
                allowed=True,
                user_id=actor.user_id,
                user_name=actor.user_name,
                arguments=_plain(arguments),
                reason="confirmed",
            )
        )

    async def require(self, actor: Actor, command: str, arguments: Mapping[str, Any], need: Access) -> None:
        decision = await self.authorize(actor, command, arguments, need)
        if not decision.allowed:
            raise Refused(decision.reason)


def _plain(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments as JSON-safe values for the audit row."""
    out: dict[str, Any] = {}
    for k, v in arguments.items():
        out[k] = v if isinstance(v, bool | int | float | str) or v is None else str(v)
    return out
