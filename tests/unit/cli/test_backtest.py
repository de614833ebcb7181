"""`tradebot backtest` and `tradebot bars import` end to end on a generated scenario day."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path

import numpy as np
import pytest

from tests.support.scenario_days import Scenario, build, random_walk_year
from trading.backtest.bars_csv import load_csv, write_csv
from trading.calendar import trading_day
from trading.cli import main
from trading.marketdata.aggregation import BarArrays
from trading.marketdata.levels import ns

D = date(2025, 6, 11)
LONG_DAY = {
    time(9, 45): (20040.0, 20060.0, 20040.0, 20058.0),
    time(10, 30): (20100.0, 20131.0, 20100.0, 20120.0),
}


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "bars.csv"
    write_csv(path, build(Scenario(D, rth=LONG_DAY)))
    return path


def test_csv_round_trip(csv_file: Path) -> None:
    again = load_csv(csv_file)["MNQ"]
    original = build(Scenario(D, rth=LONG_DAY))["MNQ"]
    assert (again.ts == original.ts).all() and (again.high == original.high).all()


def test_backtest_command_writes_json_and_chart(
    csv_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, chart = tmp_path / "out.json", tmp_path / "equity.png"
    code = main(["backtest", "--strategy", "overnight_range", "--symbol", "MNQ", "--from", "2025-06-11",
                 "--to", "2025-06-11", "--bars", str(csv_file), "--json", str(out), "--chart", str(chart)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "1 trades, net P&L 160.00" in printed and "win rate 100.0%" in printed
    data = json.loads(out.read_text())
    assert [f["price"] for f in data["fills"]] == ["20050.25", "20130.25"]
    assert {"time", "side", "type", "price", "qty", "customTag", "reason"} <= set(data["fills"][0])
    assert data["days"][0]["atrd"] == "40.000000"
    assert chart.read_bytes()[:4] == b"\x89PNG"


def test_backtest_command_refuses_bad_input(csv_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backtest", "--strategy", "nope", "--from", "2025-06-11", "--to", "2025-06-11",
                 "--bars", str(csv_file)]) == 2  # fmt: skip
    assert "unknown strategy 'nope'" in capsys.readouterr().err
    assert main(["backtest", "--symbol", "MES", "--from", "2025-06-11", "--to", "2025-06-11",
                 "--bars", str(csv_file)]) == 1  # fmt: skip
    assert "no 1-minute bars for MES" in capsys.readouterr().err
    assert main(["backtest", "--symbol", "ZZ", "--from", "2025-06-11", "--to", "2025-06-11",
                 "--bars", str(csv_file)]) == 2  # fmt: skip
    assert "no contract spec for ZZ" in capsys.readouterr().err


def test_bars_import_then_backtest_from_the_store(
    csv_file: Path,
    database_url: str,
    store: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TRADEBOT_DATABASE__URL", database_url)
    assert main(["bars", "import", str(csv_file)]) == 0
    assert "imported" in capsys.readouterr().out
    code = main(["backtest", "--symbol", "MNQ", "--from", "2025-06-11", "--to", "2025-06-11"])
    assert code == 0
    assert "1 trades, net P&L 160.00" in capsys.readouterr().out


def test_backtest_impl_rust_and_python_write_the_same_json_byte_for_byte(tmp_path: Path) -> None:
    """`--impl rust` runs the Rust overnight range: on the scenario data (a long day, a whipsaw, a
    no-break day, in one CSV with their history) its --json is the Python one's, byte for byte."""
    days = {
        date(2025, 6, 11): LONG_DAY,
        date(2025, 6, 12): {time(9, 45): (20040.0, 20060.0, 19940.0, 19950.0)},
        date(2025, 6, 13): {},
    }
    path = tmp_path / "days.csv"
    bars = build(Scenario(date(2025, 6, 13), rth=days[date(2025, 6, 13)]))
    for d, script in days.items():
        whole, day = build(Scenario(d, rth=script))["MNQ"], trading_day(d)
        inside = (whole.ts >= ns(day.window_start)) & (whole.ts < ns(day.rth_close))  # that day's own bars
        part = BarArrays(*(getattr(whole, k)[inside] for k in BarArrays._fields))
        keep = ~np.isin(bars["MNQ"].ts, part.ts)
        merged = {k: np.concatenate([getattr(bars["MNQ"], k)[keep], getattr(part, k)]) for k in BarArrays._fields}
        order = np.argsort(merged["ts"], kind="stable")
        bars = {"MNQ": BarArrays(*(merged[k][order] for k in BarArrays._fields))}
    write_csv(path, bars)
    texts = []
    for impl in ("python", "rust"):
        out = tmp_path / f"{impl}.json"
        code = main(["backtest", "--symbol", "MNQ", "--from", "2025-06-11", "--to", "2025-06-13",
                     "--bars", str(path), "--impl", impl, "--json", str(out)])  # fmt: skip
        assert code == 0
        texts.append(out.read_bytes())
    assert texts[0] == texts[1]
    doc = json.loads(texts[1])
    assert len(doc["days"]) == 3 and len(doc["fills"]) >= 3


def test_backtest_impl_rust_matches_python_over_two_months_of_two_symbols_with_every_filter(tmp_path: Path) -> None:
    """Two months of MNQ + MES (a random walk through March and April 2025: DST, state carried from day
    to day, two symbols sharing the account), every filter on: `--impl rust` (the Rust strategy, the
    loop skipping in Rust the bars that change nothing) writes the Python run's --json byte for byte."""
    path, user = tmp_path / "bars.csv", tmp_path / "filters.toml"
    write_csv(path, random_walk_year(["MNQ", "MES"], date(2025, 3, 1), date(2025, 4, 30), seed=11))
    user.write_text(
        "[strategies.overnight_range]\nrange_filter = true\ngap_filter = true\nvolatility_filter = true\n"
        'daily_loss_filter = true\nrange_min = "10"\natr5_min = "1"\n'
    )
    texts = []
    for impl in ("python", "rust"):
        out = tmp_path / f"{impl}.json"
        code = main(["--config", str(user), "backtest", "--symbol", "MNQ", "--symbol", "MES", "--from", "2025-03-01",
                     "--to", "2025-04-30", "--bars", str(path), "--impl", impl, "--json", str(out)])  # fmt: skip
        assert code == 0
        texts.append(out.read_bytes())
    assert texts[0] == texts[1]
    doc = json.loads(texts[1])
    assert len(doc["days"]) > 60 and len(doc["trades"]) > 10
    assert {d["symbol"] for d in doc["days"]} == {"MNQ", "MES"}
