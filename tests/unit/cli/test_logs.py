"""Logging: -v/-q on every command, New York time on every line, the run's rotating file, quiet libraries."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from trading.cli import build_parser
from trading.cli.logs import LOG_FILE, configure, level_of, tail


def test_every_command_takes_v_and_q() -> None:
    parser = build_parser(plugins=True)
    backfill = ["bars", "backfill", "--sim", "--symbol", "MNQ"]
    backtest = ["backtest", "--from", "2025-01-01", "--to", "2025-01-31"]
    for argv in (["run"], ["demo"], ["sim"], ["config", "check"], ["db", "migrate"], backfill, ["status"], ["version"],
                 backtest):  # fmt: skip
        args = parser.parse_args([*argv, "-vv"])
        assert args.verbose == 2, argv
        assert parser.parse_args([*argv, "-q"]).quiet == 1, argv


def test_levels_move_with_v_and_q_and_stop_at_the_ends() -> None:
    assert level_of("WARNING", 0) == logging.WARNING
    assert level_of("WARNING", 1) == logging.INFO and level_of("WARNING", 5) == logging.DEBUG
    assert level_of("INFO", -1) == logging.WARNING and level_of("INFO", -9) == logging.ERROR


def test_the_log_file_has_new_york_time_and_no_library_chatter(tmp_path: Path) -> None:
    path = configure("INFO", 0, tmp_path / "logs")
    try:
        assert path == tmp_path / "logs" / LOG_FILE
        logging.getLogger("trading.engine").info("engine running")
        logging.getLogger("apscheduler.scheduler").info("Adding job tentatively -- it will be properly scheduled")
        logging.getLogger("discord.client").warning("PyNaCl is not installed, voice will NOT be supported")
        logging.getLogger("discord.client").warning("a real discord warning")
        for h in logging.getLogger().handlers:
            h.flush()
        lines = tail(tmp_path / "logs", 50)
        assert len(lines) == 2, lines
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ET INFO trading.engine: engine running$", lines[0])
        assert lines[1].endswith("WARNING discord.client: a real discord warning")
    finally:
        configure("WARNING", 0)


def test_the_file_rotates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("trading.cli.logs.LOG_BYTES", 2_000)
    configure("INFO", 0, tmp_path)
    try:
        for i in range(200):
            logging.getLogger("trading.test").info("line %d %s", i, "x" * 40)
        names = sorted(p.name for p in tmp_path.iterdir())
        assert names[0] == LOG_FILE and f"{LOG_FILE}.1" in names and len(names) <= 6
        assert tail(tmp_path, 1)[0].endswith(f"line 199 {'x' * 40}")
    finally:
        configure("WARNING", 0)


def test_no_file_no_tail(tmp_path: Path) -> None:
    assert tail(tmp_path / "none", 10) == []


def test_a_hosts_handlers_stay_and_a_closed_stream_is_never_written(capsys: pytest.CaptureFixture[str]) -> None:
    """Configured inside another program (a test run): its handlers stay, and ours writes to whatever
    stderr is at the time, never to one closed since."""
    host = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(host)
    try:
        configure("WARNING", 0)
        configure("INFO", 0)
        assert host in root.handlers
        assert sum(1 for h in root.handlers if getattr(h, "_tradebot", False)) == 1
        logging.getLogger("trading.test").warning("to the stderr of now")
        assert "to the stderr of now" in capsys.readouterr().err
    finally:
        root.removeHandler(host)
        configure("WARNING", 0)
