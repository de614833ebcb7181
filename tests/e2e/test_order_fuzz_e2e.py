"""Generated arguments for the order commands: every answer is either a placed order with sane
values or a private message, and a refused order never reaches the broker."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.discord_world import TRADER, World
from trading.domain import is_on_tick

SYMBOLS = st.sampled_from(["MNQ", "MES", "mnq", "XYZ", "", "MNQ.Z99", " MES "])
# Within the bounds the commands declare (`app_commands.Range`): Discord's client sends nothing outside
# them (tests/e2e/test_discord_surface_e2e.py checks every number has its bounds).
QUANTITIES = st.one_of(st.integers(1, 8), st.integers(1, 1000))
PRICES = st.one_of(
    st.floats(min_value=0.0000001, max_value=30000, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=Decimal("19000"), max_value=Decimal("21500"), places=2).map(float),
    st.sampled_from([20900.25, 21000.0, 5800.0, 0.0000001, 1e7]),
)
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


async def check(world: World, command: str, options: dict[str, Any]) -> None:
    before = await world.desk.broker_orders()
    result = await world.run(TRADER, command, options)
    text = result.text()
    assert "Something went wrong" not in text, (command, options, text)
    after = await world.desk.broker_orders()
    if result.ephemeral:
        assert after == before, (command, options, text)
        return
    if "Confirm:" in text:  # a large order waits for a click: nothing sent yet
        assert after == before
        return
    assert "Order placed" in text, (command, options, text)
    assert after > before  # one order, plus its bracket legs when it has some
    qty = options["quantity"]
    assert 1 <= qty <= world.desk.settings.risk.max_order_size
    newest = max(await world.desk.services.open_orders(), key=lambda o: o.id or 0, default=None)
    if command == "order limit" and newest is not None and newest.limit_price is not None:
        contract = await world.desk.services.contract_by_id(newest.contract_id)
        assert is_on_tick(newest.limit_price, contract.tick_size)


@FUZZ
@given(symbol=SYMBOLS, side=st.sampled_from(["buy", "sell"]), quantity=QUANTITIES, price=PRICES)
async def test_limit_order_arguments(world: World, symbol: str, side: str, quantity: int, price: float) -> None:
    await check(world, "order limit", {"symbol": symbol, "side": side, "quantity": quantity, "price": price})


@FUZZ
@given(symbol=SYMBOLS, side=st.sampled_from(["buy", "sell"]), quantity=QUANTITIES, stop=PRICES)
async def test_stop_order_arguments(world: World, symbol: str, side: str, quantity: int, stop: float) -> None:
    await check(world, "order stop", {"symbol": symbol, "side": side, "quantity": quantity, "stop_price": stop})


@FUZZ
@given(
    side=st.sampled_from(["buy", "sell"]),
    quantity=st.integers(1, 4),
    sl=st.one_of(st.none(), st.integers(1, 10000)),
    tp=st.one_of(st.none(), st.integers(1, 10000)),
)
async def test_bracket_order_arguments(world: World, side: str, quantity: int, sl: int | None, tp: int | None) -> None:
    options: dict[str, Any] = {"symbol": "MNQ", "side": side, "quantity": quantity, "entry": "market"}
    if sl is not None:
        options["stop_loss_ticks"] = sl
    if tp is not None:
        options["take_profit_ticks"] = tp
    await check(world, "order bracket", options)
