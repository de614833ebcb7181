"""The application's `run` reaches `tradebot` through the `tradebot.commands` entry point (trading/ never
imports bot/: that, the layers and the absence of import circles are import-linter contracts in
pyproject.toml, run by `make lint`)."""

from __future__ import annotations

from trading.cli import PLUGIN_GROUP, build_parser, plugin_groups


def test_the_run_command_comes_from_the_entry_point() -> None:
    from bot.cli import register

    assert register in plugin_groups(), f"pip install -e . registers the {PLUGIN_GROUP} entry points"
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sub.choices is not None and "run" in sub.choices
