"""Three accounts in one process (`[[accounts]]`) through the fake Discord: the bot addresses each account's
engine by name (`AccountDesk` over the `AccountsProcess`), on the simulator and the real Postgres."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest

from bot.app import TradeBot
from bot.run import serve_accounts
from tests.fakes.discord_interactions import InteractionResult
from tests.fakes.discord_payloads import FakeUser
from tests.fakes.discord_server import FakeDiscord
from tests.support.conditions import eventually
from tests.support.discord_world import ADMIN, GUILD, READER, e2e_settings
from tests.support.engine_harness import DAY, accounts_on, sim_day
from trading.config import AccountSettings, Settings
from trading.engine import Engine
from trading.engine.accounts import AccountRun, AccountsProcess
from trading.services import Services
from trading.services.accounts import AccountDesk
from trading.store import Store

A, B, C = "PRAC-V2-SIM-1", "PRAC-V2-SIM-2", "PRAC-V2-SIM-3"
STRATEGY = ("overnight_range",)
SETTINGS = Settings(
    accounts=(
        AccountSettings(name=A, strategies=STRATEGY),
        AccountSettings(name=B, strategies=STRATEGY, follow=A),
        AccountSettings(name=C, strategies=STRATEGY, profile="tc_50k"),
    ),
)


def process_of(engines: list[Engine], plans: tuple[AccountSettings, ...] = SETTINGS.accounts) -> AccountsProcess:
    """The process as `run_accounts` holds it once every account trades."""
    runs = []
    for plan, engine in zip(plans, engines, strict=True):
        run = AccountRun(plan, engine=engine)
        run.running.set()
        runs.append(run)
    return AccountsProcess(runs)


@asynccontextmanager
async def bot_over(process: AccountsProcess, store: Store) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord([GUILD]) as fake:
        with fake.patched():
            desk = AccountDesk(process)
            first = process.engines()[0]
            bot = TradeBot(
                e2e_settings(fake.token), Services(first), store, clock=first.clock, desk=desk, guild_ready_timeout=0.05
            )
            await bot.login(fake.token)
            task = asyncio.create_task(bot.connect(reconnect=True))
            await fake.wait_connected()
            await bot.wait_until_ready()
            try:
                yield fake
            finally:
                await bot.close()
                await asyncio.gather(task, return_exceptions=True)


async def confirmed(fake: FakeDiscord, asked: InteractionResult, user: FakeUser = ADMIN) -> InteractionResult:
    done = await fake.click(user, GUILD, GUILD.channels[0], asked.message_id, asked.button("Confirm")["custom_id"])
    await done.wait(2)
    return done


async def test_the_bot_addresses_each_of_three_accounts(store: Store, database_url: str) -> None:
    async with sim_day(DAY.rth_open) as day:
        day.sim.add_account(B)
        day.sim.add_account(C, balance=Decimal("48030"))
        async with accounts_on(day, database_url, SETTINGS) as running:
            engines = [e for e, _ in running]
            a, b, c = engines
            async with bot_over(process_of(engines), store) as fake:
                channel = GUILD.channels[0]

                listed = (await fake.invoke(READER, GUILD, channel, "account list")).text()
                for name in (A, B, C):
                    assert f"**{name}**" in listed, listed
                assert f"copies {A}" in listed and "day P&L" in listed and "balance" in listed, listed
                assert "Trailing max loss" in listed and listed.count("— trading") == 3, listed

                choices = await fake.autocomplete(READER, GUILD, channel, "pnl", {"account": ""}, focused="account")
                assert [ch["value"] for ch in choices.choices] == [A, B, C]
                typed = await fake.autocomplete(READER, GUILD, channel, "pnl", {"account": "sim-2"}, focused="account")
                assert [ch["value"] for ch in typed.choices] == [B]

                pnl = (await fake.invoke(READER, GUILD, channel, "pnl", {"account": B})).text()
                assert f"[{B}]" in pnl and A not in pnl and C not in pnl, pnl
                unnamed = await fake.invoke(READER, GUILD, channel, "pnl")
                assert unnamed.ephemeral and "choose one with account:" in unnamed.text(), unnamed.text()
                unknown = await fake.invoke(READER, GUILD, channel, "pnl", {"account": "NOPE"})
                assert unknown.ephemeral and "No account named 'NOPE'" in unknown.text(), unknown.text()
                risk = (await fake.invoke(READER, GUILD, channel, "risk status", {"account": C})).text()
                assert f"[{C}]" in risk and A not in risk, risk
                no_option = await fake.invoke(READER, GUILD, channel, "orders")
                assert no_option.ephemeral and "runs several accounts" in no_option.text(), no_option.text()
                latency = await fake.invoke(READER, GUILD, channel, "stats latency")  # the process's, shared
                assert "runs several accounts" not in latency.text() and "Latency" in latency.text(), latency.text()

                strategy = {"name": "overnight_range"}
                refused = await fake.invoke(ADMIN, GUILD, channel, "strategy stop", {**strategy, "account": "NOPE"})
                assert refused.ephemeral and "No account named 'NOPE'" in refused.text(), refused.text()
                asked = await fake.invoke(ADMIN, GUILD, channel, "strategy stop", {**strategy, "account": B})
                assert f"stop strategy overnight_range on {B}" in asked.text(), asked.text()
                stopped = await confirmed(fake, asked)
                assert "overnight_range stopped" in stopped.text(), stopped.text()
                assert await b.store.strategy_state.enabled_overrides() == {"overnight_range": False}
                for other in (a, c):
                    assert await other.store.strategy_state.enabled_overrides() == {}, other.account_name
                assert not Services(b).control.running("overnight_range")
                listing = await fake.invoke(READER, GUILD, channel, "strategy list", {"account": B})
                assert "not running" in listing.text(), listing.text()
                switch = await fake.invoke(ADMIN, GUILD, channel, "account switch", {"account": C})
                assert switch.ephemeral and "nothing was switched" in switch.text(), switch.text()
                assert Services(a).control.running("overnight_range")


async def test_the_bot_runs_a_process_of_three_accounts(
    store: Store, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """`tradebot run` with `[[accounts]]` and a Discord token: `serve_accounts` starts every account's engine
    through `run_accounts` and the bot addresses each; a stop ends all of it."""
    async with sim_day(DAY.rth_open) as day, FakeDiscord([GUILD]) as fake:
        day.sim.add_account(B)
        day.sim.add_account(C, balance=Decimal("48030"))
        await day.preload(store)
        settings = e2e_settings(fake.token, app={"mode": "paper"}, database={"url": database_url}).model_copy(
            update={"accounts": SETTINGS.accounts}
        )
        stop = asyncio.Event()
        lines: list[str] = []
        with fake.patched():
            serving = asyncio.create_task(
                serve_accounts(settings, stop, clock=day.clock, sim_url=day.sim.base_url, write=lines.append)
            )
            try:
                await fake.wait_connected()
                channel = GUILD.channels[0]
                await eventually(lambda: "pnl" in fake.synced(GUILD.id), "the commands synced")

                async def all_three() -> bool:
                    listed = (await fake.invoke(READER, GUILD, channel, "account list")).text()
                    return listed.count("— trading") == 3

                await eventually(all_three, "three accounts trading in /account list")
                choices = await fake.autocomplete(READER, GUILD, channel, "trades", {"account": ""}, focused="account")
                assert [ch["value"] for ch in choices.choices] == [A, B, C]
                trades = (await fake.invoke(READER, GUILD, channel, "trades", {"account": C})).text()
                assert f"[{C}]" in trades and A not in trades, trades
            finally:
                stop.set()
                assert await serving == 0, lines
        # The stop ended the bot's notifier with it (not only its Discord connection): stopped by the shutdown,
        # not left to find its database closed under it.
        assert not [t for t in asyncio.all_tasks() if t.get_name() == "notifier" and not t.done()]
        assert "notification delivery stops" not in caplog.text
        assert "ready" in lines and any(f"copy mode: {A} -> {B}" in ln for ln in lines), lines
