"""`tradebot db migrate`, `db status` and `demo` against a real database; the embedded server end to end."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from trading.cli import EXIT_FAILED, main
from trading.config import DatabaseSettings, Settings
from trading.store import DatabaseUnavailable, create_pool, migrate, open_database, status
from trading.store.admin import table_exists


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("TRADEBOT_") and name not in ("TRADEBOT_TEST_DATABASE_URL", "TRADEBOT_HOME"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


async def test_db_migrate_then_status(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    monkeypatch.setenv("TRADEBOT_DATABASE__URL", empty_database_url)
    # The commands run their own event loop: keep them off this test's loop.
    assert await asyncio.to_thread(main, ["db", "status"]) == 0
    assert re.search(r"^001_initial\.sql +pending$", capsys.readouterr().out, re.M)
    assert await asyncio.to_thread(main, ["db", "migrate"]) == 0
    out = capsys.readouterr().out
    assert "applied 001_initial.sql" in out and empty_database_url not in out
    assert await asyncio.to_thread(main, ["db", "migrate"]) == 0
    assert "nothing to apply" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["db", "status"]) == 0
    assert re.search(r"^001_initial\.sql +applied +20", capsys.readouterr().out, re.M)


async def test_demo_prints_where_everything_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The CLI face of the demo (the day itself runs in tests/integration/demo/test_day.py)."""
    import asyncio

    from trading.demo import day as demo

    async def fake_run_demo(settings: Settings, out: Path, **_: object) -> demo.DemoResult:
        return demo.DemoResult("Postgres at 127.0.0.1:5432, database tradebot_demo", [out / "range-MNQ.png"],
                               "summary", 53, 2, 23, 1.5, ["rust", "python"])  # fmt: skip

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    assert await asyncio.to_thread(main, ["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "database: Postgres at 127.0.0.1:5432, database tradebot_demo" in out
    assert f"chart: {tmp_path / 'range-MNQ.png'}" in out
    assert "rows: 53 orders, 2 fills, 23 notifications" in out
    assert "order paths measured: rust, python" in out


async def test_unreachable_database_is_a_clear_error_without_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    # Port 1 on localhost: nothing listens there, the connection is refused at once.
    monkeypatch.setenv("TRADEBOT_DATABASE__URL", "postgresql://trader:pa55word-xyz@127.0.0.1:1/tradebot")
    assert await asyncio.to_thread(main, ["db", "status"]) == EXIT_FAILED
    err = capsys.readouterr().err
    # The command's own line; other lines may be log records of this process's background work.
    assert any(line.startswith("error: cannot connect to the database") for line in err.splitlines())
    assert "pa55word-xyz" not in err
    with pytest.raises(DatabaseUnavailable):
        await open_database(Settings(database=DatabaseSettings(url="postgresql://u@127.0.0.1:1/x")))


async def test_embedded_server_starts_migrates_and_stops(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    settings = Settings(database=DatabaseSettings(embedded_dir=data_dir, pool_max=2))
    async with await open_database(settings) as db:
        assert db.embedded is not None and "embedded Postgres in" in db.where
        applied = await migrate(db.pool)
        assert applied[0] == "001_initial.sql" and applied == sorted(applied)
        assert await table_exists(db.pool, "fills")
        assert repr(db) == f"Database(embedded Postgres in {data_dir})"
        url = db.url
    # Stopped with its last user: nothing answers on its socket any more; a new start finds the data.
    with pytest.raises(DatabaseUnavailable):
        await create_pool(url, min_size=1, max_size=1)
    async with await open_database(settings) as db:
        assert {s.state for s in await status(db.pool)} == {"applied"}
