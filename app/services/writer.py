"""One writer per process, committing the writes handed to it in groups.

A request prepares its write (validated, screened, scored) and hands it over as a function of
a session; the writer runs every write waiting at that moment in one transaction, commits
once (one fsync for the whole group) and only then tells each request its write is stored.
While a group commits, the next one gathers, so the busier the process, the larger the
groups: a 2xx still means committed and on disk, but the disk is asked once per group
instead of once per request.

One write's failure does not fail its neighbours: the group's transaction is rolled back,
the failing request gets its error, and the others run again in a fresh transaction. (A
rolled-back transaction is thrown away whole rather than rewound to a savepoint, so that
nothing a failed write did, or learned, can outlive it.) If the commit itself fails, each
write of the group is tried alone.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

MAX_GROUP = 64
"""The most writes one transaction carries (a bound on what one failure makes run again)."""
IDLE_SECONDS = 2.0
"""How long the writer's thread waits for work before it ends (it starts again on demand)."""

T = TypeVar("T")


@dataclass(slots=True)
class _Pending:
    write: Callable[[Session], Any]
    outcome: Future[Any] = field(default_factory=Future)


class GroupWriter:
    """The process's single writer for one engine (see the module's text)."""

    def __init__(self, engine: Engine, max_group: int = MAX_GROUP) -> None:
        # Weakly: an engine no longer used by anyone is not kept alive by its writer.
        self._engine = weakref.ref(engine)
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._running = False
        self._lock = threading.Lock()

    async def run(self, write: Callable[[Session], T]) -> T:
        """Run ``write`` in the next group's transaction; return its result once committed.

        The write is not withdrawn if the caller stops waiting: it commits (or fails) with
        its group, as a request whose client went away would have.
        """
        pending = _Pending(write)
        self._queue.put(pending)
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._serve, name="securebase-writer", daemon=True).start()
        result: T = await asyncio.shield(asyncio.wrap_future(pending.outcome))
        return result

    def _serve(self) -> None:
        while True:
            try:
                group = [self._queue.get(timeout=IDLE_SECONDS)]
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            while len(group) < self._max_group:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._commit(group)
            except BaseException as error:  # pragma: no cover - the writer must never stop
                for pending in group:
                    if not pending.outcome.done():
                        pending.outcome.set_exception(error)

    def _commit(self, group: list[_Pending]) -> None:
        engine = self._engine()
        if engine is None:  # pragma: no cover - a write holds its request, which holds the engine
            raise RuntimeError("the database engine is gone")
        while group:
            results: list[Any] = []
            failed: tuple[int, Exception] | None = None
            try:
                with Session(engine, expire_on_commit=False) as session:
                    try:
                        for index, pending in enumerate(group):
                            try:
                                results.append(pending.write(session))
                            except Exception as error:
                                failed = (index, error)
                                break
                        if failed is None:
                            session.commit()
                    finally:
                        if session.in_transaction():
                            session.rollback()
            except Exception as error:
                # The commit (or the rollback) failed, perhaps because of one write's data (a
                # constraint checked at commit). Each write is tried alone, so that only the
                # faulty one fails; a write stored twice would meet its own unique keys.
                if len(group) == 1:
                    group[0].outcome.set_exception(error)
                else:
                    for pending in group:
                        self._commit([pending])  # each alone
                return
            if failed is None:
                for pending, result in zip(group, results, strict=True):
                    pending.outcome.set_result(result)
                return
            index, failure = failed
            group[index].outcome.set_exception(failure)
            group = group[:index] + group[index + 1 :]


_WRITERS: weakref.WeakKeyDictionary[Engine, GroupWriter] = weakref.WeakKeyDictionary()
_STARTING = threading.Lock()


def writer_for(engine: Engine) -> GroupWriter:
    """The process's writer for ``engine``, started on first use."""
    with _STARTING:
        writer = _WRITERS.get(engine)
        if writer is None:
            writer = _WRITERS[engine] = GroupWriter(engine)
        return writer
