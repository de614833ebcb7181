"""Placing, listing, cancelling and flattening by hand on one of three accounts in one process
(`[[accounts]]`), through the fake Discord, on the simulator and the real Postgres: the command's
`account:` picks the account's engine, and nothing acts on another account."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.test_accounts_e2e import bot_over, confirmed, process_of
from tests.fakes.discord_interactions import InteractionResult
from tests.support.conditions import eventually
from tests.support.discord_world import ADMIN, GUILD, TRADER
from tests.support.engine_harness import DAY, SimDay, accounts_on, sim_day
from trading import native
from trading.config import AccountSettings, Settings
from trading.projectx import schema as s
from trading.projectx.failover import FailoverMarketStream
from trading.store import Store

A, B, C = "PRAC-V2-SIM-1", "PRAC-V2-SIM-2", "PRAC-V2-SIM-3"
# No strategy and no copying: every order and position on the simulator is one the test placed by hand.
SETTINGS = Settings(accounts=tuple(AccountSettings(name=n, strategies=()) for n in (A, B, C)))


def working_at_sim(day: SimDay) -> dict[int, list[int]]:
    """The simulator's working order ids, by account id."""
    out: dict[int, list[int]] = {}
    for o in day.sim.exchange.orders.values():
        if o.status == s.OrderStatus.OPEN:
            out.setdefault(o.account_id, []).append(o.id)
    return out


def positions_at_sim(day: SimDay) -> dict[int, int]:
    """The simulator's open position sizes, by account id."""
    return {acc: p.net for (acc, _), p in day.sim.exchange.positions.items() if p.net}


async def test_manual_orders_and_flatten_act_on_the_named_account_only(store: Store, database_url: str) -> None:
    async with sim_day(DAY.rth_open) as day:
        day.sim.add_account(B)
        day.sim.add_account(C)
        async with accounts_on(day, database_url, SETTINGS) as running:
            a, b, c = (e for e, _ in running)
            async with bot_over(process_of([a, b, c], SETTINGS.accounts), store) as fake:
                channel = GUILD.channels[0]
                last = day.sim.exchange.books[day.cid("MNQ")].last
                assert last is not None
                below = float(last - Decimal(100))
                limit = {"symbol": "MNQ", "side": "buy", "quantity": 1, "price": below}

                # Several accounts: no account named, or an unknown one, is refused and places nothing.
                unnamed = await fake.invoke(TRADER, GUILD, channel, "order limit", limit)
                assert unnamed.ephemeral and "choose one with account:" in unnamed.text(), unnamed.text()
                for name in (A, B, C):
                    assert name in unnamed.text(), unnamed.text()
                unknown = await fake.invoke(TRADER, GUILD, channel, "order limit", {**limit, "account": "NOPE"})
                assert unknown.ephemeral and "No account named 'NOPE'" in unknown.text(), unknown.text()
                assert working_at_sim(day) == {}

                # Typed in another case: the engine of B, and the audit names B as the account calls itself.
                placed = await fake.invoke(TRADER, GUILD, channel, "order limit", {**limit, "account": B.lower()})
                assert f"[{B}] Order placed: BUY 1 MNQ" in placed.text(), placed.text()
                assert list(working_at_sim(day)) == [b.account_id], working_at_sim(day)
                (order_id,) = working_at_sim(day)[b.account_id]
                entry = next(e for e in await store.audit.recent(20) if e.command == "/order limit" and e.allowed)
                assert entry.arguments.get("account") == B, entry

                listed = await fake.invoke(TRADER, GUILD, channel, "orders", {"account": B})
                assert f"[{B}] Working orders" in listed.text() and f"#{order_id}" in listed.text(), listed.text()
                elsewhere = await fake.invoke(TRADER, GUILD, channel, "orders", {"account": A})
                assert f"#{order_id}" not in elsewhere.text() and "No working orders" in elsewhere.text()

                # The order-id autocomplete reads the account picked in the same command.
                async def offered(options: dict[str, object]) -> InteractionResult:
                    return await fake.autocomplete(TRADER, GUILD, channel, "order cancel", options, focused="order_id")

                on_b = await offered({"order_id": "", "account": B})
                assert [ch["value"] for ch in on_b.choices] == [order_id], on_b.choices
                assert (await offered({"order_id": "", "account": A})).choices == []
                assert (await offered({"order_id": ""})).choices == []  # several accounts, none picked

                # Nothing acts on another account: without account:, with an unknown one or with another
                # account's name, the order stays working.
                for refused_with in ({}, {"account": "NOPE"}, {"account": A}):
                    refused = await fake.invoke(
                        TRADER, GUILD, channel, "order cancel", {"order_id": order_id, **refused_with}
                    )
                    assert refused.ephemeral and "cancelled" not in refused.text(), (refused_with, refused.text())
                    assert working_at_sim(day) == {b.account_id: [order_id]}, refused_with
                cancel = {"order_id": order_id, "account": B}
                cancelled = await fake.invoke(TRADER, GUILD, channel, "order cancel", cancel)
                assert f"[{B}] Order #{order_id} cancelled" in cancelled.text(), cancelled.text()
                await eventually(lambda: working_at_sim(day) == {}, "the order cancelled at the simulator")

                # A position on A and on C; /position flatten account: C flattens C only.
                for name in (A, C):
                    market = {"symbol": "MNQ", "side": "buy", "quantity": 1, "account": name}
                    bought = await fake.invoke(TRADER, GUILD, channel, "order market", market)
                    assert f"[{name}] Order placed" in bought.text(), bought.text()
                both = {a.account_id: 1, c.account_id: 1}
                await eventually(lambda: positions_at_sim(day) == both, "a long on A and on C")

                flatten_unnamed = await fake.invoke(TRADER, GUILD, channel, "position flatten")
                assert flatten_unnamed.ephemeral and "choose one with account:" in flatten_unnamed.text()
                flatten_unknown = await fake.invoke(TRADER, GUILD, channel, "position flatten", {"account": "NOPE"})
                assert flatten_unknown.ephemeral and "No account named 'NOPE'" in flatten_unknown.text()
                assert positions_at_sim(day) == both

                asked = await fake.invoke(TRADER, GUILD, channel, "position flatten", {"account": C})
                assert f"Confirm: flatten: cancel every order and close every position on {C}?" in asked.text()
                done = await confirmed(fake, asked, TRADER)
                assert f"[{C}] Flattened" in done.text(), done.text()
                await eventually(lambda: positions_at_sim(day) == {a.account_id: 1}, "C flat, A still long")
                audit = await store.audit.recent(30)
                flattened = [e for e in audit if e.command == "/position flatten confirmed"]
                assert [e.arguments.get("account") for e in flattened] == [C], flattened
                held = await fake.invoke(TRADER, GUILD, channel, "position list", {"account": A})
                assert f"[{A}]" in held.text() and "MNQ long 1 @ " in held.text(), held.text()

                # An order above confirm_above_size asks first, naming the account, and lands on it only.
                large = {"symbol": "MNQ", "side": "buy", "quantity": 3, "account": C}
                asked = await fake.invoke(TRADER, GUILD, channel, "order market", large)
                assert f"Confirm: buy 3 MNQ market on {C}?" in asked.text(), asked.text()
                assert positions_at_sim(day) == {a.account_id: 1}
                bought = await confirmed(fake, asked, TRADER)
                assert f"[{C}] Order placed: BUY 3 MNQ" in bought.text(), bought.text()
                both = {a.account_id: 1, c.account_id: 3}
                await eventually(lambda: positions_at_sim(day) == both, "C long 3, A still long 1")
                close = await fake.invoke(TRADER, GUILD, channel, "position close", {"symbol": "MNQ", "account": A})
                assert f"Confirm: close the MNQ position on {A}?" in close.text(), close.text()
                closed = await confirmed(fake, close, TRADER)
                assert f"[{A}] Closed MNQ" in closed.text(), closed.text()
                await eventually(lambda: positions_at_sim(day) == {c.account_id: 3}, "A flat, C still long 3")

                # /status and the per-account /stats name their account; the process-wide ones take none;
                # /stats reload is refused with several accounts.
                status = await fake.invoke(TRADER, GUILD, channel, "status", {"account": C})
                assert f"[{C}]" in status.text() and A not in status.text(), status.text()
                health = await fake.invoke(ADMIN, GUILD, channel, "stats health", {"account": B})
                assert f"[{B}]" in health.text() and "runs several accounts" not in health.text(), health.text()
                version = await fake.invoke(ADMIN, GUILD, channel, "stats version")
                assert not version.ephemeral and "runs several accounts" not in version.text(), version.text()
                route = await fake.invoke(ADMIN, GUILD, channel, "stats route")
                assert "runs several accounts" not in route.text(), route.text()
                reload = await fake.invoke(ADMIN, GUILD, channel, "stats reload")
                assert reload.ephemeral and "Nothing was reloaded" in reload.text(), reload.text()


@pytest.mark.skipif(not native.enabled(), reason="Rust path not active")
async def test_a_route_set_from_discord_moves_every_accounts_engine(store: Store, database_url: str) -> None:
    """Routes are process-global (/stats route-set takes no account): every account's market stream moves."""
    async with sim_day(DAY.rth_open) as day:
        day.sim.add_account(B)
        day.sim.add_account(C)
        async with accounts_on(day, database_url, SETTINGS) as running:
            engines = [e for e, _ in running]
            streams = [e.market_stream for e in engines]
            assert all(isinstance(m, FailoverMarketStream) and m.path == "rust" for m in streams), streams
            async with bot_over(process_of(engines, SETTINGS.accounts), store) as fake:
                route = {"component": "market_stream", "mode": "python"}
                done = await fake.invoke(ADMIN, GUILD, GUILD.channels[0], "stats route-set", route)
                assert "runs several accounts" not in done.text(), done.text()
                for m in streams:
                    assert isinstance(m, FailoverMarketStream)
                    assert m.path == "python", [e.account_name for e in engines if e.market_stream is m]
