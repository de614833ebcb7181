"""Against the public SDK: a place + cancel round trip (a resting limit, then its cancel) on our
order path against project-x-py's, both on the same simulator process (bench/simserver.py).

- `rust (execution.py)`: `trading.execution.RustExecutor`, the bot's order path;
- `httpx (execution.py)`: `PythonExecutor` over `ProjectXClient`, the path without the extension;
- `project-x-py <version>`: the SDK's `OrderManager.place_order` + `cancel_order` over its own
  `ProjectX` client, in its own venv and process (bench/sdk_venv.py, bench/sdk_client.py: it needs
  Python ≥ 3.12) in its best case: client-side rate limiter off, logging quiet, no realtime hubs;
- `project-x-py <version> HTTP layer (info)`: the same process calling the SDK's `_make_request`
  (what OrderManager calls) with the same bodies: what its order bookkeeping adds; no verdict;
- `raw socket floor (info)`: bench/orders.py's minimal asyncio HTTP client, the same bodies;
- `rust socket floor (info)`: canned place + cancel bytes on a blocking socket from Rust
  (`trading._native.SocketFloor`, as in bench/orders.py). The faster of the two floors is what the
  simulator itself takes: no client's time goes below it, so a ratio is capped near (SDK / floor).

Our two run in this process with our client-side rate limit lifted too. Each of `reps` repetitions
runs `n` sequential round trips per contender, interleaved in chunks of 50 with the order rotating
per chunk (the SDK's chunk is asked for over its stdin and timed in its process, round trip by round
trip, as ours are here). Ratios are paired per repetition (SDK p50 / ours p50 of the same
repetition), then the median; the goal is the bot's order path ≥ 5× faster at p50 and at p99."""

from __future__ import annotations

import asyncio
import json
import statistics
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import machine, sdk_venv, simserver
from bench.goals import Figure, Goal, Section, at_least
from bench.interleave import CHUNK, Chunk, Rep, interleaved, timed
from bench.orders import RawHttp
from bench.stats import fmt
from trading import native
from trading.config import ProjectXSettings
from trading.domain import OrderRequest, OrderType, Side
from trading.execution import PythonExecutor, RustExecutor
from trading.projectx import schema as s
from trading.projectx.rest import ProjectXClient

GOAL = 5.0
RUST = "rust (execution.py)"
PYTHON = "httpx (execution.py)"
FLOOR = "raw socket floor (info)"
RUST_FLOOR = "rust socket floor (info)"
FLOORS = (FLOOR, RUST_FLOOR)
CLIENT = Path(__file__).with_name("sdk_client.py")


class SdkDied(Exception):
    """project-x-py's process ended before answering (its stderr, shown above, says why)."""


class SdkProcess:
    """project-x-py in its own venv and process, asked for round trips a chunk at a time."""

    def __init__(self, proc: asyncio.subprocess.Process, hello: dict[str, Any]) -> None:
        self.proc, self.hello = proc, hello

    @classmethod
    async def start(cls, exe: Path, sim: simserver.Running) -> SdkProcess:
        proc = await asyncio.create_subprocess_exec(
            str(exe), str(CLIENT), sim.base_url, str(sim.account_id), sim.contract_id,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self = cls(proc, {})
        self.hello = await self._reply()
        return self

    async def _reply(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            await self.proc.wait()
            raise SdkDied(f"project-x-py's process ended (exit {self.proc.returncode}); its stderr says why")
        out: dict[str, Any] = json.loads(line)
        return out

    async def chunk(self, n: int, start: int) -> list[float]:
        """n round trips through the SDK's OrderManager."""
        return await self._run(f"RUN {n} {start}")

    async def http_chunk(self, n: int, start: int) -> list[float]:
        """n round trips through the SDK's HTTP layer alone (`_make_request`, no OrderManager)."""
        return await self._run(f"RUN {n} {start} http")

    async def _run(self, command: str) -> list[float]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{command}\n".encode())
        await self.proc.stdin.drain()
        return [float(x) for x in (await self._reply())["ns"]]

    async def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        await self.proc.wait()

    @property
    def name(self) -> str:
        return f"project-x-py {self.hello['version']}"

    def about(self) -> list[str]:
        settings = "; ".join(f"{k}: {v}" for k, v in self.hello["settings"].items())
        calls: dict[str, int] = self.hello["endpoints"]
        missing = [k for k, v in calls.items() if v != 200]
        return [
            f"{self.name} on Python {self.hello['python']} ({sdk_venv.VENV.relative_to(sdk_venv.ROOT)}); {settings}",
            "endpoints the SDK called (login, one round trip): " + ", ".join(calls)
            + (f"; NOT answered 200 by the simulator: {', '.join(missing)}" if missing else "; all served"),
        ]  # fmt: skip


def _ratios(reps: dict[str, list[Rep]], num: str, den: str, q: str) -> list[float]:
    return [getattr(a, q) / getattr(b, q) for a, b in zip(reps[num], reps[den], strict=True)]


def _table(title: str, sdk: str, reps: dict[str, list[Rep]], about: list[str]) -> str:
    w = max(map(len, reps))
    head = (f"{'path':<{w}} {'p50':>9} {'p95':>9} {'p99':>9} {'p50 range':>19} {'p99 range':>19}"
            f" {'sdk/x p50':>9} {'p99':>5}")  # fmt: skip
    lines = [f"\n## {title}", head, "-" * len(head)]
    for name, r in reps.items():
        p50s, p99s = [x.p50 for x in r], [x.p99 for x in r]
        med = [statistics.median(getattr(x, q) for x in r) for q in ("p50", "p95", "p99")]
        k50, k99 = (statistics.median(_ratios(reps, sdk, name, q)) for q in ("p50", "p99"))
        lines.append(
            f"{name:<{w}} {fmt(med[0]):>9} {fmt(med[1]):>9} {fmt(med[2]):>9}"
            f" {fmt(min(p50s)) + '..' + fmt(max(p50s)):>19} {fmt(min(p99s)) + '..' + fmt(max(p99s)):>19}"
            f" {k50:>9.2f} {k99:>5.2f}"
        )
    lines += about
    lines.append("(medians over repetitions; 'sdk/x' = how many times faster than the SDK, paired per repetition)")
    return "\n".join(lines)


def goals(reps: dict[str, list[Rep]], sdk: str, ours: str, load: str) -> list[Goal]:
    """The bot's order path (Rust when the extension is there) gets the verdicts; the other is shown."""
    out: list[Goal] = []
    floor = reps.get(FLOOR)
    for name in (n for n in reps if not n.startswith(sdk) and n not in FLOORS):
        for q in ("p50", "p99"):
            ratio = _ratios(reps, sdk, name, q)
            base = statistics.median(getattr(x, q) for x in reps[sdk])
            mine = statistics.median(getattr(x, q) for x in reps[name])
            out.append(Goal(
                f"vs {sdk}: place+cancel, {name}, {q}", f"≥ {GOAL:.0f}× faster", Figure(tuple(ratio), "×"),
                at_least(ratio, GOAL) if name == ours else None,
                baseline=f"SDK {q} {fmt(base)}, ours {fmt(mine)}"
                + (f", asyncio socket floor {fmt(statistics.median(getattr(x, q) for x in floor))}" if floor else ""),
                note=(f"{_ceiling(reps, sdk, q)}load {load}" if name == ours
                      else "information: not the bot's order path here"),
            ))  # fmt: skip
    return out


def _ceiling(reps: dict[str, list[Rep]], sdk: str, q: str) -> str:
    """How much faster than the SDK the fastest floor itself is (paired per repetition): no client of
    this simulator can show more, since every round trip pays the simulator's own time."""
    floors = [reps[f] for f in FLOORS if f in reps]
    if not floors:
        return ""
    best = statistics.median(getattr(x, q) / min(getattr(f[i], q) for f in floors) for i, x in enumerate(reps[sdk]))
    return (f"ceiling: the fastest socket floor itself is {best:.2f}× faster than the SDK"
            f"{' (below the goal: out of reach on this simulator)' if best < GOAL else ''}; ")  # fmt: skip


def unavailable(headline: str, why: str) -> Section:
    """The goal rows with no figure: the SDK did not run, so there is nothing to compare."""
    nothing = Figure((float("nan"),), "×")
    rows = [Goal(f"vs project-x-py: place+cancel, our order path, {q}", f"≥ {GOAL:.0f}× faster", nothing, None,
                 note=f"n/a: {headline}: {why}") for q in ("p50", "p99")]  # fmt: skip
    return Section("vs project-x-py", [f"\n## against project-x-py: not measured ({why})"], rows)


def run(quick: bool = False, reps: int | None = None) -> Section:
    try:
        exe = sdk_venv.python()
    except sdk_venv.SdkUnavailable as exc:
        return unavailable("SDK not installable", str(exc))
    n, r = (300, 3) if quick else (1000, 5)
    with simserver.running() as sim:
        try:
            return asyncio.run(_run(exe, sim, n, reps or r))
        except SdkDied as exc:
            return unavailable("SDK did not run", str(exc))


async def _run(exe: Path, sim: simserver.Running, n: int, reps: int) -> Section:
    settings = ProjectXSettings(
        base_url=sim.base_url, username="sim-trader", api_key="sim-api-key", rate_limit_requests=10**9
    )
    tag = uuid.uuid4().hex[:8]

    def request(prefix: str, i: int) -> OrderRequest:
        return OrderRequest(sim.account_id, sim.contract_id, Side.BUY, OrderType.LIMIT, 1, f"{prefix}-{tag}-{i}",
                            limit_price=Decimal("20000"))  # fmt: skip

    sdk = await SdkProcess.start(exe, sim)
    try:
        async with ProjectXClient(settings) as px:
            token = await px.login()
            contenders: dict[str, Chunk] = {}
            if native.enabled():
                rust = await RustExecutor.create(px)

                async def rust_once(i: int) -> None:
                    await rust.cancel(sim.account_id, (await rust.place(request("r", i))).value)

                contenders[RUST] = timed(rust_once)
            py = PythonExecutor(px)

            async def py_once(i: int) -> None:
                await py.cancel(sim.account_id, (await py.place(request("p", i))).value)

            contenders[PYTHON] = timed(py_once)
            host, port = sim.base_url.removeprefix("http://").split(":")
            raw = RawHttp(host, int(port), token)
            await raw.connect()

            async def raw_once(i: int) -> None:
                body = {"accountId": sim.account_id, "contractId": sim.contract_id, "type": 1, "side": 0,
                        "size": 1, "limitPrice": 20000, "customTag": f"s-{tag}-{i}"}  # fmt: skip
                placed = await raw.post(s.ORDER_PLACE, body)
                await raw.post(s.ORDER_CANCEL, {"accountId": sim.account_id, "orderId": placed["orderId"]})

            contenders[FLOOR] = timed(raw_once)
            mod = native.module()
            if mod is not None and hasattr(mod, "SocketFloor"):
                floor_rs = mod.SocketFloor(host, int(port), token)

                async def rust_floor_once(i: int) -> None:
                    floor_rs.place_cancel(sim.account_id, sim.contract_id, f"f-{tag}-{i}")

                contenders[RUST_FLOOR] = timed(rust_floor_once)
            contenders[sdk.name] = sdk.chunk
            contenders[f"{sdk.name} HTTP layer (info)"] = sdk.http_chunk
            results = await interleaved(contenders, n, reps)
            await raw.close()
    finally:
        await sdk.close()
    load = machine.load()
    ours = RUST if RUST in results else PYTHON
    title = (f"against the public SDK: place + cancel, {n:,} sequential per contender × {reps} repetitions "
             f"(interleaved in chunks of {CHUNK}), one simulator process; load at the end {load}")  # fmt: skip
    return Section("vs project-x-py", [_table(title, sdk.name, results, sdk.about())],
                   goals(results, sdk.name, ours, load))  # fmt: skip
