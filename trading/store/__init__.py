"""Postgres storage: the pool (or the embedded server), the migrations runner, one repository per table family.

No SQL lives outside this package.
"""

from trading.store.db import Database, close_pool, create_pool, open_database
from trading.store.errors import (
    DatabaseUnavailable,
    DuplicateOrderTag,
    MigrationError,
    StoreError,
    UnknownOrder,
    store_unreachable,
)
from trading.store.migrate import MigrationStatus, migrate, status
from trading.store.store import Store

__all__ = [
    "Database",
    "DatabaseUnavailable",
    "DuplicateOrderTag",
    "MigrationError",
    "MigrationStatus",
    "Store",
    "StoreError",
    "UnknownOrder",
    "close_pool",
    "create_pool",
    "migrate",
    "open_database",
    "status",
    "store_unreachable",
]
