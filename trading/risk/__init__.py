"""Risk: limits and the firm's account rules before every order, the kill switch, each rule's headroom.

manager.py decides (check, mark, the trading-day roll), state.py remembers (risk_state, risk_days),
exposure.py is what it reads, window.py the profile's hours, headroom.py how much of each rule is used.
The profiles themselves are data: trading/rule_profiles.py and config/rule_profiles.toml.
"""

from trading.risk.exposure import ATR_BARS, Exposure, PriceRef, WorkingOrder
from trading.risk.headroom import Crossing, RuleHeadroom, crossings, headroom
from trading.risk.manager import MAX_SANE_PRICE, RiskManager, profile_of, refuse
from trading.risk.state import (
    AUTO,
    DayRecord,
    KillMode,
    KillSwitchTripped,
    RepositoryRiskStore,
    RiskState,
    RiskStateStore,
)

__all__ = [
    "ATR_BARS",
    "AUTO",
    "MAX_SANE_PRICE",
    "Crossing",
    "DayRecord",
    "Exposure",
    "KillMode",
    "KillSwitchTripped",
    "PriceRef",
    "RepositoryRiskStore",
    "RiskManager",
    "RiskState",
    "RiskStateStore",
    "RuleHeadroom",
    "WorkingOrder",
    "crossings",
    "headroom",
    "profile_of",
    "refuse",
]
