"""How many exports a researcher key may have in an hour (``SECUREBASE_RESEARCH_EXPORTS_PER_HOUR``).

Counted from the export audit log, so the limit holds across every worker and instance that
shares the database and survives restarts. It keeps a leaked key or a runaway script from
drawing export after export (each a chance to compare filters against each other); requests
that arrive at the same moment may each see the count before the others are logged, so under
concurrency the limit can be passed by the number of requests in flight.
"""

from __future__ import annotations

import datetime as dt
import math

from app.errors import TooManyRequests
from app.repositories import research_audit
from app.services.research.access import Researcher
from app.services.research.context import ResearchContext

WINDOW = dt.timedelta(hours=1)


def check(ctx: ResearchContext, researcher: Researcher) -> None:
    """Refuse with 429 (and when to try again) once the key has had its exports this hour."""
    now = ctx.now()
    limit = ctx.settings.research_exports_per_hour
    count, first = research_audit.exports_since(ctx.session, researcher.key_id, now - WINDOW)
    if count < limit:
        return
    first = now if first is None else first
    if first.tzinfo is None:  # SQLite returns stored UTC times without an offset
        first = first.replace(tzinfo=dt.UTC)
    wait = max(1, math.ceil((first + WINDOW - now).total_seconds()))
    raise TooManyRequests(
        f"This key has had {count} exports in the past hour; the limit is {limit}. "
        f"Try again in {wait} seconds.",
        headers={"Retry-After": str(wait)},
    )
