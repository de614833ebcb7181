"""An account's size rule changed at run time (`/account size`, `tradebot account size`: the services'
`set_size`), on two accounts of one process on the simulator over HTTP and SignalR and the real
Postgres: B's next entries use B's new rule, A's stay as its table says; the rule is stored, so a
restart of the process keeps it; a reset goes back to the table's rule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.integration.engine.test_accounts import TAGS, broker_orders, open_on_each
from tests.support.engine_harness import DAY, accounts_on, sim_day
from trading.config import AccountSettings, EngineSettings, Settings
from trading.domain import OrderRequest, OrderType, Side
from trading.engine import Engine
from trading.engine.copy import Follower
from trading.services import BadInput, Services
from trading.store import Store

A, B = "PRAC-V2-SIM-1", "PRAC-V2-SIM-2"
STRATEGY = ("overnight_range",)
SETTINGS = Settings(
    engine=EngineSettings(heal_interval_s=0.05),
    accounts=(
        AccountSettings(name=A, strategies=STRATEGY),
        AccountSettings(name=B, strategies=STRATEGY, multiplier=Decimal(2)),
    ),
)


def asked(engine: Engine, cid: str, size: int = 1) -> int:
    """What the engine's size rule makes of a strategy's opening order of `size` (an account's rule now)."""
    return engine.sized(OrderRequest(engine.account_id, cid, Side.BUY, OrderType.MARKET, size, "t")).size


async def test_a_size_rule_changed_at_run_time_sizes_the_accounts_next_entries_and_survives_a_restart(
    store: Store, database_url: str
) -> None:
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        day.sim.add_account(B)
        cid = day.cid("MNQ")
        async with accounts_on(day, database_url, SETTINGS) as engines:
            (a, _), (b, _) = engines
            assert (asked(a, cid), asked(b, cid)) == (1, 2)  # the tables' rules

            # At run time, B's rule becomes 3 contracts: stored, applied at once, A untouched.
            change = await Services(b).set_size(contracts=3, by="test")
            assert (change.account, change.old, change.new, change.stored) == (B, "×2", "3 contracts", True)
            # Bad input changes nothing: both, neither, out of range.
            for kwargs in (
                {"multiplier": Decimal(2), "contracts": 2},
                {},
                {"contracts": 0},
                {"multiplier": Decimal(0)},
            ):
                with pytest.raises(BadInput, match="nothing changed"):
                    await Services(b).set_size(**kwargs)
            assert (asked(a, cid), asked(b, cid)) == (1, 3)
            # Copy mode sizes a follower by its engine's rule as it is now (the leader's net 1 short: 3 short).
            assert Follower(b, SETTINGS.accounts[1]).target(-1) == -3

            await open_on_each(day, engines)  # the day's open: each account's strategy entries
            # B's entries (the strategy asks for 1) are B's new rule; A's are as its table says.
            assert broker_orders(day, a) == dict.fromkeys(TAGS, 1)
            assert broker_orders(day, b) == dict.fromkeys(TAGS, 3)

        stored = await store.size_rules.get(B)
        assert stored is not None and (stored.contracts, stored.multiplier, stored.changed_by) == (3, None, "test")
        assert await store.size_rules.get(A) is None

        # A restart of the process: B's stored rule wins over its table again, A keeps its table's.
        async with accounts_on(day, database_url, SETTINGS) as engines:
            (a, _), (b, _) = engines
            assert (asked(a, cid), asked(b, cid)) == (1, 3)
            change = await Services(b).set_size(multiplier=Decimal("1.5"), by="test")
            assert (change.old, change.new) == ("3 contracts", "×1.5")
            assert asked(b, cid, 3) == 4  # 3 × 1.5 rounded down
            change = await Services(b).set_size(reset=True, by="test")
            assert (change.new, change.stored) == ("×2", False)
            assert (asked(a, cid), asked(b, cid)) == (1, 2)
            with pytest.raises(BadInput, match="no size rule set"):
                await Services(b).set_size(reset=True)
        assert await store.size_rules.get(B) is None
