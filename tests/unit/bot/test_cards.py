"""The operator cards: the configuration with every secret hidden, and order labels on the tick grid."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot import cards
from trading.config import Settings, masked
from trading.domain import Order, OrderStatus, OrderType, Side

# A secret is random text: prefixed so that it can never be a word the card shows anyway (a setting's
# name like "daily_profit_cap" is not a secret that leaked).
SECRETS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=16, max_size=40
).map(lambda t: f"s3cr3t{t}")


@settings(max_examples=25)
@given(token=SECRETS, api_key=SECRETS, password=SECRETS, sim_key=SECRETS)
def test_the_configuration_card_never_shows_a_secret(token: str, api_key: str, password: str, sim_key: str) -> None:
    settings = Settings(
        discord={"token": token},
        projectx={"api_key": api_key},
        database={"url": f"postgresql://trader:{password}@db:5432/tradebot"},
        sim={"api_key": sim_key},
    )
    shown = "\n".join(c.text() for c in cards.config(masked(settings)))
    for secret in (token, api_key, password, sim_key):
        assert secret not in shown
    for key in ("discord.token", "projectx.api_key", "database.url", "sim.api_key"):
        assert f"`{key}` = ********" in shown
    assert "[" not in shown.replace("`discord.guild_ids` = (none)", "")  # lists are written out, not as reprs


def order(kind: OrderType, limit: str | None = None, stop: str | None = None) -> Order:
    return Order(
        id=9061,
        account_id=1,
        contract_id="CON.F.US.MNQ.H27",
        type=kind,
        side=Side.SELL,
        size=2,
        status=OrderStatus.OPEN,
        limit_price=Decimal(limit) if limit else None,
        stop_price=Decimal(stop) if stop else None,
    )


def test_working_order_labels_are_on_the_tick_grid() -> None:
    tick = Decimal("0.25")
    assert (
        cards.working_order_label(order(OrderType.LIMIT, "20600"), "MNQ", tick) == "#9061 MNQ sell limit 2 @ 20600.00"
    )
    assert (
        cards.working_order_label(order(OrderType.STOP_LIMIT, "20599.5", "20600"), "MNQ", tick)
        == "#9061 MNQ sell stop-limit 2 stop 20600.00 limit 20599.50"
    )
    assert cards.working_order_label(order(OrderType.MARKET), None, None) == "#9061 CON.F.US.MNQ.H27 sell market 2"
