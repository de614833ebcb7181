"""One active instance per account: a Postgres session advisory lock keyed on the account, held on a
dedicated connection for as long as this process trades it.

Postgres releases a session lock the moment the session ends, so the death of the holder (kill -9,
a lost machine) frees the account at once; a standby polling `pg_try_advisory_lock` takes it within
one poll. The holder checks its connection every `check_s`: when the connection is gone (the
database restarted, the network failed) the lock is gone too, and the holder must stop trading
until it has taken the lock again (another instance may hold it meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

import asyncpg

from trading.store.executor import Connection, Executor

log = logging.getLogger(__name__)

POLL_S = 1.0  # a standby asks for the lock this often (takeover within about one poll of the holder's death)
CHECK_S = 1.0  # the holder checks its lock connection this often
# What a call on the lock connection may raise when the database is away or coming back: the lock is not
# taken (or no longer held). InternalClientError: a pooled connection handed out mid-reconnect after a
# server restart ("another operation is in progress"); uncaught, it ended the lease's guard for good.
_AWAY = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, TimeoutError)


def account_key(account_id: int) -> int:
    """The advisory lock key of an account: a stable signed 64-bit hash (apart from every other key we use)."""
    digest = hashlib.blake2b(f"tradebot-account:{account_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AccountLease:
    """`await acquire()` waits (as a standby) until this process holds the account; `await lost()`
    returns when it no longer does; `release()` lets it go."""

    def __init__(self, db: Executor, account_id: int, *, poll_s: float = POLL_S, check_s: float = CHECK_S) -> None:
        self._db = db
        self.account_id = account_id
        self.key = account_key(account_id)
        self.poll_s = poll_s
        self.check_s = check_s
        self._conn: Connection | None = None
        self._gone = asyncio.Event()
        self.held_elsewhere = False  # the last request was refused: another session holds the account
        self._held = asyncio.Event()  # set when the lock is taken (wakes `wait_held`)

    @property
    def held(self) -> bool:
        return self._conn is not None and not self._gone.is_set()

    @property
    def backend_pid(self) -> int | None:
        """The server process of the session that holds the lock (for an operator's pg_stat_activity)."""
        return None if self._conn is None else int(self._conn.get_server_pid())

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False (and no connection kept) otherwise or when the database is away."""
        if self.held:
            return True
        self.held_elsewhere = False
        try:
            conn = await self._connect()
        except _AWAY as exc:
            log.warning("account %s lease: database unavailable (%s)", self.account_id, exc)
            return False
        try:
            got = bool(await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.key, timeout=self.check_s * 5))
            self.held_elsewhere = not got
        except _AWAY as exc:
            log.warning("account %s lease: lock request failed (%s)", self.account_id, exc)
            await self._drop(conn, dead=True)
            return False
        if not got:
            await self._drop(conn, dead=False)
            return False
        gone = asyncio.Event()  # this connection's own: a later one's listener never touches it
        conn.add_termination_listener(lambda _c: gone.set())
        self._conn, self._gone = conn, gone
        self._held.set()
        return True

    async def wait_held(self) -> None:
        """Return once this process holds the account (again)."""
        while not self.held:
            self._held.clear()
            await self._held.wait()

    async def acquire(self) -> None:
        """Wait until this process holds the account (a hot standby while another instance does)."""
        said = False
        while not await self.try_acquire():
            if not said and self.held_elsewhere:
                log.warning("standby: account %s is held by another instance", self.account_id)
                said = True
            await asyncio.sleep(self.poll_s)
        log.warning("account %s: lease acquired, this instance is active", self.account_id)

    async def lost(self) -> None:
        """Return once the lock is no longer held (its connection died or stopped answering)."""
        while self.held:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.check_s):  # not wait_for: see trading/engine/copy.py run()
                    await self._gone.wait()
            conn = self._conn
            if conn is None or self._gone.is_set():
                break
            try:
                await conn.fetchval("SELECT 1", timeout=self.check_s * 3)
            except _AWAY as exc:
                log.error("account %s lease: lock connection lost (%s)", self.account_id, exc)
                self._gone.set()
        await self._forget()

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        dead = self._gone.is_set()
        if not dead:
            try:
                await conn.execute("SELECT pg_advisory_unlock($1)", self.key, timeout=self.check_s * 5)
            except _AWAY:
                dead = True
        self._gone.set()
        await self._drop(conn, dead=dead)

    async def _forget(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await self._drop(conn, dead=True)

    async def _connect(self) -> Connection:
        if isinstance(self._db, asyncpg.Pool):
            return await self._db.acquire(timeout=self.check_s * 5)
        return self._db  # already one dedicated connection (a caller that opened it for this)

    async def _drop(self, conn: Connection, *, dead: bool) -> None:
        """Give the connection back; a suspect one is closed for good, so its session (and lock) is surely gone."""
        if dead:  # never hand a suspect session back to the pool: closed, the server surely drops its lock
            with contextlib.suppress(Exception):  # the pool may have taken a dead connection back already
                if not conn.is_closed():
                    conn.terminate()
        if isinstance(self._db, asyncpg.Pool):
            with contextlib.suppress(Exception):
                await self._db.release(conn)
