"""The control tables (migration 005): a request is carried out at most once and never after it expired
or was withdrawn; an instance's row says how old it is and goes when the instance stops."""

from __future__ import annotations

from trading.store import Store
from trading.store.control import INSTANCE


async def test_a_request_is_taken_once_in_order(store: Store) -> None:
    first = await store.control.request(7, "halt", {"reason": "news"}, "cli a@b", 30)
    second = await store.control.request(7, "resume", {}, "cli a@b", 30)
    await store.control.request(8, "flatten", {}, "cli a@b", 30)  # another account's
    taken = await store.control.take(7, by="one")
    assert taken is not None and (taken.id, taken.verb, taken.args, taken.picked_by) == (
        first,
        "halt",
        {"reason": "news"},
        "one",
    )
    again = await store.control.take(7, by="two")
    assert again is not None and again.id == second
    assert await store.control.take(7, by="two") is None
    await store.control.finish(first, True, {"risk": {"kill_switch": "halted"}})
    done = await store.control.get(first)
    assert (
        done is not None
        and done.ok is True
        and done.done_at is not None
        and done.result == {"risk": {"kill_switch": "halted"}}
    )
    assert not await store.control.withdraw(second)  # taken: too late to withdraw


async def test_an_expired_or_withdrawn_request_is_never_taken(store: Store) -> None:
    expired = await store.control.request(7, "flatten", {}, "cli", -1)
    withdrawn = await store.control.request(7, "flatten", {}, "cli", 30)
    assert await store.control.withdraw(withdrawn)
    assert await store.control.take(7) is None
    row = await store.control.get(expired)
    assert row is not None and row.picked_at is None
    gone = await store.control.get(withdrawn)
    assert gone is not None and gone.ok is False and "withdrawn" in (gone.result or {}).get("error", "")


async def test_instances_say_their_age_role_and_go(store: Store) -> None:
    await store.control.publish(7, "standby", "paper", {}, instance="b")
    await store.control.publish(7, "active", "paper", {"ready": True}, instance="a")
    rows = await store.control.instances(7, fresh_s=60)
    assert [(r.instance, r.role) for r in rows] == [("a", "active"), ("b", "standby")]
    assert rows[0].status == {"ready": True} and 0 <= rows[0].age_s < 60
    standby_since = rows[1].started_at
    await store.db.execute("UPDATE engine_instances SET seen_at = now() - interval '1 minute' WHERE instance = 'a'")
    assert [r.instance for r in await store.control.instances(7, fresh_s=15)] == ["b"]
    await store.control.publish(7, "active", "paper", {}, instance="b")  # the standby took over
    [b] = [r for r in await store.control.instances(7) if r.instance == "b"]
    assert b.role == "active" and b.started_at > standby_since
    await store.control.publish(7, "active", "live", {}, instance=INSTANCE)
    await store.control.gone()
    assert INSTANCE not in [r.instance for r in await store.control.instances()]
