"""Bars written from columns (`BarRepository.insert_arrays`) against a real Postgres: the straight COPY
of new bars, the merge of overlapping ones, duplicates within a batch, a writer racing the check, and
a model (a dict of starts) under hypothesis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.conditions import eventually
from trading.domain import Bar
from trading.store import Store, close_pool, create_pool
from trading.store.executor import Pool

T0 = datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
NS0 = int(T0.timestamp()) * 1_000_000_000
MIN = 60 * 1_000_000_000
CID = "CON.F.US.MNQ.H26"


def columns(minutes: list[int], closes: list[float]) -> tuple[np.ndarray, ...]:
    ts = NS0 + np.asarray(minutes, np.int64) * MIN
    c = np.asarray(closes, np.float64)
    return ts, c - 1, c + 2, c - 3, c, np.full(len(c), 10.0)


async def closes(store: Store, contract_id: str = CID) -> dict[int, float]:
    got = await store.bars.range(contract_id, "1m", T0 - timedelta(days=1), T0 + timedelta(days=1))
    return {int((b.start - T0) / timedelta(minutes=1)): b.close for b in got}


async def test_new_bars_are_copied_and_read_back_exactly(store: Store) -> None:
    assert await store.bars.insert_arrays(CID, "1m", *columns([0, 1, 2], [100.25, 101.5, 99.75])) == 3
    got = await store.bars.range(CID, "1m", T0, T0 + timedelta(minutes=3))
    assert got[1] == Bar(CID, "1m", T0 + timedelta(minutes=1), 100.5, 103.5, 98.5, 101.5, 10.0)
    assert [b.start for b in got] == [T0 + timedelta(minutes=m) for m in range(3)]
    assert got[0].start.tzinfo is not None


async def test_overlapping_bars_replace_stored_ones_and_keep_the_rest(store: Store) -> None:
    await store.bars.insert_arrays(CID, "1m", *columns([0, 1, 2, 3, 4], [100, 101, 102, 103, 104]))
    # every row overlaps
    assert await store.bars.insert_arrays(CID, "1m", *columns([1, 2], [201, 202])) == 2
    # partial: 3 and 4 replaced, 5 and 6 new; 0..2 outside the batch untouched
    assert await store.bars.insert_arrays(CID, "1m", *columns([3, 4, 5, 6], [303, 304, 305, 306])) == 4
    # a gap inside the batch's range keeps what is stored there (2 is not in this batch)
    assert await store.bars.insert_arrays(CID, "1m", *columns([1, 3], [401, 403])) == 2
    assert await closes(store) == {0: 100, 1: 401, 2: 202, 3: 403, 4: 304, 5: 305, 6: 306}


async def test_overlapping_bars_with_unchanged_values_are_left_as_they_are(store: Store, pool: Pool) -> None:
    """A backfill re-reading stored history writes nothing: no new row version where nothing changed."""

    async def versions() -> dict[int, str]:
        rows = await pool.fetch("SELECT start, xmin::text AS v FROM bars WHERE contract_id = $1", CID)
        return {int((r["start"] - T0) / timedelta(minutes=1)): r["v"] for r in rows}

    await store.bars.insert_arrays(CID, "1m", *columns([0, 1, 2], [100, 101, 102]))
    stored = await versions()
    assert await store.bars.insert_arrays(CID, "1m", *columns([0, 1, 2], [100, 101, 102])) == 3
    assert await versions() == stored
    # one value changed among unchanged ones, and one new bar: only those two are written
    assert await store.bars.insert_arrays(CID, "1m", *columns([0, 1, 2, 3], [100, 151, 102, 103])) == 4
    after = await versions()
    assert {m for m in stored if after[m] != stored[m]} == {1}
    assert await closes(store) == {0: 100, 1: 151, 2: 102, 3: 103}


async def test_a_batch_holding_a_start_twice_keeps_its_last_copy_in_any_order(store: Store) -> None:
    # new bars (straight COPY would refuse the duplicate) and out of order
    assert await store.bars.insert_arrays(CID, "1m", *columns([2, 0, 2, 1, 0], [1, 2, 3, 4, 5])) == 3
    assert await closes(store) == {0: 5, 1: 4, 2: 3}
    # overlapping (the merge would refuse to touch a row twice)
    assert await store.bars.insert_arrays(CID, "1m", *columns([1, 1, 5], [7, 8, 9])) == 2
    assert await closes(store) == {0: 5, 1: 8, 2: 3, 5: 9}


async def test_batches_inside_one_transaction_merge_only_their_own_rows(store: Store) -> None:
    await store.bars.insert_arrays(CID, "1m", *columns([0, 1], [1, 1]))
    async with store.transaction() as tx:
        await tx.bars.insert_arrays(CID, "1m", *columns([0], [50]))
        await tx.bars.insert_arrays(CID, "1m", *columns([1], [60]))
        await tx.bars.insert_arrays(CID, "1m", *columns([0, 1], [70, 70]))
        await tx.bars.insert_arrays(CID, "1m", *columns([9], [90]))
    assert await closes(store) == {0: 70, 1: 70, 9: 90}


async def test_bad_columns_are_refused_and_nothing_is_stored(store: Store) -> None:
    ts, o, h, lo, c, v = columns([0, 1], [1, 2])
    with pytest.raises(ValueError, match="different lengths"):
        await store.bars.insert_arrays(CID, "1m", ts, o, h, lo, c[:1], v)
    assert await store.bars.insert_arrays(CID, "1m", *columns([], [])) == 0
    assert await closes(store) == {}


async def _batch_racing_a_writer(store: Store, minute: int, statement: str, what: str) -> int:
    """Another writer holds an uncommitted bar at `minute` while the batch of minutes 0-2 (closes 10-12)
    is written; once the batch's statement (`LIKE statement`) waits on that writer's key, it commits.
    Returns what the batch's write returned."""
    async with store.db.acquire() as other:
        tx = other.transaction()
        await tx.start()
        await other.execute(
            "INSERT INTO bars (contract_id, timeframe, start, open, high, low, close, volume)"
            " VALUES ($1, '1m', $2, 1, 1, 1, 1, 1)",
            CID,
            T0 + timedelta(minutes=minute),
        )
        task = asyncio.create_task(store.bars.insert_arrays(CID, "1m", *columns([0, 1, 2], [10, 11, 12])))

        async def waits() -> bool:
            n: int = await store.db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
                statement,
            )
            return n > 0

        await eventually(waits, what)
        await tx.commit()
    return await task


async def test_a_writer_storing_a_bar_after_the_check_sends_the_batch_to_the_merge(store: Store) -> None:
    """The range check sees nothing (the other writer has not committed), the COPY then waits on the
    other writer's key and fails when it commits: the batch is merged instead, its values win."""
    assert await _batch_racing_a_writer(store, 1, "COPY%", "the COPY waiting on the other writer's bar") == 3
    assert await closes(store) == {0: 10, 1: 11, 2: 12}


minutes = st.lists(st.integers(0, 40), max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=minutes, batch=minutes, data=st.data())
def test_any_batch_leaves_what_a_dict_would(
    stored: list[int], batch: list[int], data: st.DataObject, database_url: str
) -> None:
    values = data.draw(st.lists(st.integers(1, 10**6), min_size=len(batch), max_size=len(batch)), label="closes")

    async def run() -> None:
        pool = await create_pool(database_url, min_size=1, max_size=2)
        try:
            store = Store(pool)
            cid = f"CON.F.US.HYP.{data.draw(st.integers(0, 10**9), label='contract')}"
            await pool.execute("DELETE FROM bars WHERE contract_id = $1", cid)
            model: dict[int, float] = {}
            await store.bars.insert_arrays(cid, "1m", *columns(stored, [float(m) for m in stored]))
            model.update({m: float(m) for m in stored})
            written = await store.bars.insert_arrays(cid, "1m", *columns(batch, [float(v) for v in values]))
            model.update({m: float(v) for m, v in zip(batch, values, strict=True)})
            assert written == len(set(batch))
            assert await closes(store, cid) == model
            await pool.execute("DELETE FROM bars WHERE contract_id = $1", cid)
        finally:
            await close_pool(pool)

    asyncio.run(run())


async def test_a_writer_storing_a_new_bar_during_the_merge_sends_the_batch_to_the_upsert(store: Store) -> None:
    """The batch overlaps stored bars (so it is merged); another writer stores one of its new bars after
    the MERGE's snapshot: the MERGE fails on the key when that writer commits, and the batch is merged
    again by INSERT … ON CONFLICT in the same transaction. Its values win, nothing is lost."""
    await store.bars.insert_arrays(CID, "1m", *columns([0], [1]))
    assert await _batch_racing_a_writer(store, 2, "%MERGE INTO%", "the MERGE waiting on the other writer's bar") == 3
    assert await closes(store) == {0: 10, 1: 11, 2: 12}


def _bar_columns(rows: list[tuple[int, float, float]]) -> tuple[np.ndarray, ...]:
    ts = NS0 + np.asarray([m for m, _, _ in rows], np.int64) * MIN
    c = np.asarray([x for _, x, _ in rows], np.float64)
    return ts, c - 1, c + 2, c - 3, c, np.asarray([v for _, _, v in rows], np.float64)


async def _stored(pool: Pool, contract_id: str) -> dict[tuple[str, datetime], tuple[float, ...]]:
    rows = await pool.fetch(
        "SELECT timeframe, start, open, high, low, close, volume FROM bars WHERE contract_id = $1", contract_id
    )
    return {(r["timeframe"], r["start"]): tuple(r)[2:] for r in rows}


async def _versions(pool: Pool, contract_id: str) -> dict[datetime, str]:
    rows = await pool.fetch(
        "SELECT start, xmin::text AS v FROM bars WHERE contract_id = $1 AND timeframe = '1m'", contract_id
    )
    return {r["start"]: r["v"] for r in rows}


# (minute, close, volume): few values, so a batch often repeats a stored bar exactly (left unwritten)
# or differs in one column only; minutes repeat within a batch and overlap the stored range in part.
bar_rows = st.lists(
    st.tuples(st.integers(0, 50), st.sampled_from([100.0, 100.25, 101.5]), st.sampled_from([0.0, 10.0])),
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(bar_rows, min_size=1, max_size=4), data=st.data())
def test_batches_leave_what_a_per_row_upsert_leaves(
    batches: list[list[tuple[int, float, float]]], data: st.DataObject, database_url: str
) -> None:
    """The bulk path (straight COPY, or stage + MERGE) against the plainest reference: every row of
    every batch, in order, through `upsert` (one INSERT … ON CONFLICT DO UPDATE each). Same stored
    values; a stored bar the batch repeats unchanged keeps its row version; bars of another timeframe
    in the same range are untouched."""

    async def run() -> None:
        pool = await create_pool(database_url, min_size=1, max_size=2)
        try:
            store = Store(pool)
            run_id = data.draw(st.integers(0, 10**9), label="contract")
            bulk, reference = f"CON.F.US.BLK.{run_id}", f"CON.F.US.REF.{run_id}"
            for cid in (bulk, reference):
                await pool.execute("DELETE FROM bars WHERE contract_id = $1", cid)
                await store.bars.insert_arrays(cid, "5m", *columns([0, 10, 20], [7, 8, 9]))
            for batch in batches:
                before = await _stored(pool, bulk)
                versions = await _versions(pool, bulk)
                written = await store.bars.insert_arrays(bulk, "1m", *_bar_columns(batch))
                for m, c, v in batch:
                    start = T0 + timedelta(minutes=m)
                    await store.bars.upsert(Bar(reference, "1m", start, c - 1, c + 2, c - 3, c, v))
                assert written == len({m for m, _, _ in batch})
                after = await _stored(pool, bulk)
                assert after == await _stored(pool, reference)
                changed = {s for (tf, s), vals in before.items() if tf == "1m" and after[(tf, s)] != vals}
                rewritten = {s for s, v in (await _versions(pool, bulk)).items() if s in versions and versions[s] != v}
                assert rewritten == changed
            await pool.execute("DELETE FROM bars WHERE contract_id = ANY($1)", [bulk, reference])
        finally:
            await pool.close()

    asyncio.run(run())


async def test_rewriting_stored_bars_updates_them_in_place_without_new_index_entries(store: Store) -> None:
    """`bars` keeps half of each page free (migration 015): a batch changing every stored bar it overlaps
    is written as HOT updates (each new row version beside the old one, no new key in the index)."""
    minutes = list(range(300))  # a few heap pages, so a packed table would have no room on most of them
    await store.bars.insert_arrays(CID, "1m", *columns(minutes, [100.0] * len(minutes)))
    async with store.transaction() as tx:
        await tx.bars.insert_arrays(CID, "1m", *columns(minutes, [200.0] * len(minutes)))
        counts = await tx.db.fetchrow(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'bars'"
        )
    assert counts is not None and tuple(counts) == (300, 300)
    assert await closes(store) == dict.fromkeys(minutes, 200.0)
