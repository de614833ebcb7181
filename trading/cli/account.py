"""`tradebot account size NAME --multiplier X | --contracts N | --reset`: an [[accounts]] account's size rule.

As `tradebot route set`: with an instance running the account, the request goes to it through the store
(`control_commands`, as `tradebot halt --account` does) and its next opening order uses the rule; with
none running, the rule is stored for the next start. Either way it is stored (a restart keeps it) and
audited (`audit_log`, command `account size`, by `cli user@host`).
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from trading.cli.common import EXIT_FAILED, Subcommands, answered, cli_user, load, migrated_database, run

if TYPE_CHECKING:
    from trading.config import Settings
    from trading.store import Store

EXIT_REFUSED = 2
DEFAULT_TIMEOUT_S = 30.0


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "account",
        help="an [[accounts]] account's size rule: a multiplier of what the strategies ask, or fixed contracts",
        description="Per account of [[accounts]]: `size` sets the rule the account's opening orders are sized by "
        "(stored: it wins over the table's multiplier/contracts, and a restart keeps it; --reset goes back to the "
        "table's). A running instance applies it from its next opening order.",
    )
    verbs = p.add_subparsers(dest="account_verb", required=True, metavar="size")
    size = verbs.add_parser("size", help="set or reset an account's size rule")
    size.add_argument("name", help="the account's name, as [[accounts]] gives it")
    rule = size.add_mutually_exclusive_group(required=True)
    rule.add_argument("--multiplier", metavar="X", help="size = what the strategy asks × X (rounded down, at least 1)")
    rule.add_argument("--contracts", type=int, metavar="N", help="every opening order is N contracts")
    rule.add_argument("--reset", action="store_true", help="back to the [[accounts]] table's rule")
    size.add_argument("--json", action="store_true", help="print JSON instead of text")
    size.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
        help=f"how long to wait for the running instance's answer (default {DEFAULT_TIMEOUT_S:.0f} s)",
    )  # fmt: skip
    size.set_defaults(fn=_main)


def _multiplier(args: argparse.Namespace) -> Decimal | None:
    if args.multiplier is None:
        return None
    try:
        value = Decimal(args.multiplier.strip())
    except InvalidOperation:
        raise ValueError(f"--multiplier must be a number, got {args.multiplier!r}") from None
    if not value.is_finite():
        raise ValueError(f"--multiplier must be a number, got {args.multiplier!r}")
    return value


def problem_with(args: argparse.Namespace) -> str | None:
    from trading.engine.sizing import size_problem

    if not 0 < args.timeout <= 600:
        return f"--timeout must be between 0 and 600 seconds, got {args.timeout:g}"
    if not args.name.strip():
        return "the account's name is empty"
    try:
        multiplier = _multiplier(args)
    except ValueError as exc:
        return f"{exc}: nothing changed"
    problem = size_problem(multiplier, args.contracts, args.reset)
    return None if problem is None else f"{problem}: nothing changed"


def _main(args: argparse.Namespace) -> int:
    problem = problem_with(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_REFUSED
    return run(_size(args))


async def _size(args: argparse.Namespace) -> int:
    from trading.services.commands import FRESH_S
    from trading.services.errors import ServiceError
    from trading.services.sizing import configured_account
    from trading.store import Store

    settings = load(args)
    try:
        plan = configured_account(settings, args.name)
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    request: dict[str, Any] = {
        "multiplier": None if args.multiplier is None else str(_multiplier(args)),
        "contracts": args.contracts,
        "reset": bool(args.reset),
        "by": cli_user(),
    }
    async with migrated_database(settings) as db:
        store = Store(db.pool)
        live = [r for r in await store.control.instances(fresh_s=FRESH_S) if r.role == "active"]
        running = [r.account_id for r in live if str(r.status.get("account_name", "")).lower() == plan.name.lower()]
        if running:
            code, data = await _through_instance(args, store, running[0], request)
        else:
            code, data = await _store_only(store, settings, plan.name, request)
        await _audit(store, plan.name, request, code, data)
    if code:
        print(f"error: {data.get('error', 'failed')}", file=sys.stderr)
        return code
    print(_dumps(data) if args.json else _line(data))
    return 0


async def _store_only(
    store: Store, settings: Settings, name: str, request: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """No instance runs the account: the rule is stored for its next start."""
    from dataclasses import asdict

    from trading.engine.sizing import with_stored
    from trading.services.errors import BadInput, ServiceError
    from trading.services.sizing import change_size, configured_account

    configured = configured_account(settings, name)
    current = with_stored(configured, await store.size_rules.get(name))
    multiplier = request["multiplier"]
    try:
        _, change = await change_size(
            store,
            configured,
            current,
            None if multiplier is None else Decimal(multiplier),
            request["contracts"],
            request["reset"],
            request["by"],
        )
    except ServiceError as exc:
        return EXIT_REFUSED if isinstance(exc, BadInput) else EXIT_FAILED, {"error": str(exc)}
    return 0, {"size": asdict(change), "via": "the store (no instance runs the account: applied at its start)"}


async def _through_instance(
    args: argparse.Namespace, store: Store, account_id: int, request: dict[str, Any]
) -> tuple[int, dict[str, Any]]:
    """The instance that runs the account applies it (its next opening order) and stores it."""
    command_id = await store.control.request(account_id, "account_size", request, request["by"], args.timeout)
    cmd, what = await answered(store, command_id, args.timeout)
    if cmd is None:
        return EXIT_FAILED, {"error": f"the instance of account {account_id} gave no answer in {args.timeout:g} s: "
                                      f"{what}"}  # fmt: skip
    result = cmd.result or {}
    if not cmd.ok:
        return (EXIT_REFUSED if result.get("refused") else EXIT_FAILED), {"error": result.get("error", "failed")}
    return 0, {**result, "account_id": account_id, "via": f"the running instance {cmd.picked_by}"}


async def _audit(store: Store, name: str, request: dict[str, Any], code: int, data: dict[str, Any]) -> None:
    from trading.store.audit import AuditEntry

    arguments = {"account": name, **{k: v for k, v in request.items() if k != "by" and v not in (None, False)}}
    reason = str(data.get("error", ""))
    await store.audit.record(AuditEntry("account size", code == 0, user_name=request["by"], arguments=arguments,
                                        reason=reason))  # fmt: skip


def _line(data: dict[str, Any]) -> str:
    size = data["size"]
    what = "stored" if size["stored"] else "reset to its [[accounts]] table's rule"
    return f"{size['account']}: size {size['old']} → {size['new']} ({what}); via {data['via']}"


def _dumps(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, indent=2, default=str)
