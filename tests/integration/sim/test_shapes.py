"""The simulator emits what the canonical payloads in tests/data/projectx show: the same keys with the
same JSON types (extra keys only where the schema documents them), for REST responses and hub events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from tests.integration.sim.test_support import call, client, hub, running
from trading.projectx import schema as s
from trading.sim.gateway import SimGateway

DATA = Path(__file__).resolve().parents[2] / "data" / "projectx"

# Where the schema model lists a field the docs example leaves out (swagger-only, optional).
MODEL_OF: dict[str, type[BaseModel]] = {
    "orders": s.OrderModel, "accounts": s.AccountModel, "contracts": s.ContractModel, "contract": s.ContractModel,
    "bars": s.BarModel, "data": s.OrderModel, "positions": s.PositionModel, "trades": s.TradeModel,
}  # fmt: skip


USER_MODELS: dict[str, type[BaseModel]] = {"order": s.OrderModel, "position": s.PositionModel, "trade": s.TradeModel}


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def same_shape(canonical: Any, actual: Any, where: str = "$", model: type[BaseModel] | None = None) -> None:
    if canonical is None or actual is None:
        return  # nullable: null on one side says nothing about the type
    assert kind(canonical) == kind(actual), f"{where}: {kind(canonical)} in the docs, {kind(actual)} from the sim"
    if isinstance(canonical, dict):
        missing = set(canonical) - set(actual)
        assert not missing, f"{where}: the sim leaves out {sorted(missing)}"
        extra = set(actual) - set(canonical)
        allowed = set(model.model_fields) if model is not None else {"totalCount"}
        assert extra <= allowed, f"{where}: undocumented keys {sorted(extra - allowed)}"
        for key in canonical:
            same_shape(canonical[key], actual[key], f"{where}.{key}", MODEL_OF.get(key))
    elif isinstance(canonical, list) and canonical and actual:
        for item in actual:
            same_shape(canonical[0], item, f"{where}[]", model)


def load(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


async def scenario(sim: SimGateway) -> dict[str, Any]:
    """Drive the sim through every canonical payload's situation and collect what it answered."""
    out: dict[str, Any] = {}
    cid, acct = sim.contract("MNQ"), sim.account_id
    async with client(sim) as http:
        token = http.headers["Authorization"].split()[1]
        out["login_ok"] = (await http.post(s.LOGIN_KEY, json={"userName": sim.username, "apiKey": sim.api_key})).json()
        out["login_failed"] = (await http.post(s.LOGIN_KEY, json={"userName": "x", "apiKey": "y"})).json()
        out["validate"] = await call(http, s.VALIDATE)
        out["account_search"] = await call(http, s.ACCOUNT_SEARCH, {"onlyActiveAccounts": True})
        out["contract_search"] = await call(http, s.CONTRACT_SEARCH, {"searchText": "NQ", "live": False})
        out["contract_search_by_id"] = await call(http, s.CONTRACT_SEARCH_BY_ID, {"contractId": cid})
        out["contract_search_by_id_legacy"] = out["contract_search_by_id"]["contract"]
        async with hub(sim.user_hub_url, token) as user, hub(sim.market_hub_url, token) as market:
            await user.invoke(s.SUBSCRIBE_ACCOUNTS)
            for m in (s.SUBSCRIBE_ORDERS, s.SUBSCRIBE_POSITIONS, s.SUBSCRIBE_TRADES):
                await user.invoke(m, acct)
            for m in (s.SUBSCRIBE_CONTRACT_QUOTES, s.SUBSCRIBE_CONTRACT_TRADES, s.SUBSCRIBE_CONTRACT_MARKET_DEPTH):
                await market.invoke(m, cid)
            out["quote_full"] = await market.event(s.EVENT_QUOTE)  # the snapshot sent on subscribe
            await sim.market.quote(cid, "21000", "21000.25")
            out["quote_partial"] = await market.event(s.EVENT_QUOTE)
            out["depth_array"] = await market.event(s.EVENT_DEPTH)
            await sim.market.trade(cid, "21000.25", 2)
            out["trade_array"] = await market.event(s.EVENT_TRADE)
            body = {"accountId": acct, "contractId": cid, "type": 2, "side": 0, "size": 2, "customTag": "shape-1"}
            out["place_ok"] = await call(http, s.ORDER_PLACE, body)
            out["user_order_wrapped"] = await user.event(s.EVENT_USER_ORDER)
            out["user_position"] = await user.event(s.EVENT_USER_POSITION)
            out["user_trade"] = await user.event(s.EVENT_USER_TRADE)
            out["user_account"] = await user.event(s.EVENT_USER_ACCOUNT)
        out["user_order_flat"] = [out["user_order_wrapped"][0]["data"]]
        await call(http, s.ORDER_PLACE, {**body, "side": 1, "size": 1, "customTag": "shape-2"})
        await call(
            http, s.ORDER_PLACE, {**body, "type": 4, "side": 1, "size": 1, "stopPrice": 20000, "customTag": "s3"}
        )
        start = {"accountId": acct, "startTimestamp": "2020-01-01T00:00:00Z"}
        out["order_search"] = await call(http, s.ORDER_SEARCH, start)
        out["order_search_open"] = await call(http, s.ORDER_SEARCH_OPEN, {"accountId": acct})
        out["position_search_open"] = await call(http, s.POSITION_SEARCH_OPEN, {"accountId": acct})
        out["trade_search"] = await call(http, s.TRADE_SEARCH, start)
        out["envelope_only"] = await call(
            http, s.ORDER_CANCEL, {"accountId": acct, "orderId": out["place_ok"]["orderId"] + 3}
        )
        window = {"startTime": "2020-01-01T00:00:00Z", "endTime": "2030-01-01T00:00:00Z"}
        bars = {
            "contractId": cid,
            "live": False,
            **window,
            "unit": 2,
            "unitNumber": 1,
            "limit": 10,
            "includePartialBar": True,
        }
        out["retrieve_bars"] = await call(http, s.RETRIEVE_BARS, bars)
        no_oco = sim.add_account("PRAC-PB", auto_oco_brackets=False)
        bracket = {**body, "accountId": no_oco.id, "customTag": None, "stopLossBracket": {"ticks": -10, "type": 4}}
        out["place_rejected_bracket"] = await call(http, s.ORDER_PLACE, bracket)
        out["order_query_missing_filter"] = (await http.post(s.ORDER_QUERY_V2, json={"accountId": acct})).json()
    return out


async def test_sim_output_has_the_canonical_shapes() -> None:
    async with running() as sim:
        got = await scenario(sim)
    names = {p.relative_to(DATA).with_suffix("").as_posix() for p in DATA.rglob("*.json")}
    assert {n.split("/")[1] for n in names} == set(got)
    assert got["trade_search"]["trades"][0]["profitAndLoss"] is None
    assert isinstance(got["trade_search"]["trades"][1]["profitAndLoss"], int | float)
    assert got["place_rejected_bracket"]["errorMessage"] == load("rest/place_rejected_bracket")["errorMessage"]
    for name in sorted(names):
        canonical = load(name)
        folder, key = name.split("/")
        if folder == "hub":  # arguments are positional: compare them one by one
            assert canonical["type"] == 1
            args = canonical["arguments"]
            assert len(args) == len(got[key]), key
            model: type[BaseModel] | None = None
            if key.startswith("user_"):
                model = USER_MODELS.get(key.split("_")[1], s.AccountModel)
            elif key.startswith("quote"):
                model = s.GatewayQuote
            for i, (c, a) in enumerate(zip(args, got[key], strict=True)):
                same_shape(c, a, f"{key}[{i}]", model)
            continue
        if key == "contract_search_by_id_legacy":
            same_shape(canonical["contracts"][0], got[key], key, s.ContractModel)
            continue
        same_shape(canonical, got[key], key)
