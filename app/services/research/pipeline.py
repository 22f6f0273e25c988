"""The one path every export takes: charge the privacy budget (differential privacy), count and
protect the values (the export's own step), then describe the release (``meta``) and record it
in the audit log.

An export supplies two things: how many quantities it releases under differential privacy
(the epsilon is shared equally among them) and a ``build`` step that, given the context, the
coverage and the noise source (None under suppression), returns a :class:`Draft`: the exact N
it read, the N it publishes, the withheld values and how to put the export together once its
``meta`` is known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from app.services.research import audit, budget
from app.services.research.context import ResearchContext
from app.services.research.dp import PrivateRelease
from app.services.research.meta import Withholding, export_meta
from app.services.research.request import Coverage

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class Draft(Generic[E]):
    """An export's values before its ``meta``: ``true_n`` is what the audit records, ``n``
    what the export shows; ``export`` makes the export from the rest of its values once given
    ``n``, ``suppressed`` and ``meta``."""

    true_n: int
    n: int | None
    shown: Withholding
    export: Callable[..., E]


def run(
    ctx: ResearchContext,
    coverage: Coverage,
    endpoint: str,
    export_format: str,
    releases: int,
    build: Callable[[ResearchContext, Coverage, PrivateRelease | None], Draft[E]],
) -> E:
    """The export, protected by suppression or by differential privacy, described and
    audited."""
    state = None
    release = None
    private = coverage.private_budget()
    if private is not None:
        study, epsilon = private
        state = budget.charge(ctx, study, epsilon)
        release = PrivateRelease(epsilon, releases)
    draft = build(ctx, coverage, release)
    meta = export_meta(ctx, coverage, n=draft.n, budget=state)
    export = draft.export(n=draft.n, suppressed=draft.shown.pointers, meta=meta)
    audit.record(
        ctx,
        endpoint,
        coverage,
        export_format=export_format,
        n=draft.true_n,
        withheld=len(draft.shown.pointers),
        epsilon=coverage.parameters.epsilon,
    )
    return export
