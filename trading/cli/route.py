"""`tradebot route show|set|reset`: which implementation (Rust or Python) serves each component.

With an instance running, `set` and `reset` go to it through the store (`control_commands`, as
`tradebot halt` does) and it applies them at once (a stream moves); `show` prints what it published.
With none running, `set` stores the route (audited) for the next start and `show` reads the settings
and the stored routes; `reset` needs a running instance (a breaker lives in its process).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from trading.cli.common import EXIT_FAILED, Subcommands, answered, cli_user, load, migrated_database, run

if TYPE_CHECKING:
    from trading.store import Store

EXIT_REFUSED = 2
DEFAULT_TIMEOUT_S = 30.0


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "route",
        help="which implementation (Rust or Python) serves each component: show, set, reset",
        description="Each component (executor, market_stream, user_stream, bars, strategy) runs on rust, python or "
        "shadow (bars and strategy: Python serves, Rust is compared). Changes are stored and audited; a running "
        "instance applies them at once.",
    )
    verbs = p.add_subparsers(dest="route_verb", required=True, metavar="show|set|reset")
    show = verbs.add_parser("show", help="every component's route, the latest changes, the parity counts")
    _common(show)
    st = verbs.add_parser("set", help="route a component: rust, python or shadow")
    st.add_argument("component", help="executor, market_stream, user_stream, bars or strategy")
    st.add_argument("mode", help="rust, python or shadow (bars and strategy only)")
    st.add_argument("--share", type=int, metavar="PCT", help="executor only: the %% of orders sent the Rust way")
    _common(st)
    rs = verbs.add_parser("reset", help="move a component its circuit breaker put on Python back to its route")
    rs.add_argument("component", help="executor, market_stream, user_stream, bars or strategy")
    _common(rs)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
        help=f"how long to wait for the running instance's answer (default {DEFAULT_TIMEOUT_S:.0f} s)",
    )  # fmt: skip
    p.set_defaults(fn=_main)


def problem_with(args: argparse.Namespace) -> str | None:
    from trading import native

    if not 0 < args.timeout <= 600:
        return f"--timeout must be between 0 and 600 seconds, got {args.timeout:g}"
    if args.route_verb in ("set", "reset"):
        try:
            c = native.component(args.component)
            if args.route_verb == "set":
                native.check_route(c, args.mode.strip().lower(), args.share)
        except ValueError as exc:
            return f"{exc}: nothing changed"
    return None


def _main(args: argparse.Namespace) -> int:
    problem = problem_with(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_REFUSED
    return run(_route(args))


async def _route(args: argparse.Namespace) -> int:
    from trading.services.commands import FRESH_S
    from trading.store import Store

    settings = load(args)
    async with migrated_database(settings) as db:
        store = Store(db.pool)
        active = [r for r in await store.control.instances(fresh_s=FRESH_S) if r.role == "active"]
        if args.route_verb == "show":
            return await _show(args, store, settings, active)
        if active:
            return await _through_instances(args, store, [r.account_id for r in active])
        if args.route_verb == "reset":
            print(
                "error: no instance runs: no circuit breaker holds anything on Python; nothing changed", file=sys.stderr
            )
            return EXIT_REFUSED
        return await _store_only(args, store, settings)


async def _store_only(args: argparse.Namespace, store: Store, settings: Any) -> int:
    """No instance runs: the route is stored (and audited) for the next start."""
    from trading import native
    from trading.engine import routes
    from trading.services.routing import route_label

    await routes.load(settings.routing, store)
    c = native.component(args.component)
    mode = args.mode.strip().lower()
    old = route_label(c)
    if (
        native.explicit(c)
        and mode == native.configured(c)
        and (args.share is None or args.share == native.rust_share())
    ):
        print(f"error: {c.value} is already routed {old}: nothing changed", file=sys.stderr)
        return EXIT_REFUSED
    native.set_route(c, mode, args.share)
    new = route_label(c)
    await store.routes.set(c.value, mode, args.share, cli_user(), old, new)
    data = {"component": c.value, "old": old, "new": new, "via": "the store (no instance runs: applied at its start)"}
    print(_dumps(data) if args.json else f"{c.value}: {old} → {new}; stored, applied when an instance starts")
    return 0


async def _through_instances(args: argparse.Namespace, store: Store, accounts: list[int]) -> int:
    """Each running instance applies it (the routes are per process; each stores and audits the same row)."""

    verb = "route_set" if args.route_verb == "set" else "route_reset"
    request: dict[str, Any] = {"component": args.component, "by": cli_user()}
    if verb == "route_set":
        request.update(mode=args.mode, share=args.share)
    worst = 0
    for account_id in sorted(set(accounts)):
        command_id = await store.control.request(account_id, verb, request, request["by"], args.timeout)
        cmd, what = await answered(store, command_id, args.timeout)
        if cmd is None:
            print(f"error: the instance of account {account_id} gave no answer in {args.timeout:g} s: {what}",
                  file=sys.stderr)  # fmt: skip
            worst = EXIT_FAILED
            continue
        result = cmd.result or {}
        if not cmd.ok:
            print(f"error: {result.get('error', 'failed')}", file=sys.stderr)
            worst = worst or (EXIT_REFUSED if result.get("refused") else EXIT_FAILED)
            continue
        data = {"account_id": account_id, "via": f"the running instance {cmd.picked_by}", **result}
        print(_dumps(data) if args.json else "\n".join(_route_lines(result.get("routes", []))))
    return worst


async def _show(args: argparse.Namespace, store: Store, settings: Any, active: list[Any]) -> int:
    from trading import native
    from trading.engine import routes
    from trading.engine.openbook import ny_text
    from trading.services.commands import routes_data
    from trading.services.routing import RoutesView

    changes = await store.routes.changes(10)
    parity = await store.routes.parity()
    compared = await store.routes.compared()
    published = [r for r in active if r.status.get("routes")]
    if published:
        now = {"via": f"the running instance {published[0].instance}", "routes": published[0].status["routes"]}
    else:
        await routes.load(settings.routing, store)
        view = RoutesView(native.states(), [], 0)
        now = {"via": "the settings and the stored routes (no instance runs)", "routes": routes_data(view)}
    data = {
        **now,
        "changes": [
            {"component": c.component, "old": c.old_route, "new": c.new_route, "by": c.changed_by,
             "reason": c.reason, "at_ny": ny_text(c.changed_at)}
            for c in changes
        ],
        "parity": {"compared": compared, "mismatches": [
            {"component": m.component, "kind": m.kind, "count": m.mismatches} for m in parity
        ]},
    }  # fmt: skip
    if args.json:
        print(_dumps(data))
        return 0
    lines = [f"routes (from {now['via']}):", *(f"  {line}" for line in _route_lines(now["routes"]))]
    lines.append("latest changes:" + ("" if changes else " none"))
    lines += [f"  {c['at_ny']} {c['component']}: {c['old']} → {c['new']} by {c['by'] or '?'}"
              + (f" ({c['reason']})" if c["reason"] else "") for c in data["changes"]]  # fmt: skip
    lines.append("parity: " + (", ".join(f"{k} {v} compared" for k, v in compared.items()) or "nothing compared"))
    lines += [f"  {m['component']} {m['kind']}: {m['count']} mismatch(es)" for m in data["parity"]["mismatches"]]
    print("\n".join(lines))
    return 0


def _route_lines(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        trips = f"; breaker trips {r['fallbacks']}" if r.get("fallbacks") else ""
        calls = r.get("calls_served_by_python")
        served = f"; calls served by Python {calls}" if calls else ""
        out.append(f"{r['component']}: {r['text']}{trips}{served}")
    return out


def _dumps(data: dict[str, Any]) -> str:
    import json

    return json.dumps(data, indent=2, default=str)
