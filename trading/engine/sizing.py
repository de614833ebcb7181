"""An account's size rule chosen at run time (`/account size`, `tradebot account size`), over its
[[accounts]] table's: stored (migration 014), loaded when the account's engine starts (`Engine.start`,
once the account's lease is held: a standby taking over reads the latest), and applied to the running
engine at once (`Engine.sized` reads `engine.plan` on every opening order: no restart)."""

from __future__ import annotations

from decimal import Decimal

from trading.config import AccountSettings
from trading.store.size_rules import StoredSizeRule

MAX_MULTIPLIER = Decimal(100)  # beyond any sane copy ratio: refused as a typo
MIN_MULTIPLIER = Decimal("0.01")
MAX_CONTRACTS = 1000  # as services' MAX_QUANTITY: an order's size beyond it is a typo


def with_rule(plan: AccountSettings, multiplier: Decimal | None, contracts: int | None) -> AccountSettings:
    """`plan` with this size rule instead of its own (one of the two; neither: the plan as it is)."""
    if contracts is not None:
        return plan.model_copy(update={"contracts": contracts, "multiplier": Decimal(1)})
    if multiplier is not None:
        return plan.model_copy(update={"contracts": None, "multiplier": multiplier})
    return plan


def with_stored(plan: AccountSettings, rule: StoredSizeRule | None) -> AccountSettings:
    return plan if rule is None else with_rule(plan, rule.multiplier, rule.contracts)


def rule_text(plan: AccountSettings | None) -> str:
    """`×1.5`, `2 contracts`: what `/account list` shows of a size rule."""
    if plan is None:
        return ""
    if plan.contracts is not None:
        return f"{plan.contracts} contract{'s' if plan.contracts != 1 else ''}"
    return f"×{plan.multiplier.normalize():f}"


def size_problem(multiplier: Decimal | None, contracts: int | None, reset: bool) -> str | None:
    """What is wrong with a requested rule (exactly one of multiplier, contracts, reset), or None."""
    given = [n for n, v in (("multiplier", multiplier), ("contracts", contracts)) if v is not None]
    if reset:
        given.append("reset")
    if len(given) != 1:
        return (
            "give one of multiplier, contracts or reset"
            if not given
            else f"give one of multiplier, contracts or reset, not {' and '.join(given)}"
        )
    if multiplier is not None and not (MIN_MULTIPLIER <= multiplier <= MAX_MULTIPLIER):
        return f"multiplier must be between {MIN_MULTIPLIER} and {MAX_MULTIPLIER}, got {multiplier}"
    if contracts is not None and not (1 <= contracts <= MAX_CONTRACTS):
        return f"contracts must be between 1 and {MAX_CONTRACTS}, got {contracts}"
    return None
