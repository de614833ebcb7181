"""The daily summary's payload carries the P&L curve the notifier charts: one point per fill, in
order, each the fill's P&L net of fees, adding up to the day's net."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from bot.notices import notification_card
from tests.support.engine_harness import DAY, engine_on, sim_day
from trading.demo.day import barrier
from trading.domain import NotificationKind
from trading.engine.jobs import Jobs
from trading.store import Store
from trading.strategies.base import SessionEvent


async def test_the_summary_carries_a_pnl_curve_of_the_days_fills(store: Store) -> None:
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day, engine_on(day, store) as (engine, counter):
        for sym in ("MNQ", "MES"):
            await day.trade(sym, str(day.sim.exchange.books[day.cid(sym)].last), DAY.rth_open)
        await barrier(engine, counter, DAY.rth_open)
        await engine.session_event(SessionEvent.OPEN, DAY)
        await barrier(engine, counter, None)
        long_id = day.tagged()["overnight_range:MNQ:long:2026-02-10"][0]
        level = day.sim.exchange.orders[long_id].stop_price
        assert level is not None
        at = DAY.rth_open + timedelta(minutes=2)
        await day.trade("MNQ", level + 2, at)
        await barrier(engine, counter, None)
        exit_at = DAY.rth_open + timedelta(minutes=5)
        await day.trade("MNQ", level + 400, exit_at)  # through the take-profit
        await barrier(engine, counter, exit_at)
        await barrier(engine, counter, None)

        await Jobs(engine).daily_summary(DAY)
        summary = [m for m in await store.outbox.recent(200) if m.kind is NotificationKind.SUMMARY]
        assert len(summary) == 1
        payload = summary[0].payload
        fills = sorted(await store.fills.between(engine.account_id, DAY.window_start, DAY.cme.close),
                       key=lambda f: (f.ts_event, f.id))  # fmt: skip
        assert len(fills) == 2 and fills[1].pnl is not None and fills[1].pnl > 0
        curve = payload["pnl_curve"]
        assert [Decimal(v) for _, v in curve] == [(f.pnl or Decimal(0)) - f.fees for f in fills]
        assert curve[0][0] == "2026-02-10T09:32:00-05:00"  # New York time of the entry fill
        assert sum(Decimal(v) for _, v in curve) == Decimal(payload["net"])
        card = notification_card(NotificationKind.SUMMARY, payload)
        assert card.image is not None and card.image[0] == "pnl.png" and card.image[1].startswith(b"\x89PNG")
