"""One writer per process, committing the writes handed to it in groups.

A request prepares its write (validated, screened, scored) and hands it over as a function of
a session; the writer runs every write waiting at that moment in one transaction, commits
once (one fsync for the whole group) and only then tells each request its write is stored.
While a group commits, the next one gathers, so the busier the process, the larger the
groups: a 2xx still means committed and on disk, but the disk is asked once per group
instead of once per request.

Writes of one kind can be stored *together* (:meth:`GroupWriter.run_together`): the writer
hands every such write of the group to one function, which stores them all at once (one
INSERT of many rows per table, say) and answers each. That function refuses a write by
answering it with an exception, having written nothing for it; its neighbours are stored.

One write's failure does not fail its neighbours: the group's transaction is rolled back,
the failing request gets its error, and the others run again in a fresh transaction. (A
rolled-back transaction is thrown away whole rather than rewound to a savepoint, so that
nothing a failed write did, or learned, can outlive it.) If the commit itself fails, or
writes stored together fail as a whole, each write of the group is tried alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

MAX_GROUP = 64
"""The most writes one transaction carries (a bound on what one failure makes run again)."""
IDLE_SECONDS = 2.0
"""How long the writer's thread waits for work before it ends (it starts again on demand)."""

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 - one item of writes stored together

StoreTogether = Callable[[Session, Sequence[I]], Sequence[T | Exception]]
"""Stores several writes of one kind at once and answers each, in order: its result, or the
exception that refuses it alone (a refused write has written nothing)."""


@dataclass(slots=True)
class _Pending:
    """A write waiting for the writer, and (set by the writer's thread) how it ended."""

    loop: asyncio.AbstractEventLoop
    outcome: asyncio.Future[Any]
    write: Callable[[Session], Any] | None
    together: StoreTogether[Any, Any] | None = None
    item: Any = None
    answered: bool = False
    result: Any = None
    error: BaseException | None = None

    def answer(self, result: Any) -> None:
        self.answered, self.result = True, result

    def refuse(self, error: BaseException) -> None:
        self.answered, self.error = True, error


def _settle(group: list[_Pending]) -> None:
    """In the requests' event loop: tell each request how its write ended (unless it has
    stopped waiting)."""
    for pending in group:
        if pending.outcome.done():
            continue
        if pending.error is not None:
            pending.outcome.set_exception(pending.error)
        else:
            pending.outcome.set_result(pending.result)


def _deliver(group: list[_Pending]) -> None:
    """Wake each event loop once per group, not once per write."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
    for pending in group:
        by_loop.setdefault(pending.loop, []).append(pending)
    for loop, answered in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(_settle, answered)


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
        loop = asyncio.get_running_loop()
        result: T = await self._run(_Pending(loop, loop.create_future(), write))
        return result

    async def run_together(self, store: StoreTogether[I, T], item: I) -> T:
        """Store ``item`` with the group's other items given the same ``store`` function, in
        one call of it in the next group's transaction; its answer once committed."""
        loop = asyncio.get_running_loop()
        result: T = await self._run(_Pending(loop, loop.create_future(), None, store, item))
        return result

    async def _run(self, pending: _Pending) -> Any:
        self._queue.put(pending)
        with self._lock:
            if not self._running:
                self._running = True
                threading.Thread(target=self._serve, name="securebase-writer", daemon=True).start()
        # Not withdrawn if the request stops waiting: the writer stores it all the same.
        return await pending.outcome

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
                    if not pending.answered:
                        pending.refuse(error)
            _deliver(group)

    def _commit(self, group: list[_Pending]) -> None:
        engine = self._engine()
        if engine is None:  # pragma: no cover - a write holds its request, which holds the engine
            raise RuntimeError("the database engine is gone")
        while group:
            results: list[Any] = [None] * len(group)
            refused: dict[int, Exception] = {}
            failed: tuple[int, Exception] | None = None
            try:
                with Session(engine, expire_on_commit=False) as session:
                    try:
                        failed = self._write_one_by_one(session, group, results)
                        if failed is None:
                            self._store_together(session, group, results, refused)
                            session.commit()
                    finally:
                        if session.in_transaction():
                            session.rollback()
            except Exception as error:
                # The commit (or the rollback) failed, perhaps because of one write's data (a
                # constraint checked at commit), or writes stored together failed as a whole.
                # Each write is tried alone, so that only the faulty one fails; a write
                # stored twice would meet its own unique keys.
                if len(group) == 1:
                    group[0].refuse(error)
                else:
                    for pending in group:
                        self._commit([pending])  # each alone
                return
            if failed is None:
                for index, pending in enumerate(group):
                    if index in refused:
                        pending.refuse(refused[index])
                    else:
                        pending.answer(results[index])
                return
            index, failure = failed
            group[index].refuse(failure)
            group = group[:index] + group[index + 1 :]

    @staticmethod
    def _write_one_by_one(
        session: Session, group: list[_Pending], results: list[Any]
    ) -> tuple[int, Exception] | None:
        """Run the group's single writes, in order; the first failure, if any."""
        for index, pending in enumerate(group):
            if pending.write is not None:
                try:
                    results[index] = pending.write(session)
                except Exception as error:
                    return index, error
        return None

    @staticmethod
    def _store_together(
        session: Session, group: list[_Pending], results: list[Any], refused: dict[int, Exception]
    ) -> None:
        """One call of each store function for all the group's items given to it."""
        kinds: dict[StoreTogether[Any, Any], list[int]] = {}
        for index, pending in enumerate(group):
            if pending.together is not None:
                kinds.setdefault(pending.together, []).append(index)
        for store, indexes in kinds.items():
            answers = store(session, [group[index].item for index in indexes])
            for index, answer in zip(indexes, answers, strict=True):
                if isinstance(answer, Exception):
                    refused[index] = answer
                else:
                    results[index] = answer


_WRITERS: weakref.WeakKeyDictionary[Engine, GroupWriter] = weakref.WeakKeyDictionary()
_STARTING = threading.Lock()


def writer_for(engine: Engine) -> GroupWriter:
    """The process's writer for ``engine``, started on first use."""
    with _STARTING:
        writer = _WRITERS.get(engine)
        if writer is None:
            writer = _WRITERS[engine] = GroupWriter(engine)
        return writer
