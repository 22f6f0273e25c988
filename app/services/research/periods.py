"""Coarse time: ISO weeks and calendar months, the only resolution an export shows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from app.schemas.research import PeriodUnit


def start_of(day: dt.date, unit: PeriodUnit) -> dt.date:
    """The Monday of ``day``'s ISO week, or the first of its month."""
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def following(start: dt.date, unit: PeriodUnit) -> dt.date:
    """The first day of the next period."""
    if unit == "week":
        return start + dt.timedelta(days=7)
    return dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)


def end_of(day: dt.date, unit: PeriodUnit) -> dt.date:
    """The last day of ``day``'s week (Sunday) or month."""
    return following(start_of(day, unit), unit) - dt.timedelta(days=1)


def label(start: dt.date, unit: PeriodUnit) -> str:
    """``2026-W05`` (ISO week) or ``2026-01``."""
    if unit == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start.year}-{start.month:02d}"


def spanning(first: dt.date, last: dt.date, unit: PeriodUnit) -> Iterator[dt.date]:
    """The starts of every period from ``first``'s to ``last``'s, inclusive."""
    current = start_of(first, unit)
    while current <= last:
        yield current
        current = following(current, unit)


def count_between(first: dt.date, last: dt.date, unit: PeriodUnit) -> int:
    if unit == "week":
        return (start_of(last, unit) - start_of(first, unit)).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1
