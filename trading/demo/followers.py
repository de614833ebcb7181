"""The demo day's copy mode: follower accounts on the simulator's login mirroring the demo's leader
(`tradebot demo --followers N`), and how their fills compare with the leader's at the end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

from trading.clock import Clock
from trading.config import AccountSettings, Settings
from trading.engine import Engine
from trading.engine.copy import Copier, running
from trading.engine.setup import build_engine, close_engine, sim_gateway
from trading.projectx.schema import OrderSide
from trading.sim.gateway import SimGateway
from trading.store import Store

CATCH_UP_POLLS = 3000


@contextlib.asynccontextmanager
async def copy_mode(
    leader: Engine,
    sim: SimGateway,
    settings: Settings,
    store: Store,
    clock: Clock,
    n: int,
    write: Callable[[str], None],
) -> AsyncIterator[None]:
    """`n` follower accounts on the simulator's login mirroring the leader (copy mode, the i-th at i times
    its size) for the block; on the way out they catch up, say how their fills compare, and stop."""
    plans = [
        AccountSettings(
            name=f"PRAC-V2-SIM-{i + 2}", strategies=(), follow=leader.account_name, multiplier=Decimal(i + 1)
        )
        for i in range(n)
    ]
    engines: list[Engine] = []
    try:
        for plan in plans:
            sim.add_account(plan.name)
            f = await build_engine(settings, store, clock, sim_gateway(sim), plan=plan)
            engines.append(f)
            await f.start()
        copier = Copier(leader, [(f, p) for f, p in zip(engines, plans, strict=True)])
        names = ", ".join(f"{p.name} (x{p.multiplier})" for p in plans)
        write(f"copy mode: {leader.account_name} leads {names}")
        async with running([copier]):
            yield
            for _ in range(CATCH_UP_POLLS):  # the leader's last fills mirrored (bounded: a demo never hangs)
                if copier.idle and all(f.idle for f in engines):
                    break
                await asyncio.sleep(0.01)
        lead = _fills_of(sim, leader.account_id)
        for f, plan in zip(engines, plans, strict=True):
            mine = _fills_of(sim, f.account_id)
            same = mine == [(side, plan.sized(size)) for side, size in lead]
            write(
                f"copy mode: {plan.name} {len(mine)} fills "
                f"{'match' if same else 'DO NOT match'} the leader's {len(lead)} (sizes x{plan.multiplier})"
            )
    finally:
        for f in engines:
            await close_engine(f)


def _fills_of(sim: SimGateway, account_id: int) -> list[tuple[str, int]]:
    return [
        ("buy" if f.side == OrderSide.BID else "sell", f.size) for f in sim.exchange.fills if f.account_id == account_id
    ]
