"""A test still running long after it should have ended gets the stacks of every asyncio task of the
run's event loop written to stderr (shown in its failure report), and its own task cancelled, before
pytest-timeout would fail it.

pytest-timeout prints the threads' stacks, which for an async test only ever show the event loop idle
in `select`: what a hang is waiting for lives in the task stacks. And its SIGALRM is no reliable end
for an async test: the `Failed` it raises lands in whatever the loop runs at that instant, and when
that is another task's step or a callback, asyncio stores or logs it and the test waits on, with no
second alarm (a CI run hung that way for an hour). Cancelling the test's task ends it the way
asyncio ends anything: its `async with` blocks unwind (engines stopped, simulators closed, pools
closed within their bound) and the test fails with CancelledError, naming the hang.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import threading

# under pytest-timeout's 300 s, so the report lands in the failing test's output
REPORT_AFTER_S = float(os.environ.get("TRADEBOT_HANG_REPORT_S", "240"))


def _write_tasks(loop: asyncio.AbstractEventLoop, test: str) -> None:
    out = io.StringIO()
    out.write(f"\n=== {test} still running after {REPORT_AFTER_S:.0f} s: asyncio tasks ===\n")
    for task in asyncio.all_tasks(loop):
        out.write(f"--- {task!r}\n")
        task.print_stack(limit=25, file=out)
    sys.stderr.write(out.getvalue())
    sys.stderr.flush()
    name = test.split("::")[-1].split("[")[0]
    for task in asyncio.all_tasks(loop):
        if getattr(task.get_coro(), "__name__", None) == name:
            task.cancel(f"{test} still running after {REPORT_AFTER_S:.0f} s: cancelled by tests/support/hang_report.py")


class HangReport:
    """Arm before a test runs, disarm after; fires at most once per test."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._timer: threading.Timer | None = None

    def arm(self, test: str) -> None:
        self.disarm()

        def fire() -> None:
            loop = self.loop  # set by the run's first async fixture, maybe after this test was armed
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(_write_tasks, loop, test)

        self._timer = threading.Timer(REPORT_AFTER_S, fire)
        self._timer.daemon = True
        self._timer.start()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


HANGS = HangReport()
