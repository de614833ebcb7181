"""What a repository runs its SQL on: the pool, or one connection (inside `Store.transaction()`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import asyncpg

# asyncpg ships no type information: both are `Any` to mypy. Named so signatures still say what they take.
Pool: TypeAlias = Any
Connection: TypeAlias = Any
Executor: TypeAlias = Any  # a Pool or a Connection
Record: TypeAlias = Any


@asynccontextmanager
async def connection(executor: Executor) -> AsyncIterator[Connection]:
    """One connection for work that must share a session (temp tables, locks): borrowed from a pool,
    or the connection itself when the repository is already bound to one."""
    if isinstance(executor, asyncpg.Pool):
        async with executor.acquire() as conn:
            yield conn
    else:
        yield executor


def is_closed(executor: Executor) -> bool:
    """The pool is closing or closed (or the bound connection is): nothing run on it can succeed again."""
    if isinstance(executor, asyncpg.Pool):
        return bool(executor.is_closing())
    return bool(executor.is_closed())


_releases: set[asyncio.Task[None]] = set()


async def fetchrow_now(executor: Executor, query: str, *args: object) -> Record:
    """`fetchrow` for the order path: on a pool, the connection goes back in the background.

    Releasing a pooled connection resets its session first (asyncpg: advisory unlocks, CLOSE ALL,
    UNLISTEN, RESET ALL), one more round trip (~130-300 µs here) that the caller would otherwise wait
    for after its row is already durable. The reset still runs before anyone else gets the connection;
    `Pool.close()` waits for it as for any release."""
    if not isinstance(executor, asyncpg.Pool):
        return await executor.fetchrow(query, *args)
    conn = await executor.acquire()
    try:
        return await conn.fetchrow(query, *args)
    finally:
        task = asyncio.ensure_future(executor.release(conn))
        _releases.add(task)
        task.add_done_callback(_released)


def _released(task: asyncio.Task[None]) -> None:
    _releases.discard(task)
    if not task.cancelled():
        task.exception()  # a failed reset terminates the connection (asyncpg); nothing to tell the caller
