"""A small order book per contract from the market hub's GatewayDepth entries (api doc §8.4).

- Bid / Ask / BestBid / BestAsk / NewBestBid / NewBestAsk set the size at their price level to the
  entry's `volume`; a volume of 0 removes the level.
- A best (or new best) bid at p means no bid is above p any more: those levels go (the gateway does
  not always send their zero first); likewise asks below a best ask.
- Reset clears the book. Trade, Fill, Low, High and Unknown do not change it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from trading.streaming import DepthKind, DepthLevel

_BIDS = {DepthKind.BID, DepthKind.BEST_BID, DepthKind.NEW_BEST_BID}
_ASKS = {DepthKind.ASK, DepthKind.BEST_ASK, DepthKind.NEW_BEST_ASK}
_BEST = {DepthKind.BEST_BID, DepthKind.NEW_BEST_BID, DepthKind.BEST_ASK, DepthKind.NEW_BEST_ASK}


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """Top `n` levels each side: bids best (highest) first, asks best (lowest) first."""

    contract_id: str
    bids: list[tuple[Decimal, int]]
    asks: list[tuple[Decimal, int]]
    updated: datetime | None


class DepthBook:
    def __init__(self, contract_id: str) -> None:
        self.contract_id = contract_id
        self.bids: dict[Decimal, int] = {}
        self.asks: dict[Decimal, int] = {}
        self.updated: datetime | None = None

    def apply(self, levels: Iterable[DepthLevel]) -> None:
        for lv in levels:
            if lv.kind is DepthKind.RESET:
                self.bids.clear()
                self.asks.clear()
            elif lv.kind in _BIDS:
                self._set(self.bids, lv)
                if lv.kind in _BEST and lv.volume > 0:
                    for p in [p for p in self.bids if p > lv.price]:
                        del self.bids[p]
            elif lv.kind in _ASKS:
                self._set(self.asks, lv)
                if lv.kind in _BEST and lv.volume > 0:
                    for p in [p for p in self.asks if p < lv.price]:
                        del self.asks[p]
            else:
                continue
            if self.updated is None or lv.ts_event > self.updated:
                self.updated = lv.ts_event

    @staticmethod
    def _set(side: dict[Decimal, int], lv: DepthLevel) -> None:
        if lv.volume <= 0:
            side.pop(lv.price, None)
        else:
            side[lv.price] = lv.volume

    def snapshot(self, n: int = 10) -> BookSnapshot:
        bids = sorted(self.bids.items(), key=lambda x: x[0], reverse=True)[:n]
        asks = sorted(self.asks.items(), key=lambda x: x[0])[:n]
        return BookSnapshot(self.contract_id, bids, asks, self.updated)
