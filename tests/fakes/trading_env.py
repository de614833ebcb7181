"""A trading desk for tests: the simulated gateway, a running engine on it (no strategy: the one owner
of the account), `Services` over that engine, a Store and a separate ProjectX client to look at the
broker, all on one clock set inside a CME session (Monday 10:00 New York) so risk's trading hours pass."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from trading.clock import SimClock
from trading.config import ProjectXSettings, Settings, SimSettings
from trading.engine import Engine
from trading.engine.setup import build_engine, close_engine, sim_gateway
from trading.projectx.rest import ProjectXClient
from trading.services import Services
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.store import Store

# A Monday in a regular session, ahead of the wall clock so the sim's tokens never look expired.
SESSION_START = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)  # 10:00 New York
MNQ_PRICE = Decimal("21000.00")


@dataclass
class Desk:
    sim: SimGateway
    broker: ProjectXClient
    services: Services
    clock: SimClock
    settings: Settings
    engine: Engine

    async def price(self, symbol: str, price: Decimal | str, size: int = 1) -> None:
        await self.sim.market.trade(self.sim.contract(symbol), str(price), size)

    async def broker_orders(self) -> int:
        """How many orders the broker has ever seen on the account (to prove nothing was sent)."""
        return len(await self.broker.search_orders(self.sim.account_id, datetime(2000, 1, 1, tzinfo=UTC)))


def desk_settings(**over: Any) -> Settings:
    return Settings(**over)


@contextlib.asynccontextmanager
async def trading_desk(store: Store, settings: Settings | None = None) -> AsyncIterator[Desk]:
    settings = settings or desk_settings()
    clock = SimClock(SESSION_START, speed=1.0)  # runs with real time, from a session morning
    options = SimOptions(contracts_as_of=SESSION_START)
    async with SimGateway(SimSettings(port=0), clock=clock, options=options) as sim:
        px = ProjectXSettings(retry_delays_s=(0.05,))
        async with ProjectXClient(px, base_url=sim.base_url, username=sim.username, api_key=sim.api_key) as broker:
            engine_settings = settings.model_copy(update={"projectx": px})
            engine = await build_engine(engine_settings, store, clock, sim_gateway(sim), strategies=[])
            try:
                await engine.start()
                desk = Desk(sim, broker, Services(engine), clock, settings, engine)
                await desk.price("MNQ", MNQ_PRICE)
                await desk.price("MES", "5800.00")
                yield desk
            finally:
                await close_engine(engine)
