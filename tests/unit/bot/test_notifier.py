"""Which messages the owners also get by direct message (`[discord] owners`, `dm_kinds`, `dm_urgent`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.notifier import DirectRoute
from trading import notifications
from trading.config import DiscordSettings, NotificationKindName, Settings
from trading.domain import NotificationKind
from trading.store.outbox import OutboxMessage, dm_channel, dm_user

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def message(
    kind: NotificationKind, payload: dict[str, Any], *, channel: str | None = None, parent: int | None = None
) -> OutboxMessage:
    return OutboxMessage(
        id=1, kind=kind, channel=channel or kind.channel, payload=payload, attempts=0, created_at=T0, parent_id=parent
    )


def test_defaults_send_risk_and_urgent_alerts_to_the_owners() -> None:
    route = DirectRoute.of(DiscordSettings(owners=(11, 22, 11)))
    trip = message(NotificationKind.RISK, dict(notifications.risk("Kill switch", "daily loss")))
    assert route.destinations(trip) == ["dm:11", "dm:22"]  # an owner listed twice gets it once
    urgent = message(NotificationKind.ALERT, dict(notifications.alert("Dead-man switch", "flattened", urgent=True)))
    assert route.destinations(urgent) == ["dm:11", "dm:22"]
    assert route.destinations(message(NotificationKind.ALERT, dict(notifications.alert("Feed", "stale")))) == []
    assert route.destinations(message(NotificationKind.ORDER, {"title": "placed"})) == []


def test_no_owners_or_a_copy_is_never_copied_again() -> None:
    trip = dict(notifications.risk("Kill switch", "daily loss"))
    assert DirectRoute.of(DiscordSettings()).destinations(message(NotificationKind.RISK, trip)) == []
    route = DirectRoute(owners=(11,), kinds=frozenset({"risk"}), urgent=True)
    assert route.destinations(message(NotificationKind.RISK, trip, channel="dm:11", parent=7)) == []


def test_the_kinds_and_the_urgent_flag_are_configurable() -> None:
    route = DirectRoute.of(DiscordSettings(owners=(11,), dm_kinds=("exit_fill",), dm_urgent=False))
    assert route.destinations(message(NotificationKind.EXIT_FILL, {"price": "1"})) == ["dm:11"]
    assert route.destinations(message(NotificationKind.RISK, {"title": "trip"})) == []
    assert route.destinations(message(NotificationKind.ALERT, {"title": "x", "text": "", "urgent": True})) == []


def test_owner_settings_are_checked() -> None:
    assert get_args(NotificationKindName) == tuple(k.value for k in NotificationKind)
    with pytest.raises(ValueError, match="dm_kinds"):
        Settings(discord={"dm_kinds": ["risks"]})
    with pytest.raises(ValueError, match="owners"):
        Settings(discord={"owners": [0]})


@given(
    kind=st.sampled_from(list(NotificationKind)),
    kinds=st.frozensets(st.sampled_from([k.value for k in NotificationKind])),
    urgent_flag=st.sampled_from([None, True, False, "yes"]),
    urgent=st.booleans(),
    owners=st.lists(st.integers(1, 2**63 - 1), max_size=4),
)
def test_a_message_goes_to_every_owner_or_to_none(
    kind: NotificationKind, kinds: frozenset[str], urgent_flag: object, urgent: bool, owners: list[int]
) -> None:
    payload: dict[str, Any] = {"title": "t", "text": ""}
    if urgent_flag is not None:
        payload["urgent"] = urgent_flag
    route = DirectRoute(tuple(dict.fromkeys(owners)), kinds, urgent)
    got = route.destinations(message(kind, payload))
    routed = kind.value in kinds or (urgent and urgent_flag is True)
    assert got == ([dm_channel(u) for u in dict.fromkeys(owners)] if routed else [])
    assert all(dm_user(c) in owners for c in got)
