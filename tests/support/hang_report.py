"""A test still running long after it should have ended gets the stacks of every asyncio task of the
run's event loop written to stderr (shown in its failure report), before pytest-timeout fails it.

pytest-timeout prints the threads' stacks, which for an async test only ever show the event loop idle
in `select`: what a hang is waiting for lives in the task stacks.
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
