"""`make bench` / `python -m bench [SECTION ...] [--quick]` (bars, orders, decode, backtest, tick, optimize): tables
with ratios measured in the same run (see each module's docstring for what is compared)."""

from __future__ import annotations

import argparse
import platform

from trading import native


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument(
        "sections",
        nargs="*",
        default=["bars", "orders", "decode", "backtest", "tick", "optimize"],
        help="bars, orders, decode, backtest, tick, optimize; accounts (not by default: minutes)",
    )
    ap.add_argument("--quick", action="store_true", help="smaller inputs and fewer rounds")
    args = ap.parse_args()
    print(f"# tradebot benchmarks — {platform.python_version()}, {platform.machine()}, path: {native.describe()}")
    for section in args.sections:
        if section == "bars":
            from bench import bars

            for t in bars.run(args.quick):
                print(t, flush=True)
        elif section == "orders":
            from bench import orders

            print(orders.run(args.quick), flush=True)
        elif section == "accounts":
            from bench import accounts

            print(accounts.run(args.quick), flush=True)
        elif section == "decode":
            from bench import decode

            print(decode.run(args.quick), flush=True)
        elif section == "tick":
            from bench import tick

            print(tick.run(args.quick), flush=True)
        elif section == "backtest":
            from bench import backtest

            print(backtest.run(args.quick), flush=True)
        elif section == "optimize":
            from bench import optimize

            print(optimize.run(args.quick), flush=True)
        else:
            ap.error(f"unknown section {section!r}")


if __name__ == "__main__":
    main()
