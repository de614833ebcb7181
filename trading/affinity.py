"""`[app] cpu`: `tradebot run`'s whole process on one CPU, so the Rust runtime's worker and the asyncio
loop's thread wake each other on the same CPU.

Every result the Rust side hands to Python (a quote batch, an order's answer) crosses from the tokio
worker to the loop's thread (`rust_ext/src/python/bridge.rs`). When the scheduler has the two threads on
different CPUs, that wake-up is a cross-CPU one, and on a virtual machine whose idle CPU halts it costs
far more than the work around it. Measured on the 2-CPU development machine, idle (frame off the socket
-> the batch in Python's hands, 1,000 quotes 2 ms apart): p50 107 us with the threads where the scheduler
put them, 43 us with the process on one CPU; the order round trip's hand-off (place + cancel) 243 us
against 97 us (`make bench`, orders section, unpinned vs pinned).

The price: the bot's own threads share one CPU (its Python is single-threaded under the GIL anyway;
the Rust worker decodes a quote in ~1 us). Postgres, the simulator and everything else keep every
CPU. Off by default: an operator chooses it where the machine has a CPU to give (`auto` takes the
last CPU the process may use; a number names one). Linux only: elsewhere a setting other than `off`
is refused at start."""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Literal

Cpu = int | Literal["auto", "off"]

_TASKS = Path("/proc/self/task")


class AffinityError(ValueError):
    """The setting names a CPU this process may not use, or the platform cannot pin."""


def choose(setting: Cpu, allowed: Collection[int]) -> int | None:
    """The CPU `setting` names among `allowed` (the CPUs the process may use now); None: leave it alone
    (`off`, or `auto` with a single CPU allowed, where there is nothing to choose)."""
    if setting == "off":
        return None
    if not allowed:
        raise AffinityError("no CPU is allowed to this process")
    if setting == "auto":
        return max(allowed) if len(allowed) > 1 else None
    if setting not in allowed:
        raise AffinityError(f"app.cpu = {setting}: this process may use CPUs {_listed(allowed)} only")
    return setting


def pin(cpus: Collection[int]) -> int:
    """Put every thread of this process on `cpus` (threads started later inherit it from their creator);
    returns how many threads were pinned. A thread that ends meanwhile is skipped. (The benchmarks pin
    and restore with it too.)"""
    if not hasattr(os, "sched_setaffinity") or not _TASKS.is_dir():
        raise AffinityError("app.cpu needs Linux (sched_setaffinity and /proc/self/task)")
    pinned = 0
    for task in _TASKS.iterdir():
        try:
            os.sched_setaffinity(int(task.name), set(cpus))
        except ProcessLookupError:
            continue
        pinned += 1
    return pinned


def apply(setting: Cpu) -> int | None:
    """`choose` among the CPUs allowed now, then `pin`: the CPU chosen, or None when left alone."""
    if setting == "off":
        return None
    if not hasattr(os, "sched_getaffinity"):
        raise AffinityError("app.cpu needs Linux (sched_setaffinity and /proc/self/task)")
    cpu = choose(setting, os.sched_getaffinity(0))
    if cpu is not None:
        pin({cpu})
    return cpu


def _listed(cpus: Collection[int]) -> str:
    return ", ".join(str(c) for c in sorted(cpus))
