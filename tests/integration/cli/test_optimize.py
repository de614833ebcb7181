"""`tradebot optimize` end to end over a generated bar file: the numbers of a set are the numbers of a
single backtest of that set, in parallel workers; walk-forward and heatmap written; bad input refused
before anything runs (real processes: one line, exit 2, nothing written)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.processes import run_command
from tests.support.scenario_days import random_walk_year
from trading.backtest.bars_csv import write_csv
from trading.backtest.report import report
from trading.backtest.runner import run_backtest
from trading.cli import main
from trading.config import load_settings
from trading.optimize.pool import schedule_for
from trading.strategies import create

START, END = date(2025, 1, 2), date(2025, 3, 31)
NEVER_DB = "postgresql://nobody@127.0.0.1:1/never"
EXAMPLE_SPACE = Path(__file__).parents[3] / "config" / "optimize" / "overnight_range.toml"


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("optimize") / "bars.csv"
    write_csv(path, random_walk_year(["MNQ"], START, END))
    return path


def _single_backtest(bars_file: Path, stop_atr_mult: str, target_atrd_mult: str) -> dict[str, object]:
    """The report total of one plain backtest of a set, built as `tradebot backtest` builds it."""
    from trading.backtest.bars_csv import load_csv

    settings = load_settings()
    section = settings.strategies.overnight_range.model_copy(update={
        "symbols": ("MNQ",), "stop_atr_mult": Decimal(stop_atr_mult), "target_atrd_mult": Decimal(target_atrd_mult),
    })  # fmt: skip
    strategies = settings.strategies.model_copy(update={"overnight_range": section})
    result = run_backtest(
        lambda ctx: create("overnight_range", strategies, ctx), load_csv(bars_file), START, END,
        risk=settings.risk, settings=settings.backtest, schedule=schedule_for(section),
    )  # fmt: skip
    total: dict[str, object] = report(result)["total"]
    return total


def test_a_grid_in_two_workers_gives_the_single_backtests_numbers(
    bars_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, chart = tmp_path / "opt.json", tmp_path / "heatmap.png"
    code = main(["optimize", "--bars", str(bars_file), "--symbol", "MNQ", "--from", str(START), "--to", str(END),
                 "--param", "stop_atr_mult=1.0:2.0:1.0", "--param", "target_atrd_mult=1.5,3",
                 "--walk-forward", "1:1", "--jobs", "2", "--json", str(out), "--chart", str(chart)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "overnight_range MNQ 2025-01-02 to 2025-03-31: 4 parameter sets (grid of 4), 2 workers" in printed
    doc = json.loads(out.read_text())
    assert doc["sets"] == 4 and len(doc["results"]) == 4 and [r["rank"] for r in doc["results"]] == [1, 2, 3, 4]
    nets = [Decimal(r["net_pnl"]) for r in doc["results"]]
    assert nets == sorted(nets, reverse=True)
    assert all(r["trades"] for r in doc["results"])
    for r in doc["results"]:
        total = _single_backtest(bars_file, r["params"]["stop_atr_mult"], r["params"]["target_atrd_mult"])
        assert {k: r[k] for k in ("trades", "net_pnl", "profit_factor", "max_drawdown")} == {
            k: total[k] for k in ("trades", "net_pnl", "profit_factor", "max_drawdown")
        }, r["params"]
    wf = doc["walk_forward"]
    assert [(w["in_sample"]["from"], w["out_of_sample"]["from"]) for w in wf["windows"]] == [
        ("2025-01-02", "2025-02-02"), ("2025-02-02", "2025-03-02"),
    ]  # fmt: skip
    oos = sum((Decimal(w["out_of_sample"]["net_pnl"]) for w in wf["windows"]), Decimal(0))
    assert Decimal(wf["summary"]["oos_net_pnl"]) == oos
    assert "efficiency (OOS net per day / IS net per day)" in printed
    assert chart.read_bytes()[:4] == b"\x89PNG"


def test_one_worker_and_two_agree(bars_file: Path, tmp_path: Path) -> None:
    docs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"opt{jobs}.json"
        assert main(["optimize", "--bars", str(bars_file), "--symbol", "MNQ", "--from", "2025-02-03", "--to",
                     "2025-02-28", "--param", "breakeven_points=5,15,25", "--metric", "dd", "--jobs", jobs,
                     "--json", str(out)]) == 0  # fmt: skip
        docs.append(json.loads(out.read_text())["results"])
    assert docs[0] == docs[1]
    dds = [Decimal(r["max_drawdown"]) for r in docs[0] if r["trades"]]
    assert dds == sorted(dds)


async def _optimize(*argv: str) -> tuple[int, str, str]:
    return await run_command("trading.cli", "optimize", *argv, TRADEBOT_DATABASE__URL=NEVER_DB)


@pytest.mark.parametrize(("argv", "says"), [
    (["--param", "bogus=1,2"], "unknown parameter 'bogus'; OvernightRangeSettings has:"),
    (["--param", "stop_atr_mult=2:1:0.5"], "stop_atr_mult: empty range, max 1 is below min 2"),
    (["--param", "min_stop_ticks=0,4"], "min_stop_ticks = 0: not a valid value"),
    (["--param", "stop_atr_mult=1,2", "--walk-forward", "6"], "--walk-forward '6': write IS:OOS"),
    (["--param", "stop_atr_mult=1,2", "--walk-forward", "6:1"], "is shorter than 6 months in sample"),
    (["--param", "stop_atr_mult=1,2", "--chart", "h.png"], "a heatmap needs two parameters"),
    (["--param", "stop_atr_mult=1,2", "--param", "offset=1,2", "--chart", "h.png", "--heatmap", "offset,atr"],
     "--heatmap: 'atr' is not a searched parameter"),
    (["--param", "stop_atr_mult=1,2", "--heatmap", "a,b"], "--heatmap names the axes of the --chart picture"),
    (["--param", "stop_atr_mult=1,2", "--strategy", "nope"], "unknown strategy 'nope'"),
    (["--param", "stop_atr_mult=1,2", "--impl", "cobol"], "--impl 'cobol': one of python, rust"),
    (["--param", "stop_atr_mult=0:1000:0.001"], "at most 10,000"),
    ([], "no parameters to search"),
    (["--param", "stop_atr_mult=1,2", "--samples", "5"], "--samples and --seed are for --search random"),
])  # fmt: skip
async def test_bad_input_is_refused_before_anything_runs(
    bars_file: Path, tmp_path: Path, argv: list[str], says: str
) -> None:
    out = tmp_path / "never.json"
    code, printed, err = await _optimize("--bars", str(bars_file), "--from", "2025-02-03", "--to", "2025-02-28",
                                         "--json", str(out), *argv)  # fmt: skip
    assert code == 2 and printed == "", err
    assert err.startswith("error: ") and says in err and "Traceback" not in err
    assert not out.exists()


async def test_a_bad_space_file_is_refused(bars_file: Path, tmp_path: Path) -> None:
    space = tmp_path / "space.toml"
    space.write_text("[parameters]\nstop_atr_mult = { min = 1, max = \n")
    code, _, err = await _optimize("--bars", str(bars_file), "--from", "2025-02-03", "--to", "2025-02-28",
                                   "--space", str(space))  # fmt: skip
    assert code == 2 and "not valid TOML" in err


async def test_the_example_space_runs_in_a_pipe_without_progress_frames(bars_file: Path) -> None:
    code, out, err = await _optimize("--bars", str(bars_file), "--symbol", "mnq", "--from", "2025-03-03", "--to",
                                     "2025-03-07", "--space", str(EXAMPLE_SPACE),
                                     "--search", "random", "--samples", "3", "--seed", "5", "--top", "3")  # fmt: skip
    assert code == 0, err
    assert "3 parameter sets (random sample (seed 5) of 90)" in out
    assert "\r" not in err and "set/s" not in err
