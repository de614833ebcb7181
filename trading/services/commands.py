"""Control without Discord: `tradebot status|flatten|halt|resume` as calls on the engine.

- `serve_control(engine)`: entered around a running engine (`tradebot run`, `python -m bot`). It takes
  the CLI's requests for its account from the store (`control_commands`, polled every `POLL_S`), carries
  each out once through `Services` (the very calls Discord's /halt, /resume and /flatten make: there is
  no second flatten or kill-switch path) and writes the outcome; and it publishes the engine's status
  (`engine_instances`, every `PUBLISH_S`): mode, hubs and feed age, positions with unrealized P&L,
  working orders, risk headroom, the position guard's counts, next jobs.
- `carry_out(services, verb, args)`: one request, as plain JSON-ready data (the CLI renders it). With no
  instance running the CLI calls it over an engine that is built but not started (the broker and the
  store straight, the account's lease held meanwhile).
- `engine_status` / `broker_status`: the status as the running engine sees it, or as the broker and
  the store say it when no instance runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import asdict, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from trading import native
from trading.calendar import NotATradingDay, next_trading_day, trading_day
from trading.engine import Engine, current_trading_day
from trading.engine.jobs import day_plan
from trading.engine.openbook import broker_book, ny_text, order_row, position_row
from trading.services import Services
from trading.services.errors import BadInput, ServiceError
from trading.services.results import Flattened, RiskView
from trading.services.routing import RoutesView, route_text

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often the running instance looks for requests
PUBLISH_S = 2.0  # how often it publishes its status
FRESH_S = 15.0  # a status older than this belongs to an instance that is gone (or stuck)
NEXT_JOBS = 3

VERBS = ("flatten", "halt", "reduce_only", "resume", "route_set", "route_reset", "account_size")


# ------------------------------------------------------------------ the requests
async def carry_out(services: Services, verb: str, args: dict[str, Any]) -> dict[str, Any]:
    """Do one request through the services; raises `ServiceError` for a refusal (bad input, a broker failure)."""
    reason = str(args.get("reason", "")).strip()
    if verb == "flatten":
        return {"flattened": flattened_data(await services.flatten(reason or "flattened from the command line"))}
    if verb == "halt":
        view, done = await services.halt(reason)
        return {"risk": risk_data(view), "flattened": flattened_data(done)}
    if verb == "reduce_only":
        return {"risk": risk_data(await services.reduce_only(reason))}
    if verb == "resume":
        return {"risk": risk_data(await services.resume())}
    if verb == "route_set":
        share = args.get("share")
        by = str(args.get("by", ""))
        routes = await services.set_route(str(args.get("component", "")), str(args.get("mode", "")), share, by)
        return {"routes": routes_data(routes)}
    if verb == "route_reset":
        return {
            "routes": routes_data(await services.reset_route(str(args.get("component", "")), str(args.get("by", ""))))
        }
    if verb == "account_size":  # `tradebot account size`: this account's rule from its next opening order
        multiplier, contracts = args.get("multiplier"), args.get("contracts")
        change = await services.set_size(
            None if multiplier is None else Decimal(str(multiplier)),
            None if contracts is None else int(contracts),
            bool(args.get("reset", False)),
            str(args.get("by", "")),
        )
        return {"size": asdict(change)}
    raise BadInput(f"Unknown request {verb!r}; known: {', '.join(VERBS)}")


async def answer(services: Services, verb: str, args: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """`carry_out`, with a refusal or a failure as the outcome instead of an exception."""
    try:
        return True, await carry_out(services, verb, args)
    except ServiceError as exc:
        return False, {"error": str(exc), "refused": isinstance(exc, BadInput)}
    except Exception as exc:
        log.exception("control request %s failed", verb)
        return False, {"error": f"{type(exc).__name__}: {exc}", "refused": False}


def routes_data(view: RoutesView) -> list[dict[str, Any]]:
    """Each component's route as plain data (what `tradebot route show` prints)."""
    return [
        {**asdict(st), "text": route_text(st), **({"calls_served_by_python": view.executor_fallbacks}
                                                  if st.component == "executor" else {})}
        for st in view.routes
    ]  # fmt: skip


def flattened_data(done: Flattened) -> dict[str, Any]:
    return {"cancelled": list(done.cancelled), "closed": list(done.closed), "errors": list(done.errors)}


def risk_data(view: RiskView) -> dict[str, Any]:
    floor = view.trailing_floor
    return {
        "kill_switch": view.kill_switch,
        "reason": view.reason,
        "balance": str(view.balance),
        "day_pnl": str(view.day_pnl),
        "unrealized": str(view.unrealized),
        "daily_loss_limit": str(view.daily_loss_limit),
        "daily_loss_left": str(view.daily_loss_limit + view.day_pnl),  # the day's P&L may fall this much more
        "trailing_limit": str(view.trailing_limit),
        "trailing_floor": None if floor is None else str(floor),
        "trailing_left": None if floor is None else str(view.balance - floor),
        "profile": view.profile,
        "rules": [
            {
                "rule": h.rule,
                "label": h.label,
                "used": None if h.used is None else str(h.used),
                "limit": None if h.limit is None else str(h.limit),
                "remaining": None if h.remaining is None else str(h.remaining),
                "fraction": None if h.fraction is None else str(h.fraction),
                "detail": h.detail,
            }
            for h in view.rules
        ],
    }


# ------------------------------------------------------------------ the status
def next_jobs(services: Services, now: datetime, count: int = NEXT_JOBS) -> list[dict[str, Any]]:
    """The next scheduled session jobs (today's remaining ones, then the next trading days')."""
    found: list[dict[str, Any]] = []
    day = current_trading_day(now)
    for _ in range(5):
        if day is None or len(found) >= count:
            break
        for occ in sorted(day_plan(day, services.settings), key=lambda o: o.at):
            if occ.at > now and len(found) < count:
                found.append({"job": occ.job, "at": occ.at.isoformat(), "at_ny": ny_text(occ.at)})
        try:
            day = trading_day(next_trading_day(day.date))
        except NotATradingDay:  # pragma: no cover - next_trading_day returns trading days
            day = None
    return found


async def engine_status(services: Services) -> dict[str, Any]:
    """The running engine's own view (its memory: no broker call), for `tradebot status`."""
    e = services.engine
    now = e.clock.now()
    by_id = e.contracts_by_id()
    positions = []
    for cid, p in sorted(e.positions.items()):
        c = by_id.get(cid)
        last = e.last_price(c.symbol) if c is not None and c.symbol in e.contracts else None
        positions.append(position_row(p, c, last))
    orders = [
        order_row(o, by_id.get(o.contract_id))
        for _, o in sorted(e.orders.items())
        if o.status.is_working and o.account_id == e.account_id
    ]
    return {
        "running": True,
        "mode": services.settings.app.mode,
        "account_id": e.account_id,
        "account_name": e.account_name,
        "as_of": now.isoformat(),
        "as_of_ny": ny_text(now),
        "ready": e.ready,
        "hubs": hubs_data(e, now),
        "routes": routes_data(RoutesView(native.states(), [], services.executor_fallbacks())),
        "positions": positions,
        "orders": orders,
        "risk": risk_data(await services.risk_status()),
        "guard": services.guard_status().data(),
        "next_jobs": next_jobs(services, now),
        "strategies": [s for s in services.strategy_list() if s["running"]],
    }


def hubs_data(e: Engine, now: datetime) -> dict[str, Any]:
    age = None if e.market_seen_at is None else max(0.0, (now - e.market_seen_at).total_seconds())
    return {
        "user": "connected" if e.user_stream is not None and e.user_stream.connected else "disconnected",
        "market": "connected" if e.market_stream is not None and e.market_stream.connected else "disconnected",
        "last_market_event_ny": ny_text(e.market_seen_at),
        "feed_age_s": age,
    }


async def broker_status(services: Services) -> dict[str, Any]:
    """With no instance running: the broker's positions (marked at its last price) and working orders,
    the stored kill switch, today's P&L from the broker's trades, the next jobs."""
    e = services.engine
    now = e.clock.now()
    book = await broker_book(e.client, e.account_id, now, e.contracts_by_id())
    account = await services.account()
    pnl = await services.pnl("today")
    unrealized = sum((Decimal(p["unrealized"]) for p in book["positions"] if p["unrealized"]), Decimal(0))
    view = replace(
        await services.risk_status(), balance=account.balance, day_pnl=pnl.net + unrealized, unrealized=unrealized
    )
    return {
        "running": False,
        "mode": services.settings.app.mode,
        "account_id": e.account_id,
        "account_name": account.name,
        "as_of": now.isoformat(),
        "as_of_ny": ny_text(now),
        **book,
        "risk": risk_data(view),
        "next_jobs": next_jobs(services, now),
    }


# ------------------------------------------------------------------ serving them in a running instance
@contextlib.asynccontextmanager
async def serve_control(engine: Engine) -> AsyncIterator[None]:
    """Take the CLI's requests and publish the status while the block runs (around a started engine)."""
    services = Services(engine)
    task = asyncio.create_task(_serve(services), name="control")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _serve(services: Services) -> None:
    e = services.engine
    control = e.store.control
    published = 0.0
    loop = asyncio.get_running_loop()
    while True:
        try:
            if loop.time() - published >= PUBLISH_S:
                await control.publish(e.account_id, "active", services.settings.app.mode, await engine_status(services))
                published = loop.time()
            while (cmd := await control.take(e.account_id)) is not None:
                log.warning("control: %s %s, requested by %s", cmd.verb, cmd.args, cmd.requested_by or "?")
                ok, result = await answer(services, cmd.verb, cmd.args)
                await control.finish(cmd.id, ok, result)
                published = 0.0  # the status shows the result at once
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away, say: try again on the next poll
            log.warning("control: %s", exc)
        await asyncio.sleep(POLL_S)
