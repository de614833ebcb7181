"""A market hub that replays a recorded burst of GatewayQuote frames, for the decode benchmark.

At start it records the burst from the simulator itself: a websocket client subscribes to the
simulator's market hub while 1,000 quotes are driven through it, and keeps the frames as sent (the
simulator's partial quotes). Then it serves `/hubs/market`: after the handshake, each
`SubscribeContractQuotes` is answered and the recorded frames are replayed `repeat` times, coalesced
`per_message` to a websocket message (as the simulator's writer does under load), each message
stamped with its send time in the quotes' `timestamp` (so the client can measure delivery lag).
With `paced` as the third argument each frame goes alone in its message, PACE_S apart (a single
quote's arrival -> handler, nothing queued behind it). Prints `READY <url>`; serves until stdin closes."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal

import aiohttp
from aiohttp import web

from trading.config import SimSettings
from trading.projectx import schema as s
from trading.sim.gateway import SimGateway

STAMP = "2000-01-01T00:00:00.000000+00:00"
PACE_S = 0.002  # paced mode: the pause before each single-quote message


async def record(n: int = 1000) -> list[str]:
    frames: list[str] = []
    async with SimGateway(SimSettings(port=0)) as sim, aiohttp.ClientSession() as http:
        cid = sim.contract("MNQ")
        async with http.ws_connect(
            sim.market_hub_url.replace("http", "ws", 1) + "?access_token=" + await _login(http, sim)
        ) as ws:
            await ws.send_str(s.HANDSHAKE_REQUEST)
            await ws.receive()
            await ws.send_str(
                json.dumps({"type": 1, "invocationId": "1", "target": s.SUBSCRIBE_CONTRACT_QUOTES, "arguments": [cid]})
                + s.RECORD_SEPARATOR
            )
            while '"type":3' not in str((await asyncio.wait_for(ws.receive(), 5)).data).replace(" ", ""):
                pass  # wait for the subscription's completion
            price = Decimal("21000")
            for i in range(n):
                price += Decimal("0.25") if i % 3 else Decimal("-0.25")
                await sim.market.quote(cid, price, price + Decimal("0.25") * (1 + i % 2))
            while len(frames) < n:
                try:
                    msg = await asyncio.wait_for(ws.receive(), 2)
                except TimeoutError:
                    break
                for f in str(msg.data).split(s.RECORD_SEPARATOR):
                    if '"GatewayQuote"' in f:
                        d = json.loads(f)
                        d["arguments"][1]["timestamp"] = STAMP
                        d["arguments"][1].pop("lastUpdated", None)
                        frames.append(json.dumps(d, separators=(",", ":")) + s.RECORD_SEPARATOR)
    if not frames:
        raise RuntimeError("recorded no GatewayQuote frame from the simulator")
    return frames[-n:]


async def _login(http: aiohttp.ClientSession, sim: SimGateway) -> str:
    async with http.post(sim.base_url + s.LOGIN_KEY, json={"userName": sim.username, "apiKey": sim.api_key}) as r:
        token: str = (await r.json())["token"]
        return token


def serve_app(frames: list[str], repeat: int, per_message: int, paced: bool = False) -> web.Application:
    chunks = ["".join(frames[i : i + per_message]) for i in range(0, len(frames), per_message)]

    async def hub(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            for f in str(msg.data).split(s.RECORD_SEPARATOR):
                if not f.strip():
                    continue
                d = json.loads(f)
                if "protocol" in d:
                    await ws.send_str(s.HANDSHAKE_RESPONSE)
                elif d.get("target") == s.SUBSCRIBE_CONTRACT_QUOTES:
                    await ws.send_str(
                        json.dumps({"type": 3, "invocationId": d.get("invocationId"), "result": None})
                        + s.RECORD_SEPARATOR
                    )
                    if paced:  # one quote per message, apart: each arrives alone (arrival -> handler)
                        for _ in range(repeat):
                            for frame in frames:
                                await asyncio.sleep(PACE_S)
                                await ws.send_str(
                                    frame.replace(STAMP, datetime.now(UTC).isoformat(timespec="microseconds"))
                                )
                        continue
                    for _ in range(repeat):
                        for chunk in chunks:
                            await ws.send_str(
                                chunk.replace(STAMP, datetime.now(UTC).isoformat(timespec="microseconds"))
                            )
        return ws

    app = web.Application()
    app.router.add_get(s.MARKET_HUB_PATH, hub)
    return app


async def main(repeat: int, per_message: int, paced: bool) -> None:
    frames = await record()
    runner = web.AppRunner(serve_app(frames, repeat, per_message, paced))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"READY http://127.0.0.1:{port}{s.MARKET_HUB_PATH} {len(frames) * repeat}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:] == ["paced"]))
