"""`tradebot sim`: run the simulated gateway standalone, or send it a fault / a price over `/sim/...`.

tradebot sim --port 8900                       # serve a live-like market: 30 days of history, prints in session
tradebot sim --market manual                   # prices only from /sim/... calls (tests)
tradebot sim --replay bars.csv --contract CON.F.US.MNQ.Z26 --speed 60
tradebot sim --fault http_500_after --path /api/Order/place --count 1   # to a running sim
tradebot sim --fault drop_hubs --hub market
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Literal

from trading.cli.common import Subcommands, load
from trading.sim.fault_kind import FaultKind

WARMUP_DAYS = 30.0  # enough for every strategy's look-back (15 CME sessions for ATRD, with holidays)
MAX_WARMUP_DAYS = 366.0
IMMEDIATE = (
    "expire_tokens",
    "drop_hubs",
    "stall_hubs",
    "unstall_hubs",
    "refuse_hubs",
    "accept_hubs",
    "logout",
    "up",
    "clear",
)


def register(sub: Subcommands) -> None:
    p = sub.add_parser(
        "sim",
        help="run the simulated ProjectX gateway (or inject a fault into a running one)",
        description="Serve the simulated ProjectX gateway: REST on /api, SignalR hubs on /hubs/user and "
        "/hubs/market. With --fault, send a fault to a running simulator instead.",
    )
    p.add_argument("--host", default=None, help="interface to listen on (default: [sim] host)")
    p.add_argument("--port", type=int, default=None, help="port (default: [sim] port; 0 = any free port)")
    p.add_argument(
        "--market",
        choices=("random", "manual", "replay"),
        default=None,
        help="price source: random (default: a seeded market that looks like the index futures, history "
        "and live prints in CME hours), manual (prices only from /sim calls, for tests), replay (--replay CSV)",
    )
    p.add_argument(
        "--warmup-days",
        type=float,
        default=None,
        help=f"days of 1-minute history served at start (random market; default {WARMUP_DAYS:g})",
    )
    p.add_argument("--replay", metavar="CSV", help="replay one-minute bars from a CSV (t,o,h,l,c,v)")
    p.add_argument("--contract", help="contract id the replay drives (default: the MNQ front month)")
    p.add_argument("--speed", type=float, default=None, help="simulated seconds per real second")
    p.add_argument("--rate-limit", type=int, default=200, help="requests per 60 s per token (live: 200)")
    p.add_argument("--position-brackets", action="store_true", help="accounts start in Position Brackets mode")
    p.add_argument("--fault", choices=[*FaultKind, *IMMEDIATE], help="send this fault to a running simulator")
    p.add_argument("--path", help="endpoint path the fault applies to (default: every /api path)")
    p.add_argument("--count", type=int, default=1, help="how many requests the fault hits")
    p.add_argument("--seconds", type=float, default=5.0, help="delay for delay_after")
    p.add_argument("--hub", choices=("user", "market"), help="hub for drop/stall/refuse (default: both)")
    p.add_argument("--url", help="simulator base URL for --fault (default: http://[sim] host:port)")
    p.set_defaults(fn=_main)


def _main(args: argparse.Namespace) -> int:
    settings = load(args)
    if args.fault:
        url = args.url or f"http://{settings.sim.host}:{args.port or settings.sim.port}"
        return send_fault(url, args)
    return _serve(args, settings)


def send_fault(url: str, args: argparse.Namespace) -> int:
    import json
    import urllib.error
    import urllib.request

    body: dict[str, Any] = {"kind": args.fault, "count": args.count, "seconds": args.seconds}
    if args.path:
        body["path"] = args.path
    if args.hub:
        body["hub"] = args.hub
    req = urllib.request.Request(
        url.rstrip("/") + "/sim/faults", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            print(resp.read().decode())
    except urllib.error.HTTPError as exc:
        print(f"simulator refused the fault: {exc.read().decode()}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"no simulator at {url}: {exc}", file=sys.stderr)
        return 1
    return 0


def _serve(args: argparse.Namespace, settings: Any) -> int:
    import asyncio

    from trading.sim.gateway import SimGateway
    from trading.sim.options import SimOptions

    sim_settings = settings.sim
    updates: dict[str, Any] = {}
    if args.speed is not None:
        updates["speed"] = args.speed
    if args.position_brackets:
        updates["auto_oco_brackets"] = False
    if updates:
        sim_settings = sim_settings.model_copy(update=updates)
    mode: Literal["manual", "random", "replay"] = args.market or ("replay" if args.replay else "random")
    warmup = args.warmup_days if args.warmup_days is not None else (WARMUP_DAYS if mode == "random" else 0.0)
    if warmup < 0 or warmup > MAX_WARMUP_DAYS:
        print(f"error: --warmup-days must be between 0 and {MAX_WARMUP_DAYS:g}, got {warmup:g}", file=sys.stderr)
        return 2
    options = SimOptions(
        market_mode=mode,
        warmup_days=warmup,
        replay_csv=args.replay,
        replay_contract=args.contract,
        rate_limit_requests=args.rate_limit,
    )

    async def serve() -> None:
        sim = SimGateway(sim_settings, options=options)
        await sim.start(args.host, args.port)
        try:
            print(f"ProjectX simulator on {sim.base_url}  (market: {mode})")
            print(f"  userName: {sim.username}")
            print(f"  apiKey:   {sim.api_key}")
            for acc in sim.exchange.accounts.values():  # [sim] extra_accounts: several on the one login
                print(f"  accountId: {acc.id}  ({acc.name})")
            print(f"  REST:       {sim.base_url}/api/...")
            print(f"  user hub:   {sim.user_hub_url}")
            print(f"  market hub: {sim.market_hub_url}")
            print(f"  contracts:  {', '.join(c.id for c in sim.contracts.active[:4])} ...")
            print(f"  faults:     tradebot sim --fault KIND --url {sim.base_url}  (or POST {sim.base_url}/sim/faults)")
            sys.stdout.flush()
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    asyncio.run(serve())  # Ctrl-C: trading.cli turns KeyboardInterrupt into exit 130
    return 0
