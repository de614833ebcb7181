"""The account's rule profile on the real engine (the simulator over HTTP and SignalR, real Postgres):
an open loss crossing 50 % of the daily loss limit is alerted once, from the healing loop's mark (no
fill needed), and not again after a restart; the risk state and the finished day survive a restart;
the 18:00 ET roll records the day and leaves the floor where the end-of-day high puts it; at the flat
time a position left is closed, openings are refused, and the daily summary lists every rule."""

from __future__ import annotations

from datetime import UTC, time, timedelta
from decimal import Decimal

from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, SimDay, engine_on, sim_day
from trading.calendar import ny
from trading.config import EngineSettings, RiskSettings, Settings
from trading.domain import OrderRequest, OrderType, Side
from trading.engine import Engine
from trading.engine.summary import summary_text
from trading.risk import KillMode
from trading.store import Store

AT = DAY.rth_open + timedelta(minutes=30)
SETTINGS = Settings(risk=RiskSettings(profile="tc_50k"), engine=EngineSettings(heal_interval_s=0.05))
ALERT = "daily_loss-50"


async def trade_at(day: SimDay, price: Decimal) -> None:
    """The market moves to `price`: a quote around it, then a print."""
    cid = day.cid("MNQ")
    await day.sim.market.quote(cid, bid=price - Decimal("0.25"), ask=price + Decimal("0.25"))
    await day.trade("MNQ", price)


async def order(engine: Engine, day: SimDay, side: Side, size: int, tag: str) -> None:
    request = OrderRequest(engine.account_id, day.cid("MNQ"), side, OrderType.MARKET, size, tag)
    assert (await engine.submit(request, "manual")).order_id is not None


async def alerts(store: Store) -> list[str]:
    return [m.dedupe_key or "" for m in await store.outbox.recent(500) if (m.dedupe_key or "").endswith(ALERT)]


async def test_a_loss_alert_is_stored_once_and_the_rules_state_survives_a_restart(store: Store) -> None:
    async with sim_day(AT) as day:
        cid = day.cid("MNQ")
        async with engine_on(day, store, SETTINGS) as (engine, _):
            assert engine.risk.profile.id == "tc_50k" and engine.risk.floor == Decimal(48000)
            await order(engine, day, Side.BUY, 5, "tb-rules-buy")
            await eventually(lambda: engine.positions.get(cid) is not None, "the long position")
            entry = engine.positions[cid].average_price
            # 5 MNQ x 60 points x $2 = $600 open loss: 60 % of the $1,000 daily loss limit, no fill.
            await trade_at(day, entry - 60)

            async def alerted() -> bool:
                return len(await alerts(store)) == 1

            await eventually(alerted, "the 50 % daily-loss alert")
            [message] = [m for m in await store.outbox.recent(500) if (m.dedupe_key or "").endswith(ALERT)]
            assert message.payload["title"] == "Daily loss limit 50 % used"
            assert "Daily loss limit:" in message.payload["text"]

        async with engine_on(day, store, SETTINGS) as (engine, _):
            state = engine.risk.state
            assert (state.profile, state.trading_date, state.high_water) == ("tc_50k", DAY.date, Decimal(50000))
            # The same open loss is marked again after the restart: the level is seen, nothing sent again.
            await eventually(lambda: "daily_loss:0.5" in engine.risk.state.alerted, "the restarted engine's mark")
            assert len(await alerts(store)) == 1

            await order(engine, day, Side.SELL, 5, "tb-rules-sell")
            await eventually(lambda: engine.positions.get(cid) is None, "flat")
            await eventually(lambda: engine.risk.state.day_realized < -500, "the realized loss marked")
            balance = engine.balance
            day.clock.set(ny(DAY.date, time(18, 5)).astimezone(UTC))  # the reopen: the next trading day

            async def recorded() -> bool:
                return bool(await store.risk_state.days(engine.account_id))

            await eventually(recorded, "the finished day recorded at the roll")
            [finished] = await store.risk_state.days(engine.account_id)
            assert finished.trading_date == DAY.date and finished.end_balance == balance
            assert finished.realized_pnl < -500 and finished.profile == "tc_50k"
            assert engine.risk.floor == Decimal(48000)  # the day ended below the high: the floor stays

        async with engine_on(day, store, SETTINGS) as (engine, _):
            assert [d.trading_date for d in engine.risk.state.days] == [DAY.date]
            assert engine.risk.state.trading_date != DAY.date


async def test_a_position_left_at_the_flat_time_is_closed_and_no_new_one_opened(store: Store) -> None:
    async with sim_day(ny(DAY.date, time(15)).astimezone(UTC)) as day:
        cid = day.cid("MNQ")
        async with engine_on(day, store, SETTINGS) as (engine, _):
            await order(engine, day, Side.BUY, 1, "tb-flat-buy")
            await eventually(lambda: engine.positions.get(cid) is not None, "the long position")
            day.clock.set(ny(DAY.date, time(16, 11)).astimezone(UTC))
            at_broker = day.sim.exchange.positions
            await eventually(lambda: (engine.account_id, cid) not in at_broker, "the position closed at the broker")

            async def said() -> bool:
                return any("flat time 16:10 ET" in str(m.payload.get("text")) for m in await store.outbox.recent(100))

            await eventually(said, "the flatten notification")
            refused = engine.check_risk(
                OrderRequest(engine.account_id, cid, Side.BUY, OrderType.MARKET, 1, "tb-flat-again")
            )
            assert not refused.approved and "past the flat time 16:10 ET" in refused.reason
            # The daily summary lists each rule of the profile.
            summary = await summary_text(engine, DAY)
            assert "rules (Topstep Trading Combine 50K):" in summary, summary
            assert "  Daily loss limit: " in summary and "  Trailing max loss: " in summary
            assert "  Time to flat: past (flat by 16:10 ET)" in summary


async def test_the_profit_target_reached_turns_the_account_reduce_only_and_says_so(store: Store) -> None:
    # A Combine 50K with a $100 target (an override), so one MNQ trade reaches it.
    settings = SETTINGS.model_copy(update={"risk": RiskSettings(profile="tc_50k", overrides={"profit_target": 100})})
    async with sim_day(AT) as day:
        cid = day.cid("MNQ")
        async with engine_on(day, store, settings) as (engine, _):
            await order(engine, day, Side.BUY, 1, "tb-goal-buy")
            await eventually(lambda: engine.positions.get(cid) is not None, "the long position")
            await trade_at(day, engine.positions[cid].average_price + 80)  # +$160 open: not realized yet
            assert not engine.risk.state.goal_met
            await order(engine, day, Side.SELL, 1, "tb-goal-sell")
            await eventually(lambda: engine.positions.get(cid) is None, "flat")
            await eventually(lambda: engine.risk.state.kill_mode is KillMode.REDUCE_ONLY, "reduce-only")

            async def said() -> bool:
                return any(m.payload.get("title") == "Goal met: reduce-only" for m in await store.outbox.recent(100))

            await eventually(said, "the goal-met notification")
            assert "profit target reached" in engine.risk.state.kill_reason
            refused = engine.check_risk(
                OrderRequest(engine.account_id, cid, Side.BUY, OrderType.MARKET, 1, "tb-goal-again")
            )
            assert not refused.approved and "REDUCE-ONLY (profit target reached" in refused.reason
        async with engine_on(day, store, settings) as (engine, _):  # it stays, across a restart
            assert engine.risk.state.kill_mode is KillMode.REDUCE_ONLY and engine.risk.state.goal_met
