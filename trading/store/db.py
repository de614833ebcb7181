"""The connection pool: from `database.url`, or from the embedded server when no URL is set."""

from __future__ import annotations

import asyncio
import json
import logging
from types import TracebackType
from typing import Any

import asyncpg

from trading.config import Settings
from trading.store import tls
from trading.store.embedded import EmbeddedServer, start_embedded
from trading.store.errors import DatabaseUnavailable
from trading.store.executor import Connection, Pool

log = logging.getLogger(__name__)

POOL_CLOSE_S = 30.0


def _jsonb_encode(value: object) -> bytes:
    return b"\x01" + json.dumps(value).encode()  # jsonb's binary format: version byte 1, then the text


def _jsonb_decode(data: bytes) -> object:
    return json.loads(data[1:])


async def _init_connection(conn: Connection) -> None:
    # jsonb in and out as Python objects; every repository relies on it. Binary format, so that COPY
    # (which asyncpg runs in binary) can write jsonb columns too.
    await conn.set_type_codec(
        "jsonb", encoder=_jsonb_encode, decoder=_jsonb_decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10, command_timeout: float | None = 30.0) -> Pool:
    """An asyncpg pool with the codecs the repositories expect. Errors never repeat the URL."""
    try:
        return await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            command_timeout=command_timeout,
            init=_init_connection,
            **tls.options(url),  # no TLS to this machine's server unless the URL asks (tls.py)
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailable(
            f"cannot connect to the database ({type(exc).__name__}: {exc}); check database.url"
        ) from None


async def close_pool(pool: Pool, within: float = POOL_CLOSE_S) -> bool:
    """Close `pool`, waiting at most `within` seconds for its connections to come back (asyncpg's own
    close waits for ever on a connection never released: a shutdown, or a test's teardown, would hang).
    Past the bound the connections are dropped (`terminate`), said in a warning, and False returned."""
    try:
        async with asyncio.timeout(within):  # not wait_for: see trading/engine/copy.py run()
            await pool.close()
    except TimeoutError:
        log.warning("the database pool did not close within %.0f s (a connection never came back): dropped", within)
        pool.terminate()
        return False
    return True


class Database:
    """An open pool, and the embedded server behind it when there is one. Use as `async with`."""

    def __init__(self, pool: Pool, url: str, embedded: EmbeddedServer | None = None) -> None:
        self.pool = pool
        # May hold a password: kept out of repr and logs.
        self.url = url
        self.embedded = embedded

    @property
    def where(self) -> str:
        """Where the data lives, safe to print."""
        if self.embedded is not None:
            return f"embedded Postgres in {self.embedded.data_dir}"
        return "database.url (external Postgres)"

    def __repr__(self) -> str:
        return f"Database({self.where})"

    async def close(self) -> None:
        await close_pool(self.pool)
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)
            self.embedded = None

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def configured_url(settings: Settings) -> str | None:
    """`database.url` when set to something non-empty (an empty line in .env means "embedded")."""
    url = settings.database.url
    if url is None:
        return None
    value = url.get_secret_value().strip()
    return value or None


async def open_database(settings: Settings, **pool_options: Any) -> Database:
    """Open the pool on `database.url`, or start the embedded server first when none is set."""
    db = settings.database
    options: dict[str, Any] = {
        "min_size": db.pool_min,
        "max_size": max(db.pool_max, db.pool_min),
        "command_timeout": db.command_timeout_s,
    }
    options.update(pool_options)
    url = configured_url(settings)
    if url is not None:
        return Database(await create_pool(url, **options), url)
    embedded = await start_embedded(db.embedded_dir)
    try:
        url = embedded.uri()
        pool = await create_pool(url, **options)
    except BaseException:
        import asyncio

        await asyncio.to_thread(embedded.stop)
        raise
    return Database(pool, url, embedded)
