"""Login and token refresh against a throttled or failing gateway (the simulator over real HTTP): they
back off and retry until the gateway answers, raise one alert per outage, never end the engine; a
refused API key is a clear error at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from tests.integration.projectx.test_rest_faults import settings_for as rest_settings
from tests.support.conditions import eventually
from tests.support.engine_harness import DAY, engine_on, sim_day
from trading.clock import LiveClock
from trading.config import ProjectXSettings, Settings, SimSettings
from trading.domain import NotificationKind
from trading.engine.jobs import Jobs, run_once
from trading.engine.setup import build_engine, sim_gateway
from trading.projectx import schema as s
from trading.projectx.errors import AuthError, RateLimited, TransportError
from trading.projectx.rest import ProjectXClient
from trading.sim.fault_kind import FaultKind
from trading.sim.gateway import SimGateway
from trading.store import Store

FAST = {"auth_retry_first_s": 0.01, "auth_retry_max_s": 0.05, "auth_alert_after": 3, "request_timeout_s": 0.3}
FAULTS = [FaultKind.RATE_LIMIT, FaultKind.HTTP_500_BEFORE, FaultKind.RESET, FaultKind.DELAY_AFTER]


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with SimGateway(SimSettings(port=0)) as gateway:
        yield gateway


def settings_for(sim: SimGateway, **over: object) -> ProjectXSettings:
    return rest_settings(sim, **{"retry_delays_s": (0.01, 0.02), **FAST, **over})


def inject(sim: SimGateway, kind: FaultKind, path: str, count: int) -> None:
    sim.faults.add(kind, path, count, seconds=1.0 if kind is FaultKind.DELAY_AFTER else 0.0)


@pytest.mark.parametrize("kind", FAULTS)
async def test_a_patient_login_outlasts_four_failures_and_alerts_once(sim: SimGateway, kind: FaultKind) -> None:
    troubles: list[str] = []
    inject(sim, kind, s.LOGIN_KEY, 4)
    async with ProjectXClient(settings_for(sim), on_auth_trouble=troubles.append) as client:
        token = await client.login(patient=True)
        assert token == client.token and sim.auth.check(token) is not None
        assert client.stats["auth_retries"] == 4 and client.stats["login"] == 1
        assert [k for k, p in sim.faults.fired if p == s.LOGIN_KEY] == [kind] * 4
        assert len(troubles) == 1 and "Login to ProjectX has failed 3 times in a row" in troubles[0]
        await client.accounts()  # and the session works


@pytest.mark.parametrize(("kind", "error"), [(FaultKind.RATE_LIMIT, RateLimited), (FaultKind.RESET, TransportError)])
async def test_a_login_inside_a_call_gives_up_after_the_retry_schedule(
    sim: SimGateway, kind: FaultKind, error: type[Exception]
) -> None:
    inject(sim, kind, s.LOGIN_KEY, 10)
    async with ProjectXClient(settings_for(sim)) as client:
        with pytest.raises(error):
            await client.login()
        assert client.stats["auth_retries"] == 2  # len(retry_delays_s), then the caller hears of it
        assert len(sim.faults.fired) == 3


async def test_a_refused_api_key_is_a_clear_error_at_once(sim: SimGateway) -> None:
    troubles: list[str] = []
    async with ProjectXClient(settings_for(sim, api_key="not-the-key"), on_auth_trouble=troubles.append) as c:
        with pytest.raises(AuthError, match=r"INVALID_CREDENTIALS.*check projectx.username and the API key"):
            await c.login(patient=True)
        with pytest.raises(AuthError, match="INVALID_CREDENTIALS"):
            await c.refresh_token()
        assert c.stats["auth_retries"] == 0 and c.stats["requests"] == 2 and troubles == []


async def test_an_engine_refuses_to_start_on_a_bad_key_without_looping(sim: SimGateway, store: Store) -> None:
    settings = Settings(projectx=ProjectXSettings(**FAST))
    with pytest.raises(AuthError, match="INVALID_CREDENTIALS"):
        await build_engine(settings, store, LiveClock(), replace(sim_gateway(sim), api_key="not-the-key"))
    assert await store.outbox.recent(10) == []


async def alerts(store: Store) -> list[str]:
    return [
        str(m.payload.get("text", ""))
        for m in await store.outbox.recent(200)
        if m.kind is NotificationKind.ALERT and m.payload.get("title") == "Broker login failing"
    ]


async def test_an_engine_starts_through_a_throttled_login_with_one_alert(store: Store) -> None:
    """The issue's case: 429 on Auth/loginKey at start used to end `tradebot run --paper`."""
    settings = Settings(projectx=ProjectXSettings(**FAST))
    async with sim_day(DAY.rth_open) as day:
        day.sim.faults.rate_limit(s.LOGIN_KEY, count=4)
        async with engine_on(day, store, settings) as (engine, _):
            assert engine.ready and engine.client.stats["auth_retries"] == 4
            said = await alerts(store)
            assert len(said) == 1 and "Login to ProjectX has failed 3 times in a row" in said[0]
            assert "rate-limiting" in said[0]


async def test_the_refresh_job_recovers_from_a_failing_gateway_with_one_alert(store: Store) -> None:
    settings = Settings(projectx=ProjectXSettings(**FAST))
    async with sim_day(DAY.rth_open) as day, engine_on(day, store, settings) as (engine, _):
        before = engine.client.token
        day.sim.faults.http_500_before(s.VALIDATE, count=1)
        day.sim.faults.http_500_before(s.LOGIN_KEY, count=3)
        day.sim.faults.rate_limit(s.LOGIN_KEY, count=2)
        jobs = Jobs(engine)
        assert await run_once(store, day.clock, "token_refresh", day.clock.now(), jobs.token_refresh) == "ok"
        assert engine.client.token != before and engine.client.stats["auth_retries"] == 5
        said = await alerts(store)
        assert len(said) == 1 and "failed 3 times in a row" in said[0]
        # the hubs rebuild with the new token in the background: healthy once the user hub is back
        await eventually(engine.healthy, "the engine healthy on the new token")
