"""The heatmap of a search: the chosen metric over two of its parameters.

Choice: where the space has more than the two parameters, each cell shows the best value any tried set
with that pair reached (the other parameters at their best for that pair), and the title says so; a
pair no set tried stays blank.
"""

from __future__ import annotations

from pathlib import Path

from trading.charts.heatmap import heatmap_figure
from trading.charts.pnl import dollars
from trading.charts.style import RENDER
from trading.optimize.metrics import METRICS, Metric
from trading.optimize.search import Outcome
from trading.optimize.space import Space, SpaceError, text


def axes(space: Space, asked: str | None) -> tuple[str, str]:
    """The two parameters of `--heatmap A,B` (A across, B up), else the space's first two."""
    names = space.names
    if asked is None:
        if len(names) < 2:
            raise SpaceError("a heatmap needs two parameters; the space has one: search two, or leave --chart out")
        return names[0], names[1]
    parts = [p.strip() for p in asked.split(",")]
    if len(parts) != 2 or parts[0] == parts[1] or not all(parts):
        raise SpaceError(f"--heatmap {asked!r}: name two different parameters, e.g. stop_atr_mult,target_atrd_mult")
    for p in parts:
        if p not in names:
            raise SpaceError(f"--heatmap: {p!r} is not a searched parameter ({', '.join(names)})")
    return parts[0], parts[1]


def cells(outcome: Outcome, space: Space, x: str, y: str, metric: Metric) -> list[list[float | None]]:
    xs = next(d.values for d in space.dimensions if d.name == x)
    ys = next(d.values for d in space.dimensions if d.name == y)
    grid: list[list[float | None]] = [[None] * len(xs) for _ in ys]
    for p, e in zip(outcome.sets, outcome.evaluations, strict=True):
        r, c = ys.index(p[y]), xs.index(p[x])
        v = e.whole.value(metric)
        if e.whole.trades == 0:
            continue
        old = grid[r][c]
        grid[r][c] = v if old is None else max(old, v)
    if metric == "dd":  # ranked negated; drawn as the amount
        grid = [[None if v is None else -v for v in row] for row in grid]
    return grid


def write(path: Path | str, outcome: Outcome, space: Space, x: str, y: str, metric: Metric, title: str) -> None:
    xs = next(d.values for d in space.dimensions if d.name == x)
    ys = next(d.values for d in space.dimensions if d.name == y)
    others = [n for n in space.names if n not in (x, y)]
    if others:
        title += f"\n(best over {', '.join(others)})"
    fig = heatmap_figure(
        title,
        (x, [text(v) for v in xs]),
        (y, [text(v) for v in ys]),
        cells(outcome, space, x, y, metric),
        metric=METRICS[metric],
        fmt=dollars if metric in ("net", "dd") else (lambda v: f"{v:.2f}"),
        higher_is_better=metric != "dd",
        center={"net": 0.0, "pf": 1.0, "ratio": 0.0}.get(metric),
    )
    with RENDER:
        fig.savefig(path, dpi=100, bbox_inches="tight")
