"""The parameter space of a search: for each parameter of a strategy's settings, the finite list of values
to try, read from a TOML file and/or `--param` flags, every value checked against the strategy's own
settings model before anything runs.

A space file:

    strategy = "overnight_range"              # optional; the strategy the parameters belong to
    [parameters]
    stop_atr_mult = { min = "0.75", max = "2.0", step = "0.25" }   # min, min+step, ... up to max
    target_atrd_mult = { values = ["1.5", "2.0", "3.0"] }         # or the values themselves
    breakeven_enabled = { values = [true, false] }

A flag: `--param stop_atr_mult=0.75:2.0:0.25` (min:max:step) or `--param offset=0.25,0.5,1` (values).

Choice: a range always has a step, so every dimension is a finite list; a random search samples points of
that grid (as hyperopt's quantized spaces do), which keeps results comparable and the heatmap a grid.
Numbers are read as decimals (TOML floats through their shortest text), so 0.1 steps land on 0.1, 0.2.
"""

from __future__ import annotations

import math
import random
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

MAX_VALUES = 10_000  # values of one parameter
# chosen by the command (--symbol, --impl), not searched: the implementation changes speed, never results
NOT_SEARCHABLE = ("enabled", "symbols", "impl", "fast_path")  # fast_path: live only, no backtest reads it
NUMBERS = (int, float, Decimal)


class SpaceError(ValueError):
    """A space that cannot be searched: the message says which parameter and why."""


@dataclass(frozen=True, slots=True)
class Dimension:
    name: str
    values: tuple[Any, ...]  # each already the settings field's type (Decimal, int, bool, time ...)


@dataclass(frozen=True, slots=True)
class Space:
    dimensions: tuple[Dimension, ...]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    @property
    def size(self) -> int:
        return math.prod(len(d.values) for d in self.dimensions)

    def at(self, index: int) -> dict[str, Any]:
        """The `index`-th point of the grid (mixed radix, the last parameter varying fastest)."""
        point: dict[str, Any] = {}
        for d in reversed(self.dimensions):
            index, k = divmod(index, len(d.values))
            point[d.name] = d.values[k]
        return {name: point[name] for name in self.names}

    def grid(self) -> Iterator[dict[str, Any]]:
        return (self.at(i) for i in range(self.size))

    def sample(self, n: int, seed: int) -> list[dict[str, Any]]:
        """`n` distinct points drawn at random (the same `seed`, the same points); the whole grid, in grid
        order, when it has no more than `n` points."""
        if n >= self.size:
            return list(self.grid())
        return [self.at(i) for i in random.Random(seed).sample(range(self.size), n)]


def _number(name: str, key: str, raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise SpaceError(f"{name}: {key} = {raw!r} is not a number")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise SpaceError(f"{name}: {key} = {raw!r} is not a number") from None
    if not value.is_finite():
        raise SpaceError(f"{name}: {key} = {raw!r} is not a finite number")
    return value


def _raw_values(name: str, spec: Any) -> list[Any]:
    """The values a parameter's spec lists (not yet checked against the strategy)."""
    if not isinstance(spec, Mapping):
        raise SpaceError(f"{name}: write {{ values = [...] }} or {{ min = .., max = .., step = .. }}")
    keys = set(spec)
    if keys == {"values"}:
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise SpaceError(f"{name}: values is empty: list at least one value")
        return [Decimal(str(v)) if isinstance(v, float) else v for v in values]
    if keys == {"min", "max", "step"}:
        lo, hi, step = (_number(name, k, spec[k]) for k in ("min", "max", "step"))
        if step <= 0:
            raise SpaceError(f"{name}: step = {spec['step']} must be above 0")
        if hi < lo:
            raise SpaceError(f"{name}: empty range, max {spec['max']} is below min {spec['min']}")
        count = int((hi - lo) // step) + 1
        if count > MAX_VALUES:
            raise SpaceError(f"{name}: {count:,} values from min to max by step; at most {MAX_VALUES:,}")
        return [lo + k * step for k in range(count)]
    unknown = sorted(keys - {"values", "min", "max", "step"})
    said = f"unknown key {', '.join(unknown)}" if unknown else f"only {', '.join(sorted(keys))}"
    raise SpaceError(f"{name}: {said}; write {{ values = [...] }} or {{ min = .., max = .., step = .. }}")


def _checked(name: str, raw: Sequence[Any], model: type[BaseModel]) -> Dimension:
    values: list[Any] = []
    field = model.model_fields[name]
    # The field alone (its type and bounds); how fields relate is checked per set (check_points).
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[field.annotation, field])  # type: ignore[arg-type]
    for v in raw:
        try:
            typed = adapter.validate_python(v)
        except ValidationError as exc:
            why = "; ".join(e["msg"] for e in exc.errors())
            raise SpaceError(f"{name} = {v}: not a valid value ({why})") from None
        if typed in values:
            raise SpaceError(f"{name}: the value {v} is listed twice")
        values.append(typed)
    return Dimension(name, tuple(values))


def parse_flag(text: str) -> tuple[str, dict[str, Any]]:
    """`name=min:max:step` or `name=v1,v2,...` as (name, spec) in the file's shape."""
    name, eq, rest = text.partition("=")
    name, rest = name.strip(), rest.strip()
    if not eq or not name or not rest:
        raise SpaceError(f"--param {text!r}: write NAME=MIN:MAX:STEP or NAME=V1,V2,...")
    parts = rest.split(":")
    if len(parts) == 3 and all(_is_number(p) for p in parts):  # else values (a time such as 10:30 is one)
        return name, dict(zip(("min", "max", "step"), parts, strict=True))
    words = [w.strip() for w in rest.split(",")]
    if not all(words):
        raise SpaceError(f"--param {text!r}: an empty value between commas")
    return name, {"values": [_flag_value(w) for w in words]}


def _is_number(word: str) -> bool:
    try:
        return Decimal(word.strip()).is_finite()
    except InvalidOperation:
        return False


def _flag_value(word: str) -> Any:
    if word.lower() in ("true", "false"):
        return word.lower() == "true"
    return word  # the settings model converts text to its field's type


def read_file(path: Path | str) -> tuple[str | None, dict[str, Any]]:
    """(the file's strategy or None, its parameter specs); SpaceError when it is not a space file."""
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise SpaceError(f"--space {str(path)!r} cannot be read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpaceError(f"--space {str(path)!r}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"strategy", "parameters"})
    if unknown:
        raise SpaceError(f"--space {str(path)!r}: unknown key {', '.join(unknown)} (strategy, [parameters])")
    strategy = data.get("strategy")
    if strategy is not None and not isinstance(strategy, str):
        raise SpaceError(f'--space {str(path)!r}: strategy must be a name, e.g. "overnight_range"')
    params = data.get("parameters", {})
    if not isinstance(params, dict):
        raise SpaceError(f"--space {str(path)!r}: [parameters] must be a table")
    return strategy, params


def build(specs: Mapping[str, Any], model: type[BaseModel]) -> Space:
    """The space of `specs` (name -> spec), each value valid for its field of `model`."""
    if not specs:
        raise SpaceError("no parameters to search: give --space FILE.toml or --param NAME=...")
    fields = [f for f in model.model_fields if f not in NOT_SEARCHABLE]
    dims = []
    for name, spec in specs.items():
        if name not in fields:
            raise SpaceError(f"unknown parameter {name!r}; {model.__name__} has: {', '.join(fields)}")
        if isinstance(spec, Mapping) and "min" in spec and model.model_fields[name].annotation not in NUMBERS:
            raise SpaceError(f"{name} is not a number: list its values, {{ values = [...] }} or {name}=V1,V2")
        dims.append(_checked(name, _raw_values(name, spec), model))
    return Space(tuple(dims))


def check_points(points: Sequence[Mapping[str, Any]], model: type[BaseModel], base: Mapping[str, Any]) -> None:
    """Every point valid as a whole (a model may relate two fields); SpaceError names the first that is not."""
    for p in points:
        try:
            model.model_validate({**base, **p})
        except ValidationError as exc:
            why = "; ".join(e["msg"] for e in exc.errors())
            shown = ", ".join(f"{k}={text(v)}" for k, v in p.items())
            raise SpaceError(f"{shown}: not a valid setting ({why})") from None


def text(value: Any) -> str:
    """A parameter value as the trader wrote it: 1.25, 15, true, 09:30."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "strftime"):
        return str(value.strftime("%H:%M") if value.second == 0 else value.isoformat())
    return str(value)
