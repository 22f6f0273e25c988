"""The research exports' own thread: one per process, at a lower scheduling priority.

An export's counting is CPU work (on SQLite it runs in SQLite's C code, with the interpreter
released). Run in the shared thread pool at normal priority it takes a core from the
respondents' event loop and writer for as long as it lasts. Here every export's database work
runs, one at a time, on a single thread whose nice value is raised once when it starts, so the
kernel gives the cores to the respondents' threads first and an export takes what is left.
Exports queue behind each other instead of piling up. The thread is never one a pool hands to
other requests: an unprivileged process cannot raise a thread's priority back.
"""

from __future__ import annotations

import contextvars
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import structlog
from fastapi.concurrency import run_in_threadpool

log = structlog.get_logger("securebase.research")

EXPORT_NICENESS = 10
"""How much nicer than the process the export thread runs (Linux nice values, up to 19)."""

_MOST_NICE = 19
Result = TypeVar("Result")


def lower_this_threads_priority(niceness: int = EXPORT_NICENESS) -> None:
    """Make the calling thread ``niceness`` nicer than it is (Linux: each thread has its own
    nice value). Elsewhere, or if the system refuses, the thread keeps its priority: an export
    is never refused over it."""
    if sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        wanted = min(current + niceness, _MOST_NICE)
        if wanted > current:
            os.setpriority(os.PRIO_PROCESS, thread, wanted)
    except OSError as exc:
        log.warning("export_priority_unchanged", error_type=type(exc).__name__)


_exports = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="research-export", initializer=lower_this_threads_priority
)


async def run_export(work: Callable[[], Result]) -> Result:
    """Run ``work`` on the export thread, with the caller's context (its log fields), and
    return what it returns or raise what it raises. The request waits for it as it waits for
    a pooled thread: a cancelled request still lets the export finish with its sessions open."""
    context = contextvars.copy_context()
    future = _exports.submit(context.run, work)
    return await run_in_threadpool(future.result)
