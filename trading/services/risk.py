"""Risk as the services see it: the persisted state, the checks before an order, status and limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from trading.domain import (
    Account,
    OrderRequest,
    PositionSide,
)
from trading.risk import Exposure, RepositoryRiskStore, RiskManager, WorkingOrder
from trading.services.core import _day_start
from trading.services.errors import RiskRefused
from trading.services.market import AccountMarket
from trading.services.results import (
    RiskView,
)
from trading.store.risk_state import KillSwitch


class RiskChecks(AccountMarket):
    """Risk status and limits, and the check every manual order passes."""

    async def _check_risk(self, request: OrderRequest) -> None:
        manager = await self._risk_manager(request.account_id)
        exposure = await self._exposure(request.account_id)
        decision = manager.check(request, exposure, self.clock.now())
        if not decision:
            raise RiskRefused(f"Risk refused the order: {decision.reason}")

    async def _risk_manager(self, account_id: int) -> RiskManager:
        # The same persisted state the engine loads and saves (kill switch, day, high-water mark).
        return await RiskManager.load(self.settings.risk, RepositoryRiskStore(self.store.risk_state), account_id)

    async def _exposure(self, account_id: int) -> Exposure:
        positions = await self._broker(self.broker.open_positions(account_id))
        working = await self._broker(self.broker.search_open_orders(account_id))
        realized, fees = await self._realized_today(account_id)
        balance = next((a.balance for a in await self.accounts() if a.id == account_id), Decimal(0))
        return Exposure(
            positions={p.contract_id: p.size * (1 if p.side is PositionSide.LONG else -1) for p in positions},
            working=[WorkingOrder(o.contract_id, o.side, o.size) for o in working if o.parent_id is None],
            realized_today=realized - fees,
            balance=balance,
        )

    async def _realized_today(self, account_id: int) -> tuple[Decimal, Decimal]:
        start = _day_start(self.clock.now())
        return await self.store.fills.realized_pnl(account_id, start, self.clock.now())

    async def risk_status(self, account: Account | None = None) -> RiskView:
        account = account or await self.account()
        st = await self.store.risk_state.get(account.id)
        realized, fees = await self._realized_today(account.id)
        return RiskView(
            kill_switch=st.kill_switch.value if st else KillSwitch.NONE.value,
            reason=st.reason if st else "",
            day_pnl=realized - fees,
            daily_loss_limit=self.settings.risk.daily_loss_limit,
            balance=account.balance,
            high_water=st.high_water_balance if st else None,
            trailing_limit=self.settings.risk.max_loss_trailing,
        )

    def risk_limits(self) -> dict[str, Any]:
        r = self.settings.risk
        return {
            "Max order size": r.max_order_size,
            "Max position per symbol": r.max_position_per_symbol,
            "Max position total": r.max_position_total,
            "Daily loss limit": r.daily_loss_limit,
            "Trailing max loss": r.max_loss_trailing,
            "Trading hours (New York)": f"{r.trading_start:%H:%M}-{r.trading_end:%H:%M}",
            "Confirm orders above": self.settings.permissions.confirm_above_size,
        }
