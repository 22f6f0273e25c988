"""The per-study privacy budget: each differentially private release spends epsilon from
its study's total (``SECUREBASE_DP_TOTAL_EPSILON``); a release that does not fit is refused.

The ledger is a database row per study, locked while a release is charged, so it survives
restarts and concurrent releases cannot overspend it together. The charge is part of the
request's transaction: a release that fails is not charged, and one that is charged is
committed before its answer is sent.
"""

from __future__ import annotations

from app.errors import FieldProblem, SecureBaseError
from app.repositories import research_budget
from app.schemas.research import BudgetState
from app.services.research.context import ResearchContext

# Budgets are sums of floats; a release that fits up to rounding fits.
_TOLERANCE = 1e-9


class PrivacyBudgetExhausted(SecureBaseError):
    status_code = 403
    slug = "privacy-budget-exhausted"
    title = "The study's privacy budget does not allow this release"


def _state(study: str, total: float, spent: float) -> BudgetState:
    return BudgetState(study=study, total=total, spent=spent, left=max(0.0, total - spent))


def charge(ctx: ResearchContext, study: str, epsilon: float) -> BudgetState:
    """Spend ``epsilon`` of ``study``'s budget, or refuse with 403 saying what is left."""
    total = ctx.settings.dp_total_epsilon
    now = ctx.now()
    row = research_budget.locked(ctx.writes, study, now)
    if row.epsilon_spent + epsilon > total + _TOLERANCE:
        state = _state(study, total, row.epsilon_spent)
        raise PrivacyBudgetExhausted(
            f"This release needs epsilon {epsilon:g}, but study {study!r} has spent "
            f"{state.spent:g} of its {total:g} and has {state.left:g} left.",
            [
                FieldProblem(
                    "epsilon",
                    f"requested {epsilon:g}; budget {total:g}, spent {state.spent:g}, "
                    f"left {state.left:g}",
                )
            ],
        )
    row.epsilon_spent += epsilon
    row.releases += 1
    row.updated_at = now
    ctx.writes.add(row)
    return _state(study, total, row.epsilon_spent)


def state(ctx: ResearchContext, study: str) -> BudgetState:
    return _state(study, ctx.settings.dp_total_epsilon, research_budget.spent(ctx.session, study))
