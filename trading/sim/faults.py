"""Fault injection for the simulated gateway, driven from tests (`sim.faults`) or over HTTP
(`/sim/faults`, used by `tradebot sim --fault ...`). Request faults are scoped to an endpoint path
(None = every `/api/...` path) and a count (`down` lasts until cleared: the broker's REST away); hub and
token faults act at once, and `refuse_hubs` keeps the hubs refusing new connections until `accept_hubs`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from trading.sim.auth import TokenAuthority
from trading.sim.exchange import Exchange
from trading.sim.fault_kind import FaultKind
from trading.sim.hubs import Hub, HubServer

DEFAULT_REJECT_MESSAGE = "Order rejected by the simulator (fault injection)"


class FaultError(ValueError):
    """A fault request that cannot be carried out (unknown kind, bad count)."""


@dataclass(slots=True)
class Fault:
    kind: FaultKind
    path: str | None = None
    count: int = 1
    seconds: float = 0.0
    message: str = ""


class FaultInjector:
    def __init__(self, auth: TokenAuthority, hubs: HubServer, exchange: Exchange) -> None:
        self._auth = auth
        self._hubs = hubs
        self._exchange = exchange
        self.active: list[Fault] = []
        self.fired: list[tuple[FaultKind, str]] = []

    # ------------------------------------------------------------------ request faults

    def add(
        self, kind: FaultKind | str, path: str | None = None, count: int = 1, seconds: float = 0.0, message: str = ""
    ) -> Fault:
        try:
            k = FaultKind(kind)
        except ValueError:
            raise FaultError(f"unknown fault kind {kind!r}; known: {', '.join(FaultKind)}") from None
        if count < 1:
            raise FaultError(f"count must be at least 1, got {count}")
        fault = Fault(
            k, path, count, seconds, message or (DEFAULT_REJECT_MESSAGE if k is FaultKind.REJECT_ORDER else "")
        )
        self.active.append(fault)
        return fault

    def take(self, kind: FaultKind, path: str) -> Fault | None:
        """Consume one shot of the first matching fault."""
        for fault in self.active:
            if fault.kind is kind and (fault.path is None or fault.path == path):
                if kind is not FaultKind.DOWN:  # an outage lasts until cleared
                    fault.count -= 1
                if fault.count <= 0:
                    self.active.remove(fault)
                self.fired.append((kind, path))
                return fault
        return None

    def take_reject(self, path: str) -> str | None:
        fault = self.take(FaultKind.REJECT_ORDER, path)
        return None if fault is None else fault.message

    def has(self, path: str) -> bool:
        return any(f.path is None or f.path == path for f in self.active)

    def clear(self) -> None:
        self.active.clear()

    def http_500_before(self, path: str, count: int = 1) -> Fault:
        return self.add(FaultKind.HTTP_500_BEFORE, path, count)

    def http_500_after(self, path: str, count: int = 1) -> Fault:
        return self.add(FaultKind.HTTP_500_AFTER, path, count)

    def delay_after(self, path: str, seconds: float, count: int = 1) -> Fault:
        return self.add(FaultKind.DELAY_AFTER, path, count, seconds)

    def reset(self, path: str | None = None, count: int = 1, after: bool = False) -> Fault:
        return self.add(FaultKind.RESET_AFTER if after else FaultKind.RESET, path, count)

    def rate_limit(self, path: str | None = None, count: int = 1) -> Fault:
        return self.add(FaultKind.RATE_LIMIT, path, count)

    def reject_next_order(self, count: int = 1, message: str = "") -> Fault:
        return self.add(FaultKind.REJECT_ORDER, None, count, message=message)

    def down(self, path: str | None = None) -> Fault:
        """Every request (to `path`, None = all) answered 503 before processing until `up`."""
        return self.add(FaultKind.DOWN, path)

    def up(self) -> int:
        """End every `down` outage; the number ended."""
        ended = [f for f in self.active if f.kind is FaultKind.DOWN]
        for f in ended:
            self.active.remove(f)
        return len(ended)

    # ------------------------------------------------------------------ immediate faults

    def expire_tokens(self) -> int:
        """Every token issued so far expires now (requests → 401; new logins work)."""
        return self._auth.expire_all()

    def drop_hubs(self, hub: Hub | None = None, graceful: bool = False) -> int:
        """Abruptly (or, `graceful`, with a SignalR close message) end hub connections."""
        return self._hubs.drop(hub, graceful)

    def stall_hubs(self, hub: Hub | None = None, on: bool = True) -> int:
        return self._hubs.stall(hub, on)

    def logout_hubs(self) -> int:
        return self._hubs.logout()

    def refuse_hubs(self, hub: Hub | None = None, on: bool = True) -> int:
        """Drop the hubs' connections and refuse new ones (503) until called with `on` False."""
        return self._hubs.refuse(hub, on)

    def describe(self) -> list[dict[str, Any]]:
        return [asdict(f) for f in self.active]

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        """The `/sim/faults` control body: `{"kind": ..., "path"?, "count"?, "seconds"?, "message"?, "hub"?}`;
        kinds beyond the request faults: expire_tokens, drop_hubs, stall_hubs, unstall_hubs, refuse_hubs,
        accept_hubs, logout, up (ends `down`), clear."""
        kind = str(body.get("kind", ""))
        hub = body.get("hub")
        hub_arg: Hub | None = hub if hub in ("user", "market") else None
        immediate = {
            "expire_tokens": lambda: self.expire_tokens(),
            "drop_hubs": lambda: self.drop_hubs(hub_arg, bool(body.get("graceful", False))),
            "stall_hubs": lambda: self.stall_hubs(hub_arg, True),
            "unstall_hubs": lambda: self.stall_hubs(hub_arg, False),
            "refuse_hubs": lambda: self.refuse_hubs(hub_arg, True),
            "accept_hubs": lambda: self.refuse_hubs(hub_arg, False),
            "logout": lambda: self.logout_hubs(),
            "up": lambda: self.up(),
        }
        if kind in immediate:
            return {"kind": kind, "affected": immediate[kind]()}
        if kind == "clear":
            self.clear()
            return {"kind": kind}
        fault = self.add(
            kind,
            body.get("path"),
            int(body.get("count", 1)),
            float(body.get("seconds", 0.0)),
            str(body.get("message", "")),
        )
        return asdict(fault)
