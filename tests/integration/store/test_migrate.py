"""The migrations runner: applied once, checksummed, edited files refused, one migrator at a time."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from trading.store import MigrationError, close_pool, create_pool, migrate, status
from trading.store.admin import table_exists
from trading.store.migrate import MIGRATIONS_DIR, load_migrations, recorded


def _write(folder: Path, name: str, sql: str) -> Path:
    path = folder / name
    path.write_text(sql)
    return path


async def test_project_migrations_apply_once_and_are_checksummed(empty_database_url: str) -> None:
    pool = await create_pool(empty_database_url, max_size=2)
    try:
        names = [m.name for m in load_migrations()]
        assert names[0] == "001_initial.sql"
        assert await migrate(pool) == names
        assert await migrate(pool) == []
        done = await recorded(pool)
        for name in names:
            assert done[name][0] == hashlib.sha256((MIGRATIONS_DIR / name).read_bytes()).hexdigest()
        assert [(s.name, s.state) for s in await status(pool)] == [(n, "applied") for n in names]
        assert await table_exists(pool, "notification_outbox")
    finally:
        await close_pool(pool)


async def test_edited_applied_migration_is_refused_and_nothing_else_runs(
    empty_database_url: str, tmp_path: Path
) -> None:
    first = _write(tmp_path, "001_first.sql", "CREATE TABLE first_t (id int);")
    pool = await create_pool(empty_database_url, max_size=2)
    try:
        assert await migrate(pool, tmp_path) == ["001_first.sql"]
        first.write_text("CREATE TABLE first_t (id bigint);")
        _write(tmp_path, "002_second.sql", "CREATE TABLE second_t (id int);")
        with pytest.raises(MigrationError, match=r"001_first\.sql was changed after it was applied"):
            await migrate(pool, tmp_path)
        assert not await table_exists(pool, "second_t")
        states = {s.name: s.state for s in await status(pool, tmp_path)}
        assert states == {"001_first.sql": "edited", "002_second.sql": "pending"}
    finally:
        await close_pool(pool)


async def test_failed_migration_is_rolled_back_and_stays_pending(empty_database_url: str, tmp_path: Path) -> None:
    _write(tmp_path, "001_ok.sql", "CREATE TABLE ok_t (id int);")
    _write(tmp_path, "002_bad.sql", "CREATE TABLE half_t (id int);\nSELECT * FROM no_such_table;")
    pool = await create_pool(empty_database_url, max_size=2)
    try:
        with pytest.raises(MigrationError, match=r"002_bad\.sql failed and was rolled back.*no_such_table"):
            await migrate(pool, tmp_path)
        assert await table_exists(pool, "ok_t")
        assert not await table_exists(pool, "half_t")
        assert [(s.name, s.state) for s in await status(pool, tmp_path)] == [
            ("001_ok.sql", "applied"),
            ("002_bad.sql", "pending"),
        ]
    finally:
        await close_pool(pool)


async def test_two_concurrent_migrators_apply_each_file_once(empty_database_url: str, tmp_path: Path) -> None:
    # The sleep widens the race: without the advisory lock both would read "nothing applied" and both
    # would run 001 (the second failing on the existing table).
    _write(tmp_path, "001_slow.sql", "SELECT pg_sleep(0.3);\nCREATE TABLE once_t (id int);")
    _write(tmp_path, "002_next.sql", "CREATE TABLE next_t (id int);")
    a = await create_pool(empty_database_url, max_size=1)
    b = await create_pool(empty_database_url, max_size=1)
    try:
        results = await asyncio.gather(migrate(a, tmp_path), migrate(b, tmp_path))
        assert sorted(results, key=len) == [[], ["001_slow.sql", "002_next.sql"]]
        assert sorted(await recorded(a)) == ["001_slow.sql", "002_next.sql"]
    finally:
        await a.close()
        await b.close()


def test_misnamed_and_duplicate_numbered_files_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "initial.sql", "")
    with pytest.raises(MigrationError, match=r"NNN_description\.sql"):
        load_migrations(tmp_path)
    (tmp_path / "initial.sql").unlink()
    _write(tmp_path, "001_a.sql", "")
    _write(tmp_path, "001_b.sql", "")
    with pytest.raises(MigrationError, match="share number 1"):
        load_migrations(tmp_path)


async def test_status_reports_a_recorded_migration_whose_file_is_gone(empty_database_url: str, tmp_path: Path) -> None:
    gone = _write(tmp_path, "001_gone.sql", "SELECT 1;")
    pool = await create_pool(empty_database_url, max_size=1)
    try:
        await migrate(pool, tmp_path)
        gone.unlink()
        [only] = await status(pool, tmp_path)
        assert (only.name, only.state) == ("001_gone.sql", "missing")
        assert only.applied_at is not None
    finally:
        await close_pool(pool)
