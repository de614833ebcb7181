"""`tradebot bars backfill` against the simulator over real sockets, into a real Postgres: the bars land
once, a re-run is idempotent (and corrects a changed bar), bad arguments are refused and change nothing."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trading.cli import main
from trading.config import SimSettings
from trading.domain import Bar
from trading.sim.gateway import SimGateway
from trading.store import Store

HISTORY_DAYS = 16  # longer than 20,000 minutes: the client splits the range in two requests


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> None:
    for name in list(os.environ):
        if name.startswith("TRADEBOT_") and name not in ("TRADEBOT_TEST_DATABASE_URL", "TRADEBOT_HOME"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("TRADEBOT_DATABASE__URL", database_url)


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0)) as gateway:
        gateway.market.warm_up(HISTORY_DAYS, only={gateway.contract("MNQ")})
        yield gateway


async def tradebot(*argv: str) -> int:
    # The command runs its own event loop: keep it off this test's loop (the simulator runs here).
    return await asyncio.to_thread(main, list(argv))


def served(sim: SimGateway, contract_id: str) -> list[tuple[datetime, float, float, float, float, float]]:
    """Every bar the simulator's warm-up serves (made now, as a request reaching back that far would)."""
    sim.market.ensure_history(contract_id, datetime(2000, 1, 1, tzinfo=UTC))
    return [
        (datetime.fromtimestamp(b.start, UTC), float(b.o), float(b.h), float(b.low), float(b.c), float(b.v))
        for b in sim.market.bars.minute_bars(contract_id, 0, 2**40)
    ]


def rows(bars: list[Bar]) -> list[tuple[datetime, float, float, float, float, float]]:
    return [(b.start, b.open, b.high, b.low, b.close, b.volume) for b in bars]


async def stored(store: Store, contract_id: str) -> list[Bar]:
    return await store.bars.range(contract_id, "1m", datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


async def test_backfill_lands_once_and_a_rerun_is_idempotent(
    sim: SimGateway, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    cid = sim.contract("MNQ")
    expected = served(sim, cid)
    assert expected[-1][0] - expected[0][0] > timedelta(minutes=20_000)

    assert await tradebot("bars", "backfill", "--symbol", "mnq", "--days", "17", "--sim-url", sim.base_url) == 0
    out, err = capsys.readouterr()
    assert f"MNQ: stored {len(expected)} 1-minute bars of {cid}" in out
    assert "\r" not in err  # stderr is no terminal here: no progress frames (issue 13)
    first = await stored(store, cid)
    assert rows(first) == expected
    assert [c.id for c in await store.contracts.all()] == [cid]

    # A stored bar changed since (a correction): the re-run puts back what the gateway serves.
    b = first[100]
    await store.bars.upsert(Bar(b.contract_id, b.timeframe, b.start, b.open, b.high, b.low, b.close + 1, b.volume))
    assert await tradebot("bars", "backfill", "--symbol", "MNQ", "--days", "17", "--sim-url", sim.base_url) == 0
    assert f"MNQ: stored {len(expected)} 1-minute bars" in capsys.readouterr().out
    assert rows(await stored(store, cid)) == expected
    assert [c.id for c in await store.contracts.all()] == [cid]


async def test_bad_arguments_are_refused_and_change_nothing(
    sim: SimGateway, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sim.base_url
    assert await tradebot("bars", "backfill", "--symbol", "MNQ", "--days", "0", "--sim-url", url) == 2
    assert "--days must be between 1 and 3650 (got 0)" in capsys.readouterr().err
    assert await tradebot("bars", "backfill", "--symbol", " ", "--sim-url", url) == 2
    assert "--symbol is empty" in capsys.readouterr().err
    assert await tradebot("bars", "backfill", "--symbol", "ZZZ", "--days", "2", "--sim-url", url) == 2
    assert "No active contract found for ZZZ; nothing stored" in capsys.readouterr().err
    assert await tradebot("bars", "backfill", "--symbol", "MNQ") == 2  # the configured gateway, no credentials
    assert "needs projectx.username and projectx.api_key" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        await tradebot("bars", "backfill", "--symbol", "MNQ", "--sim", "--sim-url", url)
    assert refused.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert await store.contracts.all() == []
    assert await store.bars.count(sim.contract("MNQ"), "1m") == 0


async def test_backfill_from_an_in_process_simulator(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    # The command runs on the wall clock: 5 days back from any moment hold a session, a holiday weekend
    # included. With 1 day it found nothing on a Saturday (Friday 17:00 to Sunday 18:00 ET the market is
    # closed: "the gateway has no 1-minute bars ... nothing stored", 2026-12-05 17:34 ET).
    assert await tradebot("bars", "backfill", "--symbol", "MES", "--days", "5", "--sim") == 0
    out = capsys.readouterr().out
    (contract,) = await store.contracts.all()
    assert contract.id.startswith("CON.F.US.MES.")
    n = await store.bars.count(contract.id, "1m")
    assert n > 0 and f"MES: stored {n} 1-minute bars of {contract.id}" in out
