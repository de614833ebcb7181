"""The simulator's matching engine over the wire: order lifecycle, native brackets with the live
rules, OCO, positions and P&L, closeContract leaving working orders, customTag uniqueness."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.integration.sim.test_support import Hub, call, client, hub, running
from trading.projectx import schema as s
from trading.sim.gateway import SimGateway


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with running() as gateway:
        await gateway.market.quote(gateway.contract("MNQ"), "21000", "21000.25")
        await gateway.market.trade(gateway.contract("MNQ"), "21000", 1)
        yield gateway


@pytest.fixture
async def http(sim: SimGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with client(sim) as c:
        yield c


@pytest.fixture
async def user(sim: SimGateway, http: httpx.AsyncClient) -> AsyncIterator[Hub]:
    async with hub(sim.user_hub_url, http.headers["Authorization"].split()[1]) as h:
        for method in (s.SUBSCRIBE_ORDERS, s.SUBSCRIBE_POSITIONS, s.SUBSCRIBE_TRADES):
            await h.invoke(method, sim.account_id)
        yield h


def order(sim: SimGateway, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "accountId": sim.account_id,
        "contractId": sim.contract("MNQ"),
        "type": 2,
        "side": 0,
        "size": 1,
    }
    body.update(over)
    return body


async def get_order(http: httpx.AsyncClient, sim: SimGateway, order_id: int) -> dict[str, Any]:
    r = await call(http, s.ORDER_SEARCH_BY_ID, {"accountId": sim.account_id, "orderId": order_id})
    assert r["success"], r
    out: dict[str, Any] = r["order"]
    return out


async def statuses(h: Hub, order_id: int, until: int) -> list[int]:
    seen: list[int] = []
    while not seen or seen[-1] != until:
        (arg,) = await h.event(s.EVENT_USER_ORDER)
        data = s.unwrap_user_event(arg)[0]
        if data["id"] == order_id:
            seen.append(data["status"])
    return seen


async def test_market_order_lifecycle_position_and_trade(sim: SimGateway, http: httpx.AsyncClient, user: Hub) -> None:
    r = await call(http, s.ORDER_PLACE, order(sim, size=2, customTag="m-1"))
    assert r["success"] and isinstance(r["orderId"], int)
    assert await statuses(user, r["orderId"], 2) == [1, 6, 2]
    filled = await get_order(http, sim, r["orderId"])
    assert (filled["fillVolume"], filled["filledPrice"], filled["customTag"]) == (2, 21000.25, "m-1")
    (pos,) = await user.event(s.EVENT_USER_POSITION)
    assert (pos["type"], pos["size"], pos["averagePrice"]) == (1, 2, 21000.25)
    (trade,) = await user.event(s.EVENT_USER_TRADE)
    assert trade["profitAndLoss"] is None and trade["fees"] == 0.74 and trade["orderId"] == r["orderId"]
    # close half, then flip: P&L in ticks x tick value
    await sim.market.quote(sim.contract("MNQ"), "21010", "21010.25")
    sell = await call(http, s.ORDER_PLACE, order(sim, side=1, size=3))
    assert sell["success"]
    trades = (
        await call(http, s.TRADE_SEARCH, {"accountId": sim.account_id, "startTimestamp": "2020-01-01T00:00:00Z"})
    )["trades"]
    last = trades[-1]
    assert last["price"] == 21010 and last["size"] == 3 and last["side"] == 1
    assert last["profitAndLoss"] == (21010 - 21000.25) * 4 * 0.5 * 2  # 39 ticks x $0.50 x 2 closed
    positions = (await call(http, s.POSITION_SEARCH_OPEN, {"accountId": sim.account_id}))["positions"]
    assert [(p["type"], p["size"], p["averagePrice"]) for p in positions] == [(2, 1, 21010)]


async def test_limit_rests_then_fills_on_a_print(sim: SimGateway, http: httpx.AsyncClient, user: Hub) -> None:
    r = await call(http, s.ORDER_PLACE, order(sim, type=1, limitPrice=20990.5))
    open_ = (await call(http, s.ORDER_SEARCH_OPEN, {"accountId": sim.account_id}))["orders"]
    assert [(o["id"], o["status"], o["limitPrice"]) for o in open_] == [(r["orderId"], 1, 20990.5)]
    await sim.market.trade(sim.contract("MNQ"), "20995", 1)
    assert (await get_order(http, sim, r["orderId"]))["status"] == 1
    await sim.market.trade(sim.contract("MNQ"), "20990.5", 1)
    done = await get_order(http, sim, r["orderId"])
    assert (done["status"], done["filledPrice"]) == (2, 20990.5)
    assert await statuses(user, r["orderId"], 2) == [1, 2]
    misaligned = await call(http, s.ORDER_PLACE, order(sim, type=1, limitPrice=20990.3))
    assert misaligned["errorCode"] == 2 and "aligned" in misaligned["errorMessage"]


async def test_stop_and_trailing_stop(sim: SimGateway, http: httpx.AsyncClient) -> None:
    cid = sim.contract("MNQ")
    stop = await call(http, s.ORDER_PLACE, order(sim, type=4, side=0, stopPrice=21005))
    # trailPrice is a level: 21000 - 20997.5 = 2.5 points = 10 ticks, fixed at receipt
    trail = await call(http, s.ORDER_PLACE, order(sim, type=5, side=1, trailPrice=20997.5))
    t = await get_order(http, sim, trail["orderId"])
    assert (t["trailDistance"], t["trailPrice"], t["stopPrice"]) == (10, 2.5, 20997.5)
    await sim.market.trade(cid, "21004.75", 1)
    assert (await get_order(http, sim, stop["orderId"]))["status"] == 1
    await sim.market.trade(cid, "21005", 1)
    assert (await get_order(http, sim, stop["orderId"]))["status"] == 2
    assert (await get_order(http, sim, trail["orderId"]))["stopPrice"] == 21002.5  # trailed the high 21005
    await sim.market.trade(cid, "21002.5", 1)
    assert (await get_order(http, sim, trail["orderId"]))["status"] == 2
    for body, msg in (
        ({"trailPrice": None}, s.MSG_TRAIL_NOT_SET),
        ({"trailPrice": 20997.3}, s.MSG_TRAIL_NOT_ALIGNED),
        ({"trailPrice": 20000}, s.MSG_TRAIL_TOO_FAR),
    ):
        bad = await call(http, s.ORDER_PLACE, order(sim, type=5, side=1, **body))
        assert (bad["errorCode"], bad["errorMessage"]) == (2, msg)
        assert bad["orderId"] is not None  # the rejected order exists


async def test_join_bid_and_modify_and_cancel(sim: SimGateway, http: httpx.AsyncClient) -> None:
    r = await call(http, s.ORDER_PLACE, order(sim, type=6))
    o = await get_order(http, sim, r["orderId"])
    assert (o["type"], o["limitPrice"], o["status"]) == (1, 21000, 1)
    m = await call(
        http, s.ORDER_MODIFY, {"accountId": sim.account_id, "orderId": r["orderId"], "size": 3, "limitPrice": 20999}
    )
    assert m["success"]
    o = await get_order(http, sim, r["orderId"])
    assert (o["size"], o["limitPrice"]) == (3, 20999)
    bad = await call(
        http, s.ORDER_MODIFY, {"accountId": sim.account_id, "orderId": r["orderId"], "limitPrice": 20999.1}
    )
    assert bad["errorCode"] == s.ModifyOrderErrorCode.REJECTED
    assert (await call(http, s.ORDER_CANCEL, {"accountId": sim.account_id, "orderId": r["orderId"]}))["success"]
    assert (await get_order(http, sim, r["orderId"]))["status"] == 3
    again = await call(http, s.ORDER_CANCEL, {"accountId": sim.account_id, "orderId": r["orderId"]})
    assert again["errorCode"] == s.CancelOrderErrorCode.REJECTED


BRACKET_CASES = [
    # (side, sl, tp, message)
    (0, {"ticks": 40, "type": 4}, None, "Invalid stop loss ticks (40). Ticks should be less than zero when longing."),
    (
        1,
        None,
        {"ticks": 30, "type": 1},
        "Invalid take profit ticks (30). Ticks should be less than zero when going short.",
    ),
    (0, {"ticks": -10, "type": 1}, None, "Invalid stop loss type (Limit)"),
    (
        0,
        {"ticks": -3, "type": 4},
        None,
        "Invalid stop loss ticks (-3). Stop loss tick value should be at least 4 ticks.",
    ),
    (
        1,
        {"ticks": -10, "type": 4},
        None,
        "Invalid stop loss ticks (-10). Ticks should be greater than zero when going short.",
    ),
    (
        0,
        None,
        {"ticks": -20, "type": 1},
        "Invalid take profit ticks (-20). Ticks should be greater than zero when longing.",
    ),
]


@pytest.mark.parametrize(("side", "sl", "tp", "message"), BRACKET_CASES)
async def test_bracket_rules_reject_with_live_messages(
    sim: SimGateway, http: httpx.AsyncClient, side: int, sl: Any, tp: Any, message: str
) -> None:
    r = await call(http, s.ORDER_PLACE, order(sim, side=side, stopLossBracket=sl, takeProfitBracket=tp))
    assert (r["success"], r["errorCode"], r["errorMessage"]) == (False, 2, message)
    assert (await get_order(http, sim, r["orderId"]))["status"] == 5


async def test_position_brackets_mode_rejects_but_creates_the_order(sim: SimGateway, http: httpx.AsyncClient) -> None:
    acct = sim.add_account("PRAC-POSITION-BRACKETS", auto_oco_brackets=False)
    r = await call(http, s.ORDER_PLACE, order(sim, accountId=acct.id, stopLossBracket={"ticks": -10, "type": 4}))
    assert (r["success"], r["errorCode"], r["errorMessage"]) == (False, 2, s.MSG_BRACKETS_POSITION_MODE)
    assert isinstance(r["orderId"], int)
    rejected = await call(http, s.ORDER_SEARCH_BY_ID, {"accountId": acct.id, "orderId": r["orderId"]})
    assert rejected["order"]["status"] == 5


async def test_bracket_children_suspended_then_working_then_oco(
    sim: SimGateway, http: httpx.AsyncClient, user: Hub
) -> None:
    cid, acct = sim.contract("MNQ"), sim.account_id
    legs = {"stopLossBracket": {"ticks": -8, "type": 4}, "takeProfitBracket": {"ticks": 12, "type": 1}}
    entry = await call(http, s.ORDER_PLACE, order(sim, type=1, limitPrice=20995, **legs))
    assert entry["success"]
    open_ids = [o["id"] for o in (await call(http, s.ORDER_SEARCH_OPEN, {"accountId": acct}))["orders"]]
    assert open_ids == [entry["orderId"]]  # suspended children are hidden from searchOpen
    q = await call(http, s.ORDER_QUERY_V2, {"filter": {"accountId": acct, "statuses": [1, 8]}})
    children = [o for o in q["orders"] if o["parentOrderId"] == entry["orderId"]]
    assert sorted(o["status"] for o in children) == [8, 8] and len(q["orders"]) == 3
    sl = next(o for o in children if o["type"] == 4)
    tp = next(o for o in children if o["type"] == 1)
    assert sl["linkedOrderId"] == tp["id"] and tp["linkedOrderId"] == sl["id"]
    assert sl["side"] == tp["side"] == 1
    await sim.market.trade(cid, "20995", 1)  # entry fills at its limit
    sl, tp = await get_order(http, sim, sl["id"]), await get_order(http, sim, tp["id"])
    assert (sl["status"], sl["stopPrice"]) == (1, 20993)  # 8 ticks below the fill
    assert (tp["status"], tp["limitPrice"]) == (1, 20998)  # 12 ticks above
    assert await statuses(user, sl["id"], 1) == [8, 1]
    await sim.market.trade(cid, "20998", 1)  # take profit
    assert (await get_order(http, sim, tp["id"]))["status"] == 2
    assert (await get_order(http, sim, sl["id"]))["status"] == 3  # OCO
    assert (await call(http, s.POSITION_SEARCH_OPEN, {"accountId": acct}))["positions"] == []


async def test_cancelling_an_unfilled_entry_cancels_its_children(sim: SimGateway, http: httpx.AsyncClient) -> None:
    entry = await call(
        http, s.ORDER_PLACE, order(sim, type=1, limitPrice=20900, stopLossBracket={"ticks": -8, "type": 4})
    )
    await call(http, s.ORDER_CANCEL, {"accountId": sim.account_id, "orderId": entry["orderId"]})
    q = await call(http, s.ORDER_QUERY_V2, {"filter": {"accountId": sim.account_id}})
    assert sorted(o["status"] for o in q["orders"]) == [3, 3]


async def test_close_contract_flattens_and_leaves_working_orders(sim: SimGateway, http: httpx.AsyncClient) -> None:
    acct, cid = sim.account_id, sim.contract("MNQ")
    await call(http, s.ORDER_PLACE, order(sim, size=3, stopLossBracket={"ticks": -20, "type": 4}))
    assert (await call(http, s.POSITION_PARTIAL_CLOSE, {"accountId": acct, "contractId": cid, "size": 5}))[
        "errorCode"
    ] == 5
    assert (await call(http, s.POSITION_PARTIAL_CLOSE, {"accountId": acct, "contractId": cid, "size": 1}))["success"]
    assert (await call(http, s.POSITION_SEARCH_OPEN, {"accountId": acct}))["positions"][0]["size"] == 2
    alias = "/api/Position/closeContractPartial"
    assert (await call(http, alias, {"accountId": acct, "contractId": cid, "size": 1}))["success"]
    assert (await call(http, s.POSITION_CLOSE, {"accountId": acct, "contractId": cid}))["success"]
    assert (await call(http, s.POSITION_SEARCH_OPEN, {"accountId": acct}))["positions"] == []
    left = (await call(http, s.ORDER_SEARCH_OPEN, {"accountId": acct}))["orders"]
    assert [(o["type"], o["status"], o["size"]) for o in left] == [(4, 1, 3)]  # the stop stays
    again = await call(http, s.POSITION_CLOSE, {"accountId": acct, "contractId": cid})
    assert (again["success"], again["errorCode"]) == (False, s.ClosePositionErrorCode.POSITION_NOT_FOUND)


async def test_custom_tag_unique_per_account_forever(sim: SimGateway, http: httpx.AsyncClient) -> None:
    first = await call(http, s.ORDER_PLACE, order(sim, type=1, limitPrice=20000, customTag="t-1"))
    await call(http, s.ORDER_CANCEL, {"accountId": sim.account_id, "orderId": first["orderId"]})
    dup = await call(http, s.ORDER_PLACE, order(sim, type=1, limitPrice=20000, customTag="t-1"))
    assert (dup["success"], dup["errorCode"], dup["orderId"]) == (False, 2, None)
    other = sim.add_account("PRAC-2")
    ok = await call(http, s.ORDER_PLACE, order(sim, accountId=other.id, type=1, limitPrice=20000, customTag="t-1"))
    assert ok["success"]
    found = await call(http, s.ORDER_SEARCH, {"accountId": sim.account_id, "startTimestamp": "2020-01-01T00:00:00Z"})
    assert [o["customTag"] for o in found["orders"]] == ["t-1"]


async def test_unsupported_and_invalid_orders_are_rejected_with_an_id(sim: SimGateway, http: httpx.AsyncClient) -> None:
    for body in ({"type": 3, "limitPrice": 1, "stopPrice": 1}, {"size": 0}, {"type": 1}, {"type": 4}):
        r = await call(http, s.ORDER_PLACE, order(sim, **body))
        assert (r["success"], r["errorCode"]) == (False, 2) and r["orderId"] is not None and r["errorMessage"]


async def test_live_accounts_cannot_cancel_or_partially_close(sim: SimGateway, http: httpx.AsyncClient) -> None:
    live = sim.add_account("FUNDED-1", simulated=False)
    accounts = (await call(http, s.ACCOUNT_SEARCH, {"onlyActiveAccounts": True}))["accounts"]
    assert next(a for a in accounts if a["id"] == live.id)["simulated"] is False
    placed = await call(http, s.ORDER_PLACE, order(sim, accountId=live.id, type=1, limitPrice=20000))
    r = await call(http, s.ORDER_CANCEL, {"accountId": live.id, "orderId": placed["orderId"]})
    assert (r["success"], r["errorCode"], r["errorMessage"]) == (False, 6, "Live accounts not supported")
    await call(http, s.ORDER_PLACE, order(sim, accountId=live.id, size=2))
    partial = await call(
        http, s.POSITION_PARTIAL_CLOSE, {"accountId": live.id, "contractId": sim.contract("MNQ"), "size": 1}
    )
    assert partial["errorCode"] == s.PartialClosePositionErrorCode.ACCOUNT_REJECTED
    assert (await call(http, s.POSITION_CLOSE, {"accountId": live.id, "contractId": sim.contract("MNQ")}))["success"]
