"""The scheduled-news blackout (trading/engine/blackout.py): the real engine and its overnight-range
strategy on the simulator over HTTP and SignalR, real Postgres. The strategy's entries at the open are
refused inside an event's window (the reason names the event) and placed outside one; by config the
working entries are cancelled when the window opens and the position flattened before the release."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.engine.test_deadman import held
from tests.integration.engine.test_healing import LONG, SHORT, TAGS, open_entries
from tests.integration.engine.test_protection import bought
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, engine_on, sim_day
from trading.config import BlackoutSettings, ConfigError, EngineSettings, Settings
from trading.domain import NotificationKind
from trading.store import Store

START = DAY.rth_open - timedelta(minutes=1)


def news(tmp_path: Path, at: str, **event: int) -> Path:
    path = tmp_path / "news.toml"
    extra = "".join(f"{k} = {v}\n" for k, v in event.items())
    path.write_text(f'[[event]]\nname = "CPI"\ndate = {DAY.date.isoformat()}\ntime = "{at}"\n{extra}')
    return path


def blacked_out(path: Path, **over: object) -> Settings:
    return Settings(
        engine=EngineSettings(heal_interval_s=0.05, reconcile_interval_s=0.3, flat_check_interval_s=0.3),
        blackout=BlackoutSettings(**{"file": path, "check_interval_s": 0.1, **over}),
    )


async def risk_notes(store: Store, title: str) -> list[dict[str, Any]]:
    return [
        dict(m.payload)
        for m in await store.outbox.recent(200)
        if m.kind is NotificationKind.RISK and str(m.payload.get("title", "")).startswith(title)
    ]


@pytest.mark.parametrize(("release", "inside"), [("09:32", True), ("11:00", False)], ids=["inside", "outside"])
async def test_a_strategy_entry_is_refused_inside_a_window_and_placed_outside(
    store: Store, tmp_path: Path, release: str, inside: bool
) -> None:
    settings = blacked_out(news(tmp_path, release, minutes_before=5))
    async with sim_day(START) as day, engine_on(day, store, settings) as (engine, counter):
        await open_entries(day, engine, store, counter)  # the 09:30 open: the strategy proposes its entries
        placed = day.tagged()
        if not inside:
            assert LONG in placed and SHORT in placed
            assert engine.blackout.stats.refused == 0
            return
        assert LONG not in placed and SHORT not in placed
        assert engine.blackout.stats.refused >= 2

        async def refused() -> list[dict[str, Any]]:
            return [n for n in await risk_notes(store, "Order refused") if n.get("custom_tag") in (LONG, SHORT)]

        async def both() -> bool:
            return len(await refused()) == 2

        await eventually(both, "both refusals said")
        for note in await refused():
            assert note["text"].startswith("news blackout: CPI at Tue 2026-02-10 09:32 ET")
            assert "09:27–09:37 ET" in note["text"]


async def test_entries_cancelled_when_the_window_opens_and_the_position_flattened_before_the_release(
    store: Store, tmp_path: Path
) -> None:
    path = news(tmp_path, "09:45", minutes_before=10)  # the window: 09:35–09:50
    settings = blacked_out(path, cancel_entries=True, flatten=True, flatten_minutes_before=2)
    async with sim_day(START) as day, engine_on(day, store, settings) as (engine, counter):
        await open_entries(day, engine, store, counter)
        entries = [i for tag in TAGS for i in day.tagged()[tag]]  # long and short on MNQ and MES
        assert len(entries) == 4 and all(day.sim.exchange.orders[i].working for i in entries)

        day.clock.set(DAY.rth_open + timedelta(minutes=5, seconds=1))  # 09:35:01: the window is open
        await eventually(
            lambda: not any(day.sim.exchange.orders[i].working for i in entries), "the working entries cancelled"
        )

        async def said() -> bool:
            return len(await risk_notes(store, "News blackout: CPI")) == 1

        await eventually(said, "the blackout said once")
        [note] = await risk_notes(store, "News blackout: CPI")
        assert sorted(note["cancelled"]) == sorted(entries)
        assert note["window"] == "09:35–09:50 ET"

        cid = await bought(engine, day, 1, "tb-in-window")  # a trader's own order passes (refuse_manual off)
        checks = engine.blackout.stats.checks
        await eventually(lambda: engine.blackout.stats.checks >= checks + 5, "more blackout checks")
        assert held(day, engine, cid) == 1, "flattened before flatten_minutes_before"

        day.clock.set(DAY.rth_open + timedelta(minutes=13, seconds=1))  # 09:43:01: two minutes before
        await eventually(lambda: held(day, engine, cid) == 0, "the position flattened before the release")
        await eventually(
            lambda: engine.blackout.stats.flattens == 1, "the flatten counted"
        )  # after the broker's answer
        assert len(await risk_notes(store, "News blackout: CPI")) == 1


async def test_a_bad_file_stops_the_start_and_a_bad_edit_while_running_changes_nothing(
    store: Store, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[event]]\nname = "NFP"\ndate = 2026-02-06\ntime = "8:30am"\n')
    async with sim_day(START) as day:
        with pytest.raises(ConfigError, match=r"event 1 \(NFP on 2026-02-06\): time '8:30am' is not a time"):
            async with engine_on(day, store, blacked_out(bad)):
                pass
    path = news(tmp_path, "11:00")
    async with sim_day(START) as day, engine_on(day, store, blacked_out(path)) as (engine, _):
        before = engine.blackout.calendar
        path.write_text(path.read_text() + "minutes_after = -1\n")
        await eventually(lambda: engine.blackout.stats.reload_errors == 1, "the bad edit refused")
        assert engine.blackout.calendar == before

        async def alerted() -> bool:
            return any(
                m.kind is NotificationKind.ALERT and m.payload.get("title") == "News file not read"
                for m in await store.outbox.recent(50)
            )

        await eventually(alerted, "the bad edit said")
