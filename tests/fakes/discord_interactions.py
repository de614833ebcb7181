"""What the fake Discord records of one interaction, and how tests read it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

EPHEMERAL = 1 << 6

# Interaction callback types (Discord's InteractionResponseType).
CHANNEL_MESSAGE = 4
DEFERRED_CHANNEL_MESSAGE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9


@dataclass
class Response:
    """One thing the bot sent in answer: the callback, a followup, or an edit of a message."""

    via: str  # "callback" | "followup" | "edit"
    type: int | None  # callback type, None for followups and edits
    body: JSON
    message_id: int | None = None
    files: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def flags(self) -> int:
        return int(self.body.get("flags") or 0)

    @property
    def content(self) -> str:
        return str(self.body.get("content") or "")

    @property
    def embeds(self) -> list[JSON]:
        return list(self.body.get("embeds") or [])

    @property
    def components(self) -> list[JSON]:
        return list(self.body.get("components") or [])

    def text(self) -> str:
        """Content and every embed's title, description, fields and footer, as one string."""
        parts = [self.content]
        for e in self.embeds:
            parts += [str(e.get("title") or ""), str(e.get("description") or "")]
            for f in e.get("fields") or []:
                parts += [str(f.get("name") or ""), str(f.get("value") or "")]
            parts.append(str((e.get("footer") or {}).get("text") or ""))
        return "\n".join(p for p in parts if p)

    def buttons(self) -> list[JSON]:
        out: list[JSON] = []
        for row in self.components:
            out += [c for c in row.get("components") or [] if c.get("type") == 2]
        return out


@dataclass
class InteractionResult:
    """Every response to one interaction, in arrival order."""

    id: int
    token: str
    channel_id: int
    responses: list[Response] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    ephemeral_defer: bool = False
    rejected: bool = False  # the bot tried to answer an interaction that was already answered

    def add(self, response: Response) -> None:
        if response.type == DEFERRED_CHANNEL_MESSAGE and response.flags & EPHEMERAL:
            self.ephemeral_defer = True
        self.responses.append(response)
        self.changed.set()

    def settled(self) -> bool:
        """A final answer is in: a message, an update, choices, or anything after a defer."""
        if self.rejected:
            return True
        if not self.responses:
            return False
        first = self.responses[0]
        if first.type in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE):
            return len(self.responses) > 1
        return True

    async def wait(self, count: int = 1, within: float = 10.0) -> None:
        """Wait until at least `count` message-bearing responses (beyond a defer) are in."""

        async def until() -> None:
            while self.message_count() < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), within)

    def message_count(self) -> int:
        return sum(1 for r in self.responses if r.type not in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE))

    @property
    def messages(self) -> list[Response]:
        return [r for r in self.responses if r.type not in (DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE_MESSAGE)]

    @property
    def last(self) -> Response:
        msgs = self.messages
        if not msgs:
            raise AssertionError(f"interaction {self.id} got no message, only {self.responses!r}")
        return msgs[-1]

    @property
    def ephemeral(self) -> bool:
        """Whether the (last) answer is visible only to the invoker."""
        last = self.last
        if last.via == "edit" and self.ephemeral_defer:
            return True
        return bool(last.flags & EPHEMERAL)

    def text(self) -> str:
        return "\n".join(r.text() for r in self.messages)

    @property
    def choices(self) -> list[JSON]:
        for r in self.responses:
            if r.type == AUTOCOMPLETE_RESULT:
                return list(r.body.get("choices") or [])
        raise AssertionError("no autocomplete answer")

    @property
    def message_id(self) -> int:
        """The id of the message that carries the last answer (for clicking its buttons)."""
        for r in reversed(self.responses):
            if r.message_id is not None:
                return r.message_id
        raise AssertionError("no message id in the answers")

    def button(self, label: str) -> JSON:
        for r in reversed(self.messages):
            for b in r.buttons():
                if b.get("label") == label:
                    return b
        raise AssertionError(f"no button labelled {label!r}")
