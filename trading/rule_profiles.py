"""Prop-firm account rule profiles: the firm's published numbers as data (config/rule_profiles.toml).

A profile is what one account type of the firm allows: profit target, daily loss limit (soft breach),
maximum loss limit trailing the end-of-day balance high and locking, contract caps and the scaling
plan, the consistency target, the flat time and the trading window. `[risk] profile` chooses one (or
"auto": by the account's name); `[risk.overrides]` changes any number of it. "custom" takes its numbers
from `[risk]` (today's behaviour as far as the numbers go).

This module is plain data and parsing (no risk logic): config.py validates `[risk]` with it, risk
enforces what it resolves to.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

CUSTOM = "custom"
AUTO = "auto"
NONE = "none"  # an override that removes a number (no profit target, no lock, ...)

# CME micro futures: `micros_per_lot` of them count as one contract against the caps. Matched on the
# product code of the contract id (CON.F.US.<code>.<month>) or the symbol.
MICRO_CODES = frozenset(
    {"MNQ", "MES", "MYM", "M2K", "MGC", "MCL", "MBT", "MET", "M6E", "M6A", "M6B", "SIL", "MHG", "MNG", "MMC"}
)


class ScalingTier(BaseModel):
    """From this end-of-day profit (balance above the starting balance) on, at most this many contracts."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    from_profit: Decimal
    max_contracts: int = Field(ge=1)


class RuleProfile(BaseModel):
    """One account type's rules (see config/rule_profiles.toml for what each field means and its source)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = ""
    label: str
    source: str = ""
    starting_balance: Decimal | None = None  # None: the account's balance the first time risk sees it
    profit_target: Decimal | None = Field(None, gt=0)
    daily_loss_limit: Decimal | None = Field(None, gt=0)
    daily_profit_cap: Decimal | None = Field(None, gt=0)
    max_loss: Decimal | None = Field(None, gt=0)  # distance of the floor below the end-of-day balance high
    max_loss_lock: Decimal | None = None  # the floor never rises above starting_balance + this
    max_contracts: int | None = Field(None, ge=1)
    scaling: tuple[ScalingTier, ...] = ()
    micros_per_lot: int = Field(1, ge=1)
    consistency_target: Decimal | None = Field(None, gt=0, le=1)
    flat_time: time | None = None  # New York: positions closed, no openings until the window reopens
    window_start: time | None = None  # New York: openings allowed from window_start to window_end
    window_end: time | None = None
    account_patterns: tuple[str, ...] = ()  # regular expressions (case-insensitive) on the account name

    @field_validator("scaling")
    @classmethod
    def _ascending(cls, tiers: tuple[ScalingTier, ...]) -> tuple[ScalingTier, ...]:
        if any(a.from_profit >= b.from_profit for a, b in itertools.pairwise(tiers)):
            raise ValueError("scaling tiers must be in ascending order of from_profit")
        return tiers

    @field_validator("account_patterns")
    @classmethod
    def _patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"account pattern {p!r} is not a regular expression: {exc}") from None
        return patterns

    @model_validator(mode="after")
    def _window(self) -> RuleProfile:
        if (self.window_start is None) != (self.window_end is None):
            raise ValueError("window_start and window_end go together")
        if self.max_loss_lock is not None and self.max_loss is None:
            raise ValueError("max_loss_lock needs max_loss")
        return self

    def matches(self, account_name: str) -> bool:
        return any(re.search(p, account_name, re.IGNORECASE) for p in self.account_patterns)

    def scaling_cap(self, eod_profit: Decimal) -> int | None:
        """The contract cap of the scaling plan for an end-of-day profit (None: no plan)."""
        if not self.scaling:
            return None
        cap = self.scaling[0].max_contracts
        for tier in self.scaling:
            if eod_profit >= tier.from_profit:
                cap = tier.max_contracts
        return cap


class ProfileError(ValueError):
    """The profiles file, the chosen profile or an override is wrong; the message says which and why."""


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'profile'}: {e['msg']}" for e in exc.errors())


@dataclass(frozen=True, slots=True)
class Profiles:
    path: Path
    profiles: Mapping[str, RuleProfile]

    def get(self, profile_id: str) -> RuleProfile:
        try:
            return self.profiles[profile_id]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise ProfileError(f"unknown rule profile {profile_id!r} (known: {known}, or auto)") from None

    def detect(self, account_name: str) -> RuleProfile | None:
        """The first profile (file order) whose patterns match the account's name."""
        for p in self.profiles.values():
            if p.id != CUSTOM and account_name and p.matches(account_name):
                return p
        return None


_CACHE: dict[tuple[Path, float], Profiles] = {}


def load_profiles(path: Path) -> Profiles:
    """Every profile in the file (`[profiles.<id>]` tables), validated; cached by modification time."""
    try:
        key = (path, path.stat().st_mtime)
    except FileNotFoundError:
        raise ProfileError(f"{path}: rule profiles file not found") from None
    if key in _CACHE:
        return _CACHE[key]
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    tables = data.get("profiles")
    if not isinstance(tables, dict) or not tables:
        raise ProfileError(f"{path}: no [profiles.<id>] tables")
    out: dict[str, RuleProfile] = {}
    for pid, table in tables.items():
        try:
            out[pid] = RuleProfile.model_validate({**table, "id": pid})
        except ValidationError as exc:
            raise ProfileError(f"{path}: profile {pid!r}: {_problems(exc)}") from None
    if CUSTOM not in out:
        raise ProfileError(f"{path}: the 'custom' profile is missing")
    profiles = Profiles(path, out)
    _CACHE[key] = profiles
    return profiles


def with_overrides(profile: RuleProfile, overrides: Mapping[str, Any]) -> RuleProfile:
    """`profile` with the trader's numbers; "none" removes one. A bad key or value raises ProfileError."""
    known = set(RuleProfile.model_fields) - {"id"}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ProfileError(f"unknown override {', '.join(unknown)} (overridable: {', '.join(sorted(known))})")
    values = {k: (None if isinstance(v, str) and v.lower() == NONE else v) for k, v in overrides.items()}
    try:
        return RuleProfile.model_validate({**profile.model_dump(), **values})
    except ValidationError as exc:
        raise ProfileError(f"override of profile {profile.id!r}: {_problems(exc)}") from None


def is_micro(contract_id_or_symbol: str) -> bool:
    parts = contract_id_or_symbol.split(".")
    code = parts[3] if len(parts) >= 4 else contract_id_or_symbol
    return code.upper() in MICRO_CODES


def resolve(
    path: Path,
    profile_id: str,
    overrides: Mapping[str, Any],
    custom: Mapping[str, Any],
    account_name: str = "",
) -> tuple[RuleProfile, str]:
    """The profile in force and a line saying how it was chosen.

    `custom` holds the numbers `[risk]` gives the custom profile (daily_loss_limit, max_loss,
    max_contracts, daily_profit_cap); `overrides` apply last, to whichever profile was chosen. "auto"
    picks the first profile whose patterns match `account_name`, else custom (the line says so). The
    custom profile needs no file: without one it is built from `custom` alone."""
    if profile_id == CUSTOM and not path.is_file():
        base = RuleProfile(id=CUSTOM, label="Custom ([risk] numbers)")
        how = "custom (no rule profiles file)"
    else:
        profiles = load_profiles(path)
        if profile_id == AUTO:
            found = profiles.detect(account_name)
            base = found or profiles.get(CUSTOM)
            how = (
                f"auto: account {account_name!r} matches {found.id}"
                if found
                else f"auto: account {account_name!r} matches no profile; using custom"
            )
        else:
            base = profiles.get(profile_id)
            how = profile_id
    if base.id == CUSTOM:
        base = base.model_copy(update={k: v for k, v in custom.items() if v is not None})
    elif custom.get("daily_profit_cap") is not None:
        base = base.model_copy(update={"daily_profit_cap": custom["daily_profit_cap"]})
    return with_overrides(base, overrides), how
