"""Fixtures of the engine's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakes.pg_cluster import PgCluster
from trading.store import Store, close_pool, create_pool, migrate


@pytest_asyncio.fixture
async def own_cluster_store() -> AsyncIterator[tuple[PgCluster, Store]]:
    """A store on a Postgres server of the test's own (tests/fakes/pg_cluster.py), so that it can really
    go away (stop, start) without touching the shared server."""
    cluster = PgCluster()
    cluster.start()
    pool = await create_pool(cluster.url, min_size=1, max_size=4)
    try:
        await migrate(pool)
        yield cluster, Store(pool)
    finally:
        await close_pool(pool)
        cluster.destroy()
