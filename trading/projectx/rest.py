"""`ProjectXClient`: the httpx client for every ProjectX Gateway REST endpoint (api doc §3-§4).

- One `httpx.AsyncClient` with a keep-alive pool; use the client as an async context manager.
- Auth: loginKey; the JWT's `exp` is read and the token refreshed through Auth/validate before it
  expires (margin `projectx.token_refresh_margin_s`), falling back to loginKey. On HTTP 401 the client
  re-authenticates once. Token changes reach listeners registered with `on_token` (the hubs).
  A patient login (start-up) and `refresh_token` retry 429, 5xx, timeouts and dropped connections
  until they succeed, backing off (`projectx.auth_retry_*`), and tell `on_auth_trouble` once when they
  keep failing; refused credentials raise `AuthError` at once.
- `success: false` (HTTP 200) raises `ApiError` with the endpoint's own error-code enum; a rejected
  place raises `OrderRejected`, carrying the order id the gateway may still return.
- Rate limits: client-side sliding windows (200/60 s; History 50/30 s); a 429 waits for Retry-After
  (else the retry schedule) and pauses the limiter.
- Reads retry on 5xx, timeouts, dropped connections and 429 with `projectx.retry_delays_s`.
  Mutations never retry blindly: after a failure whose outcome is unknown the client first asks the
  broker (place: by customTag; cancel/modify: the order's status; close: the open positions) and
  re-sends only when the broker shows the mutation did not happen. Otherwise `UncertainOutcome`.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from trading import domain
from trading.projectx import convert
from trading.projectx import schema as s
from trading.projectx.errors import (
    AmbiguousContract,
    ApiError,
    ContractNotFound,
    HttpStatusError,
    OrderRejected,
    ProjectXError,
    UncertainOutcome,
    WireFormatError,
)
from trading.projectx.session import Session, _error_code, _Found, _name

log = logging.getLogger(__name__)

PLACE_LOOKBACK = timedelta(minutes=10)  # window of Order/search when looking an order up by its tag
_MONTH_CODE = re.compile(r"[FGHJKMNQUVXZ]\d{1,2}$")


class Unit(enum.Enum):
    """Bar timeframes we ask History for: suffix, wire unit, seconds per unit (month ≈ 31 days)."""

    SECOND = ("s", s.AggregateBarUnit.SECOND, 1)
    MINUTE = ("m", s.AggregateBarUnit.MINUTE, 60)
    HOUR = ("h", s.AggregateBarUnit.HOUR, 3600)
    DAY = ("d", s.AggregateBarUnit.DAY, 86400)
    WEEK = ("w", s.AggregateBarUnit.WEEK, 7 * 86400)
    MONTH = ("mo", s.AggregateBarUnit.MONTH, 31 * 86400)


_TIMEFRAME = re.compile(r"^(\d+)(s|m|h|d|w|mo)$")


def parse_timeframe(timeframe: str) -> tuple[Unit, int]:
    """ "5m" -> (MINUTE, 5). Accepted suffixes: s m h d w mo."""
    m = _TIMEFRAME.match(timeframe.strip())
    if not m or int(m.group(1)) < 1:
        raise ValueError(f"unknown timeframe {timeframe!r}: use a number and s, m, h, d, w or mo (e.g. 5m)")
    unit = next(u for u in Unit if u.value[0] == m.group(2))
    return unit, int(m.group(1))


BarsProgress = Callable[[int, int, int], None]
"""progress(requests_done, requests_total, bars_so_far) during a long backfill."""


def new_custom_tag(prefix: str = "tb") -> str:
    """A customTag unique across the account (the gateway rejects duplicates forever)."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


class ProjectXClient(Session):
    """Async client for the ProjectX Gateway REST API. Use `async with ProjectXClient(...) as px:`."""

    # ------------------------------------------------------------------------- accounts, contracts

    async def accounts(self, only_active: bool = True) -> list[domain.Account]:
        env = await self._read(
            s.ACCOUNT_SEARCH, s.AccountSearchRequest(onlyActiveAccounts=only_active).to_wire(), s.AccountSearchResponse
        )
        return self._convert(s.ACCOUNT_SEARCH, env.accounts, convert.account_from_wire)

    async def resolve_account(self) -> domain.Account:
        """The account to trade: `projectx.account_id`, else `projectx.account_name`, else the only
        active account. Anything else is refused with the list of candidates."""
        accounts = await self.accounts(only_active=True)
        want_id, want_name = self.settings.account_id, self.settings.account_name.strip()
        if want_id is not None:
            picked = [a for a in accounts if a.id == want_id]
        elif want_name:
            picked = [a for a in accounts if a.name.lower() == want_name.lower()]
        else:
            picked = accounts
        if len(picked) == 1:
            return picked[0]
        names = ", ".join(f"{a.name} (#{a.id})" for a in accounts) or "none"
        if not picked:
            wanted = f"#{want_id}" if want_id is not None else repr(want_name)
            raise ProjectXError(f"No active account {wanted} on this login; active accounts: {names}")
        raise ProjectXError(f"Several active accounts ({names}): set projectx.account_id or projectx.account_name")

    async def search_contracts(self, text: str, live: bool | None = None) -> list[domain.Contract]:
        live = self.settings.live_data if live is None else live
        env = await self._read(
            s.CONTRACT_SEARCH, s.ContractSearchRequest(searchText=text, live=live).to_wire(), s.ContractSearchResponse
        )
        return self._convert(s.CONTRACT_SEARCH, env.contracts, convert.contract_from_wire)

    async def contract_by_id(self, contract_id: str) -> domain.Contract:
        env = await self._read(
            s.CONTRACT_SEARCH_BY_ID,
            s.ContractSearchByIdRequest(contractId=contract_id).to_wire(),
            s.ContractByIdResponse,
        )
        m = env.the_contract()
        if m is None:
            raise WireFormatError(_name(s.CONTRACT_SEARCH_BY_ID), "no contract in a successful answer")
        return self._convert(s.CONTRACT_SEARCH_BY_ID, [m], convert.contract_from_wire)[0]

    async def available_contracts(self, live: bool | None = None) -> list[domain.Contract]:
        live = self.settings.live_data if live is None else live
        env = await self._read(
            s.CONTRACT_AVAILABLE, s.ContractAvailableRequest(live=live).to_wire(), s.ContractSearchResponse
        )
        return self._convert(s.CONTRACT_AVAILABLE, env.contracts, convert.contract_from_wire)

    async def front_month(self, symbol: str, live: bool | None = None) -> domain.Contract:
        """The active contract of a root ("MNQ", "ES") or symbolId ("F.US.EP"). Contract/search is fuzzy
        and capped, so results are filtered on the exact symbol and `activeContract`; several matches
        are refused rather than guessed."""
        want = symbol.strip().upper()
        found = await self.search_contracts(want, live)
        matches = [c for c in found if c.active and _is_symbol(c, want)]
        if not matches:
            raise ContractNotFound(symbol)
        if len({c.id for c in matches}) > 1:
            raise AmbiguousContract(symbol, sorted({c.id for c in matches}))
        return matches[0]

    # ------------------------------------------------------------------------- bars

    async def retrieve_bars(
        self,
        contract_id: str,
        start: datetime,
        end: datetime,
        timeframe: str = "1m",
        *,
        include_partial: bool = False,
        live: bool | None = None,
        progress: BarsProgress | None = None,
    ) -> list[domain.Bar]:
        """Bars in [start, end] ascending by start time. Ranges longer than 20,000 bars are split into
        several requests (each under the History rate limit)."""
        if end <= start:
            return []
        unit, number = parse_timeframe(timeframe)
        bar_s = unit.value[2] * number
        span = timedelta(seconds=bar_s * (s.MAX_BARS_PER_REQUEST - 1))
        windows: list[tuple[datetime, datetime]] = []
        cursor = start
        while cursor < end:
            stop = min(cursor + span, end)
            windows.append((cursor, stop))
            cursor = stop
        live = self.settings.live_data if live is None else live
        by_start: dict[datetime, domain.Bar] = {}
        for i, (a, b) in enumerate(windows):
            body = s.RetrieveBarsRequest(
                contractId=contract_id,
                live=live,
                startTime=a,
                endTime=b,
                unit=unit.value[1],
                unitNumber=number,
                limit=s.MAX_BARS_PER_REQUEST,
                includePartialBar=include_partial,
            ).to_wire()
            env = await self._read(s.RETRIEVE_BARS, body, s.RetrieveBarsResponse, limiter=self.history_limiter)
            for bar in self._convert(
                s.RETRIEVE_BARS, env.bars, lambda m: convert.bar_from_wire(contract_id, timeframe, m)
            ):
                by_start[bar.start] = bar
            if progress is not None:
                progress(i + 1, len(windows), len(by_start))
        return [by_start[k] for k in sorted(by_start)]

    # ------------------------------------------------------------------------- orders: reads

    async def search_orders(
        self, account_id: int, start: datetime, end: datetime | None = None, *, retries: bool = True
    ) -> list[domain.Order]:
        body = convert.req_dump(s.OrderSearchRequest(accountId=account_id, startTimestamp=start, endTimestamp=end))
        env = await self._read(s.ORDER_SEARCH, body, s.OrderSearchResponse, retries=retries)
        return self._convert(s.ORDER_SEARCH, env.orders, convert.order_from_wire)

    async def search_open_orders(self, account_id: int) -> list[domain.Order]:
        env = await self._read(
            s.ORDER_SEARCH_OPEN, s.AccountIdRequest(accountId=account_id).to_wire(), s.OrderSearchResponse
        )
        return self._convert(s.ORDER_SEARCH_OPEN, env.orders, convert.order_from_wire)

    async def order_by_id(self, account_id: int, order_id: int, *, retries: bool = True) -> domain.Order:
        env = await self._read(
            s.ORDER_SEARCH_BY_ID,
            s.OrderSearchByIdRequest(accountId=account_id, orderId=order_id).to_wire(),
            s.OrderByIdResponse,
            retries=retries,
        )
        if env.order is None:
            raise WireFormatError(_name(s.ORDER_SEARCH_BY_ID), "no order in a successful answer")
        return self._convert(s.ORDER_SEARCH_BY_ID, [env.order], convert.order_from_wire)[0]

    async def query_orders(
        self,
        account_id: int,
        *,
        statuses: Sequence[domain.OrderStatus] | None = None,
        contract_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        newest_first: bool = False,
        max_rows: int | None = None,
    ) -> list[domain.Order]:
        """Order/v2/query, every page (the gateway caps each page at 100 rows; `pageOffset` is a row
        offset) or the first `max_rows`. The contract filter is also applied here (it did not filter
        live)."""
        wire_statuses = None if statuses is None else [int(convert.STATUS_TO_WIRE[st]) for st in statuses]
        out: list[domain.Order] = []
        offset = 0
        while True:
            req = s.OrderQueryRequest(
                filter=s.OrderQueryFilter(
                    accountId=account_id,
                    statuses=wire_statuses,
                    contractId=contract_id,
                    createdAfter=created_after,
                    createdBefore=created_before,
                ),
                pageSize=s.MAX_ORDER_QUERY_ROWS,
                pageOffset=offset,
                sortBy=s.OrderSortField.ID,
                sortDirection=s.SortDirection.DESC if newest_first else s.SortDirection.ASC,
                includeTotalCount=True,
            )
            page, total = await self._query_page(req)
            out.extend(page)
            offset += len(page)
            if not page or (total is not None and offset >= total):
                break
            if total is None and len(page) < s.MAX_ORDER_QUERY_ROWS:
                break
            if max_rows is not None and len(out) >= max_rows:
                out = out[:max_rows]
                break
        if contract_id is not None:
            out = [o for o in out if o.contract_id == contract_id]
        return out

    async def _query_page(
        self, req: s.OrderQueryRequest, retries: bool = True
    ) -> tuple[list[domain.Order], int | None]:
        env = await self._read(s.ORDER_QUERY_V2, convert.req_dump(req), s.OrderQueryResponse, retries=retries)
        return self._convert(s.ORDER_QUERY_V2, env.orders, convert.order_from_wire), env.totalCount

    async def find_order_by_tag(
        self, account_id: int, custom_tag: str, since: datetime | None = None, *, retries: bool = True
    ) -> domain.Order | None:
        """The order carrying `custom_tag`: Order/search from `since` (default: 10 minutes ago by our
        clock), then the newest 100 orders of Order/v2/query, which does not depend on the gateway's
        clock agreeing with ours (a skewed host, or the simulator on a replayed clock)."""
        start = since or datetime.now(UTC) - PLACE_LOOKBACK
        for order in await self.search_orders(account_id, start, retries=retries):
            if order.custom_tag == custom_tag:
                return order
        newest = s.OrderQueryRequest(
            filter=s.OrderQueryFilter(accountId=account_id),
            pageSize=s.MAX_ORDER_QUERY_ROWS,
            pageOffset=0,
            sortBy=s.OrderSortField.ID,
            sortDirection=s.SortDirection.DESC,
        )
        try:
            page, _total = await self._query_page(newest, retries=retries)
        except HttpStatusError as exc:  # v2/query is swagger-only: a gateway without it answers 404
            log.info("Order/v2/query unavailable for the tag lookup (%s)", exc)
            return None
        return next((o for o in page if o.custom_tag == custom_tag), None)

    # ------------------------------------------------------------------------- orders: mutations

    async def place_order(self, request: domain.OrderRequest) -> int:
        """Order/place; returns the broker order id. Raises `OrderRejected` on a rejection (with the
        rejected order's id when the gateway created one) and `UncertainOutcome` when neither the
        answer nor a lookup by customTag could settle whether the order exists."""
        if not request.custom_tag:
            request = dataclasses.replace(request, custom_tag=new_custom_tag())
        tag = request.custom_tag
        since = datetime.now(UTC) - PLACE_LOOKBACK
        body = convert.place_body(request)

        def result(env: s.PlaceOrderResponse) -> int:
            if not env.success:
                code = _error_code(s.ORDER_PLACE, env.errorCode)
                raise OrderRejected(_name(s.ORDER_PLACE), code, env.errorMessage, env.orderId)
            if env.orderId is None:
                raise WireFormatError(_name(s.ORDER_PLACE), "no orderId in a successful answer")
            return env.orderId

        async def reconcile() -> _Found[int] | None:
            order = await self.find_order_by_tag(request.account_id, tag, since, retries=False)
            if order is None or order.id is None:
                return None
            if order.status is domain.OrderStatus.REJECTED:
                raise OrderRejected(
                    _name(s.ORDER_PLACE),
                    s.PlaceOrderErrorCode.ORDER_REJECTED,
                    "rejected (found by its tag after the answer was lost)",
                    order.id,
                )
            return _Found(order.id)

        return await self._mutate(
            "place order",
            s.ORDER_PLACE,
            body,
            s.PlaceOrderResponse,
            reconcile=reconcile,
            result=result,
            custom_tag=tag,
        )

    async def modify_order(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: domain.Price | None = None,
        stop_price: domain.Price | None = None,
        trail_price: domain.Price | None = None,
    ) -> None:
        """Order/modify (absolute values: a re-send after a lost answer sets the same values)."""
        body = convert.req_dump(
            s.ModifyOrderRequest(
                accountId=account_id,
                orderId=order_id,
                size=size,
                limitPrice=limit_price,
                stopPrice=stop_price,
                trailPrice=trail_price,
            )
        )

        async def reconcile() -> _Found[None] | None:
            order = await self.order_by_id(account_id, order_id, retries=False)
            if (
                (size is None or order.size == size)
                and (limit_price is None or order.limit_price == limit_price)
                and (stop_price is None or order.stop_price == stop_price)
                and trail_price is None
            ):
                return _Found(None)
            if order.status.is_terminal:
                raise ApiError(
                    _name(s.ORDER_MODIFY), s.ModifyOrderErrorCode.REJECTED, f"the order is already {order.status}"
                )
            return None

        await self._mutate(
            "modify order",
            s.ORDER_MODIFY,
            body,
            s.Envelope,
            reconcile=reconcile,
            result=_ok(s.ORDER_MODIFY),
            order_id=order_id,
        )

    async def cancel_order(self, account_id: int, order_id: int) -> None:
        """Order/cancel; after a lost answer the order's status decides (cancelled = done)."""
        body = s.CancelOrderRequest(accountId=account_id, orderId=order_id).to_wire()

        async def reconcile() -> _Found[None] | None:
            order = await self.order_by_id(account_id, order_id, retries=False)
            if order.status in (domain.OrderStatus.CANCELLED, domain.OrderStatus.PENDING_CANCEL):
                return _Found(None)
            if order.status.is_terminal:
                raise ApiError(
                    _name(s.ORDER_CANCEL), s.CancelOrderErrorCode.REJECTED, f"the order is already {order.status}"
                )
            return None

        await self._mutate(
            "cancel order",
            s.ORDER_CANCEL,
            body,
            s.Envelope,
            reconcile=reconcile,
            result=_ok(s.ORDER_CANCEL),
            order_id=order_id,
        )

    # ------------------------------------------------------------------------- positions, trades

    async def open_positions(self, account_id: int) -> list[domain.Position]:
        env = await self._read(
            s.POSITION_SEARCH_OPEN, s.AccountIdRequest(accountId=account_id).to_wire(), s.PositionSearchResponse
        )
        positions = self._convert(s.POSITION_SEARCH_OPEN, env.positions, convert.position_from_wire)
        return [p for p in positions if p is not None]

    async def close_position(self, account_id: int, contract_id: str) -> None:
        """Position/closeContract (at market; working orders on the contract are left alone). After a
        lost answer: done if the position is gone, else `UncertainOutcome` (never closed twice)."""
        body = s.CloseContractRequest(accountId=account_id, contractId=contract_id).to_wire()

        async def reconcile() -> _Found[None] | None:
            positions = await self.open_positions(account_id)
            if not any(p.contract_id == contract_id for p in positions):
                return _Found(None)
            raise UncertainOutcome("close position", f"{contract_id} is still open after a lost answer")

        await self._mutate(
            "close position",
            s.POSITION_CLOSE,
            body,
            s.Envelope,
            reconcile=reconcile,
            result=_ok(s.POSITION_CLOSE),
        )

    async def partial_close_position(self, account_id: int, contract_id: str, size: int) -> None:
        """Position/partialCloseContract. A lost answer is an `UncertainOutcome` (cannot be reconciled)."""
        body = s.PartialCloseContractRequest(accountId=account_id, contractId=contract_id, size=size).to_wire()
        await self._mutate(
            "partial close",
            s.POSITION_PARTIAL_CLOSE,
            body,
            s.Envelope,
            reconcile=None,
            result=_ok(s.POSITION_PARTIAL_CLOSE),
        )

    async def search_trades(self, account_id: int, start: datetime, end: datetime | None = None) -> list[domain.Fill]:
        req = s.TradeSearchRequest(accountId=account_id, startTimestamp=start, endTimestamp=end)
        env = await self._read(s.TRADE_SEARCH, convert.req_dump(req), s.TradeSearchResponse)
        return self._convert(s.TRADE_SEARCH, env.trades, convert.fill_from_wire)


def _ok(path: str) -> Callable[[s.Envelope], None]:
    """The result of a mutation whose answer is the bare envelope."""

    def check(env: s.Envelope) -> None:
        if not env.success:
            raise ApiError(_name(path), _error_code(path, env.errorCode), env.errorMessage)

    return check


def _is_symbol(c: domain.Contract, want: str) -> bool:
    if c.symbol_id.upper() == want or c.symbol.upper() == want:
        return True
    # The exchange short code without its month and year (ESU5 -> ES): ES's symbolId root is EP.
    return _MONTH_CODE.sub("", c.name.upper()) == want
