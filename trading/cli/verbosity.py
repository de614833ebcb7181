"""-v/--verbose and -q/--quiet on every command (argparse only: `tradebot --help` never imports logging;
trading/cli/logs.py sets the levels)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator


def verbosity(args: argparse.Namespace) -> int:
    return int(getattr(args, "verbose", 0) or 0) - int(getattr(args, "quiet", 0) or 0)


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    """-v/--verbose and -q/--quiet on `parser` and every command under it."""
    for p in _leaves(parser):
        options = {s for a in p._actions for s in a.option_strings}
        if "-v" not in options:
            p.add_argument("-v", "--verbose", action="count", default=0, help="more detail (-vv: debug)")
        if "-q" not in options:
            p.add_argument("-q", "--quiet", action="count", default=0, help="errors only")


def _leaves(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
        return
    for action in subs:
        for child in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
            yield from _leaves(child)
