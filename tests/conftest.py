"""Shared fixtures: a real Postgres for every test run.

The server is `TRADEBOT_TEST_DATABASE_URL` when set (any database on it: we only create and drop our
own), else a throw-away embedded server. Each run gets its own database `tradebot_test_<random>`,
migrated once and dropped at the end; each test that asks for `store` or `pool` starts from empty
tables (the schema and `schema_migrations` stay; id sequences are not restarted, so never assume an id).
Every test that uses one of those fixtures is marked `db` here (`make test-fast` leaves them out).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, settings

from tests.support.hang_report import HANGS
from trading.store import Store, close_pool, create_pool, migrate
from trading.store.admin import create_database, drop_database, truncate_data_tables
from trading.store.embedded import start_embedded
from trading.store.executor import Pool

# Hypothesis's default 200 ms deadline per example is a timing threshold: on a shared, loaded 2-core
# machine a correct example can take longer, and the suite would flake. Examples are judged on what
# they return, never on how fast (speed is measured in bench/).
settings.register_profile("tradebot", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("tradebot")

TEST_DATABASE_ENV = "TRADEBOT_TEST_DATABASE_URL"
DB_FIXTURES = frozenset({"server_url", "database_url", "pool", "store"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark `db` every test that needs Postgres (it uses a database fixture, directly or through another)."""
    for item in items:
        if DB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


PROTECTION_ENV = "TRADEBOT_PROTECTION__ENABLED"


@pytest.fixture(autouse=True)
def _position_guard_only_where_asked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The position guard (trading/engine/protection.py) places orders of its own a few seconds after a
    naked position appears; tests that hold one on purpose would see them. It is on only in tests marked
    `protection` (the environment wins over explicit settings, so it is set for the others, subprocesses
    included)."""
    if request.node.get_closest_marker("protection") is None:
        monkeypatch.setenv(PROTECTION_ENV, "false")
    else:
        monkeypatch.delenv(PROTECTION_ENV, raising=False)


@pytest.fixture(autouse=True)
def _log_files_stay_in_the_test(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tradebot run` writes a rotating log file (app.log_dir): a test's processes write theirs in a
    directory of the test's own, never in the home directory, never two tests into one file."""
    monkeypatch.setenv("TRADEBOT_APP__LOG_DIR", str(tmp_path_factory.mktemp("logs")))


@pytest_asyncio.fixture(scope="session", autouse=True)
async def _hang_report_loop() -> AsyncIterator[None]:
    """The run's event loop, for the hang report (tests/support/hang_report.py)."""
    HANGS.loop = asyncio.get_running_loop()
    yield
    HANGS.loop = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    HANGS.arm(item.nodeid)
    try:
        return (yield)
    finally:
        HANGS.disarm()


@pytest.fixture(autouse=True)
def _no_notifier_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A notifier loop still running after its test (the test, or what it drove, never stopped it) would
    poll on in the run's shared event loop, on a database its test closed, logging into later tests'
    output. Cancelled at the test's teardown (after its other fixtures': autouse fixtures are set up
    first) and said loudly: it is a bug in that test or in a shutdown path."""
    yield
    loop = HANGS.loop
    if loop is None or loop.is_closed():
        return
    for task in asyncio.all_tasks(loop):
        if task.get_name() == "notifier" and not task.done():
            warnings.warn(f"{request.node.nodeid} left a notifier running; cancelled", stacklevel=1)
            task.cancel()


@pytest_asyncio.fixture(scope="session")
async def server_url() -> AsyncIterator[str]:
    """A URL on the test Postgres server with the right to create databases."""
    configured = os.environ.get(TEST_DATABASE_ENV, "").strip()
    if configured:
        yield configured
        return
    folder = Path(tempfile.mkdtemp(prefix="tradebot-test-pg-"))
    server = await start_embedded(folder / "pg", delete_on_stop=True)
    try:
        yield server.uri("postgres")
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest_asyncio.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """This run's own migrated database; dropped when the run ends."""
    url = await create_database(server_url, "tradebot_test")
    try:
        pool = await create_pool(url, min_size=1, max_size=2)
        try:
            await migrate(pool)
        finally:
            await close_pool(pool)
        yield url
    finally:
        await drop_database(server_url, url)


@pytest_asyncio.fixture
async def empty_database_url(server_url: str) -> AsyncIterator[str]:
    """A database with nothing in it, not even migrations (for migration tests); dropped afterwards."""
    url = await create_database(server_url, "tradebot_test_empty")
    try:
        yield url
    finally:
        await drop_database(server_url, url)


@pytest_asyncio.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    """A fresh pool on the run's database, every data table emptied first."""
    p = await create_pool(database_url, min_size=1, max_size=4)
    try:
        await release_leftover_leases(p)
        await truncate_data_tables(p)
        yield p
    finally:
        await close_pool(p)  # bounded: a connection still out (an engine a failed test left running) is dropped


async def release_leftover_leases(p: Pool) -> None:
    """An account lease (an advisory lock) still held in the run's database belongs to an engine an
    earlier test left running (it failed before stopping it): end that session, as the emptied tables
    end its data, so this test's engine is not a standby forever. Said loudly: it is a bug in that test."""
    pids = await p.fetch(
        """
        SELECT DISTINCT pid FROM pg_locks
        WHERE locktype = 'advisory' AND pid <> pg_backend_pid()
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        """
    )
    for r in pids:
        warnings.warn(f"an earlier test left an account lease held (backend {r['pid']}); ending it", stacklevel=1)
        await p.execute("SELECT pg_terminate_backend($1)", r["pid"])


@pytest_asyncio.fixture
async def store(pool: Pool) -> Store:
    """A `Store` on `pool` (empty tables)."""
    return Store(pool)


@pytest.fixture(autouse=True)
def _routes_from_defaults() -> object:
    """Component routes and circuit breakers (trading/native.py) are process-wide: every test starts and
    ends with the built-in defaults and closed breakers."""
    from trading import native

    native.restore_defaults()
    yield
    native.restore_defaults()


@pytest.fixture(params=["python", "rust"])
def risk_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a risk test against both implementations of the check (trading/risk/native.py). With Rust,
    every manager gets the Rust check whatever `[risk] impl` says, and every answer it gives is also
    compared with Python's for the same call."""
    from trading import native
    from trading.risk import manager
    from trading.risk.native import RustRiskCheck

    if request.param == "rust":
        if not native.enabled():
            pytest.skip("the Rust extension is not active")
        monkeypatch.setattr(manager, "rust_check", RustRiskCheck)
        original = manager.RiskManager.check

        def both(self: manager.RiskManager, req: object, exp: object, now: object) -> object:
            decided = original(self, req, exp, now)  # type: ignore[arg-type]
            assert decided == self.python_check(req, exp, now)  # type: ignore[arg-type]
            return decided

        monkeypatch.setattr(manager.RiskManager, "check", both)
    return str(request.param)
