"""`tradebot demo` until the demo issue lands: what exists, run for real, and nothing pretended."""

from __future__ import annotations

import argparse
import json

from trading import native
from trading.cli_common import Subcommands, load, run
from trading.config import masked
from trading.store import open_database
from trading.store.migrate import migrate

NOT_BUILT = (
    "The full demo (the simulated gateway, an overnight-range session, fills and notifications) is not "
    "built yet. This run started the database, applied the migrations and printed the configuration; "
    "nothing was traded."
)


async def _demo(args: argparse.Namespace) -> int:
    settings = load(args)
    print("configuration (secrets masked):")
    print(json.dumps(masked(settings), indent=2))
    print(f"execution path: {native.describe()}")
    async with await open_database(settings) as db:
        print(f"database: {db.where}")
        applied = await migrate(db.pool)
        print(f"migrations applied: {', '.join(applied) if applied else 'none pending'}")
    print(NOT_BUILT)
    return 0


def register(sub: Subcommands) -> None:
    sub.add_parser(
        "demo",
        help="run the demo (for now: database, migrations and configuration only)",
        description="Start the database (embedded unless database.url is set), migrate it, print the "
        "effective configuration and the execution path. " + NOT_BUILT,
    ).set_defaults(fn=lambda args: run(_demo(args)))
