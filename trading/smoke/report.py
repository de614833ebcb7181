"""What a smoke run found: one row per step (timed), the success rate, a text table and the JSON report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trading.calendar import to_ny


@dataclass(frozen=True, slots=True)
class SmokeStep:
    name: str  # "accounts", "contracts.search", "order.place", ...
    path: str  # "rust" | "python": the order path that served it; "-" for a read
    ok: bool | None  # None: skipped (the detail says why), not counted in the success rate
    nanos: int
    detail: str = ""

    @property
    def outcome(self) -> str:
        return "skipped" if self.ok is None else ("ok" if self.ok else "FAILED")

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "path": self.path, "outcome": self.outcome, "ok": self.ok,
            "ms": round(self.nanos / 1e6, 3), "detail": self.detail,
        }  # fmt: skip


@dataclass(slots=True)
class SmokeReport:
    gateway: str
    simulated_gateway: bool
    started_at: datetime
    account_id: int | None = None
    account_name: str = ""
    orders: bool = False
    forced: str = ""  # why the account would have been refused, when --force ran it anyway
    steps: list[SmokeStep] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for s in self.steps if s.ok is True)

    @property
    def failed(self) -> int:
        return sum(1 for s in self.steps if s.ok is False)

    @property
    def skipped(self) -> int:
        return sum(1 for s in self.steps if s.ok is None)

    @property
    def success_rate(self) -> float:
        """Passed over run (skipped steps left out); 0 when nothing ran."""
        ran = self.passed + self.failed
        return self.passed / ran if ran else 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.passed > 0

    def as_json(self) -> dict[str, Any]:
        return {
            "gateway": self.gateway,
            "simulated_gateway": self.simulated_gateway,
            "started_at": self.started_at.isoformat(),
            "started_at_new_york": f"{to_ny(self.started_at):%Y-%m-%d %H:%M:%S %Z}",
            "account": {"id": self.account_id, "name": self.account_name},
            "orders": self.orders,
            "forced": self.forced,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "success_rate": round(self.success_rate, 4),
            "steps": [s.as_json() for s in self.steps],
        }

    def table(self) -> str:
        header = ["step", "path", "outcome", "ms", "detail"]
        rows = [header] + [[s.name, s.path, s.outcome, f"{s.nanos / 1e6:.1f}", s.detail] for s in self.steps]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join([*(_cell(r[i], widths[i], i) for i in range(4)), r[4]]).rstrip() for r in rows]
        ran = self.passed + self.failed
        if self.forced:
            lines.append(f"forced: {self.forced}")
        lines.append(
            f"{self.passed}/{ran} steps passed ({self.success_rate:.0%}), {self.failed} failed, {self.skipped} skipped"
            f" — account {self.account_name} (#{self.account_id}),"
            f" started {to_ny(self.started_at):%Y-%m-%d %H:%M:%S} New York"
        )
        return "\n".join(lines)


def _cell(text: str, width: int, column: int) -> str:
    return text.rjust(width) if column == 3 else text.ljust(width)
