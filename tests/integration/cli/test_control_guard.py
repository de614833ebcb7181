"""`tradebot status` shows what the running engine's position guard did (issue 11): a real
`tradebot run --paper` process publishes it through the store, a `tradebot status` process reads it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.cli.test_control import engine_with_entries, fill_long_entry, tradebot, working
from tests.integration.engine.test_restart import stop, tail, wait_for
from tests.support.engine_harness import DAY, sim_day
from trading.projectx import schema as px
from trading.store import Store


@pytest.mark.protection
async def test_status_shows_the_guard_protecting_a_position_whose_stop_went(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "engine.log"
    async with sim_day(DAY.rth_open) as day:
        account = day.sim.account_id
        engine = await engine_with_entries(day, store, database_url, log)
        try:
            long_id = await fill_long_entry(day)

            async def guard() -> dict[str, int]:
                rows = await store.control.instances(account)
                return dict(rows[0].status.get("guard", {})) if rows else {}

            async def covered_by_its_bracket() -> bool:
                return (await guard()).get("protected") == 1

            await wait_for("the position covered by its bracket's stop", covered_by_its_bracket, engine, log)
            assert (await guard())["stops"] == 0
            # The bracket's stop goes (cancelled on the broker's own platform): the guard puts one back.
            [stop_leg] = [o for o in working(day) if o.parent_id == long_id and o.type is px.OrderType.STOP]
            day.sim.exchange.cancel(account, stop_leg.id)

            async def protected_again() -> bool:
                g = await guard()
                return g.get("stops") == 1 and g.get("protected") == 1

            await wait_for("the guard's stop in the published status", protected_again, engine, log)
            code, out, err = await tradebot(database_url, "status", "--json")
            assert code == 0, err
            shown = json.loads(out)["guard"]
            assert shown == {
                "enabled": True, "positions": 1, "protected": 1, "unprotected": 0, "stops": 1, "flattens": 0,
                "failures": 0, "cancelled": 0, "resized": 0,
            }  # fmt: skip
            code, out, err = await tradebot(database_url, "status")
            assert code == 0, err
            assert "position guard: 1 of 1 position(s) protected by working stops, 0 unprotected" in out
            assert "since start 1 stop(s) placed, 0 closed at market" in out
        finally:
            await stop(engine)
            assert engine.returncode == 0, tail(log)
