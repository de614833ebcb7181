"""`[[accounts]]`: several accounts of one login in one process; bad tables are refused at start."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from trading.config import ConfigError, Settings, load_settings


def test_accounts_tables_load_with_their_size_rules(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text(
        '[[accounts]]\nname = "LEAD"\nstrategies = ["overnight_range"]\n\n'
        '[[accounts]]\nname = "F1"\nstrategies = []\nmultiplier = "1.5"\nfollow = "lead"\n\n'
        '[[accounts]]\nname = "F2"\ncontracts = 3\nprofile = "tc_50k"\nfollow = "LEAD"\n'
    )
    lead, f1, f2 = load_settings(user).accounts
    assert (lead.strategies, f1.strategies, f2.strategies) == (("overnight_range",), (), None)
    assert [lead.sized(2), f1.sized(1), f1.sized(3), f2.sized(1)] == [2, 1, 4, 3]
    assert f1.multiplier == Decimal("1.5") and f2.follow == "LEAD"


@pytest.mark.parametrize(
    ("tables", "why"),
    [
        ([{"name": "A"}, {"name": "a"}], "listed twice"),
        ([{"name": "A", "follow": "A"}], "cannot follow itself"),
        ([{"name": "A", "follow": "B"}], "not in [[accounts]]"),
        ([{"name": "A"}, {"name": "B", "follow": "A"}, {"name": "C", "follow": "B"}], "no chains"),
        ([{"name": "A", "multiplier": 2, "contracts": 1}], "not both"),
        ([{"name": " "}], "needs the account's name"),
        ([{"name": "A", "multiplier": 0}], "greater than 0"),
        ([{"name": "A", "profile": "no-such-profile"}], "no-such-profile"),
    ],
)
def test_bad_accounts_tables_are_refused_with_a_reason(tables: list[dict[str, object]], why: str) -> None:
    with pytest.raises(ValidationError) as err:
        Settings.model_validate({"accounts": tables})
    assert why in str(err.value)


def test_a_bad_accounts_file_is_a_config_error(tmp_path: Path) -> None:
    user = tmp_path / "user.toml"
    user.write_text('[[accounts]]\nname = "A"\nfollow = "nobody"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(user)
    assert "nobody" in str(err.value)
