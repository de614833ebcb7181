"""The stop move's notice key: one text per move, whatever decimal text the price came in."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trading.notifications import modified_key

prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=4, allow_nan=False)


def test_trailing_zeros_are_the_same_move() -> None:
    assert modified_key(7, Decimal("21037.50")) == modified_key(7, Decimal("21037.5")) == "order-modified-7-21037.5"
    assert modified_key(7, Decimal("21000")) == modified_key(7, Decimal("21000.00")) == "order-modified-7-21000"


@given(prices, st.integers(min_value=0, max_value=3))
def test_one_key_per_move(price: Decimal, zeros: int) -> None:
    padded = Decimal(f"{price:f}" + ("" if "." in f"{price:f}" else ".") + "0" * zeros) if zeros else price
    assert modified_key(1, padded) == modified_key(1, price)
    assert Decimal(modified_key(1, price).rsplit("-", 1)[1]) == price  # the key names the price, no exponent


@given(prices, prices)
def test_other_prices_other_keys(a: Decimal, b: Decimal) -> None:
    assert (modified_key(1, a) == modified_key(1, b)) == (a == b)
    assert modified_key(1, a) != modified_key(2, a)
