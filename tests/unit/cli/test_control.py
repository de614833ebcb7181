"""`tradebot status|flatten|halt|resume`: bad arguments are one clear line and a non-zero exit before
anything is opened (no database, no broker); what a trader reads is in New York time, prices on the grid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from trading.cli import main
from trading.cli.control import render_result, render_status
from trading.domain import Contract
from trading.engine.openbook import left_open_lines, order_line, price_text

NOWHERE = "postgresql://nobody@127.0.0.1:1/never"  # a command that got past its checks would fail on it


@pytest.fixture(autouse=True)
def no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADEBOT_DATABASE__URL", NOWHERE)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["flatten", "--timeout", "0"], "--timeout must be between 0 and 600 seconds, got 0"),
        (["halt", "--timeout", "-5"], "--timeout must be between 0 and 600 seconds"),
        (["status", "--timeout", "601"], "--timeout must be between 0 and 600 seconds"),
        (["halt", "--reason", "x" * 201], "--reason is 201 characters long; at most 200"),
        (["resume", "--account", " "], "--account is empty"),
        (["flatten", "--live", "--sim-url", "http://127.0.0.1:1"], "--sim-url is for the simulator"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [captured.err.strip()]
    assert captured.err.startswith("error: ") and said in captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["halt", "--paper", "--live"],  # one gateway at a time
        ["resume", "--reason", "why"],  # resume takes no reason
        ["status", "--reduce-only"],  # only halt has it
        ["flatten", "--timeout", "soon"],
    ],
)
def test_argument_errors_of_the_parser_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_live_without_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRADEBOT_PROJECTX__USERNAME", raising=False)
    monkeypatch.delenv("TRADEBOT_PROJECTX__API_KEY", raising=False)
    assert main(["flatten", "--live"]) == 2
    assert "the live account needs projectx.username and projectx.api_key" in capsys.readouterr().err


MNQ = Contract("CON.F.US.MNQ.H26", "MNQH6", "F.US.MNQ", "Micro Nasdaq", Decimal("0.25"), Decimal("0.5"))


def test_prices_are_written_on_the_tick_grid() -> None:
    assert price_text(Decimal("21000.3"), MNQ) == "21000.25"
    assert price_text(Decimal("21000"), MNQ) == "21000.00"
    assert price_text(None, MNQ) is None


def test_an_order_line_names_its_prices() -> None:
    stop_limit = {"id": 5, "symbol": "MES", "side": "buy", "size": 2, "type": "stop_limit", "stop_price": "6001.00",
                  "limit_price": "6001.25", "bracket_of": None, "tag": "manual:1"}  # fmt: skip
    assert order_line(stop_limit) == "#5 MES buy 2 stop-limit stop 6001.00 limit 6001.25 [manual:1]"
    market = {**stop_limit, "type": "market", "stop_price": None, "limit_price": None, "tag": None}
    assert order_line(market) == "#5 MES buy 2 market"


def status(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "account_id": 465, "mode": "paper", "as_of_ny": "2026-02-10 09:31:00 New York", "ready": True,
        "instance": {"host": "box", "pid": 42, "started_ny": "2026-02-10 09:20:00 New York", "age_s": 1.25},
        "standby": [{"host": "box2", "pid": 43, "age_s": 0.5}],
        "hubs": {"user": "connected", "market": "connected", "feed_age_s": 2.0,
                 "last_market_event_ny": "2026-02-10 09:30:58 New York"},
        "risk": {"kill_switch": "reduce_only", "reason": "CPI", "balance": "50010", "day_pnl": "-40",
                 "unrealized": "-50", "daily_loss_limit": "1000", "daily_loss_left": "960",
                 "trailing_floor": "48000", "trailing_left": "2010"},
        "positions": [{"symbol": "MNQ", "side": "long", "size": 1, "average_price": "21000.25", "last": "21000.00",
                       "unrealized": "-0.50"}],
        "orders": [{"id": 9, "symbol": "MNQ", "side": "sell", "size": 1, "type": "stop", "limit_price": None,
                    "stop_price": "20990.00", "bracket_of": 7, "tag": None}],
        "next_jobs": [{"job": "last_entry", "at_ny": "2026-02-10 11:00:00 New York"}],
        "strategies": [{"name": "overnight_range"}],
    }  # fmt: skip
    return {**base, **over}


def test_status_reads_as_plain_text() -> None:
    text = "\n".join(render_status(status()))
    assert "account 465 (paper), as of 2026-02-10 09:31:00 New York" in text
    assert "instance: box pid 42, active since 2026-02-10 09:20:00 New York; status 1.2 s old" in text
    assert "standby: box2 pid 43 (seen 0.5 s ago)" in text
    assert "last market event 2026-02-10 09:30:58 New York (2.0 s ago)" in text
    assert "kill switch: REDUCE_ONLY (CPI)" in text
    assert "daily loss limit 1000, 960 left; trailing floor 48000, 2010 above it" in text
    assert "  MNQ long 1 @ 21000.25, last 21000.00, unrealized -0.50" in text
    assert "  #9 MNQ sell 1 stop 20990.00 (bracket of #7)" in text
    assert "next jobs: last_entry 2026-02-10 11:00:00 New York" in text


def test_status_without_an_instance_says_so() -> None:
    text = "\n".join(render_status(status(instance=None, standby=[], hubs=None, positions=[], orders=[])))
    assert "instance: none runs this account; read from the broker and the store" in text
    assert "standby" not in text and "hubs" not in text
    assert "positions: none" in text and "working orders: none" in text


def test_results_say_what_was_done_and_by_whom() -> None:
    flat: dict[str, list[Any]] = {"cancelled": [], "closed": [], "errors": []}
    lines = render_result({"request": "flatten", "account_id": 465, "flattened": flat, "via": "the broker"})
    assert lines == ["nothing to flatten: no working order, no position", "done by the broker"]
    done = {"cancelled": [3, 4], "closed": ["CON.F.US.MNQ.H26"], "errors": ["cancel #5: gone"]}
    risk = {"reason": "news"}
    lines = render_result({"request": "halt", "account_id": 465, "risk": risk, "flattened": done, "via": "x"})
    assert lines[0] == "account 465 halted (news): no new orders until `tradebot resume`"
    assert "cancelled 2 order(s): #3, #4" in lines and "closed 1 position(s): CON.F.US.MNQ.H26" in lines
    assert "failed: cancel #5: gone" in lines


def test_what_stays_open_when_the_engine_stops() -> None:
    book = {"positions": status()["positions"], "orders": status()["orders"]}
    lines = left_open_lines(book, "tradebot flatten --paper --sim-url http://sim")
    assert lines[1:3] == ["  position MNQ long 1 @ 21000.25, last 21000.00, unrealized -0.50",
                          "  order #9 MNQ sell 1 stop 20990.00 (bracket of #7)"]  # fmt: skip
    assert "the bracket orders stay working at the broker" in lines[3]
    assert lines[-1] == "to cancel every order and close every position: tradebot flatten --paper --sim-url http://sim"
    assert left_open_lines({"positions": [], "orders": []}, "x") == [
        "nothing stays open at the broker: no position, no working order"
    ]
