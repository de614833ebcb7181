"""The store's pool talks to a server on this machine without TLS (trading/store/tls.py), and with it when
the URL asks for it."""

from __future__ import annotations

import ssl
from urllib.parse import urlsplit

import pytest

from trading.store import close_pool, create_pool


def _tls(conn: object) -> bool:
    transport = conn._transport  # type: ignore[attr-defined]
    return transport.get_extra_info("sslcontext") is not None or isinstance(
        transport.get_extra_info("ssl_object"), ssl.SSLObject
    )


async def test_no_tls_to_this_machine(database_url: str) -> None:
    if urlsplit(database_url).hostname not in ("127.0.0.1", "localhost", None):
        pytest.skip("the test server is not on this machine")
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            assert not _tls(conn)
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await close_pool(pool)


async def test_the_url_sslmode_is_followed(database_url: str) -> None:
    if urlsplit(database_url).hostname not in ("127.0.0.1", "localhost"):
        pytest.skip("needs the server on 127.0.0.1 (the embedded one listens on a socket)")
    sep = "&" if "?" in database_url else "?"
    try:
        pool = await create_pool(database_url + sep + "sslmode=require", min_size=1, max_size=1)
    except Exception as exc:  # a server without SSL refuses sslmode=require: nothing to show here
        pytest.skip(f"the server does not offer TLS ({type(exc).__name__})")
    try:
        async with pool.acquire() as conn:
            assert _tls(conn)
    finally:
        await close_pool(pool)
