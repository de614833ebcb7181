"""Which accounts a smoke run refuses: anything with real money or a funded firm account behind it.

Spec choice (issue 16 says "refuses a funded or live account unless forced"): an account is refused when
the gateway says it is not simulated, when its name matches one of the Express Funded or Live Funded rule
profiles (config/rule_profiles.toml's account_patterns), or when its name carries a funded marker
(XFA, EXPRESS, FUNDED, LFA, LIVE). The profile patterns are marked UNCERTAIN in that file, so the plain
markers back them up: a false refusal costs a `--force`, a false pass could place an order on a funded
account.
"""

from __future__ import annotations

import re
from pathlib import Path

from trading.domain import Account
from trading.rule_profiles import ProfileError, load_profiles

FUNDED_PROFILES = re.compile(r"^(xfa_.*|live)$")
FUNDED_MARKERS = re.compile(r"XFA|EXPRESS|FUNDED|LFA|(?<![A-Z])LIVE(?![A-Z])", re.IGNORECASE)


class SmokeRefused(Exception):
    """The account is funded or live and `--force` was not given; `str()` says why."""


class NoSuchAccount(Exception):
    """`--account` names no active account of this login; `str()` lists the ones there are."""


def refusal(account: Account, profiles_path: Path | None = None) -> str | None:
    """Why a smoke run must not touch this account (None: a practice or combine account)."""
    label = f"account {account.name} (#{account.id})"
    if not account.simulated:
        return f"{label} is a live account (the gateway says it is not simulated)"
    if profiles_path is not None:
        try:
            profile = load_profiles(profiles_path).detect(account.name)
        except ProfileError:
            profile = None  # an unreadable profiles file leaves the name markers below
        if profile is not None and FUNDED_PROFILES.match(profile.id):
            return f"{label} is a funded account ({profile.label})"
    if FUNDED_MARKERS.search(account.name):
        return f"{label} looks like a funded or live account by its name"
    return None
