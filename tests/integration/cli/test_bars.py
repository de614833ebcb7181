"""`tradebot bars import` on a fresh database migrates it first (no traceback), and a file with any bad
row stores nothing and names the line."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.bar_files import CORRUPTIONS, corrupt, good_rows, write_rows
from tests.support.processes import run_command
from trading.cli import main
from trading.store import close_pool, create_pool


async def _bar_count(url: str) -> int:
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        return int(await pool.fetchval("SELECT count(*) FROM bars"))
    finally:
        await close_pool(pool)


async def test_import_then_backtest_on_a_fresh_database(empty_database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(
        "symbol,ts,open,high,low,close,volume\n"
        "mnq,2025-06-11T09:30:00,20000,20001,19999.75,20000.5,10\n"
        "mnq,2025-06-11T09:31:00,20000.5,20002,20000,20001.75,4\n"
    )
    code, out, err = await run_command(
        "trading.cli",
        "bars",
        "import",
        str(path),
        "--tz",
        "America/New_York",
        TRADEBOT_DATABASE__URL=empty_database_url,
    )
    assert code == 0, err
    assert "imported 2 bars (MNQ: 2)" in out and "Traceback" not in err
    assert "\r" not in err  # stderr is a pipe: no progress frames
    assert await _bar_count(empty_database_url) == 2


async def test_backtest_on_a_fresh_database_says_what_is_missing(empty_database_url: str) -> None:
    code, _, err = await run_command(
        "trading.cli", "backtest", "--symbol", "mnq", "--from", "2025-06-11", "--to", "2025-06-11",
        TRADEBOT_DATABASE__URL=empty_database_url,
    )  # fmt: skip
    assert code == 1 and "Traceback" not in err, err
    assert err.strip() == (
        "error: no 1-minute bars for MNQ in the store: load them with `tradebot bars import FILE.csv` or "
        "`tradebot bars backfill --symbol MNQ`"
    )


async def test_an_unknown_symbol_stores_nothing(empty_database_url: str, tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(
        "symbol,ts,open,high,low,close,volume\n"
        "MNQ,2025-06-11T13:30:00Z,20000,20001,19999.75,20000.5,10\n"
        "ZZ,2025-06-11T13:30:00Z,1,1,1,1,1\n"
    )
    code, _, err = await run_command(
        "trading.cli", "bars", "import", str(path), TRADEBOT_DATABASE__URL=empty_database_url
    )
    assert code == 1 and "unknown symbol 'ZZ'" in err and "Traceback" not in err
    assert await _bar_count(empty_database_url) == 0


async def test_a_bad_file_opens_no_database_and_reports_every_line(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(
        "symbol,ts,open,high,low,close,volume\n"
        "MNQ,2025-06-11T13:30:00Z,20000,20001,20002,20000.5,1\n"
        "MNQ,2025-06-11T13:31:00Z,20000,20001,19999,20000.5,1\n"
        "MNQ,2025-06-11T13:32:00,20000,20001,19999,20000.5,1\n"
    )
    code, out, err = await run_command(
        "trading.cli", "bars", "import", str(path), TRADEBOT_DATABASE__URL="postgresql://nobody@127.0.0.1:1/never"
    )
    assert code == 2 and out == "", err
    assert "2 problem(s), nothing loaded" in err and "line 2: prices out of order" in err
    assert "line 4: ts '2025-06-11T13:32:00' has no time zone" in err and "Traceback" not in err


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=good_rows(), data=st.data())
def test_any_corrupted_row_fails_the_import_and_stores_nothing(
    rows: list[list[str]],
    data: st.DataObject,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TRADEBOT_DATABASE__URL", database_url)
    index = data.draw(st.integers(0, len(rows) - 1), label="row")
    kind = data.draw(st.sampled_from(sorted(CORRUPTIONS)), label="corruption")
    path = tmp_path / "bars.csv"
    write_rows(path, corrupt(rows, index, kind))
    before = asyncio.run(_bar_count(database_url))
    capsys.readouterr()
    assert main(["bars", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"line {index + 2}: " in err and "nothing loaded" in err, (kind, err)
    assert asyncio.run(_bar_count(database_url)) == before


async def test_imported_history_survives_a_backfill_of_another_contract_month(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Import first (stored under the offline MNQ contract), then a backfill registers the real front
    month with its own bars: the backtest reads the symbol's months as one series and still finds the
    imported day (it used to say "no 1-minute bars for MNQ" with every imported row still stored)."""
    from datetime import UTC, datetime, time

    from tests.support.scenario_days import Scenario, build
    from trading.backtest.bars_csv import write_csv
    from trading.domain import Bar, Contract
    from trading.store import Store

    day = datetime(2025, 6, 11).date()
    csv = tmp_path / "history.csv"
    write_csv(csv, build(Scenario(day, rth={time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0)})))
    code, _, err = await run_command(
        "trading.cli", "bars", "import", str(csv), TRADEBOT_DATABASE__URL=empty_database_url
    )
    assert code == 0, err
    pool = await create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        store = Store(pool)
        later = Contract(
            "CON.F.US.MNQ.Z26", "MNQZ6", "F.US.MNQ", "Micro E-mini Nasdaq-100", Decimal("0.25"), Decimal("0.5")
        )
        await store.contracts.upsert(later)  # what `bars backfill` does for the front month of today
        at = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
        await store.bars.insert_many([Bar(later.id, "1m", at, 26000, 26001, 25999, 26000.5, 12)])
    finally:
        await close_pool(pool)
    code, out, err = await run_command(
        "trading.cli", "backtest", "--symbol", "MNQ", "--from", "2025-06-11", "--to", "2025-06-11",
        TRADEBOT_DATABASE__URL=empty_database_url,
    )  # fmt: skip
    assert code == 0, err
    assert "MNQ 2025-06-11 to 2025-06-11: 1 trades" in out
