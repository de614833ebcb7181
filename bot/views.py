"""Confirmation buttons for destructive actions.

Only the invoking user can press them; they expire after `confirm_timeout_s`. The action runs at most
once per view (a lock and a done flag answer a double-click with "already confirmed"); across restarts
and replays, the order's customTag — derived from the original command's interaction id — makes the
broker side idempotent too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import discord

from bot.render import Card, error_card

log = logging.getLogger(__name__)

Action = Callable[[], Awaitable[Card]]


class Confirm(discord.ui.View):
    def __init__(self, owner_id: int, action: Action, *, timeout: float, what: str) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.action = action
        self.what = what
        self.outcome: str | None = None  # "confirmed" | "cancelled" | "expired"
        self._lock = asyncio.Lock()
        self.origin: discord.Interaction | None = None  # the command interaction, to edit on expiry

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "Only the person who asked can confirm or cancel this.", ephemeral=True
            )
            return False
        return True

    def _disable(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True

    async def _already(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"This was already {self.outcome}.", ephemeral=True)

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
        async with self._lock:
            if self.outcome is not None:
                await self._already(interaction)
                return
            self.outcome = "confirmed"
        self._disable()
        await interaction.response.edit_message(content=f"Confirmed: {self.what}. Working…", view=self)
        try:
            card = await self.action()
        except Exception as exc:  # the action already worded its failure; anything else is logged
            log.exception("confirmed action failed: %s", self.what)
            card = error_card(str(exc) or type(exc).__name__)
        await interaction.edit_original_response(content=None, embed=card.embed(), view=self)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
        async with self._lock:
            if self.outcome is not None:
                await self._already(interaction)
                return
            self.outcome = "cancelled"
        self._disable()
        await interaction.response.edit_message(content=f"Cancelled: {self.what}. Nothing was done.", view=self)

    async def on_timeout(self) -> None:
        async with self._lock:
            if self.outcome is not None:
                return
            self.outcome = "expired"
        self._disable()
        if self.origin is not None:
            try:
                await self.origin.edit_original_response(content=f"Expired: {self.what}. Nothing was done.", view=self)
            except (discord.HTTPException, RuntimeError):  # RuntimeError: aiohttp's "Session is closed", the
                # bot closed or between two logins when the view expired; the confirmation stays unanswered
                log.info("could not mark the confirmation for %s expired", self.what)


class Pager(discord.ui.View):
    """Previous/next buttons over a list of cards; only the invoker turns the pages."""

    def __init__(self, owner_id: int, cards: list[Card], *, timeout: float = 600.0) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.cards = cards
        self.page = 0

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("Run the command yourself to page through it.", ephemeral=True)
            return False
        return True

    def current(self) -> discord.Embed:
        embed = self.cards[self.page].embed()
        embed.set_footer(text=f"page {self.page + 1} of {len(self.cards)}")
        return embed

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        self.page = (self.page - 1) % len(self.cards)
        await interaction.response.edit_message(embed=self.current(), view=self)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        self.page = (self.page + 1) % len(self.cards)
        await interaction.response.edit_message(embed=self.current(), view=self)
