"""Risk as the services see it: the engine's answers (its kill switch, its exposure), and the limits."""

from __future__ import annotations

from typing import Any

from trading.risk import KillMode, headroom
from trading.services.guard import GuardView, guard_view
from trading.services.market import AccountMarket
from trading.services.results import RiskView
from trading.store.risk_state import KillSwitch


class RiskChecks(AccountMarket):
    """Risk status and limits: what the engine holds, the same state every order's check reads."""

    async def risk_status(self) -> RiskView:
        """The engine's kill switch and exposure (today's P&L realized + unrealized, its balance)."""
        e = self.engine
        state = e.risk.state
        exposure = e.exposure()
        switch = KillSwitch.NONE.value if state.kill_mode is KillMode.OFF else state.kill_mode.value
        working: dict[str, int] = {}
        for w in exposure.working:
            sym = e.symbol_of.get(w.contract_id, w.contract_id)
            working[sym] = working.get(sym, 0) + w.side.sign * w.size
        profile = e.risk.profile
        return RiskView(
            kill_switch=switch,
            reason=state.kill_reason,
            day_pnl=exposure.day_pnl,
            daily_loss_limit=profile.daily_loss_limit or self.settings.risk.daily_loss_limit,
            balance=exposure.balance,
            high_water=state.high_water,
            trailing_limit=profile.max_loss or self.settings.risk.max_loss_trailing,
            positions={e.symbol_of.get(cid, cid): size for cid, size in exposure.positions.items()},
            working=working,
            unrealized=exposure.unrealized,
            profile=profile.id,
            profile_label=profile.label,
            floor=e.risk.floor,
            rules=headroom(e.risk, exposure, e.clock.now()),
        )

    def guard_status(self) -> GuardView:
        """The position guard: positions covered by working stops now, and what it did since the start."""
        return guard_view(self.engine)

    def risk_limits(self) -> dict[str, Any]:
        r = self.settings.risk
        p = self.engine.risk.profile
        out: dict[str, Any] = {
            "Rule profile": p.label,
            "Max order size": r.max_order_size,
            "Max position per symbol": r.max_position_per_symbol,
            "Max position total": r.max_position_total,
            "Daily loss limit": p.daily_loss_limit or r.daily_loss_limit,
            "Trailing max loss": p.max_loss or r.max_loss_trailing,
            "Trading hours (New York)": f"{r.trading_start:%H:%M}-{r.trading_end:%H:%M}",
            "Confirm orders above": self.settings.permissions.confirm_above_size,
        }
        if p.profit_target is not None:
            out["Profit target"] = p.profit_target
        if p.daily_profit_cap is not None:
            out["Daily profit cap"] = p.daily_profit_cap
        if p.max_contracts is not None:
            out["Max contracts"] = p.max_contracts
        if p.scaling:
            out["Scaling plan"] = ", ".join(f"{t.max_contracts} from +{t.from_profit}" for t in p.scaling)
        if p.consistency_target is not None:
            out["Consistency target"] = f"{p.consistency_target * 100:.0f}%"
        if p.window_start is not None and p.window_end is not None:
            out["Firm window (ET)"] = f"{p.window_start:%H:%M}-{p.window_end:%H:%M}"
        if p.flat_time is not None:
            out["Flat by (ET)"] = f"{p.flat_time:%H:%M}"
        return out
