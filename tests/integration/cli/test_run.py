"""`tradebot run` stays honest: live mode without credentials is a clear error, nothing starts; a refused
API key or an unreachable database ends the real command with one line and an exit code, no traceback,
no secret."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.processes import run_command
from trading.cli import EXIT_CONFIG, EXIT_FAILED, main
from trading.config import SimSettings
from trading.sim.gateway import SimGateway

WRONG_KEY = "wrong-key-0f3c9a"  # a secret that must never reach the terminal


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0)) as gateway:
        yield gateway


def test_live_run_without_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRADEBOT_PROJECTX__USERNAME", raising=False)
    monkeypatch.delenv("TRADEBOT_PROJECTX__API_KEY", raising=False)
    monkeypatch.setenv("TRADEBOT_DATABASE__URL", "postgresql://nobody@127.0.0.1:1/never")  # never reached
    assert main(["run", "--live"]) == 2
    err = capsys.readouterr().err
    assert "live mode needs projectx.username and projectx.api_key" in err
    assert "tradebot run --paper" in err


def test_a_simulated_clock_needs_a_time_zone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--paper", "--clock-start", "2026-02-10T09:30:00"]) == 2
    assert "time zone" in capsys.readouterr().err


async def test_a_refused_api_key_ends_tradebot_run_with_one_line(sim: SimGateway, database_url: str) -> None:
    code, out, err = await run_command(
        "trading.cli", "run", "--paper", "--sim-url", sim.base_url,
        TRADEBOT_DATABASE__URL=database_url, TRADEBOT_SIM__API_KEY=WRONG_KEY,
    )  # fmt: skip
    assert code == EXIT_CONFIG, err
    assert err.strip().splitlines()[-1].startswith("error: Login to ProjectX failed"), err
    assert "INVALID_CREDENTIALS" in err and "check projectx.username and the API key" in err
    assert "Traceback" not in err + out
    assert WRONG_KEY not in err + out
    assert "engine running" not in out


async def test_a_refused_api_key_ends_the_bot_with_one_line(sim: SimGateway, database_url: str) -> None:
    """`python -m bot` live against a gateway that refuses the key: the same start-up, the same line."""
    code, out, err = await run_command(
        "bot",
        TRADEBOT_DATABASE__URL=database_url, TRADEBOT_APP__MODE="live",
        TRADEBOT_PROJECTX__BASE_URL=sim.base_url, TRADEBOT_PROJECTX__USER_HUB_URL=sim.user_hub_url,
        TRADEBOT_PROJECTX__MARKET_HUB_URL=sim.market_hub_url,
        TRADEBOT_PROJECTX__USERNAME=sim.username, TRADEBOT_PROJECTX__API_KEY=WRONG_KEY,
    )  # fmt: skip
    assert code == EXIT_CONFIG, err
    assert "error: Login to ProjectX failed" in err and "INVALID_CREDENTIALS" in err
    assert "Traceback" not in err + out
    assert WRONG_KEY not in err + out


async def test_an_unreachable_database_ends_tradebot_run_with_one_line() -> None:
    password = "db-secret-77"
    code, out, err = await run_command(
        "trading.cli", "run", "--paper", TRADEBOT_DATABASE__URL=f"postgresql://trader:{password}@127.0.0.1:1/tradebot"
    )
    assert code == EXIT_FAILED, err
    assert err.strip().splitlines() == [err.strip()] and err.startswith("error: cannot connect to the database"), err
    assert "Traceback" not in err + out
    assert password not in err + out
