"""`tradebot db migrate` and `tradebot db status`."""

from __future__ import annotations

import argparse

from trading.cli.common import Subcommands, load, run


async def _migrate(args: argparse.Namespace) -> int:
    from trading.store import migrate, open_database

    async with await open_database(load(args)) as db:
        applied = await migrate(db.pool)
        print(f"database: {db.where}")
        if applied:
            for name in applied:
                print(f"applied {name}")
        else:
            print("nothing to apply: the schema is up to date")
    return 0


async def _status(args: argparse.Namespace) -> int:
    from trading.store import open_database, status

    async with await open_database(load(args)) as db:
        rows = await status(db.pool)
        print(f"database: {db.where}")
        width = max((len(r.name) for r in rows), default=4)
        for r in rows:
            when = r.applied_at.isoformat(timespec="seconds") if r.applied_at else ""
            print(f"{r.name.ljust(width)}  {r.state.ljust(7)}  {when}".rstrip())
    # Pending is normal before `db migrate`; an edited or missing file needs the operator.
    return 1 if any(r.state in ("edited", "missing") for r in rows) else 0


def register(sub: Subcommands) -> None:
    db = sub.add_parser(
        "db",
        help="database: migrate, status",
        description="The Postgres store: database.url, or the embedded server in database.embedded_dir.",
    )
    group = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    group.add_parser(
        "migrate",
        help="apply the pending migrations",
        description="Apply every pending migrations/NNN_*.sql in order, each in a transaction. "
        "Refuses (exit 1) if an applied migration file was edited.",
    ).set_defaults(fn=lambda args: run(_migrate(args)))
    group.add_parser(
        "status",
        help="list migrations: applied, pending, edited, missing",
        description="List every migration and its state. Exits 1 if an applied file was edited or removed.",
    ).set_defaults(fn=lambda args: run(_status(args)))
