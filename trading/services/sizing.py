"""Each account's size rule at run time: `/account size` and `tradebot account size` (validated, stored,
applied to the running engine at once; trading/engine/sizing.py has the rule itself)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trading.config import AccountSettings, Settings
from trading.engine.sizing import rule_text, size_problem, with_rule
from trading.services.errors import BadInput, NotFound
from trading.services.routing import MAX_BY, Routing
from trading.store import Store


@dataclass(frozen=True, slots=True)
class SizeChange:
    account: str
    old: str  # `×1`, `2 contracts`
    new: str
    stored: bool  # False: reset to the [[accounts]] table's rule (no stored rule left)


async def change_size(
    store: Store,
    configured: AccountSettings,
    current: AccountSettings,
    multiplier: Decimal | None,
    contracts: int | None,
    reset: bool,
    by: str,
) -> tuple[AccountSettings, SizeChange]:
    """Validate and store (or forget) an account's rule; the plan it gives and what changed. Bad input
    raises `BadInput` before anything is stored."""
    problem = size_problem(multiplier, contracts, reset)
    if problem is not None:
        raise BadInput(f"{problem}: nothing changed")
    name = configured.name
    if reset:
        if not await store.size_rules.reset(name):
            raise BadInput(f"{name} has no size rule set from Discord or the CLI (it uses its [[accounts]] table's "
                           f"{rule_text(configured)}): nothing changed")  # fmt: skip
        return configured, SizeChange(name, rule_text(current), rule_text(configured), stored=False)
    new = with_rule(configured, multiplier, contracts)
    await store.size_rules.set(name, multiplier, contracts, by[:MAX_BY])
    return new, SizeChange(name, rule_text(current), rule_text(new), stored=True)


def configured_account(settings: Settings, name: str) -> AccountSettings:
    """The [[accounts]] table of `name` (case-insensitive); unknown names are refused with the known ones."""
    wanted = name.strip().lower()
    for plan in settings.accounts:
        if plan.name.strip().lower() == wanted:
            return plan
    known = ", ".join(p.name for p in settings.accounts) or "none ([[accounts]] is empty)"
    raise NotFound(f"No account named {name.strip()!r} in [[accounts]]. Accounts: {known}; nothing changed")


class Sizing(Routing):
    def size_rule(self) -> str:
        return rule_text(self.engine.plan)

    async def set_size(
        self, multiplier: Decimal | None = None, contracts: int | None = None, reset: bool = False, by: str = ""
    ) -> SizeChange:
        """This account's size rule from now on (its next opening order uses it), stored for restarts."""
        configured, current = self.engine.configured_plan, self.engine.plan
        if configured is None or current is None:
            raise BadInput(
                "A size rule is per [[accounts]] account; this process trades one account without one: nothing changed"
            )
        plan, change = await change_size(self.store, configured, current, multiplier, contracts, reset, by)
        self.engine.plan = plan
        return change
