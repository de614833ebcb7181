"""Scheduled reports through the real bot: the latency report and a summary with its P&L chart."""

from __future__ import annotations

from datetime import timedelta

from bot.reports import latency_report
from tests.support.discord_world import LATENCY, World
from trading.domain import LatencySample, NotificationKind


async def test_latency_report_posts_once_with_both_paths(world: World) -> None:
    now = world.desk.clock.now()
    samples = [
        LatencySample("place", path, 1_000_000 * (i + 1) * (1 if path == "rust" else 3), now - timedelta(minutes=5))
        for i in range(20)
        for path in ("rust", "python")
    ]
    await world.store.latency.insert_batch(samples)
    at = world.settings.scheduler.latency_report_time

    async def job(day):  # type: ignore[no-untyped-def]
        return await latency_report(world.desk.services, day)

    assert await world.bot.scheduler.run("latency_report", at, job) == "ok"
    assert await world.bot.scheduler.run("latency_report", at, job) is None  # claimed: not again
    titles = await world.posted(LATENCY, 1)
    assert titles[0].startswith("Latency report")
    message = world.fake.messages(LATENCY.id)[0]
    text = message.text()
    assert "p99 rust" in text and "p99 py" in text
    assert "Routes now:" in text and "executor: " in text and "market_stream: " in text  # each component's path
    row = next(line for line in text.splitlines() if line.startswith("place"))
    assert row.split()[1:3] == ["10.00", "30.00"]  # p50 Rust, p50 Python (ms)
    assert message.files and message.files[0][0] == "latency.png" and message.files[0][1].startswith(b"\x89PNG")
    assert "latency_report" in world.bot.scheduler.jobs()


async def test_summary_with_pnl_curve_carries_a_chart(world: World) -> None:
    from tests.support.discord_world import ALERTS

    await world.desk.services.notify(
        NotificationKind.SUMMARY,
        {"title": "Daily summary", "text": "2 trades", "pnl_curve": [["10:01", "12.5"], ["10:40", "-3.0"]]},
    )
    await world.posted(ALERTS, 1)  # no summary channel configured: the alerts channel
    message = world.fake.messages(ALERTS.id)[0]
    assert message.files and message.files[0][0] == "pnl.png"
