"""Closing a pool is bounded: a connection never given back no longer keeps a shutdown (or a test's
teardown) waiting for ever; it is dropped after the bound, and the caller is told."""

from __future__ import annotations

import asyncpg
import pytest

from trading.store import close_pool, create_pool


async def test_a_pool_with_every_connection_back_closes_cleanly(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=2)
    async with pool.acquire() as conn:
        assert await conn.fetchval("SELECT 1") == 1
    assert await close_pool(pool, within=30)
    assert pool.is_closing()


async def test_a_connection_never_released_is_dropped_after_the_bound(database_url: str) -> None:
    pool = await create_pool(database_url, min_size=1, max_size=2)
    held = await pool.acquire()  # never released, as by a task a failure left suspended
    assert not await close_pool(pool, within=0.2)
    assert pool.is_closing()
    with pytest.raises(asyncpg.InterfaceError):  # its connection is gone with the pool
        await held.fetchval("SELECT 1")
