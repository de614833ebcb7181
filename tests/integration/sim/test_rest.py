"""Every REST endpoint of the simulator over real HTTP with a plain httpx client: envelope, codes,
auth (401), rate limits (429), login and v2/query validation (400), contracts, bars."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import jwt
import pytest

from tests.integration.sim.test_support import call, client, login, running
from trading.projectx import schema as s
from trading.sim.gateway import SimGateway
from trading.sim.options import SimOptions
from trading.sim.timebase import ScaledClock


@pytest.fixture
async def sim() -> AsyncIterator[SimGateway]:
    async with running() as gateway:
        yield gateway


@pytest.fixture
async def http(sim: SimGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with client(sim) as c:
        yield c


async def test_login_ok_bad_credentials_and_bad_body(sim: SimGateway) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as raw:
        ok = (await raw.post(s.LOGIN_KEY, json={"userName": sim.username.upper(), "apiKey": sim.api_key})).json()
        assert ok["success"] is True and ok["errorCode"] == 0 and ok["errorMessage"] is None
        claims = jwt.decode(ok["token"], options={"verify_signature": False})
        assert 24 * 3600 - 5 <= claims["exp"] - datetime.now(UTC).timestamp() <= 24 * 3600 + 5
        bad = await raw.post(s.LOGIN_KEY, json={"userName": sim.username, "apiKey": "nope"})
        assert bad.status_code == 200
        assert bad.json() == {"token": None, "success": False, "errorCode": 3, "errorMessage": None}
        missing = await raw.post(s.LOGIN_KEY, json={"userName": sim.username})
        assert missing.status_code == 400 and "apiKey" in missing.text
        assert missing.headers["content-type"].startswith("application/problem+json")
        app = (
            await raw.post(
                s.LOGIN_APP, json=dict.fromkeys(("userName", "password", "deviceId", "appId", "verifyKey"), "x")
            )
        ).json()
        assert app["success"] is False and app["errorCode"] == s.LoginErrorCode.APP_NOT_FOUND


async def test_bearer_required_and_validate_logout(sim: SimGateway) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url) as raw:
        assert (await raw.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).status_code == 401
        bogus = {"Authorization": "Bearer not-a-token"}
        assert (await raw.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True}, headers=bogus)).status_code == 401
        token = await login(raw, sim)
        auth = {"Authorization": f"Bearer {token}"}
        v = (await raw.post(s.VALIDATE, headers=auth)).json()
        assert v["success"] and v["newToken"] and v["newToken"] != token
        for t in (token, v["newToken"]):  # old tokens stay valid
            r = await raw.post(
                s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True}, headers={"Authorization": f"Bearer {t}"}
            )
            assert r.status_code == 200
        assert (await raw.post(s.LOGOUT, headers=auth)).json()["success"] is True
        assert (await raw.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True}, headers=auth)).status_code == 401
        assert (await raw.get(s.STATUS_PING)).status_code == 200


async def test_expired_token_is_401() -> None:
    clock = ScaledClock()
    async with running(SimOptions(token_lifetime_s=60)) as sim:
        sim.auth._now = clock.now  # drive token time from a clock the test can advance
        async with client(sim) as http:
            assert (await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).status_code == 200
            clock.advance(61)
            assert (await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).status_code == 401


async def test_rate_limits_per_token_with_separate_history_bucket() -> None:
    opts = SimOptions(
        rate_limit_requests=5, rate_limit_window_s=600, history_rate_limit_requests=2, history_rate_limit_window_s=600
    )
    async with running(opts) as sim, client(sim) as http:  # the login used the IP bucket, not the token's
        statuses = [
            (await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).status_code for _ in range(6)
        ]
        assert statuses == [200] * 5 + [429]
        limited = await http.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        bars = bars_body(sim.contract("MNQ"))
        hist = [(await http.post(s.RETRIEVE_BARS, json=bars)).status_code for _ in range(3)]
        assert hist == [200, 200, 429]
        # another token has its own window
        async with client(sim) as other:
            assert (await other.post(s.ACCOUNT_SEARCH, json={"onlyActiveAccounts": True})).status_code == 200


async def test_accounts(sim: SimGateway, http: httpx.AsyncClient) -> None:
    closed = sim.add_account("PRAC-CLOSED", can_trade=False)
    active = await call(http, s.ACCOUNT_SEARCH, {"onlyActiveAccounts": True})
    assert [a["id"] for a in active["accounts"]] == [sim.account_id]
    assert set(active["accounts"][0]) == {"id", "name", "balance", "canTrade", "isVisible", "simulated"}
    everything = await call(http, s.ACCOUNT_SEARCH, {"onlyActiveAccounts": False})
    assert {a["id"] for a in everything["accounts"]} == {sim.account_id, closed.id}


async def test_contracts(sim: SimGateway, http: httpx.AsyncClient) -> None:
    es = (await call(http, s.CONTRACT_SEARCH, {"searchText": "ES", "live": False}))["contracts"]
    assert 2 <= len(es) <= 20
    symbols = {c["symbolId"] for c in es}
    assert {"F.US.EP", "F.US.MES"} <= symbols  # fuzzy: ES also finds MES
    assert all(c["activeContract"] for c in es)
    mnq = next(c for c in (await call(http, s.CONTRACT_SEARCH, {"searchText": "MNQ", "live": False}))["contracts"])
    assert (mnq["tickSize"], mnq["tickValue"], mnq["symbolId"]) == (0.25, 0.5, "F.US.MNQ")
    assert mnq["id"] == sim.contract("MNQ") and len(mnq["name"]) == 5  # MNQZ6: one-digit year
    specs = {
        c["symbolId"]: (c["tickSize"], c["tickValue"])
        for c in (await call(http, s.CONTRACT_AVAILABLE, {"live": False}))["contracts"]
    }
    assert specs["F.US.MES"] == (0.25, 1.25) and specs["F.US.ENQ"] == (0.25, 5) and specs["F.US.EP"] == (0.25, 12.5)
    by_id = await call(http, s.CONTRACT_SEARCH_BY_ID, {"contractId": sim.contract("ES")})
    assert "contracts" not in by_id and by_id["contract"]["symbolId"] == "F.US.EP"
    expired = next(c for c in sim.contracts.by_id.values() if not c.active)
    old = await call(http, s.CONTRACT_SEARCH_BY_ID, {"contractId": expired.id})
    assert old["contract"]["activeContract"] is False
    missing = await call(http, s.CONTRACT_SEARCH_BY_ID, {"contractId": "CON.F.US.NOPE.Z99"})
    assert (missing["success"], missing["errorCode"], missing["contract"]) == (False, 1, None)
    place = await call(
        http, s.ORDER_PLACE, {"accountId": sim.account_id, "contractId": expired.id, "type": 2, "side": 0, "size": 1}
    )
    assert place["errorCode"] == s.PlaceOrderErrorCode.CONTRACT_NOT_ACTIVE


def bars_body(cid: str, **over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "contractId": cid, "live": False, "startTime": "2026-01-05T14:00:00Z", "endTime": "2026-01-05T15:00:00Z",
        "unit": 2, "unitNumber": 1, "limit": 1000, "includePartialBar": False,
    }  # fmt: skip
    body.update(over)
    return body


async def test_bars_newest_first_limit_keeps_newest_and_aggregates(sim: SimGateway, http: httpx.AsyncClient) -> None:
    cid = sim.contract("MNQ")
    t0 = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
    for i in range(30):  # one print per minute, rising, plus a second print in each minute
        await sim.market.trade(cid, Decimal(21000) + i, 2, at=t0 + timedelta(minutes=i, seconds=5))
        await sim.market.trade(cid, Decimal(21000) + i + Decimal("0.5"), 1, at=t0 + timedelta(minutes=i, seconds=30))
    bars = (await call(http, s.RETRIEVE_BARS, bars_body(cid)))["bars"]
    assert len(bars) == 30
    assert [b["t"] for b in bars] == sorted((b["t"] for b in bars), reverse=True)
    assert bars[0] == {"t": "2026-01-05T14:29:00+00:00", "o": 21029, "h": 21029.5, "l": 21029, "c": 21029.5, "v": 3}
    newest = (await call(http, s.RETRIEVE_BARS, bars_body(cid, limit=3)))["bars"]
    assert newest == bars[:3]
    five = (await call(http, s.RETRIEVE_BARS, bars_body(cid, unitNumber=5)))["bars"]
    assert len(five) == 6 and five[-1] == {
        "t": "2026-01-05T14:00:00+00:00",
        "o": 21000,
        "h": 21004.5,
        "l": 21000,
        "c": 21004.5,
        "v": 15,
    }
    hour = (await call(http, s.RETRIEVE_BARS, bars_body(cid, unit=3, startTime="2026-01-05T00:00:00Z")))["bars"]
    assert len(hour) == 1 and hour[0]["v"] == 90
    for over, code in (({"unit": 9}, 2), ({"unitNumber": 0}, 3), ({"limit": 20_001}, 4), ({"contractId": "x"}, 1)):
        r = await call(http, s.RETRIEVE_BARS, bars_body(cid, **over))
        assert (r["success"], r["errorCode"]) == (False, code)


async def test_partial_bar_only_on_request(sim: SimGateway, http: httpx.AsyncClient) -> None:
    cid = sim.contract("MES")
    now = sim.clock.now()
    await sim.market.trade(cid, "6800.25", 1, at=now - timedelta(minutes=2))
    await sim.market.trade(cid, "6800.50", 1, at=now)
    window = {"startTime": (now - timedelta(hours=1)).isoformat(), "endTime": (now + timedelta(hours=1)).isoformat()}
    without = (await call(http, s.RETRIEVE_BARS, bars_body(cid, **window)))["bars"]
    with_partial = (await call(http, s.RETRIEVE_BARS, bars_body(cid, includePartialBar=True, **window)))["bars"]
    assert len(with_partial) == len(without) + 1 == 2


async def test_order_query_paging_and_validation(sim: SimGateway, http: httpx.AsyncClient) -> None:
    acct, cid = sim.account_id, sim.contract("MNQ")
    for i in range(105):
        r = await call(
            http,
            s.ORDER_PLACE,
            {"accountId": acct, "contractId": cid, "type": 1, "side": 0, "size": 1, "limitPrice": 100 + i * 0.25},
        )
        assert r["success"]
    base = {"filter": {"accountId": acct, "statuses": [1]}, "includeTotalCount": True, "sortBy": 1}
    page = await call(http, s.ORDER_QUERY_V2, {**base, "pageSize": 500})
    assert len(page["orders"]) == 100 and page["totalCount"] == 105
    rows = await call(http, s.ORDER_QUERY_V2, {**base, "pageSize": 5, "pageOffset": 1})
    ids = [o["id"] for o in page["orders"]]
    assert [o["id"] for o in rows["orders"]] == ids[1:6]  # pageOffset is a row offset
    desc = await call(http, s.ORDER_QUERY_V2, {**base, "sortDirection": 1, "pageSize": 1})
    assert desc["orders"][0]["id"] == max(ids) + 5
    bad = await http.post(s.ORDER_QUERY_V2, json={"accountId": acct})
    assert bad.status_code == 400 and "missing required properties including: 'filter'" in bad.text
    other = await call(http, s.ORDER_QUERY_V2, {"filter": {"accountId": 1}})
    assert (other["success"], other["errorCode"]) == (False, 1)


async def test_unknown_account_codes(sim: SimGateway, http: httpx.AsyncClient) -> None:
    start = "2020-01-01T00:00:00Z"
    cases: list[tuple[str, dict[str, Any], int]] = [
        (s.ORDER_SEARCH, {"accountId": 1, "startTimestamp": start}, 1),
        (s.ORDER_SEARCH_OPEN, {"accountId": 1}, 1),
        (s.POSITION_SEARCH_OPEN, {"accountId": 1}, 1),
        (s.TRADE_SEARCH, {"accountId": 1, "startTimestamp": start}, 1),
        (s.ORDER_PLACE, {"accountId": 1, "contractId": sim.contract("MNQ"), "type": 2, "side": 0, "size": 1}, 1),
        (s.ORDER_CANCEL, {"accountId": 1, "orderId": 5}, 1),
        (s.ORDER_MODIFY, {"accountId": 1, "orderId": 5, "size": 2}, 1),
        (s.ORDER_SEARCH_BY_ID, {"accountId": sim.account_id, "orderId": 5}, 1),
        (s.POSITION_CLOSE, {"accountId": sim.account_id, "contractId": sim.contract("MNQ")}, 2),
        (s.POSITION_PARTIAL_CLOSE, {"accountId": sim.account_id, "contractId": sim.contract("MNQ"), "size": 1}, 2),
        (
            s.ORDER_PLACE,
            {"accountId": sim.account_id, "contractId": "CON.F.US.NOPE.Z99", "type": 2, "side": 0, "size": 1},
            8,
        ),
        (s.ORDER_CANCEL, {"accountId": sim.account_id, "orderId": 5}, 2),
        (s.ORDER_MODIFY, {"accountId": sim.account_id, "orderId": 5, "size": 2}, 2),
    ]
    for path, body, code in cases:
        r = await call(http, path, body)
        assert (r["success"], r["errorCode"]) == (False, code), path
        assert isinstance(r["errorMessage"], str | None)
    bad = await http.post(s.ORDER_PLACE, json={"accountId": sim.account_id})
    assert bad.status_code == 400
    garbage = await http.post(s.ORDER_PLACE, content=b"{not json", headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400
