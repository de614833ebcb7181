"""`tradebot run` stays honest: live mode without credentials is a clear error, nothing starts."""

from __future__ import annotations

import pytest

from trading.cli import main


def test_live_run_without_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRADEBOT_PROJECTX__USERNAME", raising=False)
    monkeypatch.delenv("TRADEBOT_PROJECTX__API_KEY", raising=False)
    monkeypatch.setenv("TRADEBOT_DATABASE__URL", "postgresql://nobody@127.0.0.1:1/never")  # never reached
    assert main(["run", "--live"]) == 2
    err = capsys.readouterr().err
    assert "live mode needs projectx.username and projectx.api_key" in err
    assert "tradebot run --paper" in err


def test_a_simulated_clock_needs_a_time_zone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--paper", "--clock-start", "2026-02-10T09:30:00"]) == 2
    assert "time zone" in capsys.readouterr().err
