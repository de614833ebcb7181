"""`tradebot smoke` as a real process: against an in-process simulator with --orders every step passes on
both order paths and the JSON report says so; a funded or live account is refused before any order
unless --force."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import run_command
from trading import native
from trading.config import load_settings
from trading.sim.gateway import SimGateway

READS = {"login", "accounts", "contracts.search", "contracts.by_id", "contracts.available", "orders.open",
         "orders.search", "positions.open", "trades.search", "bars.history"}  # fmt: skip


async def test_smoke_on_the_simulator_places_modifies_and_cancels_on_each_path(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    code, stdout, stderr = await run_command("trading.cli", "smoke", "--sim", "--orders", "--json-out", str(out))
    assert code == 0, stdout + stderr
    report = json.loads(out.read_text())
    assert report["failed"] == 0 and report["success_rate"] == 1.0 and report["simulated_gateway"]
    assert report["account"]["name"] == "PRAC-V2-SIM-1" and report["orders"] is True and report["forced"] == ""
    steps = report["steps"]
    assert {s["name"] for s in steps if s["outcome"] == "ok"} >= READS
    paths = ["rust", "python"] if native.enabled() else ["python"]
    for path in paths:
        done = [s["name"] for s in steps if s["path"] == path and s["outcome"] == "ok"]
        assert [n for n in done if n.startswith("order.")] == ["order.place", "order.modify", "order.cancel"], path
    if not native.enabled():
        assert [s["outcome"] for s in steps if s["name"] == "order.rust"] == ["skipped"]
    [flatten] = [s for s in steps if s["name"] == "flatten"]
    assert flatten["outcome"] == "ok" and flatten["detail"].startswith("0 order(s) cancelled")
    assert all(s["ms"] >= 0 for s in steps)
    assert "steps passed (100%)" in stdout and f"report: {out}" in stdout


async def test_a_funded_or_live_account_is_refused_unless_forced(tmp_path: Path) -> None:
    settings = load_settings()
    async with SimGateway(settings.sim.model_copy(update={"port": 0})) as sim:
        funded = sim.add_account("XFA-50K-123456").id
        live = sim.add_account("PRAC-V2-REAL", simulated=False).id
        url = sim.base_url
        before = len(sim.exchange.orders)
        for account, why in ((funded, "is a funded account (Topstep Express Funded 50K)"), (live, "is a live account")):
            out = tmp_path / f"{account}.json"
            code, stdout, stderr = await run_command(
                "trading.cli", "smoke", "--sim-url", url, "--account", str(account), "--orders",
                "--json-out", str(out),
            )  # fmt: skip
            assert code == 3, stdout + stderr
            assert stderr.startswith("refused: account ") and why in stderr and "--force" in stderr
            assert not out.exists() and stdout == ""
        assert len(sim.exchange.orders) == before  # nothing placed
        out = tmp_path / "forced.json"
        code, stdout, stderr = await run_command(
            "trading.cli", "smoke", "--sim-url", url, "--account", str(funded), "--force", "--json-out", str(out)
        )
        assert code == 0, stdout + stderr
        assert json.loads(out.read_text())["forced"].endswith("is a funded account (Topstep Express Funded 50K)")
        assert "XFA-50K-123456" in stdout and len(sim.exchange.orders) == before  # reads only without --orders
        code, _, stderr = await run_command("trading.cli", "smoke", "--sim-url", url, "--account", "999999")
        assert code == 2 and "no active account #999999 on this login; active accounts: PRAC-V2-SIM-1" in stderr


async def test_bad_options_are_refused_before_anything_runs(tmp_path: Path) -> None:
    code, _, err = await run_command("trading.cli", "smoke", "--sim", "--distance-pct", "abc")
    assert code == 2 and "--distance-pct must be a number" in err
    code, _, err = await run_command("trading.cli", "smoke", "--sim", "--json-out", str(tmp_path / "no" / "r.json"))
    assert code == 2 and "--json-out: no directory" in err
