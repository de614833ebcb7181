"""Errors carry structured fields for code and read as sentences for a trader."""

from __future__ import annotations

from trading.projectx import schema as s
from trading.projectx.errors import (
    AmbiguousContract,
    ApiError,
    AuthError,
    HttpStatusError,
    OrderRejected,
    ProjectXError,
    RateLimited,
    TransportError,
    UncertainOutcome,
    WireFormatError,
)
from trading.projectx.session import _error_code, _name


def test_api_error_names_the_endpoint_code_and_message() -> None:
    code = _error_code(s.ORDER_CANCEL, 2)
    assert code is s.CancelOrderErrorCode.ORDER_NOT_FOUND
    err = ApiError(_name(s.ORDER_CANCEL), code, "no such order")
    assert isinstance(err, ProjectXError)
    assert err.endpoint == "Order/cancel"
    assert str(err) == "The broker refused Order/cancel with ORDER_NOT_FOUND (2): no such order"


def test_error_codes_are_per_endpoint() -> None:
    # The same integer means different things on different endpoints.
    assert _error_code(s.ORDER_PLACE, 2) is s.PlaceOrderErrorCode.ORDER_REJECTED
    assert _error_code(s.ORDER_MODIFY, 2) is s.ModifyOrderErrorCode.ORDER_NOT_FOUND
    assert _error_code(s.POSITION_PARTIAL_CLOSE, 6) is s.PartialClosePositionErrorCode.ORDER_REJECTED
    assert _error_code(s.POSITION_CLOSE, 6) is s.ClosePositionErrorCode.ORDER_PENDING


def test_unknown_codes_stay_integers() -> None:
    code = _error_code(s.ORDER_PLACE, 99)
    assert code == 99 and type(code) is int
    assert "99" in str(ApiError("Order/place", code, None))


def test_order_rejected_keeps_the_order_id_the_gateway_returned() -> None:
    err = OrderRejected("Order/place", s.PlaceOrderErrorCode.ORDER_REJECTED, s.MSG_BRACKETS_POSITION_MODE, 9057)
    assert isinstance(err, ApiError)
    assert err.order_id == 9057
    assert str(err).startswith("Order rejected by the broker (broker order #9057, status rejected): Brackets cannot")


def test_order_rejected_without_message_uses_the_code_name() -> None:
    err = OrderRejected("Order/place", s.PlaceOrderErrorCode.OUTSIDE_TRADING_HOURS, None, None)
    assert err.order_id is None
    assert str(err) == "Order rejected by the broker: OUTSIDE_TRADING_HOURS (5)"


def test_trader_facing_wording() -> None:
    assert "retry in 30 s" in str(RateLimited("Order/place", 30))
    assert "Check open orders and positions" in str(UncertainOutcome("place order", "no answer", custom_tag="tb-1"))
    assert "tb-1" in str(UncertainOutcome("place order", "no answer", custom_tag="tb-1"))
    assert "order #42" in str(UncertainOutcome("cancel order", "no answer", order_id=42))
    assert str(TransportError("Order/search", "could not connect")).startswith("The broker did not answer")
    assert "Unreadable answer" in str(WireFormatError("Order/search", "orders.0.id: missing"))
    assert "MNQ" in str(AmbiguousContract("MNQ", ["CON.F.US.MNQ.H26", "CON.F.US.MNQ.M26"]))
    long_body = "x" * 500
    assert len(str(HttpStatusError("Order/v2/query", 400, long_body))) < 300
    assert AuthError("Login failed", s.LoginErrorCode.INVALID_CREDENTIALS).code == 3
