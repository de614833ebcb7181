"""The parameter space: ranges and lists read from TOML or flags, every value checked by the strategy's
settings model, the grid enumerated once each, random samples distinct and repeatable; bad spaces refused
with a message that names the parameter."""

from __future__ import annotations

import math
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, model_validator

from trading.config import OvernightRangeSettings
from trading.optimize.space import Dimension, Space, SpaceError, build, check_points, parse_flag, read_file


def _build(specs: dict[str, Any]) -> Space:
    return build(specs, OvernightRangeSettings)


def test_a_range_steps_exactly_and_values_take_the_fields_types() -> None:
    space = _build({
        "stop_atr_mult": {"min": "0.75", "max": "2.0", "step": "0.25"},
        "min_stop_ticks": {"min": 2, "max": 8, "step": 3},
        "offset": {"values": [0.1, 0.3]},  # TOML floats, read through their text
        "breakeven_enabled": {"values": [True, False]},
        "last_entry_time": {"values": ["10:30", "11:00:00"]},
    })  # fmt: skip
    values = {d.name: d.values for d in space.dimensions}
    assert values["stop_atr_mult"] == tuple(Decimal(x) for x in ("0.75", "1.00", "1.25", "1.50", "1.75", "2.00"))
    assert values["min_stop_ticks"] == (2, 5, 8) and all(type(v) is int for v in values["min_stop_ticks"])
    assert values["offset"] == (Decimal("0.1"), Decimal("0.3"))
    assert values["breakeven_enabled"] == (True, False)
    assert values["last_entry_time"] == (time(10, 30), time(11, 0))
    assert space.size == 6 * 3 * 2 * 2 * 2


def test_flags_read_as_the_file_does() -> None:
    assert parse_flag("stop_atr_mult=0.75:2.0:0.25") == ("stop_atr_mult", {"min": "0.75", "max": "2.0", "step": "0.25"})
    assert parse_flag("offset = 0.25, 0.5") == ("offset", {"values": ["0.25", "0.5"]})
    assert parse_flag("breakeven_enabled=True,false") == ("breakeven_enabled", {"values": [True, False]})
    assert parse_flag("last_entry_time=10:30") == ("last_entry_time", {"values": ["10:30"]})  # a time, not a range


def test_the_example_space_file_is_a_valid_space() -> None:
    strategy, specs = read_file(Path(__file__).parents[3] / "config" / "optimize" / "overnight_range.toml")
    assert strategy == "overnight_range"
    space = _build(specs)
    assert space.names == ["stop_atr_mult", "breakeven_points", "target_atrd_mult"] and space.size == 90


@pytest.mark.parametrize(("specs", "says"), [
    ({"bogus": {"values": [1]}}, "unknown parameter 'bogus'; OvernightRangeSettings has: quantity"),
    ({"symbols": {"values": [["MNQ"]]}}, "unknown parameter 'symbols'"),
    ({"stop_atr_mult": {"min": "2", "max": "1", "step": "0.5"}}, "stop_atr_mult: empty range, max 1 is below min 2"),
    ({"stop_atr_mult": {"min": "1", "max": "2", "step": "0"}}, "stop_atr_mult: step = 0 must be above 0"),
    ({"stop_atr_mult": {"min": "1", "max": "2"}}, "stop_atr_mult: only max, min; write"),
    ({"stop_atr_mult": {"values": []}}, "stop_atr_mult: values is empty"),
    ({"stop_atr_mult": {"values": ["1", "1.0"]}}, "stop_atr_mult: the value 1.0 is listed twice"),
    ({"stop_atr_mult": {"min": "x", "max": "2", "step": "1"}}, "stop_atr_mult: min = 'x' is not a number"),
    ({"stop_atr_mult": {"min": "0", "max": "1e9", "step": "1"}}, "at most 10,000"),
    ({"stop_atr_mult": {"value": [1]}}, "stop_atr_mult: unknown key value"),
    ({"stop_atr_mult": "1.5"}, "stop_atr_mult: write { values = [...] }"),
    ({"min_stop_ticks": {"values": [0, 4]}}, "min_stop_ticks = 0: not a valid value (Input should be greater than"),
    ({"atr_period": {"values": ["fourteen"]}}, "atr_period = fourteen: not a valid value"),
    ({"last_entry_time": {"min": 1, "max": 2, "step": 1}}, "last_entry_time is not a number: list its values"),
    ({}, "no parameters to search"),
])  # fmt: skip
def test_bad_spaces_are_refused_by_name(specs: dict[str, Any], says: str) -> None:
    with pytest.raises(SpaceError) as caught:
        _build(specs)
    assert says in str(caught.value)


@pytest.mark.parametrize(("text", "says"), [
    ("[parameters\nx = 1", "not valid TOML"),
    ('strategy = "overnight_range"\nsearch = "grid"\n', "unknown key search"),
    ("parameters = 3\n", "[parameters] must be a table"),
    ("strategy = 3\n", "strategy must be a name"),
])  # fmt: skip
def test_bad_space_files_are_refused(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "space.toml"
    path.write_text(text)
    with pytest.raises(SpaceError) as caught:
        read_file(path)
    assert says in str(caught.value)


def test_a_missing_space_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match="cannot be read"):
        read_file(tmp_path / "none.toml")


@pytest.mark.parametrize("text", ["offset", "=1", "offset=", "offset=1,,2"])
def test_bad_flags_are_refused(text: str) -> None:
    with pytest.raises(SpaceError, match="--param"):
        parse_flag(text)


class _Cross(BaseModel):
    fast: int = 9
    slow: int = 21

    @model_validator(mode="after")
    def _ordered(self) -> _Cross:
        if self.fast >= self.slow:
            raise ValueError("fast must be below slow")
        return self


def test_a_set_the_model_refuses_as_a_whole_is_named() -> None:
    space = build({"fast": {"values": [9, 30]}, "slow": {"values": [21, 50]}}, _Cross)
    check_points([space.at(0), space.at(1), space.at(3)], _Cross, {})  # 9/21, 9/50, 30/50
    with pytest.raises(SpaceError, match=r"fast=30, slow=21: not a valid setting .*fast must be below slow"):
        check_points(list(space.grid()), _Cross, {})


dims = st.lists(st.integers(1, 5), min_size=1, max_size=4).map(
    lambda sizes: Space(tuple(Dimension(f"p{k}", tuple(range(n))) for k, n in enumerate(sizes)))
)


@given(dims)
def test_the_grid_holds_every_combination_once(space: Space) -> None:
    points = [tuple(p.values()) for p in space.grid()]
    assert len(points) == space.size == math.prod(len(d.values) for d in space.dimensions)
    assert len(set(points)) == len(points)
    assert points == sorted(points)  # the last parameter varies fastest


@given(dims, st.integers(1, 700), st.integers(0, 2**32))
def test_a_random_sample_is_distinct_inside_the_grid_and_repeatable(space: Space, n: int, seed: int) -> None:
    sample = space.sample(n, seed)
    keys = [tuple(p.values()) for p in sample]
    assert len(keys) == min(n, space.size) and len(set(keys)) == len(keys)
    grid = {tuple(p.values()) for p in space.grid()}
    assert set(keys) <= grid
    assert space.sample(n, seed) == sample


def test_a_large_grid_is_sampled_without_enumerating_it() -> None:
    space = Space(tuple(Dimension(f"p{k}", tuple(range(100))) for k in range(6)))  # 10^12 points
    sample = space.sample(1000, 7)
    assert len({tuple(p.values()) for p in sample}) == 1000
    assert space.sample(1000, 8) != sample
