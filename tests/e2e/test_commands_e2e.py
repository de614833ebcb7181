"""Every remaining command at least once through the fake Discord."""

from __future__ import annotations

from tests.support.discord_world import ADMIN, GENERAL, GUILD, READER, TRADER, World, synced_command
from trading.domain import NotificationKind
from trading.metrics import stage


async def test_commands_are_synced_to_the_guild(world: World) -> None:
    assert world.fake.synced(GUILD.id) == sorted(
        [
            "account",
            "help",
            "market",
            "order",
            "orders",
            "pnl",
            "position",
            "risk",
            "stats",
            "status",
            "strategy",
            "trades",
        ]
    )


async def test_account_commands(world: World) -> None:
    listed = await world.run(READER, "account list")
    assert listed.ephemeral and "PRAC-V2-SIM-1" in listed.text()
    info = await world.run(READER, "account info")
    assert "Account PRAC-V2-SIM-1" in info.text() and "$50,000.00" in info.text()
    balance = await world.run(READER, "account balance")
    assert "Balance $50,000.00" in balance.text()
    state = await world.run(READER, "account state")
    assert "State of PRAC-V2-SIM-1" in state.text() and "flat" in state.text()
    refused = await world.run(TRADER, "account switch", {"account": "PRAC-V2-SIM-1"})
    assert "admin permission" in refused.text()
    switched = await world.run(ADMIN, "account switch", {"account": "PRAC-V2-SIM-1"})
    assert "Now trading PRAC-V2-SIM-1" in switched.text()
    unknown = await world.run(ADMIN, "account switch", {"account": "nope"})
    assert unknown.ephemeral and "No active account 'nope'" in unknown.text()


async def test_market_commands(world: World) -> None:
    contracts = await world.run(READER, "market contracts", {"search": "MNQ"})
    assert "CON.F.US.MNQ" in contracts.text() and not contracts.ephemeral
    quote = await world.run(READER, "market quote", {"symbol": "MNQ"})
    assert "MNQ 21000" in quote.text()
    bars = await world.run(READER, "market bars", {"symbol": "MNQ", "timeframe": "1m", "count": 5})
    assert "MNQ 1m bars" in bars.text() and "21000.00" in bars.text()
    depth = await world.run(READER, "market depth", {"symbol": "MNQ"})
    assert depth.ephemeral and "MNQ is not on the engine's market feed (depth is kept for: none)" in depth.text()
    chart = await world.run(READER, "market chart", {"symbol": "MNQ", "timeframe": "5m"})
    assert "overnight range" in chart.text()
    assert chart.last.files and chart.last.files[0][0] == "chart.png"
    assert chart.last.files[0][1].startswith(b"\x89PNG")
    unknown = await world.run(READER, "market quote", {"symbol": "ZZZZ"})
    assert unknown.ephemeral and "Unknown symbol" in unknown.text()


async def test_symbol_autocomplete(world: World) -> None:
    result = await world.fake.autocomplete(
        TRADER, GUILD, GENERAL, "order market", {"symbol": "MN", "quantity": 1}, focused="symbol"
    )
    assert "MNQ" in [c["value"] for c in result.choices]


async def test_orders_trades_and_pnl(world: World) -> None:
    await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "sell", "quantity": 1})
    await world.run(TRADER, "order limit", {"symbol": "MNQ", "side": "buy", "quantity": 1, "price": 20600.0})
    orders = await world.run(READER, "orders")
    assert orders.ephemeral and "BUY 1 CON.F.US.MNQ" in orders.text() and "20600" in orders.text()
    trades = await world.run(READER, "trades", {"days": 1})
    assert "Trades, last 1 day(s)" in trades.text() and trades.text().count("CON.F.US.MNQ") == 2
    days = next(o for o in synced_command(world, "trades")["options"] if o["name"] == "days")
    assert (days["min_value"], days["max_value"]) == (1, 90)  # Discord's client refuses 0 or 91
    pnl = await world.run(READER, "pnl", {"period": "today"})
    assert "P&L today" in pnl.text() and "Trades" in pnl.text()
    assert pnl.last.files and pnl.last.files[0][0] == "pnl.png"


async def test_strategy_commands(world: World) -> None:
    listed = await world.run(READER, "strategy list")
    assert "overnight_range" in listed.text()
    status = await world.run(READER, "strategy status", {"name": "overnight_range"})
    assert "Strategy overnight_range" in status.text()
    unknown = await world.run(READER, "strategy status", {"name": "martingale"})
    assert unknown.ephemeral and "No strategy named 'martingale'" in unknown.text()
    test = await world.run(READER, "strategy test", {"name": "overnight_range"})
    assert test.ephemeral and "overnight_range is not loaded in the engine" in test.text()
    run_now = await world.run(ADMIN, "strategy run-now", {"name": "overnight_range"})
    assert run_now.ephemeral and "overnight_range is stopped: start it" in run_now.text()
    refused = await world.run(TRADER, "strategy start", {"name": "overnight_range"})
    assert "admin permission" in refused.text()
    asked = await world.run(ADMIN, "strategy start", {"name": "overnight_range"})
    done = await world.click(ADMIN, asked, "Confirm")
    await done.wait(2)
    assert "overnight_range started (MNQ, MES)" in done.text(), done.text()
    asked = await world.run(ADMIN, "strategy stop", {"name": "overnight_range"})
    assert "Confirm: stop strategy overnight_range" in asked.text()
    unknown_stop = await world.run(ADMIN, "strategy stop", {"name": "nope"})
    assert unknown_stop.ephemeral and "No strategy named 'nope'" in unknown_stop.text()


async def test_risk_read_commands(world: World) -> None:
    status = await world.run(READER, "risk status")
    assert status.ephemeral and "Daily loss used" in status.text()
    assert "Positions\nflat" in status.text(), status.text()
    # The engine's exposure, the one every order's risk check reads, after a trader's order.
    await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    await world.fake.wait_until(lambda: bool(world.desk.engine.positions))
    held = await world.run(READER, "risk status")
    assert "Positions\nMNQ +1" in held.text() and "Open P&L" in held.text(), held.text()
    limits = await world.run(READER, "risk limits")
    assert "Max order size" in limits.text() and "5" in limits.text()
    assert "Rule profile\nCustom ([risk] numbers)" in limits.text(), limits.text()
    compliance = await world.run(READER, "risk compliance")
    text = compliance.text()
    assert "Compliance — Custom ([risk] numbers)" in text, text
    # Each rule with used / limit / left: the custom profile's daily and maximum loss and its contract cap
    # (the MNQ held counts against it).
    assert "Daily loss limit\n" in text and "of $1,000.00" in text and "left; soft breach" in text, text
    assert "Trailing max loss\n" in text and "of $2,000.00" in text and "end-of-day high" in text, text
    assert "Contracts\n1 of 10 (9 left" in text, text


async def test_stats_commands(world: World) -> None:
    from datetime import timedelta

    from trading.domain import LatencySample

    now = world.desk.clock.now()
    await world.store.latency.insert_batch(
        [
            LatencySample(op, path, 1_000_000 * (i + 1), now - timedelta(minutes=1))
            for i in range(10)
            for path in ("rust", "python")
            for op in ("place", stage("acknowledged"))
        ]
    )
    latency = await world.run(READER, "stats latency", {"hours": 1})
    assert "place" in latency.text() and "p50 rust" in latency.text() and "p50 py" in latency.text()
    assert latency.text().index("**Stages**") < latency.text().index("acknowledged") < latency.text().index("place")
    assert latency.last.files and latency.last.files[0][0] == "latency.png"
    health = await world.run(READER, "stats health")
    assert "Health: ok" in health.text()
    jobs = await world.run(READER, "stats jobs")
    assert "Scheduled jobs" in jobs.text()
    await world.store.outbox.enqueue(NotificationKind.SUMMARY, {"title": "summary"})
    notifications = await world.run(READER, "stats notifications")
    assert "Notifications:" in notifications.text()


async def test_help_lists_commands_with_their_class_and_pages(world: World) -> None:
    result = await world.run(READER, "help")
    assert result.ephemeral
    first = result.text()
    assert "/account list` (read)" in first
    nxt = await world.click(READER, result, "Next")
    assert "/strategy start` (admin)" in nxt.text() or "/strategy start` (admin)" in first
    assert "page 2 of 2" in nxt.text()
