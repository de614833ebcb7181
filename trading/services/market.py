"""Accounts, contracts and market data (bars, quotes, depth, charts)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from trading.calendar import is_trading_day, previous_trading_day, to_ny, trading_day
from trading.domain import (
    Account,
    Bar,
    Contract,
)
from trading.marketdata.depth import BookSnapshot
from trading.projectx.errors import AmbiguousContract, ContractNotFound, ProjectXError
from trading.services.core import ServicesCore
from trading.services.errors import BadInput, BrokerFailed, NotFound, Unavailable
from trading.services.results import (
    BAR_LOOKBACK,
    MAX_DEPTH_LEVELS,
    ChartData,
    Quote,
)
from trading.strategies.overnight_range import entry_levels


class AccountMarket(ServicesCore):
    """Accounts, contracts and market data."""

    async def accounts(self) -> list[Account]:
        return await self._broker(self.broker.accounts())

    async def account(self) -> Account:
        """The account the engine trades, as the broker reports it now."""
        for a in await self.accounts():
            if a.id == self.account_id:
                return a
        raise NotFound(f"Account {self.account_id} is not active on this login; use /account list")

    async def switch_account(self, name_or_id: str) -> Account:
        """One engine owns one account: naming it is fine; another one is set in the configuration."""
        accounts = await self.accounts()
        wanted = name_or_id.strip()
        for a in accounts:
            if str(a.id) == wanted or a.name.lower() == wanted.lower():
                if a.id != self.account_id:
                    raise BadInput(
                        f"This bot's engine trades account {self.account_id} and owns it alone: to trade {a.name} "
                        f"({a.id}), set projectx.account_id (or account_name) and restart"
                    )
                return a
        names = ", ".join(f"{a.name} ({a.id})" for a in accounts) or "none"
        raise NotFound(f"No active account {wanted!r}. Accounts: {names}")

    async def contract(self, symbol: str) -> Contract:
        key = symbol.strip().upper()
        if not key or len(key) > 40:
            raise BadInput("Give a symbol such as MNQ or MES")
        if key in self._contracts:
            return self._contracts[key]
        try:
            if key.startswith("CON."):
                c = await self.broker.contract_by_id(key)
            else:
                c = await self.broker.front_month(key)
        except ContractNotFound:
            raise BadInput(f"Unknown symbol {symbol!r}: no active contract. Try /market contracts") from None
        except AmbiguousContract as exc:
            raise BadInput(str(exc)) from None
        except ProjectXError as exc:
            if "not found" in str(exc).lower():
                raise BadInput(f"Unknown contract {symbol!r}") from None
            raise BrokerFailed(str(exc)) from None
        self._contracts[key] = c
        self._contract_of[c.id] = c
        return c

    async def contract_by_id(self, contract_id: str) -> Contract:
        if contract_id not in self._contract_of:
            try:
                self._contract_of[contract_id] = await self.broker.contract_by_id(contract_id)
            except ProjectXError as exc:
                raise BrokerFailed(str(exc)) from None
        return self._contract_of[contract_id]

    async def contracts(self, search: str = "") -> list[Contract]:
        if search.strip():
            found = await self._broker(self.broker.search_contracts(search.strip()))
        else:
            found = await self._broker(self.broker.available_contracts())
        return sorted(found, key=lambda c: (c.symbol, c.name))

    async def symbols(self, prefix: str = "") -> list[str]:
        """Symbol roots for autocomplete (cached: one broker call per process)."""
        if self._symbols is None:
            try:
                self._symbols = sorted({c.symbol for c in await self.broker.available_contracts() if c.active})
            except ProjectXError:
                return []
        p = prefix.strip().upper()
        return [s for s in self._symbols if s.startswith(p)]

    async def bars(self, symbol: str, timeframe: str = "1m", count: int = 60) -> tuple[Contract, list[Bar]]:
        if not 1 <= count <= 1000:
            raise BadInput("Ask for between 1 and 1000 bars")
        contract = await self.contract(symbol)
        minutes = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440}.get(timeframe)
        if minutes is None:
            raise BadInput(f"Unknown timeframe {timeframe!r}; use 1m, 5m, 15m, 30m, 1h, 4h or 1d")
        end = self.clock.now()
        start = end - timedelta(minutes=minutes * count * 3 + 60)
        bars = await self._broker(self.broker.retrieve_bars(contract.id, start, end, timeframe, include_partial=True))
        return contract, bars[-count:]

    async def quote(self, symbol: str) -> Quote:
        """Last price and today's range from 1-minute bars; bid/ask from the engine's live feed when it runs."""
        contract = await self.contract(symbol)
        end = self.clock.now()
        bars = await self._broker(
            self.broker.retrieve_bars(contract.id, end - BAR_LOOKBACK, end, "1m", include_partial=True)
        )
        live = self.engine.quotes.get(contract.id)
        bid, ask = (live.bid, live.ask) if live is not None else (None, None)
        if not bars:
            last = live.last if live is not None else None
            return Quote(contract, last, live.ts_event if live else None, bid=bid, ask=ask)
        newest = bars[-1]
        today = [b for b in bars if b.start.date() == newest.start.date()]
        last = live.last if live is not None and live.last is not None else contract.snap(newest.close)
        return Quote(
            contract,
            last,
            live.ts_event if live is not None else newest.start,
            contract.snap(max(b.high for b in today)),
            contract.snap(min(b.low for b in today)),
            sum(b.volume for b in today),
            bid,
            ask,
        )

    async def depth(self, symbol: str, levels: int = 10) -> BookSnapshot:
        """The order book the engine keeps from the market hub's depth feed (traded contracts)."""
        if not 1 <= levels <= MAX_DEPTH_LEVELS:
            raise BadInput(f"Ask for between 1 and {MAX_DEPTH_LEVELS} levels")
        contract = await self.contract(symbol)
        book = self.engine.books.get(contract.id)
        if book is None:
            fed = ", ".join(sorted(self.engine.contracts)) or "none"
            raise Unavailable(f"{contract.symbol} is not on the engine's market feed (depth is kept for: {fed})")
        snap = book.snapshot(levels)
        return replace(
            snap,
            bids=[(contract.snap(p), v) for p, v in snap.bids],
            asks=[(contract.snap(p), v) for p, v in snap.asks],
        )

    async def chart(self, symbol: str, timeframe: str = "5m") -> ChartData:
        """Bars of the current trading day from the overnight window on, with the overnight range."""
        if timeframe not in ("1m", "5m", "15m", "30m", "1h"):
            raise BadInput("Chart timeframe must be 1m, 5m, 15m, 30m or 1h")
        contract = await self.contract(symbol)
        now = self.clock.now()
        d = to_ny(now).date()
        if not is_trading_day(d) or now < trading_day(d).window_start:
            d = previous_trading_day(d)
        day = trading_day(d)
        end = min(now, day.cme.close)
        bars = await self._broker(
            self.broker.retrieve_bars(contract.id, day.window_start, end, timeframe, include_partial=True)
        )
        overnight = [b for b in bars if day.window_start <= b.start < day.window_end]
        high = contract.snap(max(b.high for b in overnight)) if overnight else None
        low = contract.snap(min(b.low for b in overnight)) if overnight else None
        entries: tuple[Decimal, Decimal] | None = None
        if high is not None and low is not None:
            (_, buy), (_, sell) = entry_levels(contract, high, low, self.settings.strategies.overnight_range.offset)
            entries = (buy, sell)
        fills = [
            f
            for f in await self.store.fills.between(self.account_id, day.window_start, end + timedelta(microseconds=1))
            if f.contract_id == contract.id and not f.voided
        ]
        return ChartData(
            contract, timeframe, bars, day.window_start, day.window_end, high, low, entries, fills, day.rth_open
        )

    async def last_price(self, contract: Contract) -> Decimal | None:
        end = self.clock.now()
        try:
            bars = await self.broker.retrieve_bars(contract.id, end - BAR_LOOKBACK, end, "1m", include_partial=True)
        except ProjectXError:
            return None
        return contract.snap(bars[-1].close) if bars else None
