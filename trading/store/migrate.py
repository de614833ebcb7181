"""Numbered plain-SQL migrations, applied in order, each in its own transaction.

`migrations/NNN_name.sql` files are applied in number order and recorded in `schema_migrations` with
the sha256 of their bytes. A session advisory lock makes a second process wait while the first
migrates, then find nothing left to do. A file whose checksum no longer matches its record was edited
after it was applied: that is refused, never re-run.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

import asyncpg

from trading.config import ROOT
from trading.store.errors import MigrationError
from trading.store.executor import Connection, Executor, connection

MIGRATIONS_DIR = ROOT / "migrations"
# Arbitrary but fixed: every tradebot process contends for this one advisory lock key.
_LOCK_KEY = 0x7472_6164_6562_6F74 & 0x7FFF_FFFF_FFFF_FFFF  # "tradebot"
_NAME = re.compile(r"^(\d{3,})_[A-Za-z0-9_]+\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""

State = Literal["applied", "pending", "edited", "missing"]


@dataclass(frozen=True, slots=True)
class Migration:
    name: str
    number: int
    sql: str
    checksum: str


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """One line of `tradebot db status`. `missing`: recorded as applied but the file is gone."""

    name: str
    applied_at: datetime | None
    state: State


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in order; misnamed files and duplicate numbers are refused."""
    if not directory.is_dir():
        raise MigrationError(f"the migrations folder {directory} does not exist")
    found: list[Migration] = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path}: a migration file must be named NNN_description.sql (e.g. 002_add_index.sql)")
        data = path.read_bytes()
        try:
            sql = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MigrationError(f"{path}: not UTF-8 text ({exc})") from None
        found.append(Migration(path.name, int(match.group(1)), sql, hashlib.sha256(data).hexdigest()))
    found.sort(key=lambda m: m.number)
    for before, after in itertools.pairwise(found):
        if before.number == after.number:
            raise MigrationError(f"two migrations share number {before.number}: {before.name} and {after.name}")
    return found


async def recorded(executor: Executor) -> dict[str, tuple[str, datetime]]:
    """Applied migrations as recorded: name -> (sha256, applied_at)."""
    async with connection(executor) as conn:
        return await _recorded(conn)


async def _recorded(conn: Connection) -> dict[str, tuple[str, datetime]]:
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return {}
    rows = await conn.fetch("SELECT name, checksum, applied_at FROM schema_migrations")
    return {r["name"]: (r["checksum"], r["applied_at"]) for r in rows}


def _edited_error(migration: Migration, recorded_checksum: str) -> MigrationError:
    return MigrationError(
        f"migration {migration.name} was changed after it was applied "
        f"(recorded sha256 {recorded_checksum[:12]}…, file now {migration.checksum[:12]}…). "
        "An applied migration must never be edited: restore the file and put the change in a new numbered migration."
    )


async def migrate(executor: Executor, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration in order; return the names applied by this call.

    Raises `MigrationError` before changing anything when an applied file was edited, and when a
    migration fails (that migration is rolled back; the ones before it stay applied).
    """
    migrations = load_migrations(directory)
    applied: list[str] = []
    async with connection(executor) as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            await conn.execute(_CREATE_TABLE)
            done = await _recorded(conn)
            for m in migrations:
                if m.name in done and done[m.name][0] != m.checksum:
                    raise _edited_error(m, done[m.name][0])
            for m in migrations:
                if m.name in done:
                    continue
                try:
                    async with conn.transaction():
                        await conn.execute(m.sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", m.name, m.checksum
                        )
                except MigrationError:
                    raise
                except Exception as exc:  # the database's own message says what in the SQL failed
                    raise MigrationError(
                        f"migration {m.name} failed and was rolled back: {type(exc).__name__}: {exc}"
                    ) from exc
                applied.append(m.name)
        finally:
            # A lost connection releases its session lock by itself: don't mask the original error.
            with contextlib.suppress(OSError, asyncpg.InterfaceError):
                await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    return applied


async def status(executor: Executor, directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    """Every migration file and every recorded migration, in order, with its state."""
    migrations = load_migrations(directory)
    async with connection(executor) as conn:
        done = await _recorded(conn)
    out: list[MigrationStatus] = []
    for m in migrations:
        if m.name not in done:
            out.append(MigrationStatus(m.name, None, "pending"))
        else:
            checksum, at = done[m.name]
            out.append(MigrationStatus(m.name, at, "applied" if checksum == m.checksum else "edited"))
    known = {m.name for m in migrations}
    for name in sorted(set(done) - known):
        out.append(MigrationStatus(name, done[name][1], "missing"))
    return out
