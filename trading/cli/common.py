"""What every `tradebot` command shares: the settings, a way to run async work, and how a command
ends on a typed error (one line, an exit code, no traceback).

Imported while the parser is built: the settings (pydantic-settings), asyncio and the error types are
imported when a command runs, not here (typing-only names below, for `tradebot --help`'s start-up)."""

from __future__ import annotations

import argparse
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

if TYPE_CHECKING:  # start-up, not a circle: the settings module is the heaviest import of all
    from trading.config import Settings

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
