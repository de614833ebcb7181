"""The store's writes of a placement: the intent (written beside the send for a new order, before it for
a tag the engine has met: `Engine.place`, `_place_new`) and, after the answer, the broker id attached,
now and before; the `tick_order` section measures the whole span.

- now: `record_intent` (one statement: the order and its first history row; the pooled connection's
  reset not waited for), then `settle_intent` (one conditional statement);
- before (kept here as the baseline): `by_tag`, then a transaction of two INSERTs; after the send
  `by_tag` again and a transaction of UPDATE + INSERT.

Each repetition writes `n` orders each way, interleaved in chunks; same database as `bars_pg`.

Two floors are measured in the same run, on one connection held for the whole run (no pool):
- "floor: commit": a one-row INSERT into a table with only a bigserial key, committed on its own. That
  is what any durable write costs on this server: the WAL flush (fdatasync) of the commit. An intent
  made durable before the send could not cost less, so with this floor's p99 above 1 ms, tick -> order
  ≤ 1 ms p99 with the intent first could not be met on this machine: why a new order's intent is
  committed beside its send (the argument and its fault tests: engine/core.py `_place_new`).
- "floor: round trip": `SELECT 1`, the loopback round trip to the server with no write."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from decimal import Decimal

import asyncpg

from bench.bars_pg import on_scratch_database, server_url
from bench.goals import Figure, Goal, Section
from bench.stats import fmt, pct
from trading.domain import OrderRequest, OrderType, Side
from trading.store import Store, close_pool, create_pool, tls
from trading.store.executor import Pool

CHUNK = 25


def _request(tag: str) -> OrderRequest:
    return OrderRequest(7, "CON.F.US.MNQ.H26", Side.BUY, OrderType.STOP, 1, tag, stop_price=Decimal("21000.25"))


async def _before_pre(pool: Pool, store: Store, r: OrderRequest) -> None:
    await store.orders.by_tag(r.custom_tag)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """
            INSERT INTO orders (custom_tag, account_id, contract_id, side, type, size, stop_price, status, reason,
                                created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, 'intent', $8, now(), now()) RETURNING *
            """,
            r.custom_tag, r.account_id, r.contract_id, r.side.value, r.type.value, r.size, r.stop_price, r.reason,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO order_status_history (order_id, status, detail, at) VALUES ($1, 'intent', $2, now())",
            row["id"],
            r.reason,
        )


async def _before_post(store: Store, tag: str, broker_id: int) -> None:
    current = await store.orders.by_tag(tag)
    if current is not None and current.id is None:
        await store.orders.attach_broker_id(tag, broker_id)


FLOOR_TABLE = "bench_commit_floor"


async def _floor_once(conn: asyncpg.Connection, i: int, got: dict[str, list[float]]) -> None:
    """One commit floor and one round-trip floor sample (see the module docstring), on a held connection."""
    t0 = time.perf_counter_ns()
    await conn.execute(f"INSERT INTO {FLOOR_TABLE} (v) VALUES ($1)", i)
    t1 = time.perf_counter_ns()
    await conn.fetchval("SELECT 1")
    t2 = time.perf_counter_ns()
    got["floor: commit"].append(float(t1 - t0))
    got["floor: round trip"].append(float(t2 - t1))


async def _run(url: str, n: int, reps: int) -> Section:
    pool = await create_pool(url, min_size=1, max_size=4)
    store = Store(pool)
    run = uuid.uuid4().hex[:8]
    spans = ("now: before send", "now: after send", "before: before send", "before: after send",
             "floor: commit", "floor: round trip")  # fmt: skip
    samples: dict[str, list[list[float]]] = {k: [] for k in spans}
    broker_id = 10**9
    held = await asyncpg.connect(url, **tls.options(url))  # as the bot's pool connects
    await held.execute(f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id bigserial PRIMARY KEY, v int)")
    try:
        for rep in range(reps):
            got: dict[str, list[float]] = {k: [] for k in samples}
            for c in range(0, n, CHUNK):
                for way in ("now", "before") if (rep + c // CHUNK) % 2 == 0 else ("before", "now"):
                    for i in range(c, min(c + CHUNK, n)):
                        broker_id += 1
                        r = _request(f"bench:{run}:{way}:{rep}:{i}")
                        t0 = time.perf_counter_ns()
                        if way == "now":
                            await store.orders.record_intent(r)
                        else:
                            await _before_pre(pool, store, r)
                        t1 = time.perf_counter_ns()
                        if way == "now":
                            await store.orders.settle_intent(r.custom_tag, broker_id)
                        else:
                            await _before_post(store, r.custom_tag, broker_id)
                        t2 = time.perf_counter_ns()
                        got[f"{way}: before send"].append(float(t1 - t0))
                        got[f"{way}: after send"].append(float(t2 - t1))
                        if way == "now":  # the floors, paired with the path they bound
                            await _floor_once(held, i, got)
            for k, v in got.items():
                samples[k].append(sorted(v))
    finally:
        await held.close()
        await close_pool(pool)
    head = f"{'store span':<22} {'p50':>10} {'p99':>10} {'p50 range':>22} {'p99 range':>22}"
    lines = [
        f"\n## the store's share of tick -> order: {n} orders × {reps} repetitions each way",
        head,
        "-" * len(head),
    ]
    for k, reps_ in samples.items():
        p50s, p99s = [pct(x, 0.5) for x in reps_], [pct(x, 0.99) for x in reps_]
        lines.append(
            f"{k:<22} {fmt(statistics.median(p50s)):>10} {fmt(statistics.median(p99s)):>10}"
            f" {fmt(min(p50s)) + '..' + fmt(max(p50s)):>22} {fmt(min(p99s)) + '..' + fmt(max(p99s)):>22}"
        )
    now99 = [pct(x, 0.99) / 1e3 for x in samples["now: before send"]]
    before99 = [pct(x, 0.99) / 1e3 for x in samples["before: before send"]]
    ratio = statistics.median(before99) / statistics.median(now99)
    floor99 = [pct(x, 0.99) / 1e3 for x in samples["floor: commit"]]
    floor50 = [pct(x, 0.5) / 1e3 for x in samples["floor: commit"]]
    trip99 = [pct(x, 0.99) / 1e3 for x in samples["floor: round trip"]]
    floor = Goal(
        "the durable-write floor: one-row INSERT committed on a held connection, p99 (info)",
        "-",
        Figure(tuple(floor99), "µs"),
        None,
        baseline=f"p50 {statistics.median(floor50):.0f} µs; SELECT 1 round trip p99 {statistics.median(trip99):.0f} µs",
        note=(
            "the WAL flush every commit waits for; above 1 ms, an intent durable before the send could not "
            "fit tick -> order ≤ 1 ms: a new order's is committed beside the send"
            if statistics.median(floor99) > 1000
            else "below 1 ms: even an intent durable before the send would fit tick -> order ≤ 1 ms"
        ),
    )
    goal = Goal(
        "a placement's intent write, p99 (store part only; beside the send for a new order)",
        "-",
        Figure(tuple(now99), "µs"),
        None,
        baseline=f"{ratio:.2f}× less than before (p99 {statistics.median(before99):.0f} µs)",
        note="outside tick -> order for a new order (engine/core.py _place_new): the span is the tick_order section",
    )
    return Section("intent", ["\n".join(lines)], [goal, floor])


def run(quick: bool = False) -> Section:
    server = server_url()
    if server is None:
        return Section("intent", ["\n## intent: skipped (set TRADEBOT_BENCH_DATABASE_URL to a Postgres server URL)"])

    orders = 100 if quick else 500
    return asyncio.run(on_scratch_database(server, lambda url: _run(url, orders, 3)))
