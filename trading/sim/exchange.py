"""The matching engine and account state of the simulated gateway.

One `Exchange` holds every account, order, position and fill. Prices come in through
`on_market(contract_id)` after the market has updated `books`; working orders are matched against
the new top of book. Every change is published to the listeners as the user-hub event it would be
(`GatewayUserOrder`, `GatewayUserTrade`, `GatewayUserPosition`, `GatewayUserAccount`).
Operations return an `Outcome` carrying the endpoint-specific error code (projectx-api.md §6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from trading.domain import Contract
from trading.projectx import schema as s
from trading.sim.brackets import bracket_error
from trading.sim.contracts import ContractBook
from trading.sim.positions import CENT, PositionBook
from trading.sim.state import BookTop, SimAccount, SimFill, SimOrder
from trading.sim.stops import follow, price_child, set_trail


class UserEventSink(Protocol):
    def user_event(self, account_id: int, target: str, build: Callable[[], s.WireModel]) -> None:
        """`build` makes the payload; called only when someone listens (keeps unwatched fills cheap)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    code: int = 0
    message: str | None = None
    order_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.code == 0


class Exchange:
    def __init__(
        self,
        contracts: ContractBook,
        now: Callable[[], datetime],
        fees_per_contract: Decimal,
        market_pending_status: bool = True,
    ) -> None:
        self.contracts = contracts
        self.now = now
        self.fees_per_contract = fees_per_contract
        self.market_pending_status = market_pending_status
        self.accounts: dict[int, SimAccount] = {}
        self.orders: dict[int, SimOrder] = {}
        self.position_book = PositionBook(self._emit)
        self.positions = self.position_book.positions
        self.fills: list[SimFill] = []
        self.books: dict[str, BookTop] = {cid: BookTop() for cid in contracts.by_id}
        self.sinks: list[UserEventSink] = []
        self.session_open: Callable[[str], bool] = lambda _cid: True
        self.reject_next: list[str] = []  # fault: messages for the next rejected places
        self._open: dict[str, dict[int, SimOrder]] = {}  # working (status 1) orders per contract
        self._next_order = 9056
        self._next_fill = 8000
        self._next_account = 465

    # ------------------------------------------------------------------ accounts

    def add_account(
        self,
        name: str,
        balance: Decimal,
        auto_oco_brackets: bool = True,
        can_trade: bool = True,
        simulated: bool = True,
    ) -> SimAccount:
        acc = SimAccount(
            self._next_account,
            name,
            balance,
            can_trade=can_trade,
            simulated=simulated,
            auto_oco_brackets=auto_oco_brackets,
        )
        self._next_account += 1
        self.accounts[acc.id] = acc
        return acc

    # ------------------------------------------------------------------ events

    def _emit(self, account_id: int, target: str, build: Callable[[], s.WireModel]) -> None:
        for sink in self.sinks:
            sink.user_event(account_id, target, build)

    def _emit_order(self, o: SimOrder) -> None:
        self._emit(o.account_id, s.EVENT_USER_ORDER, o.model)

    # ------------------------------------------------------------------ place

    def place(self, req: s.PlaceOrderRequest) -> Outcome:
        acc = self.accounts.get(req.accountId)
        if acc is None:
            return Outcome(s.PlaceOrderErrorCode.ACCOUNT_NOT_FOUND, "Account not found")
        contract = self.contracts.get(req.contractId)
        if contract is None:
            return Outcome(s.PlaceOrderErrorCode.CONTRACT_NOT_FOUND, "Contract not found")
        if not contract.active:
            return Outcome(s.PlaceOrderErrorCode.CONTRACT_NOT_ACTIVE, "Contract is not the currently active contract")
        if not acc.can_trade:
            return Outcome(s.PlaceOrderErrorCode.ACCOUNT_REJECTED, "Account cannot trade")
        if not self.session_open(contract.id):
            return Outcome(s.PlaceOrderErrorCode.OUTSIDE_TRADING_HOURS, "Outside trading hours")
        if req.customTag is not None and req.customTag in acc.tags:
            # No order is created for a duplicate tag: a second order carrying it would break lookups by tag.
            return Outcome(s.PlaceOrderErrorCode.ORDER_REJECTED, s.MSG_DUPLICATE_TAG)
        if req.side not in (0, 1):
            return Outcome(s.PlaceOrderErrorCode.ORDER_REJECTED, f"Invalid side ({req.side})")
        now = self.now()
        book = self.books[contract.id]
        order = SimOrder(
            id=self._new_order_id(),
            account_id=acc.id,
            contract_id=contract.id,
            symbol_id=contract.symbol_id,
            type=s.OrderType(req.type) if req.type in s.OrderType._value2member_map_ else s.OrderType.UNKNOWN,
            side=s.OrderSide(req.side),
            size=req.size,
            status=s.OrderStatus.OPEN,
            created=now,
            updated=now,
            limit_price=req.limitPrice,
            stop_price=req.stopPrice,
            custom_tag=req.customTag,
        )
        error = self._validate(order, req, contract, book, acc)
        if req.customTag is not None:
            acc.tags.add(req.customTag)
        if error is not None:
            # The rejected order is created and its id returned (§2, §4.6).
            order.status = s.OrderStatus.REJECTED
            order.history.append(s.OrderStatus.REJECTED)
            self.orders[order.id] = order
            self._emit_order(order)
            return Outcome(s.PlaceOrderErrorCode.ORDER_REJECTED, error, order.id)
        order.history.append(s.OrderStatus.OPEN)
        self.orders[order.id] = order
        if order.type == s.OrderType.JOIN_BID:
            order.type, order.limit_price = s.OrderType.LIMIT, book.bid
        elif order.type == s.OrderType.JOIN_ASK:
            order.type, order.limit_price = s.OrderType.LIMIT, book.ask
        self._track(order)
        self._emit_order(order)
        if req.stopLossBracket is not None or req.takeProfitBracket is not None:
            self._create_children(order, req, contract, now)
        self._match_order(order, contract, book)
        return Outcome(0, None, order.id)

    def _new_order_id(self) -> int:
        self._next_order += 1
        return self._next_order

    def _validate(
        self, order: SimOrder, req: s.PlaceOrderRequest, contract: Contract, book: BookTop, acc: SimAccount
    ) -> str | None:
        if self.reject_next:
            return self.reject_next.pop(0)
        if req.type not in (1, 2, 4, 5, 6, 7):
            # StopLimit (3) is in the enum but not documented as placeable (§13): the sim refuses it.
            return f"Unsupported order type ({s.order_type_name(req.type)})"
        if req.size <= 0:
            return f"Invalid order size ({req.size})"
        tick = contract.tick_size
        if req.type == s.OrderType.LIMIT:
            if req.limitPrice is None:
                return "Limit price is required"
            if req.limitPrice % tick:
                return s.MSG_PRICE_NOT_ALIGNED
        if req.type == s.OrderType.STOP:
            if req.stopPrice is None:
                return "Stop price is required"
            if req.stopPrice % tick:
                return s.MSG_PRICE_NOT_ALIGNED
        if req.type == s.OrderType.MARKET and (book.ask if order.buy else book.bid) is None and book.last is None:
            return "No market price"
        if (
            req.type in (s.OrderType.JOIN_BID, s.OrderType.JOIN_ASK)
            and (book.bid if req.type == s.OrderType.JOIN_BID else book.ask) is None
        ):
            return "No market price"
        if req.type == s.OrderType.TRAILING_STOP:
            err = set_trail(order, req.trailPrice, contract, book)
            if err is not None:
                return err
        if req.stopLossBracket is not None or req.takeProfitBracket is not None:
            if not acc.auto_oco_brackets:
                return s.MSG_BRACKETS_POSITION_MODE
            return bracket_error(order.buy, req.stopLossBracket, req.takeProfitBracket)
        return None

    # ------------------------------------------------------------------ brackets

    def _create_children(self, entry: SimOrder, req: s.PlaceOrderRequest, contract: Contract, now: datetime) -> None:
        """Children are created Suspended (8), hidden from searchOpen, until the entry fills."""
        ref = entry.limit_price or entry.stop_price or self.books[contract.id].last or Decimal(0)
        ids: list[int] = []
        for leg in (req.stopLossBracket, req.takeProfitBracket):
            if leg is None:
                continue
            child = SimOrder(
                id=self._new_order_id(),
                account_id=entry.account_id,
                contract_id=entry.contract_id,
                symbol_id=entry.symbol_id,
                type=s.OrderType(leg.type),
                side=s.OrderSide.ASK if entry.buy else s.OrderSide.BID,
                size=entry.size,
                status=s.OrderStatus.SUSPENDED,
                created=now,
                updated=now,
                parent_id=entry.id,
            )
            child.history.append(s.OrderStatus.SUSPENDED)
            if leg is req.stopLossBracket:
                entry.sl_ticks = leg.ticks
            else:
                entry.tp_ticks = leg.ticks
            price_child(child, leg.ticks, ref, contract)
            self.orders[child.id] = child
            ids.append(child.id)
        if len(ids) == 2:
            self.orders[ids[0]].linked_id = ids[1]
            self.orders[ids[1]].linked_id = ids[0]
        entry.children = ids
        for cid in ids:
            self._emit_order(self.orders[cid])

    def _activate_children(self, entry: SimOrder, contract: Contract) -> None:
        assert entry.filled_price is not None
        for cid in entry.children:
            child = self.orders[cid]
            if child.status != s.OrderStatus.SUSPENDED:
                continue
            ticks = entry.sl_ticks if child.type in (s.OrderType.STOP, s.OrderType.TRAILING_STOP) else entry.tp_ticks
            price_child(child, ticks or 0, entry.filled_price, contract)
            child.move(s.OrderStatus.OPEN, self.now())
            self._track(child)
            self._emit_order(child)

    # ------------------------------------------------------------------ matching

    def on_market(self, contract_id: str, printed: Decimal | None = None) -> None:
        """Match every working order of `contract_id` against its (already updated) book; `printed` is
        the price of the trade print that caused this pass, if any (resting limits fill at their price)."""
        contract = self.contracts.get(contract_id)
        if contract is None:
            return
        book = self.books[contract_id]
        working = self._open.get(contract_id)
        if not working:
            return
        for order in list(working.values()):
            if order.status == s.OrderStatus.OPEN:  # an earlier fill in this pass may have cancelled it
                self._match_order(order, contract, book, printed)
            else:
                del working[order.id]

    def _track(self, o: SimOrder) -> None:
        self._open.setdefault(o.contract_id, {})[o.id] = o

    def _match_order(self, o: SimOrder, contract: Contract, book: BookTop, printed: Decimal | None = None) -> None:
        if o.status != s.OrderStatus.OPEN:
            return
        ask = book.ask if book.ask is not None else book.last
        bid = book.bid if book.bid is not None else book.last
        price: Decimal | None = None
        if o.type == s.OrderType.MARKET:
            price = ask if o.buy else bid
            if price is not None and self.market_pending_status:
                o.move(s.OrderStatus.PENDING, self.now())
                self._emit_order(o)
        elif o.type == s.OrderType.LIMIT and o.limit_price is not None:
            limit = o.limit_price
            if o.buy and ask is not None and ask <= limit:
                price = ask
            elif not o.buy and bid is not None and bid >= limit:
                price = bid
            elif printed is not None and (printed <= limit if o.buy else printed >= limit):
                price = limit  # a print at or through a resting limit fills it at the limit
        elif o.type in (s.OrderType.STOP, s.OrderType.TRAILING_STOP):
            if o.type == s.OrderType.TRAILING_STOP:
                follow(o, contract, book)
            last = book.last
            if o.stop_price is not None and last is not None:
                if o.buy and last >= o.stop_price:
                    price = ask if ask is not None and ask >= last else last
                elif not o.buy and last <= o.stop_price:
                    price = bid if bid is not None and bid <= last else last
        if price is not None:
            self._fill(o, price, contract)

    def _fill(self, o: SimOrder, price: Decimal, contract: Contract) -> None:
        now = self.now()
        o.fill_volume, o.filled_price = o.size, price
        o.move(s.OrderStatus.FILLED, now)
        self._emit_order(o)
        signed = o.size if o.buy else -o.size
        pnl = self.position_book.apply(o.account_id, contract, signed, price, now)
        fees = (self.fees_per_contract * o.size).quantize(CENT)
        self._next_fill += 1
        fill = SimFill(self._next_fill, o.account_id, o.contract_id, now, price, pnl, fees, o.side, o.size, o.id)
        self.fills.append(fill)
        self._emit(o.account_id, s.EVENT_USER_TRADE, fill.model)
        acc = self.accounts[o.account_id]
        acc.balance += (pnl or Decimal(0)) - fees
        self._emit(o.account_id, s.EVENT_USER_ACCOUNT, acc.model)
        if o.children:
            self._activate_children(o, contract)
        if o.linked_id is not None and o.parent_id is not None:
            sibling = self.orders.get(o.linked_id)
            if sibling is not None and sibling.working:  # OCO
                sibling.move(s.OrderStatus.CANCELLED, now)
                self._emit_order(sibling)
        if o.children:
            book = self.books[contract.id]
            for cid in o.children:
                self._match_order(self.orders[cid], contract, book)

    # ------------------------------------------------------------------ modify / cancel

    def cancel(self, account_id: int, order_id: int) -> Outcome:
        if account_id not in self.accounts:
            return Outcome(s.CancelOrderErrorCode.ACCOUNT_NOT_FOUND, "Account not found")
        if not self.accounts[account_id].simulated:  # "only simulated accounts ... can cancel" (§4.8)
            return Outcome(s.CancelOrderErrorCode.ACCOUNT_REJECTED, s.MSG_CANCEL_LIVE)
        o = self.orders.get(order_id)
        if o is None or o.account_id != account_id:
            return Outcome(s.CancelOrderErrorCode.ORDER_NOT_FOUND, "Order not found")
        if not o.working:
            return Outcome(s.CancelOrderErrorCode.REJECTED, f"Order is not working ({s.OrderStatus(o.status).name})")
        now = self.now()
        o.move(s.OrderStatus.CANCELLED, now)
        self._emit_order(o)
        for cid in o.children:  # an unfilled entry takes its suspended children with it
            child = self.orders[cid]
            if child.status == s.OrderStatus.SUSPENDED:
                child.move(s.OrderStatus.CANCELLED, now)
                self._emit_order(child)
        return Outcome()

    def modify(self, req: s.ModifyOrderRequest) -> Outcome:
        if req.accountId not in self.accounts:
            return Outcome(s.ModifyOrderErrorCode.ACCOUNT_NOT_FOUND, "Account not found")
        o = self.orders.get(req.orderId)
        if o is None or o.account_id != req.accountId:
            return Outcome(s.ModifyOrderErrorCode.ORDER_NOT_FOUND, "Order not found")
        if not o.working:
            return Outcome(s.ModifyOrderErrorCode.REJECTED, f"Order is not working ({s.OrderStatus(o.status).name})")
        contract = self.contracts.get(o.contract_id)
        if contract is None:
            return Outcome(s.ModifyOrderErrorCode.CONTRACT_NOT_FOUND, "Contract not found")
        tick = contract.tick_size
        for p in (req.limitPrice, req.stopPrice, req.trailPrice):
            if p is not None and p % tick:
                return Outcome(s.ModifyOrderErrorCode.REJECTED, s.MSG_PRICE_NOT_ALIGNED)
        if req.size is not None and req.size <= 0:
            return Outcome(s.ModifyOrderErrorCode.REJECTED, f"Invalid order size ({req.size})")
        # Omitted (null) fields are left unchanged (undocumented live; §4.7).
        if req.size is not None:
            o.size = req.size
        if req.limitPrice is not None and o.type == s.OrderType.LIMIT:
            o.limit_price = req.limitPrice
        if req.stopPrice is not None and o.type in (s.OrderType.STOP, s.OrderType.TRAILING_STOP):
            o.stop_price = req.stopPrice
        if req.trailPrice is not None and o.type == s.OrderType.TRAILING_STOP:
            book = self.books[o.contract_id]
            if book.last is not None:  # no max-distance guard on modify (§4.7)
                o.trail_ticks = max(1, int(abs(book.last - req.trailPrice) / tick))
                o.trail_distance = o.trail_ticks * tick
                o.extreme = book.last
        o.move(o.status, self.now())
        self._emit_order(o)
        self._match_order(o, contract, self.books[o.contract_id])
        return Outcome()

    # ------------------------------------------------------------------ positions

    def close(self, account_id: int, contract_id: str, size: int | None, partial: bool) -> Outcome:
        codes: Any = s.PartialClosePositionErrorCode if partial else s.ClosePositionErrorCode
        if account_id not in self.accounts:
            return Outcome(codes.ACCOUNT_NOT_FOUND, "Account not found")
        contract = self.contracts.get(contract_id)
        if contract is None:
            return Outcome(codes.CONTRACT_NOT_FOUND, "Contract not found")
        pos = self.positions.get((account_id, contract_id))
        if pos is None or pos.net == 0:
            return Outcome(codes.POSITION_NOT_FOUND, "Position not found")
        if not contract.active:
            return Outcome(codes.CONTRACT_NOT_ACTIVE, "Contract is not active")
        if partial and not self.accounts[account_id].simulated:  # partial close: simulated accounts only (§4.15)
            return Outcome(s.PartialClosePositionErrorCode.ACCOUNT_REJECTED, s.MSG_CANCEL_LIVE)
        qty = abs(pos.net) if size is None else size
        if partial and (qty <= 0 or qty > abs(pos.net)):
            return Outcome(s.PartialClosePositionErrorCode.INVALID_CLOSE_SIZE, f"Invalid close size ({qty})")
        book = self.books[contract_id]
        if not self.session_open(contract_id) or (book.last is None and book.bid is None):
            return Outcome(codes.ORDER_REJECTED, None)  # market closed or no price: message null (§4.15)
        # Flatten at market; working orders on the contract are left alone (§4.14).
        now = self.now()
        o = SimOrder(
            id=self._new_order_id(),
            account_id=account_id,
            contract_id=contract_id,
            symbol_id=contract.symbol_id,
            type=s.OrderType.MARKET,
            side=s.OrderSide.ASK if pos.net > 0 else s.OrderSide.BID,
            size=qty,
            status=s.OrderStatus.OPEN,
            created=now,
            updated=now,
        )
        o.history.append(s.OrderStatus.OPEN)
        self.orders[o.id] = o
        self._emit_order(o)
        self._match_order(o, contract, book)
        return Outcome()
