"""The operator commands a freqtrade user looks for, through the fake Discord: /status (and /count),
unrealized P&L on every open position, /pnl daily|weekly (/daily, /weekly), /stats performance,
/stats health with the hubs, feed, last bar, mode and version, /stats version, and the admin-only
/stats config (/show_config), /stats reload (/reload_config) and /stats logs (/logs)."""

from __future__ import annotations

import logging
import logging.handlers
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from bot.render import money
from tests.fakes.discord_interactions import InteractionResult
from tests.support.conditions import eventually
from tests.support.discord_world import ADMIN, ALERTS, FILLS, READER, TRADER, World

SECRET_API_KEY = "px-secret-key-do-not-show"


async def pages_of(world: World, result: InteractionResult) -> list[str]:
    """The text of every page of a paged answer (clicking Next until the last page)."""
    texts = [result.text()]
    match = re.search(r"page 1 of (\d+)", result.text())
    for _ in range(int(match.group(1)) - 1 if match else 0):
        result = await world.click(ADMIN, result, "Next")
        texts.append(result.last.text())
    return texts


async def hold_mnq(world: World) -> tuple[Decimal, Decimal]:
    """A long MNQ position marked at a later trade: (last, the engine's unrealized P&L)."""
    await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    await eventually(lambda: bool(world.desk.engine.positions), "the engine holds the MNQ position")
    await world.desk.price("MNQ", "21010.25")
    marks = world.desk.engine.marks
    await eventually(lambda: any(last == Decimal("21010.25") for last, _ in marks().values()), "MNQ marked at 21010.25")
    (last, pnl), *_ = world.desk.engine.marks().values()
    return last, pnl


async def test_status_shows_positions_with_unrealized_pnl_orders_and_counts(world: World) -> None:
    flat = await world.run(READER, "status")
    assert flat.ephemeral and "Status: paper, engine active" in flat.text(), flat.text()
    assert "Kill switch\nnone" in flat.text() and "flat" in flat.text()
    assert "Open contracts\n0 of 10 allowed" in flat.text(), flat.text()

    last, pnl = await hold_mnq(world)
    assert pnl != 0
    await world.run(TRADER, "order limit", {"symbol": "MNQ", "side": "buy", "quantity": 1, "price": 20600.0})
    status = await world.run(READER, "status")
    text = status.text()
    (held,) = world.desk.engine.positions.values()
    assert f"MNQ long 1 @ {held.average_price:.2f}, last {last:.2f}, open P&L {money(pnl)}" in text, text
    assert "Open contracts\n1 of 10 allowed" in text and f"Open P&L\n{money(pnl)}" in text, text
    assert "Positions (1)" in text and "Working orders (1)" in text and "MNQ buy limit 1 @ 20600.00" in text, text

    listed = await world.run(READER, "position list")
    assert listed.ephemeral and f"open P&L {money(pnl)}" in listed.text(), listed.text()


async def test_pnl_daily_and_weekly_tables(world: World) -> None:
    await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})
    await eventually(lambda: bool(world.desk.engine.positions), "the engine holds the MNQ position")
    await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "sell", "quantity": 1})
    await eventually(lambda: not world.desk.engine.positions, "the MNQ position is closed")
    daily = await world.run(READER, "pnl", {"period": "daily", "count": 3})
    text = daily.text()
    assert daily.ephemeral and "P&L daily, last 3 day(s)" in text and "day (ET)" in text, text
    today = text.splitlines()[text.splitlines().index("```") + 2]  # the header, then the newest day
    assert today.startswith("Mon 03-01") and today.rstrip().endswith("1"), text  # one closing trade today
    weekly = await world.run(READER, "pnl", {"period": "weekly"})
    assert "P&L weekly, last 4 week(s)" in weekly.text() and "week from (ET)" in weekly.text()
    too_many = await world.run(READER, "pnl", {"period": "weekly", "count": 20})
    assert too_many.ephemeral and "Weeks must be between 1 and 13" in too_many.text()
    chart = await world.run(READER, "pnl", {"period": "today"})
    assert "P&L today" in chart.text()
    mixed = await world.run(READER, "pnl", {"period": "week", "count": 3})
    assert mixed.ephemeral and "count is for the daily and weekly tables" in mixed.text()

    performance = await world.run(READER, "stats performance", {"days": 1})
    text = performance.text()
    assert "Performance, last 1 day(s)" in text and "win rate" in text, text
    row = next(line for line in text.splitlines() if line.startswith("MNQ"))
    assert row.split()[1] == "1", row  # one closed trade


async def test_health_has_hubs_feed_last_bar_mode_and_version(world: World) -> None:
    await hold_mnq(world)
    health = await world.run(READER, "stats health")
    text = health.text()
    assert "Health: ok" in text and "Mode\npaper" in text and "Engine\nactive" in text, text
    assert "User hub\nconnected" in text and "Market hub\nconnected" in text, text
    assert "Routes\nexecutor: " in text and "market_stream: " in text, text  # each component's route now
    assert re.search(r"Market feed\n\d+ s ago \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ET\)", text), text
    assert re.search(r"Last 1-minute bar\nMNQ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ET|none)", text), text
    assert "Version\n" in text and "0.1.0" in text

    stream = world.desk.engine.market_stream
    assert stream is not None
    await stream.stop()  # the market hub goes away: health says so
    down = await world.run(READER, "stats health")
    assert "Health: degraded" in down.text() and "Market hub\ndisconnected" in down.text(), down.text()


async def test_version(world: World) -> None:
    version = await world.run(READER, "stats version")
    text = version.text()
    assert "tradebot 0.1.0" in text and "Commit" in text and "Order path" in text, text
    assert "rust" in text or "python" in text


@pytest.fixture
async def world_settings() -> dict[str, object]:
    return {"projectx": {"api_key": SECRET_API_KEY}}


async def test_config_is_admin_only_and_never_shows_a_secret(world: World) -> None:
    refused = await world.run(READER, "stats config")
    assert refused.ephemeral and "admin permission" in refused.text()
    refused = await world.run(TRADER, "stats config")
    assert "admin permission" in refused.text()
    shown = await world.run(ADMIN, "stats config")
    assert shown.ephemeral
    everything = "\n".join(await pages_of(world, shown))
    assert "`risk.max_order_size` = 5" in everything and "`projectx.api_key` = ********" in everything
    assert "`discord.token` = ********" in everything
    for secret in (SECRET_API_KEY, world.fake.token, "sim-api-key"):
        assert secret not in everything


def write_config(path: Path, body: str) -> str:
    path.write_text(body)
    return str(path)


GOOD = """
[discord]
guild_ids = [8100]
[discord.channels]
fills = 8102
orders = 8103
alerts = 8104
latency = 8105
[permissions]
trade_users = [6001, 6003]
admin_users = [6002]
confirm_above_size = 2
[risk]
max_order_size = 3
"""


async def test_reload_validates_first_and_applies_what_can_change_at_run_time(world: World, tmp_path: Path) -> None:
    refused = await world.run(TRADER, "stats reload")
    assert "admin permission" in refused.text()

    world.bot.config_file = write_config(tmp_path / "broken.toml", "[risk\nmax_order_size = 3\n")
    broken = await world.run(ADMIN, "stats reload")
    assert broken.ephemeral and "not reloaded, nothing changed" in broken.text() and "not valid TOML" in broken.text()
    world.bot.config_file = write_config(tmp_path / "bad.toml", "[risk]\nmax_order_size = -1\n")
    bad = await world.run(ADMIN, "stats reload")
    assert "not reloaded, nothing changed" in bad.text() and "risk.max_order_size" in bad.text(), bad.text()
    assert "Max order size\n5" in (await world.run(READER, "risk limits")).text()
    still = await world.run(READER, "order cancel", {"order_id": 424242})
    assert "trade permission" in still.text()

    world.bot.config_file = write_config(tmp_path / "good.toml", GOOD)
    done = await world.run(ADMIN, "stats reload")
    text = done.text()
    assert "Configuration reloaded" in text and "Applied now\npermissions, risk" in text, text
    assert "discord.token" in text.split("needs a restart")[1], text  # read at start-up only: not applied
    assert "Max order size\n3" in (await world.run(READER, "risk limits")).text()
    assert world.desk.engine.risk.settings.max_order_size == 3  # every order's risk check reads it now
    now_trader = await world.run(READER, "order cancel", {"order_id": 424242})
    assert "No working order #424242" in now_trader.text(), now_trader.text()

    again = await world.run(ADMIN, "stats reload")
    assert "Applied now\nnothing" in again.text(), again.text()

    # New notification channels apply at once: fills now go to the alerts channel.
    world.bot.config_file = write_config(tmp_path / "moved.toml", GOOD.replace("fills = 8102", f"fills = {ALERTS.id}"))
    moved = await world.run(ADMIN, "stats reload")
    assert "Applied now\ndiscord.channels" in moved.text(), moved.text()
    await world.run(TRADER, "order market", {"symbol": "MNQ", "side": "buy", "quantity": 1})

    def fill_in_alerts() -> bool:
        return any(m.embeds and m.embeds[0]["title"].startswith("Entry fill") for m in world.fake.messages(ALERTS.id))

    await world.fake.wait_until(fill_in_alerts)
    assert world.fake.messages(FILLS.id) == []


@pytest.fixture
def log_to(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "tradebot.log"
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=2)
    # Only this test's lines reach the file: the world's own loggers (the notifier retrying a delivery, say)
    # may write between the test's lines and the command, and "the last 2 lines" would be theirs.
    handler.addFilter(logging.Filter("tradebot.test"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()


async def test_logs_without_a_log_file_say_so(world: World) -> None:
    refused = await world.run(READER, "stats logs")
    assert "admin permission" in refused.text()
    none = await world.run(ADMIN, "stats logs")
    assert none.ephemeral and "no log file is configured" in none.text()


async def test_logs_show_the_last_lines_of_the_log_file(world: World, log_to: Path) -> None:
    for i in range(5):
        logging.getLogger("tradebot.test").warning("line %d for the operator", i)
    shown = await world.run(ADMIN, "stats logs", {"lines": 2})
    text = shown.text()
    assert shown.ephemeral and f"Log {log_to}, last 2 line(s)" in text, text
    assert "line 4 for the operator" in text and "line 3 for the operator" in text and "line 2 " not in text, text


async def test_help_lists_the_operator_commands_with_their_class(world: World) -> None:
    shown = await world.run(READER, "help")
    everything = shown.text() + (await world.click(READER, shown, "Next")).text()
    for line in (
        "/status` (read)",
        "/pnl` (read)",
        "/stats performance` (read)",
        "/stats version` (read)",
        "/stats health` (read)",
        "/stats config` (admin)",
        "/stats reload` (admin)",
        "/stats logs` (admin)",
    ):
        assert line in everything, line
