"""Rule profiles as data: the shipped file's published numbers, overrides, auto-detection by the
account's name, and a clear error (changing nothing) for an unknown profile or a bad override."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.environment import clean_environment as clean_environment
from trading.cli import EXIT_CONFIG, main
from trading.config import ROOT, ConfigError, RiskSettings, load_settings
from trading.risk import profile_of
from trading.rule_profiles import ProfileError, is_micro, load_profiles, resolve

PROFILES = ROOT / "config" / "rule_profiles.toml"


pytestmark = pytest.mark.usefixtures("clean_environment")


def test_the_shipped_profiles_hold_the_published_numbers_with_a_source_each() -> None:
    profiles = load_profiles(PROFILES).profiles
    assert set(profiles) == {"custom", "tc_50k", "tc_100k", "tc_150k", "xfa_50k", "xfa_100k", "xfa_150k", "live"}
    published = {  # profit target, daily loss, maximum loss, contracts
        "tc_50k": (3000, 1000, 2000, 5),
        "tc_100k": (6000, 2000, 3000, 10),
        "tc_150k": (9000, 3000, 4500, 15),
    }
    for pid, (target, dll, mll, contracts) in published.items():
        p = profiles[pid]
        numbers = (p.profit_target, p.daily_loss_limit, p.max_loss, p.max_contracts)
        assert numbers == (Decimal(target), Decimal(dll), Decimal(mll), contracts)
        assert p.max_loss_lock == 0 and p.consistency_target == Decimal("0.5") and p.micros_per_lot == 10
    tiers = {pid: [(int(t.from_profit), t.max_contracts) for t in profiles[pid].scaling] for pid in profiles}
    assert tiers["xfa_50k"] == [(0, 2), (1500, 3), (2000, 5)]
    assert tiers["xfa_100k"] == [(0, 3), (1500, 4), (2000, 5), (3000, 10)]
    assert tiers["xfa_150k"] == [(0, 3), (1500, 4), (2000, 5), (3000, 10), (4500, 15)]
    for pid, p in profiles.items():
        assert p.source, pid
        if pid != "custom":
            assert p.flat_time == time(16, 10) and (p.window_start, p.window_end) == (time(18), time(16, 10))
    text = PROFILES.read_text()
    assert text.count("2025; verify") > 30  # a source and a date next to every number


def test_scaling_tiers_follow_the_end_of_day_profit() -> None:
    xfa = load_profiles(PROFILES).get("xfa_150k")
    caps = {profit: xfa.scaling_cap(Decimal(profit)) for profit in (-500, 0, 1499, 1500, 2999, 3000, 4500, 99999)}
    assert caps == {-500: 3, 0: 3, 1499: 3, 1500: 4, 2999: 5, 3000: 10, 4500: 15, 99999: 15}


def test_custom_takes_the_risk_section_numbers() -> None:
    p = profile_of(RiskSettings(daily_loss_limit=Decimal(700), max_loss_trailing=Decimal(1500), max_position_total=4))
    assert (p.id, p.daily_loss_limit, p.max_loss, p.max_contracts) == ("custom", Decimal(700), Decimal(1500), 4)
    assert p.profit_target is None
    assert p.max_loss_lock is None and p.flat_time is None and p.window_start is None


def test_overrides_change_any_number_and_none_removes_one() -> None:
    p = profile_of(RiskSettings(profile="tc_50k", overrides={"max_contracts": 3, "profit_target": "none"}))
    assert p.max_contracts == 3 and p.profit_target is None and p.daily_loss_limit == 1000
    p = profile_of(RiskSettings(profile="xfa_50k", daily_profit_cap=Decimal(800)))
    assert p.daily_profit_cap == 800


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("50KTC-V2-123456-7890", "tc_50k"),
        ("150KTC-V2-42", "tc_150k"),
        ("XFA-100K-9", "xfa_100k"),
        ("XFA-150K-9", "xfa_150k"),  # not the 50K profile (listed first) for the "50K" inside "150K"
        ("50KXFA-1", "xfa_50k"),
        ("PRAC-V2-555", "custom"),  # a practice account: no firm profile, custom
    ],
)
def test_auto_detects_the_profile_from_the_account_name(name: str, expected: str) -> None:
    assert profile_of(RiskSettings(profile="auto"), name).id == expected
    _, how = resolve(PROFILES, "auto", {}, RiskSettings().custom_numbers(), name)
    assert name in how and (expected in how or "no profile" in how)


@pytest.mark.parametrize(
    ("table", "needle"),
    [
        ('profile = "tc_75k"', "unknown rule profile 'tc_75k' (known: custom, live, tc_100k"),
        ('profile = "tc_50k"\n[risk.overrides]\nmax_contracs = 3', "unknown override max_contracs"),
        ('profile = "tc_50k"\n[risk.overrides]\nmax_contracts = 0', "max_contracts: Input should be greater than"),
        ('profile = "auto"\n[risk.overrides]\ndaily_loss_limit = "lots"', "daily_loss_limit"),
        ('profiles_file = "/nowhere/profiles.toml"\nprofile = "tc_50k"', "rule profiles file not found"),
        ("alert_levels = [0.5, 1.5]", "alert_levels are fractions"),
    ],
)
def test_a_bad_profile_or_override_is_a_clear_config_error(tmp_path: Path, table: str, needle: str) -> None:
    user = tmp_path / "user.toml"
    user.write_text(f"[risk]\n{table}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(user)
    assert needle in str(err.value) and str(user) in str(err.value)


def test_config_check_reports_an_unknown_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "user.toml"
    user.write_text('[risk]\nprofile = "tc_75k"\n')
    monkeypatch.setenv("TRADEBOT_CONFIG", str(user))
    assert main(["config", "check"]) == EXIT_CONFIG
    assert "unknown rule profile 'tc_75k'" in capsys.readouterr().err


def test_a_profiles_file_with_a_bad_value_names_the_profile_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    tiers = "[{from_profit = 5, max_contracts = 2}, {from_profit = 1, max_contracts = 3}]"
    path.write_text(f'[profiles.custom]\nlabel = "c"\n[profiles.mine]\nlabel = "m"\nscaling = {tiers}\n')
    with pytest.raises(ProfileError, match="profile 'mine': scaling: Value error, scaling tiers must be in ascending"):
        load_profiles(path)
    path.write_text('[profiles.mine]\nlabel = "m"\n')
    with pytest.raises(ProfileError, match="'custom' profile is missing"):
        load_profiles(path)


def test_micros_are_known_by_their_product_code() -> None:
    assert is_micro("CON.F.US.MNQ.Z25") and is_micro("MES") and not is_micro("CON.F.US.ENQ.Z25")
