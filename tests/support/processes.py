"""Commands as real processes: `python -m trading.cli …` with a clean environment, awaited without
blocking the event loop (a simulator or fake the test serves keeps answering meanwhile)."""

from __future__ import annotations

import asyncio
import os
import sys

WAIT_S = 60.0  # liveness bound: a command that hangs fails the test instead of blocking the run


async def run_command(*argv: str, **env: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `python -m *argv`; the parent's TRADEBOT_ settings left out (but
    TRADEBOT_RUST), `env` added. stdout and stderr are pipes, never a terminal."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRADEBOT_") or k == "TRADEBOT_RUST"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", *argv,
        env={**base, "TRADEBOT_APP__LOG_LEVEL": "WARNING", **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), WAIT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
