"""`tradebot status`, `tradebot flatten`, `tradebot halt [--reduce-only]`, `tradebot resume`: control
without Discord.

When an instance runs the account (it holds the account's lease), a request goes through the store:
a `control_commands` row the instance takes, carries out through trading/services (the calls Discord
makes) and answers; `status` reads what the instance publishes (`engine_instances`). When none runs,
the command acts straight on the broker (and the store), holding the account's lease meanwhile so no
instance starts trading under it: the same services over an engine that is built but not started.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from trading.cli.common import EXIT_CONFIG, EXIT_FAILED, Subcommands, load, migrated_database, run

if TYPE_CHECKING:  # start-up: `tradebot --help` builds this parser without the engine
    from trading.config import Settings
    from trading.engine import Engine
    from trading.store import Store

EXIT_REFUSED = 2  # bad input: nothing changed
DEFAULT_TIMEOUT_S = 30.0
MAX_REASON = 200


WHERE = (
    "Acts on the instance that runs the account (through the store) or, when none runs, straight on the "
    "broker. --paper --sim-url URL names the simulator, --live the configured gateway (default: app.mode)."
)


def _common(p: argparse.ArgumentParser, verb: str) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--paper", action="store_true", help="the account on the simulator (with --sim-url)")
    mode.add_argument("--live", action="store_true", help="the account on the configured gateway")
    p.add_argument("--sim-url", metavar="URL", help="the simulator the paper account lives on")
    p.add_argument("--account", metavar="ID|NAME", help="the account (default: projectx.account_id/_name)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="S",
        help=f"how long to wait for the running instance's answer (default {DEFAULT_TIMEOUT_S:.0f} s)",
    )  # fmt: skip
    if verb in ("flatten", "halt"):
        p.add_argument("--reason", default="", help=f"why (at most {MAX_REASON} characters; shown in the alerts)")
    p.set_defaults(fn=_main, verb=verb)


def register_status(sub: Subcommands) -> None:
    p = sub.add_parser(
        "status",
        help="the running instance (or the broker's view when none runs): hubs, positions, orders, risk, guard, jobs",
        description="Mode, the instance and any standby, hubs and feed age, positions with unrealized P&L, "
        "working orders, risk headroom, the position guard (positions protected now, stops placed, closes at "
        "market) and the next jobs (New York time), as the running instance last "
        "published it (and how old that is). With no instance running: read from the broker and the store. " + WHERE,
    )
    _common(p, "status")


def register_flatten(sub: Subcommands) -> None:
    p = sub.add_parser(
        "flatten",
        help="cancel every working order and close every position of the account",
        description="Cancel every working order (the brackets too) and close every position. " + WHERE,
    )
    _common(p, "flatten")


def register_halt(sub: Subcommands) -> None:
    p = sub.add_parser(
        "halt",
        help="trip the kill switch: flatten and refuse new orders (--reduce-only: only orders that reduce)",
        description="Trip the kill switch. HALTED (the default): cancel every order, close every position, refuse "
        "every new order until `tradebot resume`. --reduce-only: keep the orders and positions, refuse "
        "only what would open or add. Stored: a restart keeps it. " + WHERE,
    )
    p.add_argument("--reduce-only", action="store_true", help="refuse only orders that open or add exposure")
    _common(p, "halt")


def register_resume(sub: Subcommands) -> None:
    p = sub.add_parser(
        "resume", help="reset the kill switch", description="Reset the kill switch: trading allowed again. " + WHERE
    )
    _common(p, "resume")


def problem_with(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments (before anything is opened), or None."""
    if not 0 < args.timeout <= 600:
        return f"--timeout must be between 0 and 600 seconds, got {args.timeout:g}"
    reason = getattr(args, "reason", "")
    if len(reason) > MAX_REASON:
        return f"--reason is {len(reason)} characters long; at most {MAX_REASON}"
    if args.account is not None and not args.account.strip():
        return "--account is empty: give an account id or name"
    if args.sim_url and args.live:
        return "--sim-url is for the simulator: it does not go with --live"
    return None


def _main(args: argparse.Namespace) -> int:
    problem = problem_with(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_REFUSED
    settings = _settings(args)
    if isinstance(settings, int):
        return settings
    return run(_control(args, settings))


def _settings(args: argparse.Namespace) -> Settings | int:
    from trading.cli.run import live_without_credentials

    settings = load(args)
    paper = args.paper or bool(args.sim_url) or (settings.app.mode == "paper" and not args.live)
    px = settings.projectx
    if args.account is not None:
        wanted = args.account.strip()
        px = px.model_copy(update={"account_id": int(wanted), "account_name": ""} if wanted.isdigit() else
                           {"account_id": None, "account_name": wanted})  # fmt: skip
    if not paper:
        problem = live_without_credentials(settings.model_copy(update={"projectx": px}))
        if problem:
            print(f"error: {problem.replace('live mode', 'the live account')}", file=sys.stderr)
            return EXIT_CONFIG
    app = settings.app.model_copy(update={"mode": "paper" if paper else "live"})
    return settings.model_copy(update={"app": app, "projectx": px})


async def _control(args: argparse.Namespace, settings: Settings) -> int:
    import contextlib

    from trading.store import Store
    from trading.store.lease import AccountLease

    async with migrated_database(settings) as db:
        store = Store(db.pool)
        async with contextlib.AsyncExitStack() as stack:
            if args.verb == "status" and args.account is None and settings.projectx.account_id is None:
                shown = await _status_of_every_account(args, store)
                if shown:
                    return 0
            account_id = await _account_from_instances(args, settings, store)
            engine: Engine | None = None
            if account_id is None:
                engine = await _broker_engine(args, settings, store, stack)
                if engine is None:
                    return EXIT_REFUSED if args.account else EXIT_FAILED
                account_id = engine.account_id
            lease = AccountLease(db.pool, account_id)
            if not await lease.try_acquire():
                return await _through_instance(args, store, account_id)
            try:
                if args.verb == "status":  # a look: the lease goes back at once (an instance may be starting)
                    await lease.release()
                if engine is None:
                    engine = await _broker_engine(args, settings, store, stack)
                    if engine is None:
                        return EXIT_FAILED
                return await _straight(args, engine)
            finally:
                await lease.release()


async def _status_of_every_account(args: argparse.Namespace, store: Store) -> bool:
    """`tradebot status` with no account while instances run several ([[accounts]]): each account's
    status, one after another (JSON: a list). False when fewer than two accounts are running."""
    from trading.services.commands import FRESH_S

    rows = await store.control.instances(fresh_s=FRESH_S)
    active = {r.account_id: r for r in sorted(rows, key=lambda r: r.account_id) if r.role == "active"}
    if len(active) < 2:
        return False
    statuses = []
    for account_id, row in active.items():
        standbys = [r for r in rows if r.role == "standby" and r.account_id == account_id]
        statuses.append(
            {**row.status, "instance": _instance_data(row), "standby": [_instance_data(r) for r in standbys]}
        )
    if args.json:
        print(_dumps(statuses))
    else:
        print("\n\n".join("\n".join(render_status(s)) for s in statuses))
    return True


async def _account_from_instances(args: argparse.Namespace, settings: Settings, store: Store) -> int | None:
    """The account to act on when the store already names it (a running instance): no broker login then."""
    from trading.services.commands import FRESH_S

    live = [r for r in await store.control.instances(fresh_s=FRESH_S) if r.role == "active"]
    want = settings.projectx.account_id
    if want is not None:
        return want if any(r.account_id == want for r in live) else None
    name = settings.projectx.account_name.strip().lower()
    named = {r.account_id for r in live if name and str(r.status.get("account_name", "")).lower() == name}
    if len(named) == 1:  # --account NAME of an account a running instance trades ([[accounts]])
        return named.pop()
    if args.account is None and len({r.account_id for r in live}) == 1:
        return live[0].account_id
    return None


async def _broker_engine(args: argparse.Namespace, settings: Settings, store: Store, stack: Any) -> Engine | None:
    """Log in (the gateway of the mode) and pick the account: an engine built, never started."""
    from trading.clock import LiveClock
    from trading.engine.setup import build_engine, gateway_for
    from trading.projectx.errors import AuthError, ProjectXError

    if settings.app.mode == "paper" and not args.sim_url:
        print(
            "error: no instance runs this account: to reach the paper account straight at its simulator, "
            "give --sim-url URL (the `tradebot sim` it lives on)",
            file=sys.stderr,
        )
        return None
    clock = LiveClock()
    gw = await stack.enter_async_context(gateway_for(settings, clock, sim_url=args.sim_url))
    try:
        engine = await build_engine(settings, store, clock, gw, strategies=[])
    except AuthError:
        raise
    except ProjectXError as exc:
        if "account" in str(exc).lower():  # unknown or ambiguous account: the trader's to fix
            print(f"error: {exc}", file=sys.stderr)
            return None
        raise
    stack.push_async_callback(engine.client.aclose)
    await engine.load_risk()
    return engine


async def _through_instance(args: argparse.Namespace, store: Store, account_id: int) -> int:
    import asyncio
    import getpass
    import time

    from trading.services.commands import FRESH_S
    from trading.store.control import HOST

    rows = await store.control.instances(account_id, fresh_s=FRESH_S)
    active = next((r for r in rows if r.role == "active"), None)
    standbys = [r for r in rows if r.role == "standby"]
    if args.verb == "status":
        if active is None:
            print(
                f"error: an instance holds account {account_id} but has published no status for {FRESH_S:.0f} s "
                "(starting, or stuck); try again in a few seconds",
                file=sys.stderr,
            )
            return EXIT_FAILED
        status = {**active.status, "instance": _instance_data(active), "standby": [_instance_data(r) for r in standbys]}
        _out(args, status, render_status(status))
        return 0
    verb = "reduce_only" if args.verb == "halt" and args.reduce_only else args.verb
    request: dict[str, Any] = {"reason": args.reason} if getattr(args, "reason", "") else {}
    by = f"cli {getpass.getuser()}@{HOST}"
    command_id = await store.control.request(account_id, verb, request, by, args.timeout)
    deadline = time.monotonic() + args.timeout
    while True:
        cmd = await store.control.get(command_id)
        assert cmd is not None
        if cmd.done_at is not None:
            break
        if time.monotonic() > deadline:
            if await store.control.withdraw(command_id):
                print(
                    f"error: the instance running account {account_id} did not take the request within "
                    f"{args.timeout:g} s (starting, or stuck): withdrawn, nothing was done; see `tradebot status`",
                    file=sys.stderr,
                )
            else:
                print(
                    f"error: the instance running account {account_id} took the request but gave no answer within "
                    f"{args.timeout:g} s: it may still be carrying it out; see `tradebot status`",
                    file=sys.stderr,
                )
            return EXIT_FAILED
        await asyncio.sleep(0.1)
    where = f"the running instance {cmd.picked_by}"
    return _finish(args, account_id, verb, bool(cmd.ok), cmd.result or {}, where)


async def _straight(args: argparse.Namespace, engine: Engine) -> int:
    from trading.services import Services
    from trading.services.commands import answer, broker_status

    services = Services(engine)
    if args.verb == "status":
        status = {**await broker_status(services), "instance": None, "standby": []}
        _out(args, status, render_status(status))
        return 0
    verb = "reduce_only" if args.verb == "halt" and args.reduce_only else args.verb
    ok, result = await answer(services, verb, {"reason": getattr(args, "reason", "")})
    return _finish(args, engine.account_id, verb, ok, result, "the broker (no instance runs this account)")


def _finish(args: argparse.Namespace, account_id: int, verb: str, ok: bool, result: dict[str, Any], via: str) -> int:
    data = {"account_id": account_id, "request": verb, "ok": ok, "via": via, **result}
    if not ok:
        if args.json:
            print(_dumps(data))
        print(f"error: {result.get('error', 'failed')}", file=sys.stderr)
        return EXIT_REFUSED if result.get("refused") else EXIT_FAILED
    _out(args, data, render_result(data))
    errors = result.get("flattened", {}).get("errors", [])
    return EXIT_FAILED if errors else 0


def _instance_data(r: Any) -> dict[str, Any]:
    from trading.engine.openbook import ny_text

    return {
        "instance": r.instance, "role": r.role, "host": r.host, "pid": r.pid, "mode": r.mode,
        "started_ny": ny_text(r.started_at), "age_s": round(r.age_s, 1),
    }  # fmt: skip


def _dumps(data: dict[str, Any] | list[dict[str, Any]]) -> str:
    import json

    return json.dumps(data, indent=2, default=str)


def _out(args: argparse.Namespace, data: dict[str, Any], text: list[str]) -> None:
    print(_dumps(data) if args.json else "\n".join(text))


# ------------------------------------------------------------------ plain text for a trader
def render_status(s: dict[str, Any]) -> list[str]:
    from trading.engine.openbook import order_line, position_line

    name = f" {s['account_name']}" if s.get("account_name") else ""
    lines = [f"account {s['account_id']}{name} ({s['mode']}), as of {s['as_of_ny']}"]
    inst = s.get("instance")
    if inst is None:
        lines.append("instance: none runs this account; read from the broker and the store")
    else:
        ready = "reconciled with the broker" if s.get("ready") else "NOT reconciled with the broker: no new orders"
        lines.append(
            f"instance: {inst['host']} pid {inst['pid']}, active since {inst['started_ny']}; "
            f"status {inst['age_s']:.1f} s old; {ready}"
        )
    standby = s.get("standby") or []
    if inst is not None:
        lines.append(
            "standby: " + (", ".join(f"{r['host']} pid {r['pid']} (seen {r['age_s']:.1f} s ago)" for r in standby)
                           or "none")
        )  # fmt: skip
    hubs = s.get("hubs")
    if hubs:
        age = hubs.get("feed_age_s")
        feed = (
            "no market event yet"
            if age is None
            else f"last market event {hubs['last_market_event_ny']} ({age:.1f} s ago)"
        )
        lines.append(f"hubs: user {hubs['user']}, market {hubs['market']}; {feed}")
    routes = s.get("routes")
    if routes:
        lines.append("routes: " + "; ".join(f"{x['component']} {x['text']}" for x in routes))
    r = s["risk"]
    switch = "off" if r["kill_switch"] == "none" else f"{r['kill_switch'].upper()} ({r['reason']})"
    lines.append(f"kill switch: {switch}")
    trailing = f"; trailing floor {r['trailing_floor']}, {r['trailing_left']} above it" if r["trailing_floor"] else ""
    lines.append(
        f"risk: balance {r['balance']}, today's P&L {r['day_pnl']} (unrealized {r['unrealized']}); "
        f"daily loss limit {r['daily_loss_limit']}, {r['daily_loss_left']} left{trailing}"
    )
    lines.append(guard_line(s.get("guard"), running=inst is not None))
    rules = [
        f"{h['label']} {h['used']} of {h['limit']} ({h['remaining']} left)"
        for h in r.get("rules", [])
        if h["used"] is not None and h["limit"] is not None
    ]
    if rules:
        lines.append(f"rules ({r.get('profile', 'custom')}): " + "; ".join(rules))
    lines.append("positions: " + ("none" if not s["positions"] else ""))
    lines += [f"  {position_line(p)}" for p in s["positions"]]
    lines.append("working orders: " + ("none" if not s["orders"] else ""))
    lines += [f"  {order_line(o)}" for o in s["orders"]]
    jobs = ", ".join(f"{j['job']} {j['at_ny']}" for j in s.get("next_jobs", [])) or "none"
    lines.append(f"next jobs: {jobs}")
    if s.get("strategies") is not None and inst is not None:
        lines.append("strategies running: " + (", ".join(x["name"] for x in s["strategies"]) or "none"))
    return [line.rstrip() for line in lines]


def guard_line(g: dict[str, Any] | None, *, running: bool) -> str:
    """The position guard as the running instance published it (trading/services/guard.py)."""
    if g is None:
        return "position guard: " + ("not published by this instance" if running else "not running (no instance)")
    if not g["enabled"]:
        return "position guard: off (protection.enabled = false)"
    now = f"{g['protected']} of {g['positions']} position(s) protected by working stops, {g['unprotected']} unprotected"
    return (
        f"position guard: {now}; since start {g['stops']} stop(s) placed, {g['flattens']} closed at market, "
        f"{g['failures']} failed, own stops {g['cancelled']} cancelled and {g['resized']} resized"
    )


def render_result(d: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    verb, account = d["request"], d["account_id"]
    r = d.get("risk")
    if verb == "halt" and r:
        lines.append(f"account {account} halted ({r['reason']}): no new orders until `tradebot resume`")
    elif verb == "reduce_only" and r:
        lines.append(
            f"account {account} is reduce-only ({r['reason']}): working orders and positions stay; "
            "only orders that reduce a position go until `tradebot resume`"
        )
    elif verb == "resume":
        lines.append(f"account {account} resumed: kill switch off, trading allowed")
    done = d.get("flattened")
    if done is not None:
        if not done["cancelled"] and not done["closed"] and not done["errors"]:
            lines.append("nothing to flatten: no working order, no position")
        else:
            if done["cancelled"]:
                lines.append(
                    f"cancelled {len(done['cancelled'])} order(s): " + ", ".join(f"#{i}" for i in done["cancelled"])
                )
            if done["closed"]:
                lines.append(f"closed {len(done['closed'])} position(s): " + ", ".join(done["closed"]))
            lines += [f"failed: {e}" for e in done["errors"]]
    lines.append(f"done by {d['via']}")
    return lines
