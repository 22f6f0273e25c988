"""What the command line's commands share: a session on the configured database, and times
printed the same way everywhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from app.config import get_settings

if TYPE_CHECKING:
    from sqlmodel import Session

T = TypeVar("T")


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A session on the configured database (committed by the caller); the engine is
    disposed of afterwards."""
    from sqlmodel import Session

    from app.db import create_db_engine

    engine = create_db_engine(get_settings())
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def read(query: Callable[[Session], T]) -> T:
    """What ``query`` reads from the configured database."""
    with unit_of_work() as session:
        return query(session)


def when(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")
