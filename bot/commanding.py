"""The path every slash command takes: authorize, defer, call one service, render, reply.

A command declares its permission class in `extras={"access": "read" | "trade" | "admin"}`; `run`
reads it from there (so /help and the audit log agree with what is enforced). Errors are ephemeral;
`private=True` makes the whole answer ephemeral (account data). Long lists become pages.

Where a command may be used, as Discord sees it (our allow-lists in `[permissions]` stay the enforcement):
- every command is `guild_only` (synced with `contexts: [0]`, `dm_permission: false`): account data never
  goes to DMs, and `authorize` refuses an interaction without a guild all the same;
- Discord takes default member permissions per top-level command only, never per subcommand, so a group
  gets them only when every subcommand in it is trade or admin: trade → Manage Messages
  (`TRADE_DEFAULT`), admin → Manage Server (`ADMIN_DEFAULT`). A group that mixes read commands stays
  visible to everyone. Server admins can grant a hidden command to other roles in Server Settings →
  Integrations; whoever sees a command is still checked against the allow-lists.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.notifier import DiscordSink, EchoSink, Notifier
from bot.permissions import Access, Actor, Permissions
from bot.render import Card, error_card
from bot.views import Confirm, Pager
from trading.config import Settings
from trading.services import ServiceError, Services
from trading.services.accounts import AccountDesk

log = logging.getLogger(__name__)

Reply = Card | list[Card]
Work = Callable[[], Awaitable[Reply]]


def read(**extra: Any) -> dict[str, Any]:
    return {"access": "read", **extra}


def trade(**extra: Any) -> dict[str, Any]:
    return {"access": "trade", **extra}


def admin(**extra: Any) -> dict[str, Any]:
    return {"access": "admin", **extra}


TRADE_DEFAULT = discord.Permissions(manage_messages=True)
ADMIN_DEFAULT = discord.Permissions(manage_guild=True)
trade_only = app_commands.default_permissions(manage_messages=True)  # a group of trade commands only
admin_only = app_commands.default_permissions(manage_guild=True)  # a group of admin commands only

NOT_IN_DMS = "tradebot's commands work in a server channel only, never in direct messages."


def access_of(command: app_commands.Command[Any, ..., Any] | app_commands.ContextMenu | None) -> Access:
    raw = command.extras.get("access", "admin") if command is not None else "admin"
    return Access[str(raw).upper()]  # an unmarked command is admin-only: default deny


class CommandBot(commands.Bot):
    """The bot as the commands see it (`interaction.client`): what they reach is declared here and set
    by the application (`bot.app.TradeBot`), so this module never imports the app that loads the cogs."""

    settings: Settings
    services: Services
    desk: AccountDesk  # every account the process runs, by name (one account: its services)
    permissions: Permissions
    notifier: Notifier
    config_file: str | None = None  # the TOML `/stats reload` reads again (None: TRADEBOT_CONFIG, if set)

    def apply_settings(self, new: Settings) -> None:
        """What a configuration reload changes in the bot: permissions (whom the allow-lists admit, the
        confirmation size) and the notification channels. The services apply the risk limits."""
        discord_settings = self.settings.discord.model_copy(update={"channels": new.discord.channels})
        self.settings = self.settings.model_copy(
            update={"permissions": new.permissions, "risk": new.risk, "discord": discord_settings}
        )
        self.permissions.settings = new.permissions
        sink = self.notifier.sink
        while isinstance(sink, EchoSink):
            sink = sink.primary
        if isinstance(sink, DiscordSink):
            sink.retarget(new.discord.channels)


def bot_of(interaction: discord.Interaction) -> CommandBot:
    client = interaction.client
    assert isinstance(client, CommandBot)
    return client


def actor_of(interaction: discord.Interaction) -> Actor:
    user = interaction.user
    roles = frozenset(r.id for r in user.roles) if isinstance(user, discord.Member) else frozenset()
    return Actor(user.id, str(user), roles, interaction.guild_id, interaction.channel_id)


def name_of(interaction: discord.Interaction) -> str:
    cmd = interaction.command
    return "/" + (cmd.qualified_name if cmd is not None else "?")


async def fail(interaction: discord.Interaction, message: str) -> None:
    """An ephemeral error, whatever state the interaction is in."""
    card = error_card(message)
    if not interaction.response.is_done():
        await interaction.response.send_message(embed=card.embed(), ephemeral=True)
        return
    if interaction.extras.get("private"):
        await interaction.edit_original_response(embed=card.embed())
        return
    # A public "thinking…" is showing: replace it by a private error.
    with contextlib.suppress(discord.HTTPException):
        await interaction.delete_original_response()
    await interaction.followup.send(embed=card.embed(), ephemeral=True)


async def respond(interaction: discord.Interaction, reply: Reply, *, private: bool) -> None:
    cards = reply if isinstance(reply, list) else [reply]
    view: discord.ui.View | None = None
    if len(cards) > 1:
        view = Pager(interaction.user.id, cards)
    card = cards[0]
    kwargs: dict[str, Any] = {"embed": view.current() if isinstance(view, Pager) else card.embed()}
    if card.image is not None:
        kwargs["attachments"] = card.files()
    if view is not None:
        kwargs["view"] = view
    if interaction.response.is_done():
        await interaction.edit_original_response(**kwargs)
    else:
        if "attachments" in kwargs:
            kwargs["files"] = kwargs.pop("attachments")
        await interaction.response.send_message(ephemeral=private, **kwargs)


# With several accounts, a command that acts on or reads one account names it (an `account` option,
# `bot.cogs.common.account_services`); these serve every account alike, so they take no account:
SHARED_COMMANDS = (
    "account list",  # every account of the process
    "help",
    "market",  # the market data of the one gateway login
    # The latency table is the process's samples: every engine writes the one table, and the mirror stage
    # of copy mode spans a leader and its followers.
    "stats latency",
    "stats notifications",  # one outbox and one delivery for the process (each message names its account)
    "stats version",  # one package, one commit, one Rust extension
    "stats config",  # the settings the process read, [[accounts]] included
    "stats logs",  # one log file
    # Routes and breakers are process-global (trading/native.py): a change moves every account's engine.
    "stats route",
    "stats route-set",
    "stats route-reset",
    "stats parity",  # shadow-run counts are stored per component, not per account
)
# Refused with several accounts, and why (nothing is done).
SINGLE_ACCOUNT_ONLY = {
    # [risk] is one engine's limits; with several, each engine's limits come from its own [[accounts]] table
    # (its rule profile), which a reload of [risk] into one or every engine would overwrite.
    "stats reload": "This bot runs several accounts: /stats reload would apply [risk] to one account's engine "
    "only, over the rule profile its [[accounts]] table gives it. Nothing was reloaded: restart the process to "
    "apply a changed configuration.",
}
SEVERAL_ACCOUNTS = "This bot runs several accounts and this command has no account option: nothing was done. Accounts: "


def per_account_ready(command: object, several: bool) -> bool:
    """One account, or a command that names its account or serves every account alike."""
    if not several or not isinstance(command, app_commands.Command):
        return True
    name = command.qualified_name
    if name in SINGLE_ACCOUNT_ONLY:
        return False
    if any(p.name == "account" for p in command.parameters):
        return True
    return any(name == s or name.startswith(s + " ") for s in SHARED_COMMANDS)


def several_refusal(command: object, desk: AccountDesk) -> str:
    """Why `command` is refused with several accounts (the accounts to choose from, or its own reason)."""
    name = command.qualified_name if isinstance(command, app_commands.Command) else ""
    return SINGLE_ACCOUNT_ONLY.get(name) or SEVERAL_ACCOUNTS + ", ".join(desk.names())


def named(bot: CommandBot, args: Mapping[str, Any]) -> Mapping[str, Any]:
    """The command's options as the audit records them: `account` as the account's own name, however it was
    typed (its id, another case); one that names no account here stays as typed (the command refuses it)."""
    typed = args.get("account")
    if not isinstance(typed, str) or not typed.strip():
        return args
    try:
        return {**args, "account": bot.desk.services(typed).engine.account_name}
    except ServiceError:
        return args


async def authorize(interaction: discord.Interaction, args: Mapping[str, Any]) -> bool:
    if interaction.guild_id is None:  # Discord hides guild-only commands in DMs; a stale client may not
        await fail(interaction, NOT_IN_DMS)
        return False
    bot = bot_of(interaction)
    if not per_account_ready(interaction.command, bot.desk.several):
        await fail(interaction, several_refusal(interaction.command, bot.desk))
        return False
    need = access_of(interaction.command)
    decision = await bot.permissions.authorize(actor_of(interaction), name_of(interaction), named(bot, args), need)
    if not decision.allowed:
        await fail(interaction, decision.reason)
    return decision.allowed


async def run(interaction: discord.Interaction, args: Mapping[str, Any], work: Work, *, private: bool = False) -> None:
    """Authorize, defer, do the work, answer (errors ephemeral)."""
    if not await authorize(interaction, args):
        return
    await interaction.response.defer(ephemeral=private, thinking=True)
    interaction.extras["private"] = private
    try:
        reply = await work()
    except ServiceError as exc:
        await fail(interaction, str(exc))
        return
    await respond(interaction, reply, private=private)


async def confirm(
    interaction: discord.Interaction,
    args: Mapping[str, Any],
    what: str,
    action: Callable[[], Awaitable[Card]],
    *,
    check: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Authorize, validate (`check`), then ask the invoker to confirm before `action` runs."""
    if not await authorize(interaction, args):
        return
    # Validation may ask the broker (contracts, last price): acknowledge within Discord's 3 s first.
    await interaction.response.defer(thinking=True)
    if check is not None:
        try:
            await check()
        except ServiceError as exc:
            await fail(interaction, str(exc))
            return
    bot = bot_of(interaction)
    command = name_of(interaction)

    async def audited() -> Card:
        await bot.permissions.audit_action(actor_of(interaction), f"{command} confirmed", named(bot, args))
        try:
            return await action()
        except ServiceError as exc:
            return error_card(str(exc))

    view = Confirm(interaction.user.id, audited, timeout=bot.settings.permissions.confirm_timeout_s, what=what)
    view.origin = interaction
    await interaction.edit_original_response(content=f"Confirm: {what}?", view=view)
