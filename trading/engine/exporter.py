"""The Prometheus endpoint of a running engine (`[metrics] prometheus_port`): GET /metrics in the text
format, served by aiohttp on the engine's own event loop, so every value is read on the loop that
writes it (no lock, nothing computed between scrapes).

Served: `tradebot_stage_seconds{stage,path}` (the stage histograms, trading/metrics.py STAGES),
`tradebot_call_seconds{operation,path}` (each broker call of the order path), `tradebot_orders_total
{path,outcome}`, `tradebot_order_answers_total{way}` (the Rust path's order calls tried on the loop's
thread, `[projectx] answer_within_us`: answered there, finished later, not served), `tradebot_fills_total
{path}`, `tradebot_outbox_depth` (notifications not yet delivered), `tradebot_feed_age_seconds` (now minus
the newest market event's time), `tradebot_hub_connected{hub}`, `tradebot_rule_remaining_dollars{rule}` and
`tradebot_rule_used_ratio{rule}` (each risk rule's headroom, as `/risk status` shows it).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from trading.config import ConfigError
from trading.engine.core import Engine
from trading.metrics import BUCKETS_NS, STAGE_PREFIX, Histogram
from trading.risk import headroom

log = logging.getLogger(__name__)

_LE = [f"{b / 1e9:g}" for b in BUCKETS_NS] + ["+Inf"]


def _buckets(h: Histogram) -> list[tuple[str, float]]:
    """Cumulative counts per upper bound, as the text format wants them."""
    out, total = [], 0
    for le, n in zip(_LE, h.buckets, strict=True):
        total += n
        out.append((le, float(total)))
    return out


class EngineCollector(Collector):
    """Reads the engine at scrape time; `outbox_depth` is read from the store just before (it is async)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.outbox_depth: int | None = None

    def collect(self) -> Iterator[Metric]:
        yield from self._latency()
        yield from self._counters()
        yield from self._gauges()

    def _latency(self) -> Iterator[Metric]:
        stages = HistogramMetricFamily(
            "tradebot_stage_seconds", "Each stage of an event's way through the bot", labels=["stage", "path"]
        )
        calls = HistogramMetricFamily(
            "tradebot_call_seconds", "Broker calls of the order path", labels=["operation", "path"]
        )
        for operation, path, h in self.engine.metrics.histograms():
            seconds = h.sum / 1e9
            if operation.startswith(STAGE_PREFIX):
                stages.add_metric([operation.removeprefix(STAGE_PREFIX), path], _buckets(h), seconds)
            else:
                calls.add_metric([operation, path], _buckets(h), seconds)
        yield stages
        yield calls

    def _counters(self) -> Iterator[Metric]:
        orders = CounterMetricFamily("tradebot_orders", "Orders sent to the broker", labels=["path", "outcome"])
        fills = CounterMetricFamily("tradebot_fills", "Fills stored (each once)", labels=["path"])
        for (name, path, outcome), n in sorted(self.engine.metrics.counters.items()):
            if name == "orders":
                orders.add_metric([path, outcome], n)
            elif name == "fills":
                fills.add_metric([path], n)
        yield orders
        yield fills
        counts: dict[str, int] | None = getattr(self.engine.path, "answer_counts", None)
        if counts is not None:
            answers = CounterMetricFamily(
                "tradebot_order_answers",
                "Order calls tried on the loop's thread ([projectx] answer_within_us), by how they were answered",
                labels=["way"],
            )
            for way, n in counts.items():
                answers.add_metric([way], n)
            yield answers

    def _gauges(self) -> Iterator[Metric]:
        e = self.engine
        if self.outbox_depth is not None:
            yield GaugeMetricFamily(
                "tradebot_outbox_depth", "Notifications waiting to be delivered", value=self.outbox_depth
            )
        now = e.clock.now()
        if e.market_seen_at is not None:
            age = (now - e.market_seen_at).total_seconds()
            yield GaugeMetricFamily(
                "tradebot_feed_age_seconds", "Now minus the newest market event's time", value=max(0.0, age)
            )
        hubs = GaugeMetricFamily("tradebot_hub_connected", "1 while the hub is connected", labels=["hub"])
        for hub, stream in (("market", e.market_stream), ("user", e.user_stream)):
            if stream is not None:
                hubs.add_metric([hub], 1.0 if stream.connected else 0.0)
        yield hubs
        remaining = GaugeMetricFamily(
            "tradebot_rule_remaining_dollars", "What is left of each risk rule", labels=["rule"]
        )
        used = GaugeMetricFamily("tradebot_rule_used_ratio", "Each risk rule's use (1 = at the limit)", labels=["rule"])
        for h in headroom(e.risk, e.exposure(), now):
            if h.remaining is not None:
                remaining.add_metric([h.rule], float(h.remaining))
            if h.fraction is not None:
                used.add_metric([h.rule], float(h.fraction))
        yield remaining
        yield used


@contextlib.asynccontextmanager
async def prometheus_endpoint(engine: Engine, host: str, port: int) -> AsyncIterator[int]:
    """Serve GET /metrics on host:port (0: any free port) while inside; yields the bound port."""
    collector = EngineCollector(engine)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)

    async def scrape(_request: web.Request) -> web.Response:
        try:
            collector.outbox_depth = await engine.store.outbox.pending_count()
        except Exception as exc:  # the store away: the rest is still worth serving
            log.debug("outbox depth unreadable for /metrics: %s", exc)
            collector.outbox_depth = None
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        await runner.cleanup()
        where = f"metrics.prometheus_host/prometheus_port {host}:{port}"
        raise ConfigError([f"{where}: cannot listen there ({exc.strerror or exc})"]) from None
    bound = int(sock.getsockname()[1])
    await web.SockSite(runner, sock).start()
    try:
        yield bound
    finally:
        await runner.cleanup()
