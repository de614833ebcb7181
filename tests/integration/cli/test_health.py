"""`tradebot health` as a real process against a real store: exit 0 only while an engine instance's
heartbeat is fresh (of the account, on this host when asked), 1 otherwise, 2 on bad input."""

from __future__ import annotations

import json

from tests.support.processes import run_command
from trading.store import Store


async def _health(url: str, *argv: str) -> tuple[int, str, str]:
    return await run_command("trading.cli", "health", *argv, TRADEBOT_DATABASE__URL=url)


async def test_a_fresh_database_has_no_live_engine(empty_database_url: str) -> None:
    code, out, err = await _health(empty_database_url)
    assert code == 1 and out == "", err
    assert "error: no engine instance: the database is not migrated" in err and "Traceback" not in err
    code, out, _ = await run_command("trading.cli", "db", "status", TRADEBOT_DATABASE__URL=empty_database_url)
    assert code == 0 and "applied" not in out  # the probe changed nothing


async def test_a_fresh_heartbeat_is_healthy_a_stale_or_gone_one_is_not(store: Store, database_url: str) -> None:
    await store.control.publish(7, "active", "paper", {}, instance="box:42:abc")
    code, out, err = await _health(database_url)
    assert code == 0, err
    assert out.startswith("alive: active instance box:42:abc (account 7, paper), heartbeat ")
    code, out, _ = await _health(database_url, "--account", "7", "--this-host", "--json")
    assert code == 0
    [seen] = json.loads(out)["instances"]
    assert seen["instance"] == "box:42:abc" and seen["role"] == "active" and seen["account_id"] == 7

    code, _, err = await _health(database_url, "--account", "8")
    assert code == 1 and "no engine instance of account 8 has a heartbeat" in err
    await store.db.execute("UPDATE engine_instances SET host = 'elsewhere'")
    assert (await _health(database_url))[0] == 0
    code, out, err = await _health(database_url, "--this-host", "--json")
    assert code == 1 and json.loads(out) == {"healthy": False, "instances": []}

    await store.db.execute("UPDATE engine_instances SET seen_at = now() - interval '1 minute'")
    code, _, err = await _health(database_url)
    assert code == 1 and "within 15 s" in err
    assert (await _health(database_url, "--max-age", "120"))[0] == 0
    await store.control.gone("box:42:abc")
    assert (await _health(database_url, "--max-age", "120"))[0] == 1


async def test_a_bad_max_age_is_refused(database_url: str) -> None:
    code, _, err = await _health(database_url, "--max-age", "0")
    assert code == 2 and "--max-age must be between 0 and 3600 seconds" in err
