"""`[app] cpu`: which CPU the setting names, and what it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from trading.affinity import AffinityError, choose
from trading.config import AppSettings

cpu_sets = st.sets(st.integers(min_value=0, max_value=255), min_size=1, max_size=16)


@given(cpu_sets)
def test_off_leaves_the_process_alone(allowed: set[int]) -> None:
    assert choose("off", allowed) is None


@given(cpu_sets)
def test_auto_takes_the_last_allowed_cpu_when_there_is_a_choice(allowed: set[int]) -> None:
    assert choose("auto", allowed) == (max(allowed) if len(allowed) > 1 else None)


@given(cpu_sets, st.integers(min_value=0, max_value=300))
def test_a_number_must_be_allowed(allowed: set[int], cpu: int) -> None:
    if cpu in allowed:
        assert choose(cpu, allowed) == cpu
    else:
        with pytest.raises(AffinityError, match=f"app.cpu = {cpu}: this process may use CPUs"):
            choose(cpu, allowed)


@pytest.mark.parametrize("value", ["auto", "off", 0, 3, "2"])
def test_the_setting_takes(value: object) -> None:
    assert AppSettings.model_validate({"cpu": value}).cpu in ("auto", "off", 0, 2, 3)


@pytest.mark.parametrize("value", [-1, "fast", 1.5, ""])
def test_the_setting_refuses(value: object) -> None:
    with pytest.raises(ValidationError):
        AppSettings.model_validate({"cpu": value})
