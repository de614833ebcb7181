"""Wiring an `Engine` to a gateway: the REST client, the order path and the two hubs.

Paper and live differ only in the addresses and credentials passed here (the simulator's, or
`[projectx]`'s).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from trading import native, notifications
from trading.clock import Clock
from trading.config import AccountSettings, Settings
from trading.domain import Account, NotificationKind
from trading.engine import routes
from trading.engine.core import HISTORY_DAYS, Engine
from trading.engine.order_path import order_path
from trading.metrics import LatencyMetrics
from trading.projectx import schema as s
from trading.projectx.decode_parity import DecodeParity
from trading.projectx.errors import ProjectXError
from trading.projectx.failover import market_stream, user_stream
from trading.projectx.rest import ProjectXClient
from trading.shadow import Comparator, Mismatch
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.store import Store
from trading.streaming import StreamEvent


@dataclass(frozen=True, slots=True)
class Gateway:
    base_url: str
    user_hub_url: str
    market_hub_url: str
    username: str
    api_key: str
    simulated: bool


def sim_gateway(sim: SimGateway) -> Gateway:
    return Gateway(sim.base_url, sim.user_hub_url, sim.market_hub_url, sim.username, sim.api_key, True)


def live_gateway(settings: Settings) -> Gateway:
    px = settings.projectx
    return Gateway(px.base_url, px.user_hub_url, px.market_hub_url, px.username, px.api_key.get_secret_value(), False)


def sim_url_gateway(settings: Settings, url: str) -> Gateway:
    """A simulator running elsewhere (`tradebot sim`), logged into with `[sim]`'s credentials."""
    base = url.rstrip("/")
    sim = settings.sim
    return Gateway(
        base, base + s.USER_HUB_PATH, base + s.MARKET_HUB_PATH, sim.username, sim.api_key.get_secret_value(), True
    )


def paper_sim_options() -> SimOptions:
    """The in-process simulator of a paper run: a random market with a month of history, sessions enforced."""
    return SimOptions(market_mode="random", warmup_days=HISTORY_DAYS + 6, enforce_sessions=True)


@contextlib.asynccontextmanager
async def gateway_for(
    settings: Settings,
    clock: Clock,
    *,
    sim_url: str | None = None,
    sim_options: SimOptions | None = None,
    sim_port: int | None = None,
) -> AsyncIterator[Gateway]:
    """What `app.mode` trades against: live, the configured gateway; paper, the simulator at `sim_url`,
    or one started in-process for the run (on `sim_port`, else `[sim].port`; 0 picks a free one)."""
    if settings.app.mode != "paper":
        yield live_gateway(settings)
    elif sim_url:
        yield sim_url_gateway(settings, sim_url)
    else:
        sim = SimGateway(settings.sim, clock=clock, options=sim_options or paper_sim_options())
        await sim.start(port=sim_port)
        try:
            yield sim_gateway(sim)
        finally:
            await sim.stop()


async def build_engine(
    settings: Settings,
    store: Store,
    clock: Clock,
    gateway: Gateway,
    *,
    strategies: Sequence[str] | None = None,
    prefer_rust: bool = True,
    metrics: LatencyMetrics | None = None,
    plan: AccountSettings | None = None,
) -> Engine:
    """Log in, pick the account, build the order path and the hubs; the engine is not started.
    `plan`: one account of a multi-account process (`[[accounts]]`): that account by name, its
    strategies, size rule and rule profile, and a store scoped to it."""

    async def auth_trouble(message: str) -> None:
        await store.outbox.enqueue(NotificationKind.ALERT, dict(notifications.alert("Broker login failing", message)))

    client = ProjectXClient(
        settings.projectx,
        base_url=gateway.base_url,
        username=gateway.username,
        api_key=gateway.api_key,
        on_auth_trouble=auth_trouble,
    )
    await client.login(patient=True)  # a throttled or failing gateway at start is waited out, never fatal
    account = await client.resolve_account() if plan is None else await _named_account(client, plan.name)
    if plan is not None:
        store = store.for_account(account.id, account.name)
        settings = settings.for_account(plan)
        strategies = plan.strategies if strategies is None else strategies
    metrics = metrics or LatencyMetrics(clock, store.latency)
    holder: list[Engine] = []

    async def on_user(batch: Sequence[StreamEvent]) -> None:
        await holder[0].on_user(batch)

    async def on_market(batch: Sequence[StreamEvent]) -> None:
        await holder[0].on_market(batch)

    def token() -> str:
        return client.token or ""

    # The simulator may run on a simulated clock: no wall-clock stale-feed (event) watchdog there. The
    # user hub's keep-alive watchdog runs everywhere: hub pings are wall-clock, also in the simulator; a
    # stale user hub is rebuilt and its RECONNECTED makes the engine reconcile.
    stale = None if gateway.simulated else settings.projectx.stale_feed_s
    # The routes first ([routing], then an admin's stored choice): they pick each stream's implementation.
    await routes.load(settings.routing, store)

    # Each hub on its route (the Rust stream or signalrcore), moved to signalrcore if the Rust one dies.
    # Route shadow: a second (Rust) connection per hub whose events are only compared, mismatches stored.
    def mismatch(m: Mismatch) -> None:
        if holder:
            holder[0].spawn(routes.mismatch(store, m), "parity-mismatch")

    compare_user = Comparator(native.Component.USER_STREAM.value, mismatch)
    compare_market = Comparator(native.Component.MARKET_STREAM.value, mismatch)
    user = user_stream(
        gateway.user_hub_url,
        on_user,
        token,
        DecodeParity(compare_user),
        keepalive_stale_s=settings.projectx.user_stale_s,
    )
    market = market_stream(gateway.market_hub_url, on_market, token, DecodeParity(compare_market), stale_after_s=stale)
    user.follow_tokens(client)
    market.follow_tokens(client)
    user.metrics = market.metrics = metrics  # the decoded and handler stages
    engine = Engine(
        settings,
        store,
        client,
        clock,
        account_id=account.id,
        path=await order_path(client, metrics, prefer_rust=prefer_rust),
        metrics=metrics,
        strategies=strategies,
        user_stream=user,
        market_stream=market,
        plan=plan,
    )
    engine.comparators += [compare_market, compare_user]
    engine.balance = account.balance
    engine.account_name = account.name  # the rule profile's auto-detection reads it
    holder.append(engine)
    return engine


async def _named_account(client: ProjectXClient, name: str) -> Account:
    accounts = await client.accounts(only_active=True)
    for account in accounts:
        if account.name.lower() == name.strip().lower():
            return account
    listed = ", ".join(f"{a.name} (#{a.id})" for a in accounts) or "none"
    raise ProjectXError(f"No active account {name!r} on this login; active accounts: {listed}")


async def close_engine(engine: Engine) -> None:
    await engine.stop()
    await engine.client.aclose()
