"""`Store`: every repository over one pool (or, inside `transaction()`, over one connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from trading.store.audit import AuditRepository
from trading.store.bars import BarRepository
from trading.store.contracts import ContractRepository
from trading.store.control import ControlRepository
from trading.store.executor import Executor, connection
from trading.store.fills import FillRepository
from trading.store.jobs import JobRepository
from trading.store.latency import LatencyRepository
from trading.store.orders import OrderRepository
from trading.store.outbox import OutboxRepository
from trading.store.positions import PositionRepository
from trading.store.risk_state import RiskStateRepository
from trading.store.routes import RouteRepository
from trading.store.strategy_state import StrategyStateRepository


class Store:
    def __init__(self, db: Executor) -> None:
        self.db = db
        self.contracts = ContractRepository(db)
        self.bars = BarRepository(db)
        self.orders = OrderRepository(db)
        self.fills = FillRepository(db)
        self.positions = PositionRepository(db)
        self.outbox = OutboxRepository(db)
        self.latency = LatencyRepository(db)
        self.jobs = JobRepository(db)
        self.audit = AuditRepository(db)
        self.strategy_state = StrategyStateRepository(db)
        self.risk_state = RiskStateRepository(db)
        self.control = ControlRepository(db)
        self.routes = RouteRepository(db)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        """A `Store` whose every call runs in one transaction, committed when the block ends without error.

        Use it where two writes must land together (a fill and its notification: nothing is lost).
        """
        async with connection(self.db) as conn, conn.transaction():
            yield Store(conn)
