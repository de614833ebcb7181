"""The demo's own database: `tradebot_demo`, fresh each run, on the configured server (database.url)
or on the embedded server when none is configured. Never the service's own database: a demo day
must not mix with real orders."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from trading.config import Settings
from trading.store import create_pool
from trading.store.admin import database_url_for, drop_database, ensure_database
from trading.store.db import configured_url
from trading.store.embedded import EmbeddedServer, start_embedded
from trading.store.executor import Pool
from trading.store.migrate import migrate

DEMO_DATABASE = "tradebot_demo"


@dataclass
class DemoDatabase:
    pool: Pool
    where: str
    embedded: EmbeddedServer | None = None

    async def close(self) -> None:
        await self.pool.close()
        if self.embedded is not None:
            import asyncio

            await asyncio.to_thread(self.embedded.stop)


def _safe(url: str) -> str:
    p = urlsplit(url)
    return f"{p.hostname}:{p.port or 5432}"


async def open_demo_database(settings: Settings, url: str | None = None) -> DemoDatabase:
    """`url` as given (tests), else `tradebot_demo` dropped and created anew, migrated."""
    embedded: EmbeddedServer | None = None
    if url is None:
        server = configured_url(settings)
        if server is None:
            embedded = await start_embedded(settings.database.embedded_dir.expanduser())
            server = embedded.uri("postgres")
            where = f"embedded Postgres in {embedded.data_dir}, database {DEMO_DATABASE}"
        else:
            where = f"Postgres at {_safe(server)} (database.url), database {DEMO_DATABASE}"
        url = database_url_for(server, DEMO_DATABASE)
        await drop_database(server, url)
        await ensure_database(server, DEMO_DATABASE)
    else:
        where = f"Postgres at {_safe(url)}, database {urlsplit(url).path.lstrip('/')}"
    pool = await create_pool(url, min_size=1, max_size=8)
    await migrate(pool)
    return DemoDatabase(pool, where, embedded)
