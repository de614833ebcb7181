"""The hang report names what a stuck test's tasks are waiting for (and stays quiet when disarmed)."""

from __future__ import annotations

import asyncio

import pytest

from tests.support import hang_report
from tests.support.conditions import eventually


async def _stuck_here(never: asyncio.Event) -> None:
    await never.wait()


async def test_a_stuck_task_is_reported_with_its_stack(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(hang_report, "REPORT_AFTER_S", 0.05)
    report = hang_report.HangReport()
    report.loop = asyncio.get_running_loop()
    never = asyncio.Event()
    stuck = asyncio.create_task(_stuck_here(never), name="stuck-one")
    seen = ""

    def reported() -> bool:
        nonlocal seen
        seen += capsys.readouterr().err
        return "stuck-one" in seen

    try:
        report.arm("tests/x.py::test_y")
        await eventually(reported, "the hang report")
        assert "tests/x.py::test_y still running" in seen and "_stuck_here" in seen and "never.wait()" in seen
    finally:
        report.disarm()
        stuck.cancel()


async def test_a_disarmed_report_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    report = hang_report.HangReport()
    report.loop = asyncio.get_running_loop()
    report.arm("tests/x.py::test_y")
    timer = report._timer
    assert timer is not None and timer.is_alive()
    report.disarm()
    timer.join()  # a cancelled timer ends without calling its function
    await asyncio.sleep(0)  # a report it had scheduled would run on this turn of the loop
    assert report._timer is None and "still running" not in capsys.readouterr().err
