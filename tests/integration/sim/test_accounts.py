"""Several accounts on one simulated login, over real HTTP and SignalR: every endpoint and the user hub
answer for the account asked about and no other (orders, positions, trades, balances, subscriptions),
the accounts come from `[sim] extra_accounts` or the `/sim/accounts` control endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from tests.integration.sim.test_support import Hub, call, client, hub, running
from trading.config import SimSettings
from trading.projectx import schema as s
from trading.sim.gateway import SimGateway

EXTRA = ("PRAC-V2-SIM-2", "PRAC-V2-SIM-3")
EPOCH = "2020-01-01T00:00:00Z"


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with running(extra_accounts=EXTRA) as gateway:
        await gateway.market.quote(gateway.contract("MNQ"), "21000", "21000.25")
        await gateway.market.trade(gateway.contract("MNQ"), "21000", 1)
        yield gateway


@pytest.fixture
async def http(sim: SimGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with client(sim) as c:
        yield c


def ids(sim: SimGateway) -> list[int]:
    return sorted(sim.exchange.accounts)


def token_of(http: httpx.AsyncClient) -> str:
    return http.headers["Authorization"].split()[1]


async def subscribe(h: Hub, account_id: int) -> None:
    for method in (s.SUBSCRIBE_ORDERS, s.SUBSCRIBE_POSITIONS, s.SUBSCRIBE_TRADES):
        assert (await h.invoke(method, account_id))["result"] is None


async def place(http: httpx.AsyncClient, sim: SimGateway, account_id: int, **over: Any) -> int:
    body: dict[str, Any] = {"accountId": account_id, "contractId": sim.contract("MNQ"), "type": 2, "side": 0, "size": 1}
    body.update(over)
    r = await call(http, s.ORDER_PLACE, body)
    assert r["success"], r
    order_id: int = r["orderId"]
    return order_id


async def test_configured_accounts_are_served_on_one_login(sim: SimGateway, http: httpx.AsyncClient) -> None:
    found = (await call(http, s.ACCOUNT_SEARCH, {"onlyActiveAccounts": True}))["accounts"]
    assert [a["name"] for a in sorted(found, key=lambda a: a["id"])] == ["PRAC-V2-SIM-1", *EXTRA]
    assert sim.account_id == ids(sim)[0]


async def test_every_endpoint_answers_for_its_account_only(sim: SimGateway, http: httpx.AsyncClient) -> None:
    a, b, c = ids(sim)
    cid = sim.contract("MNQ")
    market_b = await place(http, sim, b, size=2)
    resting_c = await place(http, sim, c, type=1, side=0, limitPrice=20000, customTag="same-tag")
    # A customTag is unique per account, not per login.
    resting_a = await place(http, sim, a, type=1, side=0, limitPrice=20000, customTag="same-tag")

    async def orders(acct: int) -> set[int]:
        r = await call(http, s.ORDER_SEARCH, {"accountId": acct, "startTimestamp": EPOCH})
        return {o["id"] for o in r["orders"]}

    assert (await orders(a), await orders(b), await orders(c)) == ({resting_a}, {market_b}, {resting_c})
    open_b = await call(http, s.ORDER_SEARCH_OPEN, {"accountId": b})
    assert open_b["orders"] == []
    query = await call(http, s.ORDER_QUERY_V2, {"filter": {"accountId": c}, "includeTotalCount": True})
    assert [o["id"] for o in query["orders"]] == [resting_c] and query["totalCount"] == 1

    positions = {
        acct: (await call(http, s.POSITION_SEARCH_OPEN, {"accountId": acct}))["positions"] for acct in (a, b, c)
    }
    assert positions[a] == [] and positions[c] == []
    assert [(p["accountId"], p["size"], p["type"]) for p in positions[b]] == [(b, 2, 1)]

    trades = {acct: (await call(http, s.TRADE_SEARCH, {"accountId": acct, "startTimestamp": EPOCH}))["trades"]
              for acct in (a, b, c)}  # fmt: skip
    assert trades[a] == [] and trades[c] == [] and [t["orderId"] for t in trades[b]] == [market_b]

    balances = {
        x["id"]: Decimal(str(x["balance"]))
        for x in (await call(http, s.ACCOUNT_SEARCH, {"onlyActiveAccounts": True}))["accounts"]
    }
    start = sim.settings.starting_balance
    assert balances[a] == balances[c] == start and balances[b] == start - 2 * sim.settings.fees_per_contract

    # Another account's order is not found through this one: search by id, modify, cancel.
    by_id = await call(http, s.ORDER_SEARCH_BY_ID, {"accountId": a, "orderId": resting_c})
    assert by_id["errorCode"] == s.OrderByIdErrorCode.ORDER_NOT_FOUND
    modify = await call(http, s.ORDER_MODIFY, {"accountId": a, "orderId": resting_c, "limitPrice": 20001})
    assert modify["errorCode"] == s.ModifyOrderErrorCode.ORDER_NOT_FOUND
    cancel = await call(http, s.ORDER_CANCEL, {"accountId": b, "orderId": resting_c})
    assert cancel["errorCode"] == s.CancelOrderErrorCode.ORDER_NOT_FOUND
    assert sim.exchange.orders[resting_c].working and sim.exchange.orders[resting_c].limit_price == 20000

    # Closing one account's position leaves the others alone; an account without one has none to close.
    none_here = await call(http, s.POSITION_CLOSE, {"accountId": a, "contractId": cid})
    assert none_here["errorCode"] == s.ClosePositionErrorCode.POSITION_NOT_FOUND
    await place(http, sim, c, side=1, size=1)  # C goes short 1 at market
    assert (await call(http, s.POSITION_CLOSE, {"accountId": b, "contractId": cid}))["success"]
    after = {acct: (await call(http, s.POSITION_SEARCH_OPEN, {"accountId": acct}))["positions"] for acct in (b, c)}
    assert after[b] == [] and [(p["accountId"], p["size"], p["type"]) for p in after[c]] == [(c, 1, 2)]
    assert sim.exchange.orders[resting_a].working  # A's resting order is untouched by B's and C's trading


async def test_user_hub_sends_each_connection_only_the_accounts_it_subscribed(
    sim: SimGateway, http: httpx.AsyncClient
) -> None:
    a, b, c = ids(sim)
    async with hub(sim.user_hub_url, token_of(http)) as only_a, hub(sim.user_hub_url, token_of(http)) as b_and_c:
        await subscribe(only_a, a)
        await subscribe(b_and_c, b)
        await subscribe(b_and_c, c)
        on_b = await place(http, sim, b)
        on_a = await place(http, sim, a)
        # Events of one connection arrive in order: A's first order event proves B's never came.
        (first_a,) = await only_a.event(s.EVENT_USER_ORDER)
        assert (first_a["data"]["id"], first_a["data"]["accountId"]) == (on_a, a)
        (first_b,) = await b_and_c.event(s.EVENT_USER_ORDER)
        assert (first_b["data"]["id"], first_b["data"]["accountId"]) == (on_b, b)
        (trade_b,) = await b_and_c.event(s.EVENT_USER_TRADE)
        assert (trade_b["orderId"], trade_b["accountId"]) == (on_b, b)
        (pos_b,) = await b_and_c.event(s.EVENT_USER_POSITION)
        assert pos_b["accountId"] == b
        # The A order's events never reach the B-and-C connection: C's order is the next one it hears of.
        on_c = await place(http, sim, c, side=1)
        while True:
            (ev,) = await b_and_c.event(s.EVENT_USER_ORDER)
            assert ev["data"]["accountId"] in (b, c)
            if ev["data"]["id"] == on_c:
                break
        # Unsubscribing one account stops its events and keeps the other's.
        for method in (s.UNSUBSCRIBE_ORDERS, s.UNSUBSCRIBE_POSITIONS, s.UNSUBSCRIBE_TRADES):
            assert (await b_and_c.invoke(method, b))["result"] is None
        b_and_c.drain()
        await place(http, sim, b, side=1)
        again_c = await place(http, sim, c)
        (ev,) = await b_and_c.event(s.EVENT_USER_ORDER)
        assert (ev["data"]["id"], ev["data"]["accountId"]) == (again_c, c)


async def test_account_events_cover_every_account_of_the_login(sim: SimGateway, http: httpx.AsyncClient) -> None:
    """SubscribeAccounts takes no account: it follows every account of the login (balances after fills)."""
    _, b, c = ids(sim)
    async with hub(sim.user_hub_url, token_of(http)) as h:
        await h.invoke(s.SUBSCRIBE_ACCOUNTS)
        await place(http, sim, c)
        await place(http, sim, b)
        seen = [(await h.event(s.EVENT_USER_ACCOUNT))[0] for _ in range(2)]
        assert [x["id"] for x in seen] == [c, b]
        assert all(Decimal(str(x["balance"])) < sim.settings.starting_balance for x in seen)


async def test_accounts_added_over_the_control_endpoint(sim: SimGateway, http: httpx.AsyncClient) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as raw:
        added = await raw.post("/sim/accounts", json={"name": "FUNDED-X", "balance": "150000", "simulated": False})
        assert added.status_code == 200
        acct = added.json()["account"]
        assert (acct["name"], acct["balance"], acct["simulated"]) == ("FUNDED-X", 150000, False)
        before = len(sim.exchange.accounts)
        for bad in ({"name": "funded-x"}, {"name": " "}, {"balance": 5}, {"name": "Y", "balance": "lots"}):
            r = await raw.post("/sim/accounts", json=bad)
            assert r.status_code == 400 and "bad account" in r.json()["error"]
        assert len(sim.exchange.accounts) == before
        listed = (await raw.get("/sim/accounts")).json()["accounts"]
        assert [x["name"] for x in listed] == ["PRAC-V2-SIM-1", *EXTRA, "FUNDED-X"]
    await place(http, sim, acct["id"])
    positions = await call(http, s.POSITION_SEARCH_OPEN, {"accountId": acct["id"]})
    assert [p["accountId"] for p in positions["positions"]] == [acct["id"]]


@pytest.mark.parametrize("names", [("PRAC-V2-SIM-2", "prac-v2-sim-2"), ("prac-v2-sim-1",), ("",)])
def test_extra_account_names_must_be_distinct_and_given(names: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError):
        SimSettings(extra_accounts=names)
