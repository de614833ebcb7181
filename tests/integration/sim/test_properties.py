"""Property tests of the simulator's matching engine (in process, no sockets): whatever sequence of
places, cancels, modifies, prices and closes, order statuses only move along legal edges, position
size equals the signed sum of fills, the balance equals P&L minus fees, OCO siblings never both fill."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from trading.projectx import schema as s
from trading.sim.contracts import ContractBook
from trading.sim.exchange import Exchange
from trading.sim.market import Market
from trading.sim.state import LEGAL_TRANSITIONS

START = Decimal(50000)
FEE = Decimal("0.37")
INITIAL = {s.OrderStatus.OPEN, s.OrderStatus.SUSPENDED, s.OrderStatus.REJECTED}


class FakeClock:
    def __init__(self) -> None:
        self.t = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)

    def now(self) -> datetime:
        self.t += timedelta(milliseconds=1)
        return self.t

    async def sleep(self, seconds: float) -> None:  # pragma: no cover - never awaited here
        raise AssertionError("the property test never sleeps")


class Engine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        clock = FakeClock()
        self.ex = Exchange(ContractBook(date(2026, 1, 5)), clock.now, FEE, market_pending_status=True)
        self.market = Market(self.ex, clock, seed=1, start_prices={"MNQ": "21000", "ES": "6800"})
        self.accounts = [
            self.ex.add_account("A", START).id,
            self.ex.add_account("B", START, auto_oco_brackets=False).id,
        ]
        self.cids = [self.ex.contracts.by_root("MNQ").id, self.ex.contracts.by_root("ES").id]  # type: ignore[union-attr]
        self.tags = 0

    @rule(
        acct=st.integers(0, 1), c=st.integers(0, 1), side=st.integers(0, 1), size=st.integers(1, 3),
        kind=st.sampled_from([1, 2, 4, 5, 6, 7, 3]), offset=st.integers(-12, 12),
        sl=st.none() | st.integers(-8, 8), tp=st.none() | st.integers(-8, 8), sl_type=st.sampled_from([4, 4, 5, 1]),
        tagged=st.booleans(),
    )  # fmt: skip
    def place(
        self, acct: int, c: int, side: int, size: int, kind: int, offset: int, sl: int | None, tp: int | None,
        sl_type: int, tagged: bool,
    ) -> None:  # fmt: skip
        cid = self.cids[c]
        contract = self.ex.contracts.by_id[cid]
        last = self.ex.books[cid].last or Decimal(1)
        level = last + offset * contract.tick_size
        self.tags += 1
        req = s.PlaceOrderRequest(
            accountId=self.accounts[acct], contractId=cid, type=kind, side=side, size=size,
            limitPrice=level if kind in (1, 3) else None, stopPrice=level if kind in (3, 4) else None,
            trailPrice=level if kind == 5 else None, customTag=f"t{self.tags % 7}" if tagged else None,
            stopLossBracket=None if sl is None else s.BracketModel(ticks=sl, type=sl_type),
            takeProfitBracket=None if tp is None else s.BracketModel(ticks=tp, type=1),
        )  # fmt: skip
        out = self.ex.place(req)
        if out.order_id is not None:
            assert self.ex.orders[out.order_id].status in (INITIAL | {s.OrderStatus.FILLED, s.OrderStatus.PENDING})
        else:
            assert out.code != 0

    @precondition(lambda self: bool(self.ex.orders))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        oid = data.draw(st.sampled_from(sorted(self.ex.orders)))
        o = self.ex.orders[oid]
        was_working = o.working
        out = self.ex.cancel(o.account_id, oid)
        assert out.ok == was_working
        assert o.status == (s.OrderStatus.CANCELLED if was_working else o.status)

    @precondition(lambda self: bool(self.ex.orders))
    @rule(data=st.data(), size=st.none() | st.integers(1, 3), offset=st.integers(-8, 8))
    def modify(self, data: st.DataObject, size: int | None, offset: int) -> None:
        oid = data.draw(st.sampled_from(sorted(self.ex.orders)))
        o = self.ex.orders[oid]
        tick = self.ex.contracts.by_id[o.contract_id].tick_size
        price = (self.ex.books[o.contract_id].last or Decimal(1)) + offset * tick
        req = s.ModifyOrderRequest(accountId=o.account_id, orderId=oid, size=size, limitPrice=price, stopPrice=price)
        self.ex.modify(req)

    @rule(c=st.integers(0, 1), move=st.integers(-12, 12), size=st.integers(1, 5))
    def trade(self, c: int, move: int, size: int) -> None:
        cid = self.cids[c]
        tick = self.ex.contracts.by_id[cid].tick_size
        last = self.ex.books[cid].last or Decimal(100)
        self.market.print_(cid, last + move * tick, size, None, None)

    @rule(c=st.integers(0, 1), move=st.integers(-6, 6), spread=st.integers(1, 3))
    def quote(self, c: int, move: int, spread: int) -> None:
        cid = self.cids[c]
        tick = self.ex.contracts.by_id[cid].tick_size
        bid = (self.ex.books[cid].last or Decimal(100)) + move * tick
        self.market.quote_(cid, bid, bid + spread * tick, 5, 5, None)

    @rule(acct=st.integers(0, 1), c=st.integers(0, 1), size=st.none() | st.integers(0, 4))
    def close(self, acct: int, c: int, size: int | None) -> None:
        self.ex.close(self.accounts[acct], self.cids[c], size, partial=size is not None)

    # ------------------------------------------------------------------ invariants

    @invariant()
    def statuses_follow_the_machine(self) -> None:
        for o in self.ex.orders.values():
            assert o.history and o.history[0] in INITIAL, (o.id, o.history)
            for a, b in zip(o.history, o.history[1:], strict=False):
                assert b in LEGAL_TRANSITIONS[a], (o.id, o.history)
            assert o.status == o.history[-1]
            assert (o.fill_volume == o.size) == (o.status == s.OrderStatus.FILLED)

    @invariant()
    def positions_match_fills_and_balance_matches_pnl(self) -> None:
        net: dict[tuple[int, str], int] = defaultdict(int)
        pnl: dict[int, Decimal] = defaultdict(Decimal)
        for f in self.ex.fills:
            net[(f.account_id, f.contract_id)] += f.size if f.side == s.OrderSide.BID else -f.size
            pnl[f.account_id] += (f.pnl or 0) - f.fees
            assert f.fees == FEE * f.size
        for key, n in net.items():
            pos = self.ex.positions.get(key)
            assert (pos.net if pos else 0) == n, key
        for key, pos in self.ex.positions.items():
            assert pos.net != 0 and net[key] == pos.net
        for acct in self.accounts:
            assert self.ex.accounts[acct].balance == START + pnl[acct]

    @invariant()
    def brackets_are_consistent(self) -> None:
        for o in self.ex.orders.values():
            if o.parent_id is None:
                continue
            parent = self.ex.orders[o.parent_id]
            if o.status == s.OrderStatus.SUSPENDED:
                assert parent.status in (s.OrderStatus.OPEN, s.OrderStatus.PENDING), (parent.history, o.history)
            if o.linked_id is not None:
                sibling = self.ex.orders[o.linked_id]
                assert not (o.status == sibling.status == s.OrderStatus.FILLED)
            if parent.status in (s.OrderStatus.CANCELLED, s.OrderStatus.REJECTED):
                assert o.status in (s.OrderStatus.CANCELLED, s.OrderStatus.REJECTED)

    @invariant()
    def custom_tags_unique_per_account(self) -> None:
        seen: set[tuple[int, str]] = set()
        for o in self.ex.orders.values():
            if o.custom_tag is not None:
                assert (o.account_id, o.custom_tag) not in seen
                seen.add((o.account_id, o.custom_tag))


TestEngine = Engine.TestCase
TestEngine.settings = settings(
    max_examples=100, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
