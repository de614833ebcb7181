"""The wire schema: every canonical payload parses, tolerant reading, typed errors, enum values,
conversions to and from the domain types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from trading import domain
from trading.projectx import convert
from trading.projectx import schema as s

DATA = Path(__file__).resolve().parents[2] / "data" / "projectx"


def load(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


REST_MODELS: dict[str, type[s.WireModel]] = {
    "login_ok": s.LoginResponse,
    "login_failed": s.LoginResponse,
    "validate": s.ValidateResponse,
    "account_search": s.AccountSearchResponse,
    "contract_search": s.ContractSearchResponse,
    "contract_search_by_id": s.ContractByIdResponse,
    "contract_search_by_id_legacy": s.ContractByIdResponse,
    "retrieve_bars": s.RetrieveBarsResponse,
    "place_ok": s.PlaceOrderResponse,
    "place_rejected_bracket": s.PlaceOrderResponse,
    "order_search": s.OrderSearchResponse,
    "order_search_open": s.OrderSearchResponse,
    "position_search_open": s.PositionSearchResponse,
    "trade_search": s.TradeSearchResponse,
    "envelope_only": s.Envelope,
    "order_query_missing_filter": s.ProblemDetails,
}


def test_every_rest_payload_has_a_model() -> None:
    assert {p.stem for p in (DATA / "rest").glob("*.json")} == set(REST_MODELS)


@pytest.mark.parametrize("name", sorted(REST_MODELS))
def test_rest_payload_parses(name: str) -> None:
    raw = load(f"rest/{name}")
    model = s.parse(REST_MODELS[name], raw)
    if isinstance(model, s.Envelope):
        assert model.success == raw["success"] and model.errorCode == raw["errorCode"]


def test_enum_values_are_the_documented_ones() -> None:
    assert (s.OrderSide.BID, s.OrderSide.ASK) == (0, 1)
    assert [int(t) for t in (s.OrderType.LIMIT, s.OrderType.MARKET, s.OrderType.STOP, s.OrderType.TRAILING_STOP)] == [
        1,
        2,
        4,
        5,
    ]
    assert (s.OrderType.JOIN_BID, s.OrderType.JOIN_ASK, s.OrderType.STOP_LIMIT) == (6, 7, 3)
    assert (s.OrderStatus.PENDING_CANCELLATION, s.OrderStatus.SUSPENDED, s.OrderStatus.PENDING) == (7, 8, 6)
    assert (s.AggregateBarUnit.UNSPECIFIED, s.AggregateBarUnit.TICK) == (0, 7)
    assert (s.DomType.NEW_BEST_ASK, s.DomType.FILL, s.DomType.RESET) == (10, 11, 6)
    assert (s.PositionType.LONG, s.PositionType.SHORT) == (1, 2)
    assert int(s.PartialClosePositionErrorCode.INVALID_CLOSE_SIZE) == 5
    assert int(s.ClosePositionErrorCode.ORDER_REJECTED) == 5
    assert int(s.PlaceOrderErrorCode.CONTRACT_NOT_ACTIVE) == 9
    assert s.ERROR_CODES[s.POSITION_PARTIAL_CLOSE] is s.PartialClosePositionErrorCode
    assert s.POSITION_PARTIAL_CLOSE == "/api/Position/partialCloseContract"


def test_search_by_id_accepts_singular_and_legacy_plural() -> None:
    one = s.parse(s.ContractByIdResponse, load("rest/contract_search_by_id")).the_contract()
    legacy = s.parse(s.ContractByIdResponse, load("rest/contract_search_by_id_legacy")).the_contract()
    assert one is not None and legacy is not None
    assert one.id == legacy.id == "CON.F.US.ENQ.H25"
    assert legacy.symbolId == ""  # early examples lacked it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-20T15:47:39.882Z", datetime(2025, 1, 20, 15, 47, 39, 882000, tzinfo=UTC)),
        ("2025-07-18T21:00:01.268009+00:00", datetime(2025, 7, 18, 21, 0, 1, 268009, tzinfo=UTC)),
        ("2025-07-18T21:00:01.2680091Z", datetime(2025, 7, 18, 21, 0, 1, 268009, tzinfo=UTC)),
        ("2025-07-18T17:00:01-04:00", datetime(2025, 7, 18, 21, 0, 1, tzinfo=UTC)),
        ("2025-07-18T21:00:01", datetime(2025, 7, 18, 21, 0, 1, tzinfo=UTC)),
        ("0001-01-01T00:00:00", None),
        ("0001-01-01T00:00:00+00:00", None),
        (None, None),
    ],
)
def test_timestamps(text: str | None, expected: datetime | None) -> None:
    assert s.parse_timestamp(text) == expected


def test_bad_timestamp_is_a_wire_format_error() -> None:
    bad = dict(load("rest/order_search")["orders"][0], creationTimestamp="yesterday")
    with pytest.raises(s.WireFormatError, match="creationTimestamp"):
        s.parse(s.OrderModel, bad)


def test_unknown_fields_are_ignored_and_missing_ones_are_errors() -> None:
    row = dict(load("rest/order_search")["orders"][0], brandNewField=[1, 2])
    assert s.parse(s.OrderModel, row).id == 36598
    del row["contractId"]
    with pytest.raises(s.WireFormatError, match="contractId"):
        s.parse(s.OrderModel, row)
    with pytest.raises(s.WireFormatError, match="size"):
        s.parse(s.OrderModel, dict(load("rest/order_search")["orders"][0], size="one"))


def test_truncated_json_is_a_wire_format_error() -> None:
    with pytest.raises(s.WireFormatError, match="Invalid JSON"):
        s.parse_json(s.PlaceOrderResponse, b'{"orderId": 9056, "succ')


def test_null_lists_read_as_empty() -> None:
    assert s.parse(s.OrderSearchResponse, {"orders": None, "success": False, "errorCode": 1}).orders == []


def test_prices_are_exact_decimals_and_written_as_numbers() -> None:
    order = s.parse(s.OrderModel, load("rest/order_search")["orders"][0])
    assert order.filledPrice == Decimal("6335.25")
    assert s.parse(
        s.BarModel, {"t": "2024-12-20T14:00:00+00:00", "o": 0.1, "h": 0.3, "l": 0.1, "c": 0.2, "v": 1}
    ).h == (Decimal("0.3"))
    wire = order.to_wire()
    assert wire["filledPrice"] == 6335.25 and wire["creationTimestamp"] == "2025-07-18T21:00:01.268009+00:00"
    bar = s.parse(s.RetrieveBarsResponse, load("rest/retrieve_bars")).bars[0].to_wire()
    assert bar == load("rest/retrieve_bars")["bars"][0]


def test_hub_user_events_unwrap() -> None:
    wrapped = s.unwrap_user_event(load("hub/user_order_wrapped")["arguments"][0])
    flat = s.unwrap_user_event(load("hub/user_order_flat")["arguments"][0])
    assert wrapped == flat
    order = s.parse(s.OrderModel, wrapped[0])
    assert order.customTag == "strat-1" and order.updateTimestamp is not None
    assert len(s.unwrap_user_event([wrapped[0], {"action": 2, "data": wrapped[0]}])) == 2
    with pytest.raises(s.WireFormatError):
        s.unwrap_user_event("not an object")


def test_hub_user_events_keep_the_wrapper_action() -> None:
    (wrapped,) = s.unwrap_user_events(load("hub/user_order_wrapped")["arguments"][0])
    (flat,) = s.unwrap_user_events(load("hub/user_order_flat")["arguments"][0])
    assert wrapped[0] == 1 and flat[0] is None and wrapped[1] == flat[1]
    data = wrapped[1]
    listed = s.unwrap_user_events([{"action": 2, "data": data}, data, {"action": "x", "data": data}])
    assert [action for action, _ in listed] == [2, None, None]


@pytest.mark.parametrize(
    ("name", "model"),
    [("user_account", s.AccountModel), ("user_position", s.PositionModel), ("user_trade", s.TradeModel)],
)
def test_hub_flat_user_events_parse(name: str, model: type[s.WireModel]) -> None:
    msg = load(f"hub/{name}")
    assert msg["type"] == s.MessageType.INVOCATION
    assert msg["target"] in {s.EVENT_USER_ACCOUNT, s.EVENT_USER_POSITION, s.EVENT_USER_TRADE}
    for item in s.unwrap_user_event(msg["arguments"][0]):
        s.parse(model, item)


def test_hub_market_events_parse() -> None:
    cid, partial = load("hub/quote_partial")["arguments"]
    quote = s.parse(s.GatewayQuote, partial)
    assert cid == "CON.F.US.EP.U25" and quote.lastPrice is None and quote.bestBid == Decimal("6335")
    assert quote.to_wire().keys() == partial.keys()
    full = s.parse(s.GatewayQuote, load("hub/quote_full")["arguments"][1])
    assert full.symbol == "F.US.EP" and full.volume == 123456
    trades = [s.parse(s.GatewayTradeEntry, t) for t in s.market_entries(load("hub/trade_array")["arguments"][1])]
    assert [t.type for t in trades] == [s.TradeLogType.BUY, s.TradeLogType.SELL]
    depth = [s.parse(s.GatewayDepthEntry, d) for d in s.market_entries(load("hub/depth_array")["arguments"][1])]
    assert depth[-1].timestamp is None and depth[-1].type == s.DomType.RESET
    assert len(s.market_entries({"price": 1})) == 1
    with pytest.raises(s.WireFormatError):
        s.market_entries(3)


def test_domain_conversions() -> None:
    order = convert.order_from_wire(s.parse(s.OrderModel, load("rest/order_search")["orders"][0]))
    assert (order.side, order.type, order.status) == (
        domain.Side.BUY,
        domain.OrderType.MARKET,
        domain.OrderStatus.FILLED,
    )
    fills = [convert.fill_from_wire(t) for t in s.parse(s.TradeSearchResponse, load("rest/trade_search")).trades]
    assert fills[0].pnl == Decimal(50) and fills[1].pnl is None and fills[0].side is domain.Side.SELL
    pos = convert.position_from_wire(s.parse(s.PositionSearchResponse, load("rest/position_search_open")).positions[0])
    assert pos is not None and pos.side is domain.PositionSide.LONG and pos.average_price == Decimal("1575.75")
    flat = s.PositionModel(id=1, accountId=1, contractId="x", type=1, size=0, averagePrice=Decimal(0))
    assert convert.position_from_wire(flat) is None
    contract = convert.contract_from_wire(s.parse(s.ContractSearchResponse, load("rest/contract_search")).contracts[1])
    assert contract.symbol == "MNQ" and contract.point_value == 2
    assert convert.contract_from_wire(convert.contract_to_wire(contract)) == contract
    account = convert.account_from_wire(s.parse(s.AccountSearchResponse, load("rest/account_search")).accounts[0])
    assert account.balance == 50000 and account.simulated
    quote = convert.quote_from_wire(
        "CON.F.US.EP.U25", s.parse(s.GatewayQuote, load("hub/quote_partial")["arguments"][1])
    )
    assert quote is not None and quote.bid == Decimal(6335) and quote.last is None
    tick = convert.tick_from_wire("c", s.parse(s.GatewayTradeEntry, load("hub/trade_array")["arguments"][1][1]))
    assert tick.aggressor is domain.Side.SELL and tick.size == 1
    with pytest.raises(s.WireFormatError, match="OrderStatus"):
        convert.order_status_from_wire(42)


@pytest.mark.parametrize(
    ("side", "sl", "tp"),
    [(domain.Side.BUY, -10, 20), (domain.Side.SELL, 10, -20)],
)
def test_place_body_signs_bracket_ticks(side: domain.Side, sl: int, tp: int) -> None:
    for given in ((10, 20), (-10, -20)):
        req = domain.OrderRequest(
            1, "CON.F.US.MNQ.Z26", side, domain.OrderType.LIMIT, 2, "tag-1",
            limit_price=Decimal("21000.25"), bracket=domain.Bracket(*given),
        )  # fmt: skip
        body = convert.place_body(req)
        assert body["stopLossBracket"] == {"ticks": sl, "type": 4}
        assert body["takeProfitBracket"] == {"ticks": tp, "type": 1}
        assert body["side"] == (0 if side is domain.Side.BUY else 1) and body["type"] == 1
        assert body["limitPrice"] == 21000.25 and "stopPrice" not in body and body["customTag"] == "tag-1"


def test_live_error_messages() -> None:
    assert s.msg_bracket_sign("stop loss", 40, long=True, below_zero=True) == (
        "Invalid stop loss ticks (40). Ticks should be less than zero when longing."
    )
    assert s.msg_bracket_sign("take profit", 30, long=False, below_zero=True) == (
        "Invalid take profit ticks (30). Ticks should be less than zero when going short."
    )
    assert s.msg_sl_too_close(-1).startswith("Invalid stop loss ticks (-1).")
    assert s.MSG_SL_TYPE.format(type_name=s.order_type_name(1)) == "Invalid stop loss type (Limit)"
    assert s.order_type_name(5) == "TrailingStop"
