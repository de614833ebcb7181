"""Knobs of the simulated gateway that are not user settings: rate limits, token lifetime, the
[UNCERTAIN] wire variants of projectx-api.md made switchable, and the market mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from trading.domain import Bar
from trading.projectx import schema


@dataclass(slots=True)
class SimOptions:
    # Rate limits (§7): sliding window per token. History/retrieveBars has its own bucket.
    rate_limit_requests: int = 200
    rate_limit_window_s: float = 60.0
    history_rate_limit_requests: int = 50  # 2026 page; the 2025 page said 30 / 30 s
    history_rate_limit_window_s: float = 30.0
    # JWT lifetime (§3.5): 24 h live; tests shorten it.
    token_lifetime_s: float = schema.TOKEN_LIFETIME_S
    # §8.3 [UNCERTAIN]: GatewayUserOrder observed wrapped as {"action", "data"}; positions/trades flat.
    wrap_order_events: bool = True
    # The `action` integer of the wrapper is undocumented; the sim sends this value.
    order_event_action: int = 1
    # §5: market orders pass through 6 Pending (~100 ms live) before 2 Filled; off = straight 1 → 2.
    market_pending_status: bool = True
    # §4.12: live, the v2/query `contractId` filter did not filter (totalCount unchanged). Mimic it.
    query_ignores_contract_filter: bool = True
    # [UNCERTAIN] whether the live hub sends the current quote on SubscribeContractQuotes; the sim
    # sends one full GatewayQuote (every field) so a new subscriber has a complete state to merge into.
    quote_snapshot_on_subscribe: bool = True
    # Server keep-alive ping period on the hubs (SignalR default 15 s).
    hub_ping_interval_s: float = 15.0
    # Market: "manual" (tests drive prices), "random" (seeded walk with CME sessions), "replay".
    market_mode: Literal["manual", "random", "replay"] = "manual"
    # Refuse orders outside CME equity-index sessions (code 5). Off in manual mode by default.
    enforce_sessions: bool = False
    # Random walk: one print every `random_step_s` simulated seconds; history generated at start.
    random_step_s: float = 1.0
    warmup_days: float = 0.0
    # Replay source: bars (1-minute) from a list or a CSV file (t,o,h,l,c,v).
    replay_bars: list[Bar] = field(default_factory=list)
    replay_csv: str | None = None
    replay_contract: str | None = None
    # Start prices for the random walk and for manual mode (symbol root → price).
    start_prices: dict[str, str] = field(default_factory=dict)
    # The sim's "today" for contract months when no clock is given (None: the clock's now).
    contracts_as_of: datetime | None = None
