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


async def test_stuck_test(never: asyncio.Event) -> None:
    await never.wait()


test_stuck_test.__test__ = False  # type: ignore[attr-defined]  # not collected: the stuck test of the next one


async def test_the_stuck_tests_own_task_is_cancelled_and_no_other() -> None:
    """The report cancels the task running the named test (its `async with` blocks then unwind) and
    leaves every other task alone: pytest-timeout's alarm cannot be relied on to end an async test."""
    loop = asyncio.get_running_loop()
    never = asyncio.Event()
    stuck = asyncio.create_task(test_stuck_test(never))
    bystander = asyncio.create_task(_stuck_here(never))
    await asyncio.sleep(0)
    try:
        hang_report._write_tasks(loop, "tests/x.py::test_stuck_test[rust-path]")
        await asyncio.wait({stuck}, timeout=30)  # a liveness bound: the cancel lands on the next turn
        assert stuck.cancelled()
        assert not bystander.done()
    finally:
        bystander.cancel()
