"""`tradebot health`: is an engine instance alive? Exit 0 when one is and its heartbeat is fresh, 1 when
not: the container's HEALTHCHECK and any monitor's probe.

A running instance publishes itself in the store every few seconds (`engine_instances`, written by
trading/services/commands.py and the standby's lease loop); this reads that, on the database's clock,
and talks to no broker: a probe must be cheap, must not log in, and changes nothing (it does not migrate).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from trading.cli.common import EXIT_FAILED, Subcommands, load, run

if TYPE_CHECKING:
    from trading.store.control import InstanceRow

EXIT_REFUSED = 2
DEFAULT_MAX_AGE_S = 15.0  # as services.commands.FRESH_S: older belongs to an instance that is gone or stuck


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "health",
        help="exit 0 when an engine instance is alive (fresh heartbeat in the store), 1 when none is",
        description="Look in the store for a running engine instance whose heartbeat is at most --max-age "
        "seconds old: exit 0 and name it when there is one, exit 1 when there is none. Reads the store only "
        "(no broker login): cheap enough for a container HEALTHCHECK.",
    )
    p.add_argument("--account", type=int, metavar="ID", help="only an instance running this account id")
    p.add_argument(
        "--this-host", action="store_true",
        help="only an instance on this host (a container's own process: its hostname is the container's)",
    )  # fmt: skip
    p.add_argument(
        "--max-age", type=float, default=DEFAULT_MAX_AGE_S, metavar="S",
        help=f"how old the last heartbeat may be (default {DEFAULT_MAX_AGE_S:.0f} s)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(fn=_health)


def _health(args: argparse.Namespace) -> int:
    if not 0 < args.max_age <= 3600:
        print(f"error: --max-age must be between 0 and 3600 seconds, got {args.max_age:g}", file=sys.stderr)
        return EXIT_REFUSED
    return run(_check(args))


async def _check(args: argparse.Namespace) -> int:
    from trading.store import Store, open_database, status
    from trading.store.control import HOST

    # A probe only reads: it never migrates (a database no engine has run on yet has no instance).
    async with await open_database(load(args), min_size=1, max_size=1) as db:
        pending = [m.name for m in await status(db.pool) if m.state == "pending"]
        if pending:
            print(
                f"error: no engine instance: the database is not migrated ({len(pending)} migration(s) pending), "
                "so no engine has run on it",
                file=sys.stderr,
            )
            return EXIT_FAILED
        rows = await Store(db.pool).control.instances(args.account, fresh_s=args.max_age)
    alive = [r for r in rows if not args.this_host or r.host == HOST]
    where = (f" of account {args.account}" if args.account is not None else "") + (
        f" on {HOST}" if args.this_host else ""
    )
    if args.json:
        import json

        print(json.dumps({"healthy": bool(alive), "instances": [_data(r) for r in alive]}, indent=2))
    elif alive:
        for r in alive:
            print(
                f"alive: {r.role} instance {r.instance} (account {r.account_id}, {r.mode}), "
                f"heartbeat {r.age_s:.1f} s ago"
            )
    if not alive:
        print(f"error: no engine instance{where} has a heartbeat within {args.max_age:g} s", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _data(r: InstanceRow) -> dict[str, Any]:
    return {
        "instance": r.instance, "account_id": r.account_id, "role": r.role, "mode": r.mode, "host": r.host,
        "pid": r.pid, "heartbeat_age_s": round(r.age_s, 1),
    }  # fmt: skip
