"""What is open at the broker, as plain data a trader reads: positions (with unrealized P&L), working
orders (entries and their bracket legs), prices on each contract's tick grid, times in New York.

Used by `tradebot status` (the running engine's view or, with no instance running, the broker's) and
by `tradebot run` on the way out (Ctrl-C, SIGTERM): what stays open at the broker and how to flatten.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from trading.calendar import to_ny
from trading.domain import Contract, Order, Position, PositionSide, tick_text
from trading.projectx.rest import ProjectXClient

LAST_PRICE_LOOKBACK = timedelta(hours=6)


def price_text(price: Decimal | None, contract: Contract | None) -> str | None:
    """A price on the contract's tick grid, written with the grid's decimals (None stays None)."""
    if price is None:
        return None
    if contract is None:
        return str(price)
    return tick_text(contract.snap(price), contract.tick_size)


def ny_text(ts: datetime | None) -> str | None:
    return None if ts is None else f"{to_ny(ts):%Y-%m-%d %H:%M:%S} New York"


def position_row(p: Position, contract: Contract | None, last: Decimal | None) -> dict[str, Any]:
    unrealized = p.unrealized(contract, last) if contract is not None and last is not None else None
    return {
        "symbol": contract.symbol if contract is not None else p.contract_id,
        "contract_id": p.contract_id,
        "side": "long" if p.side is PositionSide.LONG else "short",
        "size": p.size,
        "average_price": price_text(p.average_price, contract),
        "last": price_text(last, contract),
        "unrealized": None if unrealized is None else str(unrealized),
    }


def order_row(o: Order, contract: Contract | None) -> dict[str, Any]:
    return {
        "id": o.id,
        "symbol": contract.symbol if contract is not None else o.contract_id,
        "contract_id": o.contract_id,
        "side": o.side.name.lower(),
        "type": o.type.name.lower(),
        "size": o.size,
        "status": o.status.name.lower(),
        "limit_price": price_text(o.limit_price, contract),
        "stop_price": price_text(o.stop_price, contract),
        "tag": o.custom_tag,
        "bracket_of": o.parent_id,  # a bracket leg (stop loss, take profit) of this entry order
    }


def order_line(o: Mapping[str, Any]) -> str:
    """`#9061 MNQ sell 1 stop 20992.25 (bracket of #9058) [tag]`: a stop-limit says both prices."""
    if o.get("stop_price") and o.get("limit_price"):
        prices = f" stop {o['stop_price']} limit {o['limit_price']}"
    else:
        price = o.get("stop_price") or o.get("limit_price")
        prices = f" {price}" if price else ""
    leg = f" (bracket of #{o['bracket_of']})" if o.get("bracket_of") else ""
    tag = f" [{o['tag']}]" if o.get("tag") else ""
    return f"#{o['id']} {o['symbol']} {o['side']} {o['size']} {o['type'].replace('_', '-')}{prices}{leg}{tag}"


def position_line(p: Mapping[str, Any]) -> str:
    pnl = f", unrealized {p['unrealized']}" if p.get("unrealized") is not None else ""
    last = f", last {p['last']}" if p.get("last") else ""
    return f"{p['symbol']} {p['side']} {p['size']} @ {p['average_price']}{last}{pnl}"


async def contracts_of(client: ProjectXClient, ids: set[str], known: Mapping[str, Contract]) -> dict[str, Contract]:
    """The contracts of `ids` (known ones first, the broker for the rest; one it cannot name stays out)."""
    out = {cid: known[cid] for cid in ids if cid in known}
    for cid in ids - set(out):
        try:
            out[cid] = await client.contract_by_id(cid)
        except Exception:  # a name is a nicety: the id is shown instead
            continue
    return out


async def last_price(client: ProjectXClient, contract_id: str, now: datetime) -> Decimal | None:
    """The latest 1-minute close the broker has (the partial bar included)."""
    try:
        bars = await client.retrieve_bars(contract_id, now - LAST_PRICE_LOOKBACK, now, "1m", include_partial=True)
    except Exception:
        return None
    return Decimal(str(bars[-1].close)) if bars else None


async def broker_book(
    client: ProjectXClient, account_id: int, now: datetime, known: Mapping[str, Contract] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The account's positions (marked at the broker's last price) and working orders, read from the broker."""
    orders = [o for o in await client.search_open_orders(account_id) if o.status.is_working]
    positions = [p for p in await client.open_positions(account_id) if p.size]
    contracts = await contracts_of(client, {o.contract_id for o in orders} | {p.contract_id for p in positions},
                                   known or {})  # fmt: skip
    return {
        "positions": [
            position_row(p, contracts.get(p.contract_id), await last_price(client, p.contract_id, now))
            for p in positions
        ],
        "orders": [order_row(o, contracts.get(o.contract_id)) for o in sorted(orders, key=lambda o: o.id or 0)],
    }


def left_open_lines(book: Mapping[str, list[dict[str, Any]]], flatten_hint: str) -> list[str]:
    """What a trader reads when the engine has stopped: what stays open at the broker and how to flatten."""
    positions, orders = book["positions"], book["orders"]
    if not positions and not orders:
        return ["nothing stays open at the broker: no position, no working order"]
    lines = ["the engine has stopped; open at the broker (not watched by tradebot until it runs again):"]
    lines += [f"  position {position_line(p)}" for p in positions]
    lines += [f"  order {order_line(o)}" for o in orders]
    if any(o.get("bracket_of") for o in orders):
        lines.append("  the bracket orders stay working at the broker and protect their positions")
    lines.append(f"to cancel every order and close every position: {flatten_hint}")
    return lines
