"""The simulator's contract catalogue: real tick sizes and values (projectx-api.md §9.2), the front
quarterly month for a date, and the fuzzy, capped `Contract/search`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from trading.domain import Contract
from trading.projectx import schema

MONTH_CODES = "FGHJKMNQUVXZ"
QUARTERLY = (3, 6, 9, 12)


@dataclass(frozen=True, slots=True)
class Product:
    root: str  # ProjectX root in the id (ENQ for NQ)
    ticker: str  # exchange short code root (NQ)
    description: str
    tick_size: Decimal
    tick_value: Decimal
    start_price: Decimal
    monthly: bool = False
    # The index whose price path it follows (a micro and its mini share one) and that index's daily
    # volatility as a fraction of price: about the realised volatility of 2024-25 (annual / sqrt(252):
    # Nasdaq-100 ~22 %, S&P 500 ~16 %, Russell 2000 ~22 %, S&P MidCap ~18 %, Nikkei ~20 %, bitcoin ~50 %).
    index: str = ""
    daily_vol: float = 0.01


PRODUCTS: tuple[Product, ...] = (
    Product(
        "MNQ",
        "MNQ",
        "Micro E-mini Nasdaq-100",
        Decimal("0.25"),
        Decimal("0.50"),
        Decimal("25000"),
        index="NDX",
        daily_vol=0.014,
    ),
    Product(
        "MES",
        "MES",
        "Micro E-mini S&P 500",
        Decimal("0.25"),
        Decimal("1.25"),
        Decimal("6800"),
        index="SPX",
        daily_vol=0.010,
    ),
    Product(
        "ENQ", "NQ", "E-mini NASDAQ-100", Decimal("0.25"), Decimal("5"), Decimal("25000"), index="NDX", daily_vol=0.014
    ),
    Product(
        "EP", "ES", "E-mini S&P 500", Decimal("0.25"), Decimal("12.50"), Decimal("6800"), index="SPX", daily_vol=0.010
    ),
    Product(
        "RTY", "RTY", "E-mini Russell 2000", Decimal("0.1"), Decimal("5"), Decimal("2450"), index="RUT", daily_vol=0.014
    ),
    Product(
        "M2K",
        "M2K",
        "Micro E-mini Russell 2000",
        Decimal("0.1"),
        Decimal("0.50"),
        Decimal("2450"),
        index="RUT",
        daily_vol=0.014,
    ),
    Product(
        "EMD",
        "EMD",
        "E-mini S&P MidCap 400",
        Decimal("0.1"),
        Decimal("10"),
        Decimal("3200"),
        index="MID",
        daily_vol=0.011,
    ),
    Product(
        "NKD", "NKD", "Nikkei 225 (Dollar)", Decimal("5"), Decimal("25"), Decimal("49000"), index="NKY", daily_vol=0.013
    ),
    Product(
        "MBT",
        "MBT",
        "Micro Bitcoin",
        Decimal("5"),
        Decimal("0.50"),
        Decimal("95000"),
        monthly=True,
        index="BTC",
        daily_vol=0.032,
    ),
)


def front_month(product: Product, today: date) -> tuple[int, int]:
    """(year, month) of the active contract: quarterly roll on the 10th of the expiry month (about a
    week before expiry, as CME equity-index volume rolls); monthly products roll on the 20th."""
    months = range(1, 13) if product.monthly else QUARTERLY
    roll_day = 20 if product.monthly else 10
    year = today.year
    for m in months:
        if m > today.month or (m == today.month and today.day < roll_day):
            return year, m
    return year + 1, months[0]


def previous_month(product: Product, year: int, month: int) -> tuple[int, int]:
    months = list(range(1, 13) if product.monthly else QUARTERLY)
    i = months.index(month)
    return (year, months[i - 1]) if i > 0 else (year - 1, months[-1])


def make_contract(product: Product, year: int, month: int, active: bool) -> Contract:
    code = MONTH_CODES[month - 1]
    return Contract(
        id=f"CON.F.US.{product.root}.{code}{year % 100:02d}",
        name=f"{product.ticker}{code}{year % 10}",
        symbol_id=f"F.US.{product.root}",
        description=f"{product.description}: {date(year, month, 1):%B %Y}",
        tick_size=product.tick_size,
        tick_value=product.tick_value,
        active=active,
    )


class ContractBook:
    """Active month per product plus the previous (expired) month, reachable by id only."""

    def __init__(self, today: date) -> None:
        self.by_id: dict[str, Contract] = {}
        self.product_of: dict[str, Product] = {}
        self.active: list[Contract] = []
        for p in PRODUCTS:
            y, m = front_month(p, today)
            current = make_contract(p, y, m, True)
            expired = make_contract(p, *previous_month(p, y, m), False)
            self.active.append(current)
            for c in (current, expired):
                self.by_id[c.id] = c
                self.product_of[c.id] = p

    def get(self, contract_id: str) -> Contract | None:
        return self.by_id.get(contract_id)

    def search(self, text: str) -> list[Contract]:
        """Fuzzy like the live search: the text anywhere in name, symbolId or description, active
        months only, at most 20 rows, exact-root matches first."""
        needle = text.strip().upper()
        hits = [
            c
            for c in self.active
            if not needle
            or needle in c.name.upper()
            or needle in c.symbol_id.upper()
            or needle in c.description.upper()
        ]
        hits.sort(key=lambda c: (c.symbol != needle and self.product_of[c.id].ticker != needle, c.name))
        return hits[: schema.MAX_CONTRACT_SEARCH_ROWS]

    def by_root(self, symbol: str) -> Contract | None:
        """The active contract for a ticker (MNQ, NQ, ES...) or a ProjectX root (ENQ, EP)."""
        s = symbol.upper()
        for c in self.active:
            p = self.product_of[c.id]
            if s in (p.ticker, p.root):
                return c
        return None
