"""Backfill the store with 1-minute bars of a symbol's front-month contract, from the gateway.

`tradebot bars backfill` is the command (trading/cli/bars.py); this module does the work: log in,
find the front month, fetch the bars (the client splits, sorts and rate-limits), then write the
contract and the bars in one transaction (COPY + upsert), so a re-run replaces the same rows and a
failure stores nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from trading.calendar import to_ny
from trading.config import Settings
from trading.domain import Bar, Contract
from trading.projectx.errors import AmbiguousContract, ContractNotFound, ProjectXError
from trading.projectx.rest import BarsProgress, ProjectXClient
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.store import Store, migrate, open_database

TIMEFRAME = "1m"
MAX_DAYS = 3650
STORE_BATCH = 50_000
EXIT_USAGE = 2
EXIT_FAILED = 1

StoreProgress = Callable[[int, int], None]
"""progress(bars_written, bars_total) while storing."""


class BackfillError(Exception):
    """A backfill that could not run, worded for the trader. Nothing was stored."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class Login:
    """Where to fetch from: a gateway's REST base URL and its credentials."""

    base_url: str
    username: str
    api_key: str


@dataclass(frozen=True, slots=True)
class Backfilled:
    contract: Contract
    start: datetime
    end: datetime
    bars: int
    where: str


def problem_with(symbol: str, days: int) -> str | None:
    """What is wrong with the arguments, in a trader's words, or None."""
    if not symbol.strip():
        return "--symbol is empty; give a root such as MNQ or ES"
    if not 1 <= days <= MAX_DAYS:
        return f"--days must be between 1 and {MAX_DAYS} (got {days})"
    return None


def window(now: datetime, days: int) -> tuple[datetime, datetime]:
    """The last `days` up to the start of the current minute (the forming bar is left out)."""
    end = now.replace(second=0, microsecond=0)
    return end - timedelta(days=days), end


async def fetch(
    settings: Settings, login: Login, symbol: str, start: datetime, end: datetime, progress: BarsProgress | None
) -> tuple[Contract, list[Bar]]:
    """The front-month contract of `symbol` and its 1-minute bars in [start, end], oldest first."""
    client = ProjectXClient(settings.projectx, base_url=login.base_url, username=login.username, api_key=login.api_key)
    async with client as px:
        try:
            await px.login()
            contract = await px.front_month(symbol)
            bars = await px.retrieve_bars(contract.id, start, end, TIMEFRAME, progress=progress)
        except (ContractNotFound, AmbiguousContract) as exc:
            raise BackfillError(f"{exc}; nothing stored", EXIT_USAGE) from exc
        except ProjectXError as exc:
            raise BackfillError(f"{exc}; nothing stored") from exc
    return contract, bars


async def store_bars(settings: Settings, contract: Contract, bars: list[Bar], progress: StoreProgress | None) -> str:
    """Write the contract and its bars in one transaction; returns where the database is."""
    async with await open_database(settings) as db:
        await migrate(db.pool)
        async with Store(db.pool).transaction() as tx:
            await tx.contracts.upsert(contract)
            for lo in range(0, len(bars), STORE_BATCH):
                await tx.bars.insert_many(bars[lo : lo + STORE_BATCH])
                if progress is not None:
                    progress(min(lo + STORE_BATCH, len(bars)), len(bars))
        return db.where


@asynccontextmanager
async def in_process_sim(settings: Settings, symbol: str, days: int) -> AsyncIterator[Login]:
    """A simulator on a free local port whose market has `days` of history for `symbol`'s front month."""
    sim = SimGateway(settings.sim, options=SimOptions(market_mode="manual"))
    await sim.start(port=0)
    try:
        # An unknown symbol gets no history: the front-month lookup then says so in the gateway's words.
        with contextlib.suppress(KeyError):
            sim.market.warm_up(days, only={sim.contract(symbol.strip().upper())})
        yield Login(sim.base_url, sim.username, sim.api_key)
    finally:
        await sim.stop()


async def backfill(
    settings: Settings,
    login: Login,
    symbol: str,
    days: int,
    now: datetime,
    *,
    fetch_progress: BarsProgress | None = None,
    store_progress: StoreProgress | None = None,
) -> Backfilled:
    problem = problem_with(symbol, days)
    if problem is not None:
        raise BackfillError(problem, EXIT_USAGE)
    start, end = window(now, days)
    contract, bars = await fetch(settings, login, symbol, start, end, fetch_progress)
    if not bars:
        raise BackfillError(
            f"the gateway has no 1-minute bars for {contract.id} between {to_ny(start):%Y-%m-%d %H:%M} and "
            f"{to_ny(end):%Y-%m-%d %H:%M} ET; nothing stored"
        )
    where = await store_bars(settings, contract, bars, store_progress)
    return Backfilled(contract, start, end, len(bars), where)
