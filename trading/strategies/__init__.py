"""Strategies by name: `create("overnight_range", settings.strategies, ctx)`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from trading.strategies.base import Strategy, StrategyContext
from trading.strategies.ema_cross import EmaCross
from trading.strategies.native import RustOvernightRange
from trading.strategies.overnight_range import OvernightRange

STRATEGIES: dict[str, type[Strategy[Any]]] = {cls.name: cls for cls in (OvernightRange, EmaCross)}
OvernightRange.implementations["rust"] = RustOvernightRange  # `strategies.overnight_range.impl = "rust"`


def create(name: str, strategies_settings: BaseModel, ctx: StrategyContext) -> Strategy[Any]:
    """Instantiate strategy `name` with its validated `[strategies.<name>]` section."""
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}") from None
    return cls(cls.config_from(getattr(strategies_settings, name)), ctx)
