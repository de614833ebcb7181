"""The service never waits with `asyncio.wait_for`: on Python 3.11 (the version we ship on) a wait_for
cancelled in the same turn as what it waits on completes returns the result and swallows the
cancellation, so a loop runs on after its stop and the stop awaiting it never returns (a CI run hung
an hour on copy mode's loop; tests/unit/test_copy_loop.py). `async with asyncio.timeout(...)` is the
form that keeps the cancel."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CALL = re.compile(r"\basyncio\.wait_for\(|^\s*from asyncio import .*\bwait_for\b", re.M)


def test_no_asyncio_wait_for_in_the_service() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
        for package in ("trading", "bot")
        for path in sorted((ROOT / package).rglob("*.py"))
        for text in [path.read_text()]
        for m in CALL.finditer(text)
    ]
    assert found == [], f"asyncio.wait_for swallows cancels on 3.11; use asyncio.timeout: {found}"
