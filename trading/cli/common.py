"""What every `tradebot` command shares: the settings, a way to run async work, and how a command
ends on a typed error (one line, an exit code, no traceback).

Imported while the parser is built: the settings (pydantic-settings), asyncio and the error types are
imported when a command runs, not here (typing-only names below, for `tradebot --help`'s start-up)."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

if TYPE_CHECKING:  # start-up, not a circle: the settings module is the heaviest import of all
    from trading.config import Settings
    from trading.store import Database, Store
    from trading.store.control import ControlCommand

# argparse's subparsers action has a private type; this alias names it for the register functions.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

T = TypeVar("T")

EXIT_FAILED = 1
EXIT_CONFIG = 2  # the configuration or the credentials need fixing


def load(args: argparse.Namespace) -> Settings:
    """The validated settings (raises `ConfigError`), with the `rust` setting applied."""
    from trading import native
    from trading.config import load_settings

    settings = load_settings(getattr(args, "config", None))
    native.set_enabled(settings.rust)
    return settings


@asynccontextmanager
async def migrated_database(settings: Settings, **pool_options: Any) -> AsyncIterator[Database]:
    """The database a command works on, migrated first: every command that reads or writes the store
    opens it here, so a fresh database never ends a command in `relation ... does not exist`. (Migrating
    an up-to-date database is one read under the migrations' advisory lock.)"""
    from trading.store import migrate, open_database

    async with await open_database(settings, **pool_options) as db:
        await migrate(db.pool)
        yield db


def cli_user() -> str:
    """Who asks, in what the store keeps of a command line's change (`cli user@host`)."""
    import getpass

    from trading.store.control import HOST

    return f"cli {getpass.getuser()}@{HOST}"


async def answered(store: Store, command_id: int, timeout_s: float) -> tuple[ControlCommand | None, str]:
    """A request to a running instance (`control_commands`) once it is answered: (the command, "").
    No answer in `timeout_s`: (None, what became of it), the request withdrawn if it was not yet taken."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        cmd = await store.control.get(command_id)
        assert cmd is not None
        if cmd.done_at is not None:
            return cmd, ""
        if time.monotonic() > deadline:
            gone = await store.control.withdraw(command_id)
            return None, "withdrawn, nothing was done" if gone else "it may still be carrying it out"
        await asyncio.sleep(0.1)


def on_terminal() -> bool:
    """Whether stderr is a terminal: progress bars only then (a pipe or a log file gets no `\\r` frames)."""
    import sys

    return sys.stderr.isatty()


def run(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio

    return asyncio.run(coro)


def failure(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and the one line a command ends with on a typed error, whose message already says
    what went wrong and never holds a secret; None for anything else (a bug: its traceback is kept)."""
    from trading.config import ConfigError
    from trading.projectx.errors import AuthError, ProjectXError
    from trading.store.errors import StoreError

    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return failure(exc.exceptions[0])
    if isinstance(exc, ConfigError):
        return EXIT_CONFIG, str(exc)
    if isinstance(exc, AuthError):
        return EXIT_CONFIG, f"error: {exc}"
    if isinstance(exc, ProjectXError | StoreError):
        return EXIT_FAILED, f"error: {exc}"
    return None
