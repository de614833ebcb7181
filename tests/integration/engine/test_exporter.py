"""The Prometheus endpoint of an engine on the simulator, scraped over HTTP and parsed as the text
format: stage and call histograms, order and fill counters, outbox depth, feed age, hub state and the
risk rules' headroom; a port that cannot be listened on is a clear configuration error."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from tests.support.engine_harness import DAY, engine_on, open_and_fill, sim_day
from trading.clock import LiveClock
from trading.config import ConfigError, RiskSettings, Settings
from trading.engine.exporter import prometheus_endpoint
from trading.engine.runner import running_engine
from trading.metrics import COPY_STAGES, QUOTE_STAGES, STAGE_NAMES
from trading.sim.options import SimOptions
from trading.store import Store


def _samples(text: str) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


async def test_the_endpoint_serves_stages_counters_and_gauges_after_an_order_and_its_fill(store: Store) -> None:
    settings = Settings(risk=RiskSettings(daily_loss_limit=1000))
    async with (
        sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
        engine_on(day, store, settings) as (engine, counter),
    ):
        await open_and_fill(day, engine, counter)
        path = engine.path.path
        async with prometheus_endpoint(engine, "127.0.0.1", 0) as port, httpx.AsyncClient() as http:
            r = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        got = _samples(r.text)

        counts = {s.labels["stage"]: s.value for s in got["tradebot_stage_seconds_count"]}
        # posted needs the notifier (tests/integration/engine/test_stage_timing.py): every other stage is here
        expected = {n for n in STAGE_NAMES if n != "posted" and n not in COPY_STAGES + QUOTE_STAGES}
        assert expected <= {n for n, v in counts.items() if v > 0}
        acked = [s for s in got["tradebot_stage_seconds_bucket"] if s.labels["stage"] == "acknowledged"]
        assert acked[-1].labels["le"] == "+Inf" and acked[-1].value == counts["acknowledged"] == 4
        assert [s.value for s in acked] == sorted(s.value for s in acked)  # cumulative
        calls = {(s.labels["operation"], s.labels["path"]): s.value for s in got["tradebot_call_seconds_count"]}
        assert calls[("place", path)] == 4

        orders = {(s.labels["path"], s.labels["outcome"]): s.value for s in got["tradebot_orders_total"]}
        assert orders == {(path, "placed"): 4}
        if path == "rust":  # the simulator shares this loop: each call tried there is finished later
            answers = {s.labels["way"]: s.value for s in got["tradebot_order_answers_total"]}
            assert set(answers) == {"here", "later", "not_served"} and answers["later"] >= 1
        [fills] = got["tradebot_fills_total"]
        assert fills.labels == {"path": path} and fills.value >= 1
        [depth] = got["tradebot_outbox_depth"]
        assert depth.value == await store.outbox.pending_count() > 0  # nothing delivers in this test
        [age] = got["tradebot_feed_age_seconds"]
        assert age.value >= 0
        hubs = {s.labels["hub"]: s.value for s in got["tradebot_hub_connected"]}
        assert hubs == {"market": 1.0, "user": 1.0}
        remaining = {s.labels["rule"]: s.value for s in got["tradebot_rule_remaining_dollars"]}
        used = {s.labels["rule"]: s.value for s in got["tradebot_rule_used_ratio"]}
        assert 0 < remaining["daily_loss"] <= 1000 and 0 <= used["daily_loss"] <= 1


async def test_a_port_in_use_is_a_configuration_error(store: Store) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        async with (
            sim_day(DAY.rth_open - timedelta(seconds=30)) as day,
            engine_on(day, store) as (engine, _),
        ):
            with pytest.raises(ConfigError, match=f"127.0.0.1:{port}: cannot listen there"):
                async with prometheus_endpoint(engine, "127.0.0.1", port):
                    pass
    finally:
        taken.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_run_serves_the_endpoint_on_the_configured_port(database_url: str) -> None:
    port = _free_port()
    settings = Settings(database={"url": database_url}, sim={"port": 0}, metrics={"prometheus_port": port})
    lines: list[str] = []
    stop = asyncio.Event()
    async with running_engine(settings, LiveClock(), stop, sim_options=SimOptions(), write=lines.append) as running:
        assert running is not None
        async with httpx.AsyncClient() as http:
            r = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert r.status_code == 200 and "tradebot_hub_connected" in _samples(r.text)
    assert f"Prometheus metrics: http://127.0.0.1:{port}/metrics" in lines
    with pytest.raises(httpx.ConnectError):  # gone with the run
        async with httpx.AsyncClient() as http:
            await http.get(f"http://127.0.0.1:{port}/metrics")
