"""Whether the store's connections use TLS: not to a server on this machine, unless the URL asks.

asyncpg's default (`sslmode=prefer`, as libpq's) negotiates TLS whenever the server offers it, and a
Debian or Homebrew Postgres offers it on 127.0.0.1 too. On the loopback interface TLS protects nothing
(whoever can read that traffic is root on the machine and can read the server's files), and in Python it
is not free: every statement's bytes go through asyncio's SSL protocol on the event loop's thread.
Measured here, one connection to the local server: SELECT 1 p50 145-156 us with TLS, 108-111 us without;
a one-row INSERT 161 us vs 114-136 us. The order path's intent is such a statement, between a tick and its
order. A URL that says `sslmode=` (or `ssl=`) is followed as written; a server elsewhere keeps the
default."""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qs, urlsplit

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain"})


def on_this_machine(host: str) -> bool:
    """A loopback address, `localhost`, or a Unix socket directory (a path)."""
    host = host.strip().strip("[]")
    if not host or host.startswith("/"):
        return True  # libpq's default and a socket directory: a Unix socket
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_on_loopback(url: str) -> bool:
    """True when connections to `url` should not use TLS: every host it names is on this machine and it
    does not choose an sslmode itself."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if "sslmode" in query or "ssl" in query:
        return False
    hosts = list(query.get("host", []))  # ?host=/run/postgresql (a socket directory)
    netloc_hosts = parts.netloc.rpartition("@")[2]
    for item in netloc_hosts.split(","):  # host1:5432,host2:5433
        host = item.rsplit(":", 1)[0] if not item.startswith("[") else item.split("]")[0] + "]"
        hosts.append(host)
    return all(on_this_machine(h) for h in hosts)


def options(url: str) -> dict[str, object]:
    """asyncpg's connect / create_pool keyword arguments for `url`: `ssl=False` where `plain_on_loopback`."""
    return {"ssl": False} if plain_on_loopback(url) else {}
