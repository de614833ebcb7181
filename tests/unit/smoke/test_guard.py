"""Which accounts a smoke run refuses: not simulated, an Express/Live Funded profile's name, a funded marker."""

from __future__ import annotations

from decimal import Decimal

import pytest

from trading.config import load_settings
from trading.domain import Account
from trading.smoke import refusal


def _account(name: str, simulated: bool = True) -> Account:
    return Account(7, name, Decimal(50_000), True, True, simulated)


@pytest.mark.parametrize("name", ["PRAC-V2-12345", "50KTC-V2-12345-678", "S1MAR2512345"])
def test_practice_and_combine_accounts_pass(name: str) -> None:
    assert refusal(_account(name), load_settings().risk.profiles_path) is None


@pytest.mark.parametrize("name", ["XFA-50K-1", "EXPRESS-100K-2", "50K-XFA-3", "LFA-7", "PRAC-LIVE-1", "Funded 150K"])
def test_funded_names_are_refused(name: str) -> None:
    why = refusal(_account(name), load_settings().risk.profiles_path)
    assert why is not None and f"account {name} (#7)" in why


def test_a_real_money_account_is_refused_whatever_its_name() -> None:
    why = refusal(_account("PRAC-V2-1", simulated=False))
    assert why == "account PRAC-V2-1 (#7) is a live account (the gateway says it is not simulated)"
