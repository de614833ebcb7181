"""Server-level housekeeping: databases created and dropped, data tables emptied (tests, demos)."""

from __future__ import annotations

import contextlib
import secrets
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from trading.store import tls
from trading.store.executor import Executor


def database_url_for(server_url: str, name: str) -> str:
    """`server_url` pointing at database `name` (host, port, user and socket options kept)."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def ensure_database(server_url: str, name: str) -> None:
    """Create database `name` on the server behind `server_url` unless it exists."""
    conn = await asyncpg.connect(server_url, **tls.options(server_url))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another process may create it between our check and our CREATE.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def create_database(server_url: str, prefix: str) -> str:
    """Create an empty database named `<prefix>_<random>` on the server; its URL."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(server_url, **tls.options(server_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return database_url_for(server_url, name)


async def drop_database(server_url: str, url: str) -> None:
    """Drop the database `url` names, closing any connection still open on it."""
    conn = await asyncpg.connect(server_url, **tls.options(server_url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
    finally:
        await conn.close()


async def truncate_data_tables(db: Executor) -> None:
    """Empty every table but `schema_migrations`: the schema stays, the data goes.

    DELETE, not TRUNCATE: on the near-empty tables of a test TRUNCATE costs tens of milliseconds per
    table (it swaps files), DELETE almost nothing. Referencing tables are emptied before the ones they reference.
    """
    tables = [
        r["t"]
        for r in await db.fetch(
            """
            SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'schema_migrations'
            """
        )
    ]
    edges = await db.fetch(
        """
        SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent FROM pg_constraint
        WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND conrelid <> confrelid
        """
    )
    children: dict[str, set[str]] = {t: set() for t in tables}
    for e in edges:
        children.setdefault(e["parent"], set()).add(e["child"])
    ordered: list[str] = []

    def visit(table: str, seen: frozenset[str]) -> None:
        if table in ordered or table in seen:
            return
        for child in sorted(children.get(table, ())):
            visit(child, seen | {table})
        ordered.append(table)

    for t in sorted(tables):
        visit(t, frozenset())
    if ordered:
        await db.execute("".join(f"DELETE FROM {t};" for t in ordered if t in children))


async def table_exists(db: Executor, name: str) -> bool:
    found = await db.fetchval("SELECT to_regclass($1)", name)
    return found is not None
