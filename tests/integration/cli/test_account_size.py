"""`tradebot account size NAME --multiplier X | --contracts N | --reset` as a real process on the test
database: with no instance running the account, the rule is stored for its next start; with one running
it (here: the account's engine on the simulator, serving the control requests as `tradebot run` does),
the request goes to it through the store and its next opening order uses the rule. Bad input changes
nothing; every outcome is audited."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from tests.integration.engine.test_account_size import asked
from tests.support.engine_harness import DAY, accounts_on, sim_day
from tests.support.processes import run_command
from trading.config import AccountSettings, Settings
from trading.services.commands import serve_control
from trading.store import Store

A, B = "PRAC-V2-SIM-1", "PRAC-V2-SIM-2"
CONFIG = f"""
[[accounts]]
name = "{A}"
strategies = ["overnight_range"]

[[accounts]]
name = "{B}"
strategies = ["overnight_range"]
multiplier = 2
"""


def env_for(database_url: str, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "tradebot.toml"
    config.write_text(CONFIG)
    return {"TRADEBOT_DATABASE__URL": database_url, "TRADEBOT_CONFIG": str(config)}


async def test_without_an_instance_the_rule_is_stored_and_bad_input_changes_nothing(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    env = env_for(database_url, tmp_path)
    for argv, says in (
        (("--contracts", "0"), "contracts must be between 1 and 1000, got 0"),
        (("--multiplier", "500"), "multiplier must be between 0.01 and 100, got 500"),
        (("--multiplier", "lots"), "--multiplier must be a number"),
        (("--multiplier", "2", "--contracts", "2"), "not allowed with argument"),
        ((), "one of the arguments --multiplier --contracts --reset is required"),
        (("--reset",), "has no size rule set"),
    ):
        code, _out, err = await run_command("trading.cli", "account", "size", B, *argv, **env)
        assert code == 2 and says in err, (argv, err)
    code, _out, err = await run_command("trading.cli", "account", "size", "NOPE-1", "--contracts", "2", **env)
    assert code == 2 and f"No account named 'NOPE-1' in [[accounts]]. Accounts: {A}, {B}" in err, err
    assert await store.size_rules.get(B) is None

    code, out, err = await run_command("trading.cli", "account", "size", B.lower(), "--contracts", "3", **env)
    assert code == 0, err
    assert f"{B}: size ×2 → 3 contracts (stored)" in out and "no instance runs" in out
    code, out, err = await run_command("trading.cli", "account", "size", B, "--multiplier", "1.5", "--json", **env)
    assert code == 0, err
    assert json.loads(out)["size"] == {"account": B, "old": "3 contracts", "new": "×1.5", "stored": True}
    stored = await store.size_rules.get(B)
    assert stored is not None and (stored.multiplier, stored.contracts) == (Decimal("1.5"), None)
    assert stored.changed_by.startswith("cli ")

    audit = [(e.command, e.allowed, e.arguments) for e in reversed(await store.audit.recent())]
    assert audit[-2:] == [
        ("account size", True, {"account": B, "contracts": 3}),
        ("account size", True, {"account": B, "multiplier": "1.5"}),
    ]
    assert ("account size", False, {"account": B, "reset": True}) in audit  # a refusal is audited too

    code, out, err = await run_command("trading.cli", "account", "size", B, "--reset", **env)
    assert code == 0 and "reset to its [[accounts]] table's rule" in out, err
    assert await store.size_rules.get(B) is None


async def test_with_an_instance_running_the_account_it_applies_the_rule_at_once(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    env = env_for(database_url, tmp_path)
    settings = Settings(
        accounts=(
            AccountSettings(name=A, strategies=("overnight_range",)),
            AccountSettings(name=B, strategies=("overnight_range",), multiplier=Decimal(2)),
        )
    )
    async with sim_day(DAY.rth_open - timedelta(seconds=30)) as day:
        day.sim.add_account(B)
        cid = day.cid("MNQ")
        async with accounts_on(day, database_url, settings) as engines:
            (a, _), (b, _) = engines

            async with serve_control(b):
                code, out, err = await run_command("trading.cli", "account", "size", B, "--contracts", "4", **env)
                assert code == 0, err
                assert f"{B}: size ×2 → 4 contracts (stored)" in out and "the running instance" in out
                assert (asked(a, cid), asked(b, cid)) == (1, 4)  # applied at once in B's engine; A untouched
                code, _out, err = await run_command("trading.cli", "account", "size", B, "--contracts", "2000", **env)
                assert code == 2 and "contracts must be between" in err
                assert asked(b, cid) == 4
        stored = await store.size_rules.get(B)
        assert stored is not None and stored.contracts == 4
        assert a.plan is not None and a.plan.contracts is None
