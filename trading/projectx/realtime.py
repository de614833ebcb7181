"""The ProjectX realtime hubs (SignalR) on signalrcore: the Python implementation of
`trading.streaming.MarketStream` and `UserStream` (see that module for the delivery contract).

`MarketHub` and `UserHub` decode their hub's events into the project's types; the connection, its
supervision (reconnect, re-subscribe), the liveness watchdogs and the thread bridge are the
`HubClient` they share (hub.py, whose notes describe them). A malformed payload (wrong types, unknown
enum) is logged and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from trading import domain
from trading.config import ProjectXSettings
from trading.projectx import convert
from trading.projectx import schema as s
from trading.projectx.hub import HubClient, _now
from trading.streaming import (
    AccountEvent,
    BatchHandler,
    DepthEvent,
    DepthKind,
    DepthLevel,
    FillEvent,
    Hub,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    StreamEvent,
    TokenProvider,
    TradesEvent,
)

log = logging.getLogger(__name__)

_DEPTH_KIND = {int(t): DepthKind[t.name] for t in s.DomType}


def _ts(value: datetime | None) -> datetime:
    return value if value is not None else _now()


class MarketHub(HubClient):
    """`MarketStream` over the ProjectX market hub: merged quotes, trade prints, depth."""

    hub = Hub.MARKET
    events = (s.EVENT_QUOTE, s.EVENT_TRADE, s.EVENT_DEPTH, s.EVENT_LOGOUT)

    def __init__(self, url: str, handler: BatchHandler, token: TokenProvider, **kwargs: Any) -> None:
        super().__init__(url, handler, token, **kwargs)
        self._quotes: dict[str, domain.Quote] = {}

    @classmethod
    def from_settings(
        cls, settings: ProjectXSettings, handler: BatchHandler, token: TokenProvider, **kwargs: Any
    ) -> MarketHub:
        kwargs.setdefault("stale_after_s", settings.stale_feed_s)
        return cls(settings.market_hub_url, handler, token, **kwargs)

    async def subscribe_quotes(self, contract_id: str) -> None:
        await self._subscribe(s.SUBSCRIBE_CONTRACT_QUOTES, contract_id, [contract_id])

    async def subscribe_trades(self, contract_id: str) -> None:
        await self._subscribe(s.SUBSCRIBE_CONTRACT_TRADES, contract_id, [contract_id])

    async def subscribe_depth(self, contract_id: str) -> None:
        await self._subscribe(s.SUBSCRIBE_CONTRACT_MARKET_DEPTH, contract_id, [contract_id])

    async def unsubscribe(self, contract_id: str) -> None:
        for method, unmethod in (
            (s.SUBSCRIBE_CONTRACT_QUOTES, s.UNSUBSCRIBE_CONTRACT_QUOTES),
            (s.SUBSCRIBE_CONTRACT_TRADES, s.UNSUBSCRIBE_CONTRACT_TRADES),
            (s.SUBSCRIBE_CONTRACT_MARKET_DEPTH, s.UNSUBSCRIBE_CONTRACT_MARKET_DEPTH),
        ):
            await self._unsubscribe(method, unmethod, contract_id, [contract_id])

    def last_quote(self, contract_id: str) -> domain.Quote | None:
        return self._quotes.get(contract_id)

    def _decode(self, event: str, arguments: list[Any]) -> list[StreamEvent]:
        if len(arguments) < 2 or not isinstance(arguments[0], str):
            raise s.WireFormatError(event, "expected (contractId, payload)")
        contract_id, payload = arguments[0], arguments[1]
        now = _now()
        if event == s.EVENT_QUOTE:
            return [QuoteEvent(self._merge(contract_id, s.parse(s.GatewayQuote, payload), now))]
        if event == s.EVENT_TRADE:
            ticks = tuple(
                _skip_bad(
                    event,
                    s.market_entries(payload),
                    lambda e: convert.tick_from_wire(contract_id, s.parse(s.GatewayTradeEntry, e), now),
                    self.stats,
                )
            )
            return [TradesEvent(contract_id, ticks)] if ticks else []
        if event == s.EVENT_DEPTH:
            levels = tuple(_skip_bad(event, s.market_entries(payload), lambda e: _depth(e, now), self.stats))
            return [DepthEvent(contract_id, levels)] if levels else []
        return []

    def _merge(self, contract_id: str, m: s.GatewayQuote, now: datetime) -> domain.Quote:
        prev = self._quotes.get(contract_id)
        ts = m.timestamp or m.lastUpdated or (prev.ts_event if prev else None) or now
        quote = domain.Quote(
            contract_id=contract_id,
            ts_event=ts,
            last=m.lastPrice if m.lastPrice is not None else (prev.last if prev else None),
            bid=m.bestBid if m.bestBid is not None else (prev.bid if prev else None),
            ask=m.bestAsk if m.bestAsk is not None else (prev.ask if prev else None),
            volume=m.volume if m.volume is not None else (prev.volume if prev else None),
            ts_init=now,
        )
        self._quotes[contract_id] = quote
        return quote


def _depth(entry: Any, now: datetime) -> DepthLevel:
    m = s.parse(s.GatewayDepthEntry, entry)
    kind = _DEPTH_KIND.get(m.type)
    if kind is None:
        raise s.WireFormatError("GatewayDepthEntry", f"unknown DomType {m.type}")
    return DepthLevel(_ts(m.timestamp), kind, m.price, m.volume, m.currentVolume)


def _skip_bad(event: str, entries: list[Any], fn: Callable[[Any], Any], stats: dict[str, int]) -> list[Any]:
    out = []
    for entry in entries:
        try:
            out.append(fn(entry))
        except Exception as exc:
            stats["malformed"] += 1
            log.warning("skipping a malformed %s entry (%s): %.200r", event, exc, entry)
    return out


class UserHub(HubClient):
    """`UserStream` over the ProjectX user hub: accounts, orders, positions, fills."""

    hub = Hub.USER
    events = (s.EVENT_USER_ACCOUNT, s.EVENT_USER_ORDER, s.EVENT_USER_POSITION, s.EVENT_USER_TRADE, s.EVENT_LOGOUT)

    @classmethod
    def from_settings(
        cls, settings: ProjectXSettings, handler: BatchHandler, token: TokenProvider, **kwargs: Any
    ) -> UserHub:
        # The user hub is quiet when nothing trades, so its liveness is the hub's keep-alive (frames), not events.
        kwargs.setdefault("keepalive_stale_s", settings.user_stale_s)
        return cls(settings.user_hub_url, handler, token, **kwargs)

    async def subscribe_accounts(self) -> None:
        await self._subscribe(s.SUBSCRIBE_ACCOUNTS, "", [])

    async def subscribe_account(self, account_id: int) -> None:
        for method in (s.SUBSCRIBE_ORDERS, s.SUBSCRIBE_POSITIONS, s.SUBSCRIBE_TRADES):
            await self._subscribe(method, str(account_id), [int(account_id)])

    async def unsubscribe_account(self, account_id: int) -> None:
        for method, unmethod in (
            (s.SUBSCRIBE_ORDERS, s.UNSUBSCRIBE_ORDERS),
            (s.SUBSCRIBE_POSITIONS, s.UNSUBSCRIBE_POSITIONS),
            (s.SUBSCRIBE_TRADES, s.UNSUBSCRIBE_TRADES),
        ):
            await self._unsubscribe(method, unmethod, str(account_id), [int(account_id)])

    def _decode(self, event: str, arguments: list[Any]) -> list[StreamEvent]:
        if not arguments:
            raise s.WireFormatError(event, "no payload")
        now = _now()
        pairs = s.unwrap_user_events(arguments[0])
        items = [data for _, data in pairs]
        if event == s.EVENT_USER_ACCOUNT:
            return _skip_bad(
                event, items, lambda d: AccountEvent(convert.account_from_wire(s.parse(s.AccountModel, d))), self.stats
            )
        if event == s.EVENT_USER_ORDER:
            return _skip_bad(
                event,
                pairs,
                lambda p: OrderEvent(convert.order_from_wire(s.parse(s.OrderModel, p[1])), action=p[0]),
                self.stats,
            )
        if event == s.EVENT_USER_POSITION:
            return _skip_bad(event, items, lambda d: _position_event(s.parse(s.PositionModel, d)), self.stats)
        if event == s.EVENT_USER_TRADE:
            return _skip_bad(
                event, items, lambda d: FillEvent(convert.fill_from_wire(s.parse(s.TradeModel, d), now)), self.stats
            )
        return []


def _position_event(m: s.PositionModel) -> PositionEvent:
    pos = convert.position_from_wire(m)
    if pos is not None:
        return PositionEvent(pos, closed=False)
    side = domain.PositionSide.SHORT if m.type == s.PositionType.SHORT else domain.PositionSide.LONG
    flat = domain.Position(m.accountId, m.contractId, side, 0, m.averagePrice, m.creationTimestamp, m.id)
    return PositionEvent(flat, closed=True)
