"""Discord v10 wire payloads for the fake Discord: users, members, guilds, channels, messages.

Only the fields discord.py 2.x reads unconditionally are required; the rest are filled with Discord's
defaults so the objects look like the real thing.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

DISCORD_EPOCH_MS = 1420070400000
ALL_PERMISSIONS = str((1 << 50) - 1)
ATTACHMENT_SIZE_LIMIT = 25 * 1024 * 1024


class Snowflakes:
    """Increasing snowflake ids that carry a plausible timestamp."""

    def __init__(self) -> None:
        self._seq = itertools.count(1)

    def next(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._seq) & 0x3FFFFF)


@dataclass(frozen=True)
class FakeUser:
    id: int
    name: str
    bot: bool = False

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.name,
            "global_name": self.name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass(frozen=True)
class FakeChannel:
    id: int
    name: str


@dataclass
class FakeGuild:
    id: int
    name: str
    channels: list[FakeChannel] = field(default_factory=list)
    # user id -> role ids held in this guild
    roles_of: dict[int, list[int]] = field(default_factory=dict)

    def channel_payload(self, channel: FakeChannel, position: int = 0) -> JSON:
        return {
            "id": str(channel.id),
            "type": 0,
            "guild_id": str(self.id),
            "name": channel.name,
            "position": position,
            "permission_overwrites": [],
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
        }

    def role_payloads(self) -> list[JSON]:
        role_ids = sorted({self.id} | {r for roles in self.roles_of.values() for r in roles})
        return [
            {
                "id": str(rid),
                "name": "@everyone" if rid == self.id else f"role-{rid}",
                "color": 0,
                "hoist": False,
                "icon": None,
                "unicode_emoji": None,
                "position": 0 if rid == self.id else 1,
                "permissions": "1071698660929",
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
            for rid in role_ids
        ]

    def payload(self, bot: FakeUser) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(bot.id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": self.role_payloads(),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": iso_now(),
            "large": False,
            "unavailable": False,
            "member_count": 2,
            "voice_states": [],
            "members": [member_payload(bot, [], self.id)],
            "channels": [self.channel_payload(c, i) for i, c in enumerate(self.channels)],
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


def member_payload(user: FakeUser, roles: list[int], guild_id: int) -> JSON:
    return {
        "user": user.payload(),
        "nick": None,
        "avatar": None,
        "roles": [str(r) for r in roles],
        "joined_at": iso_now(),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "permissions": ALL_PERMISSIONS,
        "communication_disabled_until": None,
    }


def dm_channel_payload(channel_id: int, recipient: FakeUser) -> JSON:
    """A DM channel (type 1) as `POST /users/@me/channels` answers it."""
    return {
        "id": str(channel_id),
        "type": 1,
        "last_message_id": None,
        "flags": 0,
        "recipients": [recipient.payload()],
    }


def message_payload(
    message_id: int, channel_id: int, author: FakeUser, body: JSON, attachments: list[JSON], *, webhook_id: int | None
) -> JSON:
    """A MESSAGE object as Discord returns it, built from what the client sent."""
    msg: JSON = {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": author.payload(),
        "content": body.get("content") or "",
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "tts": bool(body.get("tts", False)),
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": attachments,
        "embeds": body.get("embeds") or [],
        "components": body.get("components") or [],
        "pinned": False,
        "type": 0,
        "flags": int(body.get("flags") or 0),
    }
    if webhook_id is not None:
        msg["webhook_id"] = str(webhook_id)
    return msg
