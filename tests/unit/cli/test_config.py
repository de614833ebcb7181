"""`tradebot config check`, `version` and `--help` on every command."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trading.cli import EXIT_CONFIG, build_parser, main

SECRET = "sekrit-do-not-print-91c2"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("TRADEBOT_") and name not in ("TRADEBOT_TEST_DATABASE_URL", "TRADEBOT_HOME"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_config_check_prints_the_configuration_with_secrets_masked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEBOT_DISCORD__TOKEN", SECRET)
    monkeypatch.setenv("TRADEBOT_DATABASE__URL", f"postgresql://trader:{SECRET}@db:5432/tradebot")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    assert '"token": "********"' in out and '"max_order_size": 5' in out


def test_config_check_exits_non_zero_with_one_line_per_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    user = tmp_path / "bad.toml"
    user.write_text(f'[risk]\nmax_order_size = "lots"\n[discord]\ntoken = ["{SECRET}"]\n')
    assert main(["--config", str(user), "config", "check"]) == EXIT_CONFIG
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert lines[0] == "invalid configuration:"
    assert f"  - {user}: risk.max_order_size: " in captured.err and "(got 'lots')" in captured.err
    assert f"  - {user}: discord.token: " in captured.err
    assert SECRET not in captured.err


def test_config_check_lists_the_news_windows_and_names_a_bad_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    news = tmp_path / "news.toml"
    news.write_text('[[event]]\nname = "CPI"\ndate = 2026-02-11\ntime = "08:30"\nminutes_after = 15\n')
    monkeypatch.setenv("TRADEBOT_BLACKOUT__FILE", str(news))
    assert main(["config", "check"]) == 0
    assert "CPI: Wed 2026-02-11 08:30 ET, window 08:25–08:45 ET" in capsys.readouterr().out
    news.write_text('[[event]]\nname = "CPI"\ndate = 2026-02-11\ntime = "08:30Z"\n')
    assert main(["config", "check"]) == EXIT_CONFIG
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"  - blackout.file {news}: event 1 (CPI on 2026-02-11): time '08:30Z' carries an offset" in captured.err


def test_version_says_which_path_is_active(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TRADEBOT_RUST", "0")
    assert main(["version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tradebot ") and "execution path: python" in out


def _leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _leaf_commands(child, (*prefix, name))
    return found


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _leaf_commands(build_parser())
    assert {
        ("config", "check"), ("db", "migrate"), ("db", "status"), ("version",), ("demo",), ("run",), ("sim",),
        ("backtest",), ("optimize",), ("bars", "import"), ("bars", "backfill"), ("status",), ("flatten",),
        ("halt",), ("resume",),
    } <= set(commands)  # fmt: skip
    for command in commands:
        with pytest.raises(SystemExit) as exited:
            main([*command, "--help"])
        assert exited.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(" ".join(("usage: tradebot", *command))), out


def test_the_command_line_help_lists_every_group() -> None:
    """`tradebot --help` in a fresh process (what a user types first)."""
    done = subprocess.run(
        [sys.executable, "-m", "trading.cli", "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split("positional arguments:")[1]
    for group in ("version", "config", "db", "demo", "run", "sim", "backtest", "optimize", "bars", "status", "flatten",
                  "halt"):  # fmt: skip
        assert f"\n    {group} " in listed, group


def test_config_check_refuses_what_the_run_would_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Live mode without credentials (as `run --live` refuses), a symbol the gateway does not list, a
    time zone tradebot would not honour: each an error, before anything runs."""
    live = tmp_path / "live.toml"
    live.write_text('[app]\nmode = "live"\n')
    assert main(["--config", str(live), "config", "check"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "app.mode = 'live': live mode needs projectx.username and projectx.api_key" in err
    symbols = tmp_path / "symbols.toml"
    symbols.write_text('[strategies.overnight_range]\nsymbols = ["MNQ", "ZZQ"]\n')
    assert main(["--config", str(symbols), "config", "check"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "strategies.overnight_range.symbols: ZZQ is not a contract the simulator lists" in err
    assert "MNQ" not in err
    mars = tmp_path / "mars.toml"
    mars.write_text('[app]\ntimezone = "Mars/Olympus"\n')
    assert main(["--config", str(mars), "config", "check"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "app.timezone = 'Mars/Olympus' is not supported: every time a trader reads is New York time (ET)" in err


def test_retired_settings_load_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.toml"
    old.write_text('[app]\ntimezone = "America/New_York"\n[notifications]\nmax_attempts = 8\n')
    assert main(["--config", str(old), "config", "check"]) == 0
    captured = capsys.readouterr()
    assert "note: " in captured.err and "app.timezone is no longer a setting" in captured.err
    assert "notifications.max_attempts is no longer a setting" in captured.err
    assert '"timezone"' not in captured.out and '"max_attempts"' not in captured.out


def test_every_setting_is_read_somewhere() -> None:
    """A setting nothing reads is a lie to the trader who sets it: each leaf name of the settings is
    read as an attribute somewhere in trading/ or bot/ outside trading/config.py."""
    import re

    from pydantic import BaseModel

    from trading.config import Settings

    root = Path(__file__).resolve().parents[3]
    files = [*root.joinpath("trading").rglob("*.py"), *root.joinpath("bot").rglob("*.py")]
    settings_module = root / "trading" / "config.py"
    source = "\n".join(p.read_text() for p in files if p != settings_module)
    # attribute reads count in trading/config.py too (a setting one validator reads), its definitions do not
    source += "\n" + "\n".join(re.findall(r"\.\w+", settings_module.read_text()))

    def leaves(model: type[BaseModel], prefix: str) -> list[tuple[str, str]]:
        out = []
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                out += leaves(ann, f"{prefix}{name}.")
            else:
                out.append((prefix + name, name))
        return out

    unread = [full for full, name in leaves(Settings, "") if not re.search(rf"\.{name}\b|\"{name}\"", source)]
    assert unread == []
