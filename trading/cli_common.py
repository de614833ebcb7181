"""What every `tradebot` command shares: the settings and a way to run async work."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Coroutine
from typing import Any, TypeAlias, TypeVar

from trading import native
from trading.config import Settings, load_settings

# argparse's subparsers action has a private type; this alias names it for the register functions.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

T = TypeVar("T")


def load(args: argparse.Namespace) -> Settings:
    """The validated settings (raises `ConfigError`), with the `rust` setting applied."""
    settings = load_settings(getattr(args, "config", None))
    native.set_enabled(settings.rust)
    return settings


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)
