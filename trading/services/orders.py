"""Orders: validate as typed, then the engine decides and places (its risk check, the intent written with
the send, once per customTag); modify and cancel through the engine."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from trading.domain import (
    Bracket,
    Contract,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
    is_on_tick,
)
from trading.projectx.errors import ProjectXError
from trading.projectx.schema import MAX_TRAIL_TICKS, MIN_STOP_LOSS_TICKS
from trading.services.errors import BadInput, BrokerFailed, NotFound, RiskRefused
from trading.services.results import (
    MAX_BRACKET_TICKS,
    MAX_QUANTITY,
    OrderSpec,
    Placed,
)
from trading.services.risk import RiskChecks


class Orders(RiskChecks):
    """Placing, modifying and cancelling orders."""

    async def validate(self, spec: OrderSpec) -> tuple[Contract, OrderRequest]:
        """Check an order as typed and build the request; raises `BadInput`, nothing is sent."""
        if spec.quantity <= 0:
            raise BadInput(f"Quantity must be at least 1 contract, got {spec.quantity}")
        if spec.quantity > MAX_QUANTITY:
            raise BadInput(f"Quantity {spec.quantity} is not plausible (at most {MAX_QUANTITY})")
        if spec.quantity > self.settings.risk.max_order_size:
            raise BadInput(
                f"Quantity {spec.quantity} is above the limit of "
                f"{self.settings.risk.max_order_size} contracts per order"
            )
        contract = await self.contract(spec.symbol)
        for what, price in (("limit price", spec.limit_price), ("stop price", spec.stop_price)):
            if price is not None and (price <= 0 or not is_on_tick(price, contract.tick_size)):
                raise BadInput(
                    f"The {what} {price} is not on the {contract.symbol} tick grid ({contract.tick_size}); "
                    f"nearest is {contract.snap(max(price, contract.tick_size))}"
                )
        t = spec.type
        if t is OrderType.LIMIT and spec.limit_price is None:
            raise BadInput("A limit order needs a limit price")
        if t is OrderType.STOP and spec.stop_price is None:
            raise BadInput("A stop order needs a stop price")
        if t is OrderType.TRAILING_STOP and not spec.trail_ticks:
            raise BadInput("A trailing stop needs a trail distance in ticks")
        if spec.trail_ticks is not None and not 1 <= spec.trail_ticks <= MAX_TRAIL_TICKS:
            raise BadInput(f"The trail distance must be between 1 and {MAX_TRAIL_TICKS} ticks")
        needs_market = t in (OrderType.STOP, OrderType.TRAILING_STOP) or (
            t is OrderType.MARKET and (spec.stop_loss_price is not None or spec.take_profit_price is not None)
        )
        last = await self.last_price(contract) if needs_market else None
        if t is OrderType.STOP and last is not None and spec.stop_price is not None:
            wrong = spec.stop_price <= last if spec.side is Side.BUY else spec.stop_price >= last
            if wrong:
                where = "above" if spec.side is Side.BUY else "below"
                raise BadInput(
                    f"A {spec.side.value} stop must be {where} the market ({contract.symbol} last {last}); "
                    f"got {spec.stop_price}"
                )
        trail_price = None
        if t is OrderType.TRAILING_STOP:
            if last is None:
                raise BadInput(f"No recent {contract.symbol} price to anchor the trailing stop; try again shortly")
            assert spec.trail_ticks is not None
            trail_price = last - spec.side.sign * spec.trail_ticks * contract.tick_size
        bracket = await self._bracket(spec, contract, last)
        request = OrderRequest(
            account_id=self.account_id,
            contract_id=contract.id,
            side=spec.side,
            type=t,
            size=spec.quantity,
            custom_tag="",
            limit_price=spec.limit_price,
            stop_price=spec.stop_price,
            trail_price=trail_price,
            bracket=bracket,
            reason="manual",
        )
        return contract, request

    async def _bracket(self, spec: OrderSpec, contract: Contract, last: Decimal | None) -> Bracket | None:
        sl, tp = spec.stop_loss_ticks, spec.take_profit_ticks
        if sl is None and tp is None and spec.stop_loss_price is None and spec.take_profit_price is None:
            return None
        entry = spec.limit_price or spec.stop_price or last
        for what, price in (("stop-loss", spec.stop_loss_price), ("take-profit", spec.take_profit_price)):
            if price is None:
                continue
            if entry is None:
                raise BadInput(f"No {contract.symbol} price to measure the {what} from; give it in ticks")
            if not is_on_tick(price, contract.tick_size):
                raise BadInput(
                    f"The {what} price {price} is not on the {contract.symbol} tick grid ({contract.tick_size})"
                )
            distance = (price - entry) * spec.side.sign
            wrong = distance >= 0 if what == "stop-loss" else distance <= 0
            if wrong:
                side = "below" if (what == "stop-loss") == (spec.side is Side.BUY) else "above"
                raise BadInput(f"The {what} {price} must be {side} the entry {entry} for a {spec.side.value}")
            ticks = contract.ticks(abs(distance))
            if what == "stop-loss":
                sl = ticks
            else:
                tp = ticks
        for what, leg, least in (("stop-loss", sl, MIN_STOP_LOSS_TICKS), ("take-profit", tp, 1)):
            if leg is not None and not least <= leg <= MAX_BRACKET_TICKS:
                raise BadInput(f"The {what} must be between {least} and {MAX_BRACKET_TICKS} ticks, got {leg}")
        return Bracket(stop_loss_ticks=sl, take_profit_ticks=tp)

    async def place_order(self, spec: OrderSpec, custom_tag: str, source: str = "manual") -> Placed:
        """Validate, then submit to the engine: the risk check and placement every strategy order gets.
        A tag seen before is not placed again."""
        existing = await self.store.orders.by_tag(custom_tag)
        if existing is not None and (existing.id is not None or existing.status is not OrderStatus.INTENT):
            return await self._already(existing)  # before validating: the market may have moved since
        contract, request = await self.validate(spec)
        request = replace(request, custom_tag=custom_tag)
        try:
            sent = await self.engine.submit(request, source)
        except ProjectXError as exc:
            raise BrokerFailed(str(exc)) from None
        if sent.refused:
            raise RiskRefused(f"Risk refused the order: {sent.refused}")
        if sent.rejected:
            raise BrokerFailed(sent.rejected)
        if sent.duplicate and sent.order is not None:
            return await self._already(replace(sent.order, id=sent.order_id))
        if sent.order_id is None:
            raise BrokerFailed(
                f"The broker's answer to order {custom_tag} was lost; it is being reconciled by its tag. "
                "Check /orders before asking again"
            )
        return Placed(sent.order_id, custom_tag, contract, request)

    async def _already(self, order: Order) -> Placed:
        if order.status is OrderStatus.REJECTED:
            raise BrokerFailed(
                f"This order was already sent and rejected (tag {order.custom_tag}); nothing was re-sent"
            )
        contract = await self.contract_by_id(order.contract_id)
        request = OrderRequest(
            account_id=order.account_id,
            contract_id=order.contract_id,
            side=order.side,
            type=order.type,
            size=order.size,
            custom_tag=order.custom_tag or "",
            limit_price=order.limit_price,
            stop_price=order.stop_price,
        )
        return Placed(order.id, order.custom_tag or "", contract, request, duplicate=True)

    async def open_orders(self) -> list[Order]:
        return await self._broker(self.broker.search_open_orders(self.account_id))

    async def modify_order(
        self, order_id: int, *, price: Decimal | None = None, stop: Decimal | None = None, size: int | None = None
    ) -> Order:
        """Move a working order's limit price, stop price or size (the price fields it has)."""
        if price is None and stop is None and size is None:
            raise BadInput("Say what to change: price, stop or quantity")
        order = await self._working(order_id)
        contract = await self.contract_by_id(order.contract_id)
        for what, p in (("price", price), ("stop", stop)):
            if p is not None and not is_on_tick(p, contract.tick_size):
                raise BadInput(f"The {what} {p} is not on the {contract.symbol} tick grid ({contract.tick_size})")
        if price is not None and order.type not in (OrderType.LIMIT, OrderType.STOP_LIMIT):
            raise BadInput(f"Order #{order_id} is a {order.type.value} order: it has no limit price")
        if stop is not None and order.type not in (OrderType.STOP, OrderType.STOP_LIMIT):
            raise BadInput(f"Order #{order_id} is a {order.type.value} order: it has no stop price")
        if size is not None and not 1 <= size <= self.settings.risk.max_order_size:
            raise BadInput(f"Quantity must be between 1 and {self.settings.risk.max_order_size}")
        await self._broker(self.engine.modify_order(order_id, size=size, limit_price=price, stop_price=stop))
        return await self._broker(self.broker.order_by_id(order.account_id, order_id))

    async def _working(self, order_id: int) -> Order:
        if order_id <= 0:
            raise BadInput(f"Order id must be a positive number, got {order_id}")
        for o in await self.open_orders():
            if o.id == order_id:
                return o
        raise NotFound(f"No working order #{order_id} on this account; see /orders")

    async def cancel_order(self, order_id: int) -> Order:
        order = await self._working(order_id)
        await self._broker(self.engine.cancel_order(order_id))
        return order

    async def cancel_all(self, symbol: str | None = None) -> list[int]:
        contract = await self.contract(symbol) if symbol else None
        cancelled: list[int] = []
        for o in await self.open_orders():
            if contract is not None and o.contract_id != contract.id:
                continue
            if o.id is None:
                continue
            await self._broker(self.engine.cancel_order(o.id))
            cancelled.append(o.id)
        return cancelled
