"""`Store`: every repository over one pool (or, inside `transaction()`, over one connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from trading.store.audit import AuditRepository
from trading.store.bars import BarRepository
from trading.store.contracts import ContractRepository
from trading.store.control import INSTANCE, ControlRepository
from trading.store.executor import Executor, connection
from trading.store.fills import FillRepository
from trading.store.jobs import JobRepository
from trading.store.latency import LatencyRepository
from trading.store.orders import OrderRepository
from trading.store.outbox import OutboxRepository
from trading.store.positions import PositionRepository
from trading.store.risk_state import RiskStateRepository
from trading.store.routes import RouteRepository
from trading.store.size_rules import SizeRuleRepository
from trading.store.strategy_state import StrategyStateRepository


class Store:
    def __init__(self, db: Executor, account: int | None = None, account_name: str = "") -> None:
        """`account`: the one account whose rows this store reads and writes where a table keeps
        several accounts' rows under one key (job runs, strategy state and control, order tags, the
        outbox's dedupe keys: migration 009). None: a process that trades one account."""
        self.db = db
        self.account = account
        self.account_name = account_name
        self.contracts = ContractRepository(db)
        self.bars = BarRepository(db)
        self.orders = OrderRepository(db, account)
        self.fills = FillRepository(db)
        self.positions = PositionRepository(db)
        self.outbox = OutboxRepository(db, account, account_name)
        self.latency = LatencyRepository(db)
        self.jobs = JobRepository(db, account or 0)
        self.audit = AuditRepository(db)
        self.strategy_state = StrategyStateRepository(db, account or 0)
        self.risk_state = RiskStateRepository(db)
        self.control = ControlRepository(db, INSTANCE if account is None else f"{INSTANCE}#{account}")
        self.routes = RouteRepository(db)
        self.size_rules = SizeRuleRepository(db)

    def for_account(self, account: int, name: str = "") -> Store:
        """The same database seen by one account's engine in a multi-account process."""
        return Store(self.db, account, name)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        """A `Store` whose every call runs in one transaction, committed when the block ends without error.

        Use it where two writes must land together (a fill and its notification: nothing is lost).
        """
        async with connection(self.db) as conn, conn.transaction():
            yield Store(conn, self.account, self.account_name)
