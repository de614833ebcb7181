"""`tradebot backtest` refuses bad input before it runs (one line, exit 2, nothing written), takes symbols
in any case, and writes no progress frames into a pipe: real processes."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from tests.support.processes import run_command
from tests.support.scenario_days import Scenario, build
from trading.backtest.bars_csv import write_csv

D = date(2025, 6, 11)
NEVER_DB = "postgresql://nobody@127.0.0.1:1/never"  # a refused command never gets that far


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "bars.csv"
    write_csv(path, build(Scenario(D, rth={time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0)})))
    return path


async def _backtest(*argv: str) -> tuple[int, str, str]:
    return await run_command("trading.cli", "backtest", *argv, TRADEBOT_DATABASE__URL=NEVER_DB)


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--from", "2025-13-01", "--to", "2025-06-11"], "--from '2025-13-01' is not a date: write it as YYYY-MM-DD"),
        (["--from", "2025-06-11", "--to", "June"], "--to 'June' is not a date"),
        (["--from", "2025-06-12", "--to", "2025-06-11"], "--to is before --from"),
        (["--from", "2025-06-11", "--to", "2025-06-11", "--chart", "/no/such/folder/equity.png"],
         "--chart '/no/such/folder/equity.png' cannot be written (No such file or directory)"),
        (["--from", "2025-06-11", "--to", "2025-06-11", "--chart", "equity.txt"], "the file name must end in"),
        (["--from", "2025-06-11", "--to", "2025-06-11", "--json", "/no/such/folder/out.json"],
         "--json '/no/such/folder/out.json' cannot be written"),
        (["--from", "2025-06-11", "--to", "2025-06-11", "--tz", "America/New_York"], "--tz is for the timestamps"),
        (["--from", "2025-06-11", "--to", "2025-06-11", "--bars", "x.csv", "--tz", "Mars/Olympus"],
         "--tz 'Mars/Olympus' is not a time zone"),
    ],
)  # fmt: skip
async def test_bad_input_is_refused_before_the_run(argv: list[str], says: str) -> None:
    code, out, err = await _backtest(*argv)
    assert code == 2 and out == "", err
    assert err.startswith("error: ") and says in err and "Traceback" not in err


async def test_a_folder_as_chart_is_refused_and_left_alone(tmp_path: Path, csv_file: Path) -> None:
    code, _, err = await _backtest("--from", "2025-06-11", "--to", "2025-06-11", "--bars", str(csv_file),
                                   "--chart", str(tmp_path))  # fmt: skip
    assert code == 2 and "is a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bars.csv"]  # noqa: ASYNC240 (a test's own folder)


async def test_lower_case_symbol_runs_without_progress_frames_in_a_pipe(csv_file: Path, tmp_path: Path) -> None:
    chart = tmp_path / "equity.png"
    code, out, err = await _backtest("--symbol", "mnq", "--from", "2025-06-11", "--to", "2025-06-11",
                                     "--bars", str(csv_file), "--chart", str(chart))  # fmt: skip
    assert code == 0, err
    assert "MNQ 2025-06-11 to 2025-06-11: 1 trades" in out
    assert "\r" not in err and "day/s" not in err
    assert chart.read_bytes()[:4] == b"\x89PNG"


async def test_the_report_prints_the_trades_and_the_results_with_the_costs_asked(
    csv_file: Path, tmp_path: Path
) -> None:
    out_json = tmp_path / "out.json"
    costs = ["--fees", "0.37", "--slippage-ticks", "1", "--json", str(out_json)]
    code, out, err = await _backtest("--symbol", "MNQ", "--from", "2025-06-11", "--to", "2025-06-11", "--bars",
                                     str(csv_file), *costs)  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    assert "fills: fees $0.37 per contract per side, slippage 1 ticks on stop and market fills" in lines
    head = next(i for i, line in enumerate(lines) if line.startswith("entry ET"))
    assert lines[head + 1].split()[:5] == ["2025-06-11", "09:45", "15:55", "MNQ", "long"]
    total = next(line for line in lines if line.startswith("total"))
    assert total.split()[1] == "1" and "$0.74" in total  # one trade, two sides of fees
    import json

    rep = json.loads(out_json.read_text())["report"]
    assert rep["total"]["fees"] == "0.74" and rep["by_symbol"]["MNQ"]["trades"] == 1


@pytest.mark.parametrize(("flag", "value", "says"), [
    ("--fees", "-1", "must be between 0 and 1000 dollars"), ("--fees", "lots", "is not an amount in dollars"),
    ("--slippage-ticks", "1.5", "is not a whole number of ticks"),
])  # fmt: skip
async def test_bad_costs_are_refused(flag: str, value: str, says: str) -> None:
    code, out, err = await _backtest("--from", "2025-06-11", "--to", "2025-06-11", flag, value)
    assert code == 2 and says in err and out == ""
