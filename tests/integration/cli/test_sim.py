"""`tradebot sim` standalone: it prints a working login and URLs, and takes faults over /sim/faults."""

from __future__ import annotations

import asyncio
import re
import sys

import httpx

from trading.projectx import schema as s


async def test_tradebot_sim_serves_and_prints_its_login() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "trading.cli", "sim", "--port", "0", "--warmup-days", "2",  # the default market
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not any("market hub:" in line for line in lines):
            raw = await asyncio.wait_for(proc.stdout.readline(), 60)
            assert raw, f"tradebot sim exited: {(await proc.stderr.read()).decode() if proc.stderr else ''}"
            lines.append(raw.decode())
        text = "".join(lines)
        base = re.search(r"on (http://127\.0\.0\.1:\d+)", text)
        user = re.search(r"userName: (\S+)", text)
        key = re.search(r"apiKey:\s+(\S+)", text)
        assert base and user and key, text
        assert f"{base[1]}/hubs/user" in text and f"{base[1]}/hubs/market" in text
        async with httpx.AsyncClient(base_url=base[1]) as http:
            login = (await http.post(s.LOGIN_KEY, json={"userName": user[1], "apiKey": key[1]})).json()
            assert login["success"] and login["token"]
            fault = await http.post("/sim/faults", json={"kind": "http_500_before", "path": s.ACCOUNT_SEARCH})
            assert fault.status_code == 200
            auth = {"Authorization": f"Bearer {login['token']}"}
            r = await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True}, headers=auth)
            assert r.status_code == 500
    finally:
        proc.terminate()
        await proc.wait()
