"""The `tradebot` command."""

from __future__ import annotations

import argparse
import sys

from trading import __version__, native
from trading.config import ConfigError, load_settings


def _version(_: argparse.Namespace) -> int:
    print(f"tradebot {__version__}; execution path: {native.describe()}")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    import json

    from trading.config import masked

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps(masked(settings), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradebot", description="Automated futures trading on TopstepX.")
    parser.add_argument("--config", help="TOML file layered over config/default.toml")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the version and the active execution path").set_defaults(fn=_version)
    config = sub.add_parser("config", help="configuration").add_subparsers(dest="config_command", required=True)
    config.add_parser("check", help="validate and print the effective configuration (secrets masked)").set_defaults(
        fn=_config_check
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.fn(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
