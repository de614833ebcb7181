"""The accounts a process runs, as the faces address them: each running account's `Services`, by name.

One engine, one account: `AccountDesk.single(services)`. Several (`[[accounts]]`, `run_accounts`): the
desk is built over the `AccountsProcess` and makes one `Services` per account's engine (kept, so each
account's contract cache stays its own). An action names its account; without a name it goes to the
one account, and with several it is refused with the names to choose from (spec choice: never a
silent default account for an action on several). An unknown name is refused before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from trading.engine.accounts import AccountRun, AccountsProcess
from trading.engine.sizing import rule_text
from trading.risk import KillMode, RuleHeadroom
from trading.risk.headroom import ALERTED_RULES
from trading.services import Services
from trading.services.errors import BadInput, NotFound


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One account of `/account list`."""

    name: str
    account_id: int | None
    balance: Decimal | None
    day_pnl: Decimal | None
    tightest: RuleHeadroom | None  # the loss rule with the most of its limit used
    state: str  # trading | halted | reduce-only | standby | not started
    leader: str = ""  # copy mode: the account this one follows
    error: str = ""
    size: str = ""  # its size rule now (`×1.5`, `2 contracts`): [[accounts]] or an admin's /account size


class AccountDesk:
    """Every running account's services, by name (case-insensitive)."""

    def __init__(self, process: AccountsProcess | None = None, single: Services | None = None) -> None:
        if (process is None) == (single is None):
            raise ValueError("an AccountDesk is over one process or one account's services")
        self.process = process
        self._single = single
        self._services: dict[int, Services] = {}

    @classmethod
    def single(cls, services: Services) -> AccountDesk:
        return cls(single=services)

    @property
    def several(self) -> bool:
        return self.process is not None and len(self.process.runs) > 1

    def names(self) -> list[str]:
        """The accounts that trade now (a standby or a failed account has no services to address)."""
        if self._single is not None:
            return [self._single.engine.account_name]
        assert self.process is not None
        return [r.plan.name for r in self.process.runs if _trading(r)]

    def every(self) -> list[Services]:
        """The services of every account that trades now (a process-wide command applies to each)."""
        if self._single is not None:
            return [self._single]
        assert self.process is not None
        return [self._of(r) for r in self.process.runs if _trading(r)]

    # A route and its breaker are process-global (trading/native.py): what serves one account serves all.
    async def follow_routes(self, changed_by: Services) -> None:
        """A route changed through `changed_by` (which moved its own engine): every other engine moves too."""
        for s in self.every():
            if s.engine is not changed_by.engine:
                await s.follow_routes()

    def executor_fallbacks(self) -> int:
        """Calls every account's Rust executor handed to Python."""
        return sum(s.executor_fallbacks() for s in self.every())

    async def count_compared(self) -> None:
        """Every engine's shadow comparisons added to the one stored count (/stats parity)."""
        for s in self.every():
            await s.parity()

    def services(self, account: str | None = None) -> Services:
        """The services of `account`; None: the one account (refused when the process runs several)."""
        wanted = (account or "").strip()
        if self._single is not None:
            if wanted and wanted.lower() not in (
                self._single.engine.account_name.lower(),
                str(self._single.account_id),
            ):
                raise NotFound(f"No account named {wanted!r}. This bot trades {self._single.engine.account_name}")
            return self._single
        assert self.process is not None
        if not wanted:
            running = [r for r in self.process.runs if _trading(r)]
            if len(self.process.runs) == 1 and running:
                return self._of(running[0])
            raise BadInput(f"This bot runs several accounts: choose one with account: ({', '.join(self.names())})")
        for r in self.process.runs:
            if r.plan.name.lower() == wanted.lower() or (r.engine is not None and str(r.engine.account_id) == wanted):
                if not _trading(r):
                    raise BadInput(f"Account {r.plan.name} is not trading here ({_state(r)}): nothing was done")
                return self._of(r)
        raise NotFound(f"No account named {wanted!r}. Accounts: {', '.join(r.plan.name for r in self.process.runs)}")

    def _of(self, run: AccountRun) -> Services:
        assert run.engine is not None
        key = id(run.engine)
        if key not in self._services:
            self._services[key] = Services(run.engine)
        return self._services[key]

    async def rows(self) -> list[AccountRow]:
        """Each account: balance, day P&L, its tightest loss rule, its state and, in copy mode, its leader."""
        if self._single is not None:
            return [await _row(self._single, self._single.engine.account_name, "")]
        assert self.process is not None
        out = []
        for r in self.process.runs:
            if _trading(r):
                out.append(await _row(self._of(r), r.plan.name, r.plan.follow.strip()))
            else:
                out.append(
                    AccountRow(
                        r.plan.name,
                        r.engine.account_id if r.engine is not None and r.engine.account_id else None,
                        None,
                        None,
                        None,
                        _state(r),
                        r.plan.follow.strip(),
                        r.error,
                        rule_text(r.engine.plan if r.engine is not None else r.plan),
                    )
                )
        return out


def _trading(run: AccountRun) -> bool:
    return run.engine is not None and run.running.is_set() and not run.ended.is_set()


def _state(run: AccountRun) -> str:
    if run.error or run.ended.is_set():
        return "not started" if not run.running.is_set() else "stopped"
    if run.engine is None or not run.running.is_set():
        return "standby"
    return "trading"


async def _row(services: Services, name: str, leader: str) -> AccountRow:
    view = await services.risk_status()
    engine = services.engine
    mode = engine.risk.state.kill_mode
    state = {KillMode.OFF: "trading", KillMode.HALTED: "halted", KillMode.REDUCE_ONLY: "reduce-only"}[mode]
    loss_rules = [h for h in view.rules if h.rule in ALERTED_RULES and h.fraction is not None]
    tightest = max(loss_rules, key=lambda h: h.fraction or Decimal(0), default=None)
    return AccountRow(
        name, engine.account_id, view.balance, view.day_pnl, tightest, state, leader, size=services.size_rule()
    )


__all__ = ["AccountDesk", "AccountRow"]
