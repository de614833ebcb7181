"""With several accounts in one process, every command either names its account (an optional `account`
option, autocompleted with the accounts) or serves the process (`SHARED_COMMANDS`); only the commands of
`SINGLE_ACCOUNT_ONLY` are refused. With one account nothing is refused."""

from __future__ import annotations

from typing import Any

from discord import app_commands

from bot.cogs.common import account_autocomplete
from bot.commanding import SHARED_COMMANDS, SINGLE_ACCOUNT_ONLY, per_account_ready
from tests.unit.bot.test_permissions_commands import loaded_tree


async def commands_by_name() -> dict[str, app_commands.Command[Any, ..., Any]]:
    tree = await loaded_tree()
    return {c.qualified_name: c for c in tree.walk_commands() if isinstance(c, app_commands.Command)}


async def test_with_several_accounts_only_the_single_account_commands_are_refused() -> None:
    commands = await commands_by_name()
    refused = sorted(name for name, cmd in commands.items() if not per_account_ready(cmd, several=True))
    assert refused == sorted(SINGLE_ACCOUNT_ONLY)
    assert all(per_account_ready(cmd, several=False) for cmd in commands.values())


async def test_the_per_account_commands_take_an_autocompleted_account() -> None:
    commands = await commands_by_name()
    per_account = {
        "order market",
        "order limit",
        "order stop",
        "order bracket",
        "order trail",
        "order modify",
        "order cancel",
        "order cancel-all",
        "position list",
        "position close",
        "position flatten",
        "status",
        "orders",
        "stats health",
        "stats jobs",
        "stats performance",
    }
    for name in per_account:
        account = next((p for p in commands[name].parameters if p.name == "account"), None)
        assert account is not None, f"/{name} has no account option"
        assert not account.required, f"/{name}: with one account, account may be omitted"
        assert commands[name]._params["account"].autocomplete is account_autocomplete, f"/{name}"


async def test_every_shared_command_exists_and_takes_no_account() -> None:
    commands = await commands_by_name()
    for shared in SHARED_COMMANDS:
        matching = [c for n, c in commands.items() if n == shared or n.startswith(shared + " ")]
        assert matching, f"SHARED_COMMANDS names /{shared}, which no command is"
        for cmd in matching:
            assert all(p.name != "account" for p in cmd.parameters), f"/{cmd.qualified_name}"
