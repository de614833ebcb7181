"""The smoke run itself: log in, refuse a funded or live account, run every read action, and with
`orders` place, modify and cancel one limit order far from the market on each order path (Rust, then
Python), then flatten whatever the run opened. Every step is timed (perf_counter_ns) and recorded,
failures included: one failing step never stops the ones after it (except that no order is placed
without a contract and a reference price)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from trading import domain, native
from trading.domain import Account, Contract, OrderRequest, OrderStatus, OrderType, Rounding, Side, snap_to_tick
from trading.engine.setup import Gateway
from trading.execution import Executor, PythonExecutor, RustExecutor
from trading.projectx.rest import ProjectXClient
from trading.smoke.guard import NoSuchAccount, SmokeRefused, refusal
from trading.smoke.report import SmokeReport, SmokeStep

T = TypeVar("T")

TAG_PREFIX = "smoke-"
BARS_LOOKBACK = timedelta(days=5)  # a weekend and a holiday still leave bars to price the order from
TRADES_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SmokeOptions:
    orders: bool = False
    force: bool = False
    symbol: str = "MNQ"
    account_id: int | None = None  # None: the account the settings pick (projectx.account_id / name / the only one)
    distance_pct: Decimal = Decimal(10)  # how far below the last price the buy limit rests
    profiles_path: Path | None = None


class _Steps:
    def __init__(self, report: SmokeReport) -> None:
        self.report = report

    async def run(self, name: str, call: Callable[[], Awaitable[T]], describe: Callable[[T], str] = lambda _v: "",
                  path: str = "-") -> T | None:  # fmt: skip
        start = time.perf_counter_ns()
        try:
            value = await call()
        except Exception as exc:  # a smoke run records every failure and goes on
            self.report.steps.append(SmokeStep(name, path, False, time.perf_counter_ns() - start, _why(exc)))
            return None
        self.report.steps.append(SmokeStep(name, path, True, time.perf_counter_ns() - start, describe(value)))
        return value

    def skip(self, name: str, path: str, why: str) -> None:
        self.report.steps.append(SmokeStep(name, path, None, 0, why))


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def pick_account(client: ProjectXClient, account_id: int | None) -> Account:
    if account_id is None:
        return await client.resolve_account()
    accounts = await client.accounts(only_active=True)
    for a in accounts:
        if a.id == account_id:
            return a
    names = ", ".join(f"{a.name} (#{a.id})" for a in accounts) or "none"
    raise NoSuchAccount(f"no active account #{account_id} on this login; active accounts: {names}")


async def run_smoke(client: ProjectXClient, gateway: Gateway, options: SmokeOptions) -> SmokeReport:
    """Run the smoke steps against the logged-in `client`; raises `SmokeRefused` before any step on a
    funded or live account (unless `options.force`)."""
    report = SmokeReport(gateway.base_url, gateway.simulated, datetime.now(UTC), orders=options.orders)
    steps = _Steps(report)
    await steps.run("login", client.login)
    account = await pick_account(client, options.account_id)
    why = refusal(account, options.profiles_path)
    if why is not None and not options.force:
        raise SmokeRefused(f"{why}: smoke places and cancels orders there only with --force")
    report.account_id, report.account_name = account.id, account.name
    report.forced = why or ""
    contract = await _reads(steps, client, account, options.symbol)
    if not options.orders:
        return report
    price = await _reference_price(steps, client, contract)
    opened_before = {p.contract_id for p in await client.open_positions(account.id)}
    tag_run = secrets.token_hex(4)
    for path in ("rust", "python"):
        if contract is None or price is None:
            steps.skip(f"order.{path}", path, "no contract or reference price to place an order from")
            continue
        executor = await _executor(steps, client, path)
        if executor is not None:
            await _order_round(steps, executor, account, contract, price, options, f"{TAG_PREFIX}{tag_run}-{path}")
    await steps.run(
        "flatten", lambda: _flatten(client, account.id, f"{TAG_PREFIX}{tag_run}", opened_before), lambda s: s
    )
    return report


async def _reads(steps: _Steps, client: ProjectXClient, account: Account, symbol: str) -> Contract | None:
    """Every read action; the contract to place orders on (the symbol's front month), if found."""
    now = datetime.now(UTC)
    await steps.run("accounts", client.accounts, lambda v: f"{len(v)} active")
    found = await steps.run(
        "contracts.search", lambda: client.front_month(symbol), lambda c: f"{symbol} front month {c.id}"
    )
    contract = None
    if found is not None:
        contract = await steps.run("contracts.by_id", lambda: client.contract_by_id(found.id), lambda c: c.name)
    await steps.run("contracts.available", client.available_contracts, lambda v: f"{len(v)} contracts")
    await steps.run("orders.open", lambda: client.search_open_orders(account.id), lambda v: f"{len(v)} open")
    await steps.run(
        "orders.search", lambda: client.search_orders(account.id, now - TRADES_LOOKBACK), lambda v: f"{len(v)} today"
    )
    await steps.run("positions.open", lambda: client.open_positions(account.id), lambda v: f"{len(v)} open")
    await steps.run(
        "trades.search", lambda: client.search_trades(account.id, now - TRADES_LOOKBACK), lambda v: f"{len(v)} fills"
    )
    return contract


async def _reference_price(steps: _Steps, client: ProjectXClient, contract: Contract | None) -> Decimal | None:
    if contract is None:
        steps.skip("bars.history", "-", "no contract")
        return None
    now = datetime.now(UTC)
    bars = await steps.run(
        "bars.history", lambda: client.retrieve_bars(contract.id, now - BARS_LOOKBACK, now, "1m"),
        lambda v: f"{len(v)} one-minute bars",
    )  # fmt: skip
    if not bars:
        return None
    return Decimal(str(bars[-1].close))


async def _executor(steps: _Steps, client: ProjectXClient, path: str) -> Executor | None:
    if path == "python":
        return PythonExecutor(client)
    if not native.enabled():
        steps.skip("order.rust", "rust", f"the Rust path is not active ({native.describe()})")
        return None
    return await steps.run("executor.rust", lambda: RustExecutor.create(client), path="rust")


async def _order_round(
    steps: _Steps, executor: Executor, account: Account, contract: Contract, last: Decimal, options: SmokeOptions,
    tag: str,
) -> None:  # fmt: skip
    """Place a buy limit `distance_pct` below the last price, move it one more tick down, cancel it."""
    path = executor.path
    below = last * (1 - options.distance_pct / 100)
    limit = max(contract.tick_size, snap_to_tick(below, contract.tick_size, Rounding.DOWN))
    request = OrderRequest(account.id, contract.id, Side.BUY, OrderType.LIMIT, 1, tag, limit_price=limit,
                           reason="tradebot smoke")  # fmt: skip

    placed = await steps.run(
        "order.place", lambda: _checked(executor.place(request), path), lambda t: f"order {t.value} at {limit}", path
    )
    if placed is None:
        return
    order_id = placed.value
    moved = limit - contract.tick_size
    await steps.run(
        "order.modify", lambda: _checked(executor.modify(account.id, order_id, limit_price=moved), path),
        lambda _t: f"limit {limit} -> {moved}", path,
    )  # fmt: skip
    await steps.run("order.cancel", lambda: _checked(executor.cancel(account.id, order_id), path), lambda _t: "", path)


async def _checked(call: Awaitable[T], path: str) -> T:
    """The call's result when the path asked for served it (a Rust call that fell back to Python fails)."""
    value = await call
    by = getattr(value, "path", path)
    if by != path:
        raise RuntimeError(f"served by the {by} path, not {path} (the Rust executor fell back)")
    return value


async def _flatten(client: ProjectXClient, account_id: int, tag_prefix: str, opened_before: set[str]) -> str:
    """Cancel this run's orders still working; close a position on a contract that had none before."""
    cancelled = 0
    for order in await client.search_open_orders(account_id):
        working = order.status in (OrderStatus.OPEN, OrderStatus.PENDING, OrderStatus.SUSPENDED)
        if order.id is not None and working and (order.custom_tag or "").startswith(tag_prefix):
            await client.cancel_order(account_id, order.id)
            cancelled += 1
    closed = []
    ours = {o.contract_id for o in await _run_orders(client, account_id, tag_prefix)}
    for position in await client.open_positions(account_id):
        if position.contract_id in ours and position.contract_id not in opened_before:
            await client.close_position(account_id, position.contract_id)
            closed.append(position.contract_id)
    return f"{cancelled} order(s) cancelled, {len(closed)} position(s) closed" + (
        f" ({', '.join(closed)})" if closed else ""
    )


async def _run_orders(client: ProjectXClient, account_id: int, tag_prefix: str) -> list[domain.Order]:
    since = datetime.now(UTC) - TRADES_LOOKBACK
    return [o for o in await client.search_orders(account_id, since) if (o.custom_tag or "").startswith(tag_prefix)]
