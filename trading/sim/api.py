"""The REST endpoints of the simulated gateway (projectx-api.md §3, §4): one handler each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from trading.projectx import schema as s
from trading.projectx.convert import contract_to_wire
from trading.sim.auth import TokenAuthority
from trading.sim.endpoint import Api, Call, Handler, reply
from trading.sim.exchange import Exchange
from trading.sim.faults import FaultInjector
from trading.sim.market import Market
from trading.sim.options import SimOptions
from trading.sim.state import SimOrder
from trading.sim.timebase import ClockLike


class RestApi:
    """The handlers, over the gateway's parts (the gateway builds it and adds its routes)."""

    def __init__(
        self,
        exchange: Exchange,
        auth: TokenAuthority,
        market: Market,
        faults: FaultInjector,
        options: SimOptions,
        clock: ClockLike,
        *,
        username: str,
        api_key: str,
    ) -> None:
        self.ex = exchange
        self.auth = auth
        self.market = market
        self.faults = faults
        self.options = options
        self.clock = clock
        self.username = username
        self.api_key = api_key

    def routes(self, api: Api, app: web.Application) -> None:
        table: dict[str, Handler] = {
            s.LOGIN_KEY: self.login_key,
            s.LOGIN_APP: self.login_app,
            s.VALIDATE: self.validate,
            s.LOGOUT: self.logout,
            s.ACCOUNT_SEARCH: self.account_search,
            s.CONTRACT_SEARCH: self.contract_search,
            s.CONTRACT_SEARCH_BY_ID: self.contract_by_id,
            s.CONTRACT_AVAILABLE: self.contract_available,
            s.RETRIEVE_BARS: self.retrieve_bars,
            s.ORDER_PLACE: self.place,
            s.ORDER_MODIFY: self.modify,
            s.ORDER_CANCEL: self.cancel,
            s.ORDER_SEARCH: self.order_search,
            s.ORDER_SEARCH_OPEN: self.order_search_open,
            s.ORDER_SEARCH_BY_ID: self.order_by_id,
            s.ORDER_QUERY_V2: self.order_query,
            s.POSITION_SEARCH_OPEN: self.position_search,
            s.POSITION_CLOSE: self.close,
            s.POSITION_PARTIAL_CLOSE: self.partial_close,
            s.POSITION_PARTIAL_CLOSE_ALIAS: self.partial_close,
            s.TRADE_SEARCH: self.trade_search,
        }
        public = {s.LOGIN_KEY, s.LOGIN_APP}
        for path, handler in table.items():
            app.router.add_post(path, api.route(path, handler, public=path in public))
        app.router.add_get(s.STATUS_PING, _ping)

    # ------------------------------------------------------------------ auth

    async def login_key(self, call: Call) -> s.Envelope:
        req = s.LoginKeyRequest.model_validate(call.body)
        if req.userName.lower() == self.username.lower() and req.apiKey == self.api_key:
            return reply(s.LoginResponse, token=self.auth.issue(self.username))
        return reply(s.LoginResponse, s.LoginErrorCode.INVALID_CREDENTIALS, token=None)

    async def login_app(self, call: Call) -> s.Envelope:
        _LoginApp.model_validate(call.body)
        return reply(s.LoginResponse, s.LoginErrorCode.APP_NOT_FOUND, token=None)

    async def validate(self, call: Call) -> s.Envelope:
        assert call.session is not None
        return reply(s.ValidateResponse, newToken=self.auth.issue(call.session.username))

    async def logout(self, call: Call) -> s.Envelope:
        if call.token:
            self.auth.revoke(call.token)
        return reply(s.Envelope)

    # ------------------------------------------------------------------ accounts and contracts

    async def account_search(self, call: Call) -> s.Envelope:
        req = s.AccountSearchRequest.model_validate(call.body)
        accounts = [a for a in self.ex.accounts.values() if a.can_trade or not req.onlyActiveAccounts]
        return reply(s.AccountSearchResponse, accounts=[a.model() for a in accounts])

    async def contract_search(self, call: Call) -> s.Envelope:
        req = s.ContractSearchRequest.model_validate(call.body)
        hits = self.ex.contracts.search(req.searchText)
        return reply(s.ContractSearchResponse, contracts=[contract_to_wire(c) for c in hits])

    async def contract_by_id(self, call: Call) -> s.Envelope:
        req = s.ContractSearchByIdRequest.model_validate(call.body)
        c = self.ex.contracts.get(req.contractId)
        if c is None:
            return reply(s.ContractByIdResponse, s.ContractByIdErrorCode.CONTRACT_NOT_FOUND, "Contract not found")
        return reply(s.ContractByIdResponse, contract=contract_to_wire(c))

    async def contract_available(self, call: Call) -> s.Envelope:
        s.ContractAvailableRequest.model_validate(call.body)
        return reply(s.ContractSearchResponse, contracts=[contract_to_wire(c) for c in self.ex.contracts.active])

    async def retrieve_bars(self, call: Call) -> s.Envelope:
        req = s.RetrieveBarsRequest.model_validate(call.body)
        codes = s.RetrieveBarsErrorCode
        if self.ex.contracts.get(req.contractId) is None:
            return reply(s.RetrieveBarsResponse, codes.CONTRACT_NOT_FOUND, "Contract not found")
        if req.unit not in range(1, 8):
            return reply(s.RetrieveBarsResponse, codes.UNIT_INVALID, f"Invalid unit ({req.unit})")
        if req.unitNumber < 1:
            return reply(s.RetrieveBarsResponse, codes.UNIT_NUMBER_INVALID, f"Invalid unit number ({req.unitNumber})")
        if not 1 <= req.limit <= s.MAX_BARS_PER_REQUEST:
            return reply(s.RetrieveBarsResponse, codes.LIMIT_INVALID, f"Invalid limit ({req.limit})")
        if req.startTime is None or req.endTime is None:
            return reply(s.RetrieveBarsResponse)
        self.market.ensure_history(req.contractId, req.startTime)  # the path's history, made when first asked
        bars = self.market.bars.retrieve(
            req.contractId, req.startTime, req.endTime, req.unit, req.unitNumber, req.limit,
            req.includePartialBar, self.clock.now(),
        )  # fmt: skip
        return reply(s.RetrieveBarsResponse, bars=bars)

    # ------------------------------------------------------------------ orders

    async def place(self, call: Call) -> s.Envelope:
        req = s.PlaceOrderRequest.model_validate(call.body)
        fault = self.faults.take_reject(call.path)
        if fault is not None:
            self.ex.reject_next.append(fault)
        out = self.ex.place(req)
        return reply(s.PlaceOrderResponse, out.code, out.message, orderId=out.order_id)

    async def modify(self, call: Call) -> s.Envelope:
        out = self.ex.modify(s.ModifyOrderRequest.model_validate(call.body))
        return reply(s.Envelope, out.code, out.message)

    async def cancel(self, call: Call) -> s.Envelope:
        req = s.CancelOrderRequest.model_validate(call.body)
        out = self.ex.cancel(req.accountId, req.orderId)
        return reply(s.Envelope, out.code, out.message)

    def _orders(self, account_id: int, keep: Callable[[SimOrder], bool]) -> list[s.OrderModel]:
        return [o.model() for o in self.ex.orders.values() if o.account_id == account_id and keep(o)]

    async def order_search(self, call: Call) -> s.Envelope:
        req = s.OrderSearchRequest.model_validate(call.body)
        if req.accountId not in self.ex.accounts:
            return reply(s.OrderSearchResponse, s.SearchByAccountErrorCode.ACCOUNT_NOT_FOUND, "Account not found")
        start, end = req.startTimestamp, req.endTimestamp
        return reply(
            s.OrderSearchResponse, orders=self._orders(req.accountId, lambda o: _within(o.created, start, end))
        )

    async def order_search_open(self, call: Call) -> s.Envelope:
        req = s.AccountIdRequest.model_validate(call.body)
        if req.accountId not in self.ex.accounts:
            return reply(s.OrderSearchResponse, s.SearchByAccountErrorCode.ACCOUNT_NOT_FOUND, "Account not found")
        # Suspended bracket children are left out (swagger: use v2/query with [Open, Suspended]).
        visible = (s.OrderStatus.OPEN, s.OrderStatus.PENDING, s.OrderStatus.PENDING_CANCELLATION)
        return reply(s.OrderSearchResponse, orders=self._orders(req.accountId, lambda o: o.status in visible))

    async def order_by_id(self, call: Call) -> s.Envelope:
        req = s.OrderSearchByIdRequest.model_validate(call.body)
        o = self.ex.orders.get(req.orderId)
        if o is None or o.account_id != req.accountId:
            return reply(s.OrderByIdResponse, s.OrderByIdErrorCode.ORDER_NOT_FOUND, "Order not found")
        return reply(s.OrderByIdResponse, order=o.model())

    async def order_query(self, call: Call) -> s.Envelope:
        req = s.OrderQueryRequest.model_validate(call.body)
        f = req.filter
        if f.accountId not in self.ex.accounts:
            return reply(s.OrderSearchResponse, s.SearchByAccountErrorCode.ACCOUNT_NOT_FOUND, "Account not found")
        statuses = set(f.statuses) if f.statuses else None
        contract = None if self.options.query_ignores_contract_filter else f.contractId
        rows = [
            o
            for o in self.ex.orders.values()
            if o.account_id == f.accountId
            and (statuses is None or o.status in statuses)
            and (contract is None or o.contract_id == contract)
            and _within(o.created, f.createdAfter, f.createdBefore)
        ]
        by_id = req.sortBy == s.OrderSortField.ID
        rows.sort(key=lambda o: o.id if by_id else (o.created, o.id), reverse=req.sortDirection == s.SortDirection.DESC)
        offset = max(0, req.pageOffset or 0)
        size = min(req.pageSize or s.MAX_ORDER_QUERY_ROWS, s.MAX_ORDER_QUERY_ROWS)
        page = [o.model() for o in rows[offset : offset + max(0, size)]]
        return reply(s.OrderQueryResponse, orders=page, totalCount=len(rows) if req.includeTotalCount else None)

    # ------------------------------------------------------------------ positions and trades

    async def position_search(self, call: Call) -> s.Envelope:
        req = s.AccountIdRequest.model_validate(call.body)
        if req.accountId not in self.ex.accounts:
            return reply(s.PositionSearchResponse, s.SearchByAccountErrorCode.ACCOUNT_NOT_FOUND, "Account not found")
        rows = [p.model() for (acc, _), p in self.ex.positions.items() if acc == req.accountId and p.net]
        return reply(s.PositionSearchResponse, positions=rows)

    async def close(self, call: Call) -> s.Envelope:
        req = s.CloseContractRequest.model_validate(call.body)
        out = self.ex.close(req.accountId, req.contractId, None, partial=False)
        return reply(s.Envelope, out.code, out.message)

    async def partial_close(self, call: Call) -> s.Envelope:
        req = s.PartialCloseContractRequest.model_validate(call.body)
        out = self.ex.close(req.accountId, req.contractId, req.size, partial=True)
        return reply(s.Envelope, out.code, out.message)

    async def trade_search(self, call: Call) -> s.Envelope:
        req = s.TradeSearchRequest.model_validate(call.body)
        if req.accountId not in self.ex.accounts:
            return reply(s.TradeSearchResponse, s.SearchByAccountErrorCode.ACCOUNT_NOT_FOUND, "Account not found")
        start, end = req.startTimestamp, req.endTimestamp
        rows = [f.model() for f in self.ex.fills if f.account_id == req.accountId and _within(f.created, start, end)]
        return reply(s.TradeSearchResponse, trades=rows)


class _LoginApp(s.WireModel):
    userName: str
    password: str
    deviceId: str
    appId: str
    verifyKey: str


def _within(t: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or t >= start) and (end is None or t <= end)


async def _ping(_: web.Request) -> web.Response:
    return web.Response(text="pong")
