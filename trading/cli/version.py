"""`tradebot version`."""

from __future__ import annotations

import argparse

from trading.cli.common import Subcommands


def _version(_: argparse.Namespace) -> int:
    from trading import __version__, native  # native loads the Rust extension: only for this command

    print(f"tradebot {__version__}; execution path: {native.describe()}")
    return 0


def register(sub: Subcommands) -> None:
    sub.add_parser(
        "version",
        help="print the version and whether the Rust extension is loaded",
        description="Print the version and the active execution path (rust or python, and why).",
    ).set_defaults(fn=_version)
