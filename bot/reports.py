"""Reports the bot posts on a schedule: the latency report (p50/p95/p99 per operation, Rust and
Python side by side, with each component's route and fallback count). Queued through the outbox like
every notification, once per day (dedupe key)."""

from __future__ import annotations

from datetime import date

from bot.cards import latency_rows, route_lines
from bot.render import LATENCY_HEADERS
from trading.domain import NotificationKind
from trading.services import Services


async def latency_report(services: Services, day: date, hours: float = 24.0) -> str:
    stats = await services.latency(hours)
    rows = latency_rows(stats)
    view = await services.routes(changes=0)
    # The routes now and each component's fallback count: the report says which path the numbers came from.
    routes = "Routes now:\n" + "\n".join(route_lines(view.routes, view.executor_fallbacks))
    payload = {
        "title": f"Latency report {day.isoformat()} (last {hours:g} h)",
        "text": routes if rows else f"No latency samples in the window.\n{routes}",
        "headers": list(LATENCY_HEADERS),
        "rows": rows,
    }
    await services.notify(NotificationKind.LATENCY, payload, dedupe_key=f"latency-report-{day.isoformat()}")
    return f"{len(rows)} rows"
