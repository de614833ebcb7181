"""`[app] cpu`: `tradebot run --paper` with the setting runs every thread of its process on one CPU, the
Rust runtime's worker included (started after the pin, it inherits it); a CPU the process may not use is
refused before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.test_paper_out_of_the_box_e2e import spawn
from tests.integration.engine.test_restart import stop, wait_for
from trading.calendar import NY
from trading.cli.common import EXIT_CONFIG
from trading.store.executor import Pool

ALLOWED = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def threads(pid: int) -> dict[str, str]:
    """Each thread of `pid`: its name and the CPUs it may run on."""
    out: dict[str, str] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except FileNotFoundError:
            continue  # ended meanwhile
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        out[f"{fields['Name'].strip()}/{task.name}"] = fields["Cpus_allowed_list"].strip()
    return out


@pytest.mark.skipif(len(ALLOWED) < 2, reason="needs 2 CPUs: with one there is nothing to choose")
async def test_every_thread_of_the_run_on_the_chosen_cpu(database_url: str, pool: Pool, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    env = {**os.environ, "TRADEBOT_DATABASE__URL": database_url, "TRADEBOT_APP__DATA_DIR": str(tmp_path),
           "TRADEBOT_APP__CPU": "auto"}  # fmt: skip
    start = datetime(2026, 11, 30, 9, 15, tzinfo=NY)
    cmd = [sys.executable, "-m", "trading.cli", "run", "--paper", "--clock-start", start.isoformat(), "--speed", "1"]
    proc = spawn(cmd, env, log)
    try:

        async def ready() -> bool:
            return "next job:" in log.read_text()

        await wait_for("the engine ready", ready, proc, log)
        chosen = max(ALLOWED)
        assert f"cpu: this process runs on CPU {chosen}" in log.read_text()
        seen = threads(proc.pid)
        assert any(name.startswith("tokio-rt-worker") for name in seen), seen  # the Rust worker: started later
        assert set(seen.values()) == {str(chosen)}, seen
    finally:
        await stop(proc)


def test_a_cpu_the_process_may_not_use_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "TRADEBOT_APP__DATA_DIR": str(tmp_path), "TRADEBOT_APP__CPU": "4095",
           "TRADEBOT_APP__LOG_DIR": ""}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "trading.cli", "run", "--paper"], env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == EXIT_CONFIG, done.stdout + done.stderr
    assert "app.cpu = 4095: this process may use CPUs" in done.stderr
    assert "engine" not in done.stdout.lower()
