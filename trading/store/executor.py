"""What a repository runs its SQL on: the pool, or one connection (inside `Store.transaction()`)."""

from __future__ import annotations

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
