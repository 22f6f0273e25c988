"""Exports run on one thread of their own whose priority is lowered (Linux), so respondents'
threads get the cores first; no other thread of the process has its priority lowered."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from research_support import Respondent, export, insert, new_key, ok

from app.api import export_thread, research
from scoring.catalog import Catalog

ANSWERS = {f"{p}{n:02d}": 4 for p in ("anx", "avo", "dis") for n in range(1, 10)}

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values")


def _nice_of(thread: int) -> int:
    """A thread's nice value as the kernel reports it (field 19 of its stat line)."""
    stat = Path(f"/proc/self/task/{thread}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


@pytest.fixture
def client_and_key(research_client: TestClient, catalog: Catalog) -> tuple[TestClient, str]:
    engine = research_client.app.state.engine  # type: ignore[attr-defined]
    insert(engine, catalog, [Respondent(dict(ANSWERS)) for _ in range(15)])
    return research_client, new_key(engine)


@linux_only
def test_every_export_runs_on_the_one_export_thread_at_a_lower_priority(
    client_and_key: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, key = client_and_key
    seen: list[tuple[int, str, int]] = []
    real_resolve = research.resolve

    def resolve_and_note_the_thread(*args: Any) -> Any:
        thread = threading.get_native_id()
        seen.append((thread, threading.current_thread().name, _nice_of(thread)))
        return real_resolve(*args)

    monkeypatch.setattr(research, "resolve", resolve_and_note_the_thread)
    for endpoint in ("summary", "histograms", "items", "summary"):
        assert ok(export(client, endpoint, key))["meta"]["n"] == 15

    process_nice = os.getpriority(os.PRIO_PROCESS, 0)
    expected = min(process_nice + export_thread.EXPORT_NICENESS, 19)
    assert expected > process_nice, "the test process already runs at the lowest priority"
    threads = {thread for thread, _, _ in seen}
    assert len(seen) == 4
    assert len(threads) == 1, seen
    (export_tid,) = threads
    assert all(name.startswith("research-export") for _, name, _ in seen)
    assert all(nice == expected for _, _, nice in seen)
    # The codebook, cheap, stays on the shared pool, whose threads keep their priority.
    assert ok(export(client, "codebook", key))
    lowered = {
        int(task.name)
        for task in Path("/proc/self/task").iterdir()
        if _nice_of(int(task.name)) != process_nice
    }
    assert lowered == {export_tid}


def test_a_refused_priority_change_leaves_the_thread_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*_args: Any) -> None:
        raise PermissionError("not permitted")

    monkeypatch.setattr(export_thread.os, "setpriority", refuse)
    failures: list[BaseException] = []

    def start() -> None:
        try:
            export_thread.lower_this_threads_priority()
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    thread.join()
    assert failures == []
