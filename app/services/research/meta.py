"""What every export says about itself, and how withheld values are shown."""

from __future__ import annotations

from typing import TypeVar

from app.schemas.research import BudgetState, ExportMeta, PrivacyInfo, SuppressionRule
from app.services.research.context import ResearchContext
from app.services.research.dp import MECHANISM
from app.services.research.request import Coverage

T = TypeVar("T")

CODEBOOK_PATH = "/api/v1/research/codebook"


def suppression_rule(k: int) -> SuppressionRule:
    return SuppressionRule(
        min_cell_size=k,
        rule=(
            f"A count from 1 to {k - 1} is withheld, and so is every statistic computed from "
            f"fewer than {k} responses (after the CMS cell-size suppression policy, which "
            "withholds counts of 1 to 10). Zero is shown."
        ),
        complementary=(
            "Further counts are withheld wherever a withheld count could otherwise be worked "
            "out by subtracting published counts from published totals or from other cells: "
            "in every one-way table with its total, every two-way table (groups by category) "
            "with its margins, and the nesting of histogram bins within the elevated "
            f"thresholds; nor may the withheld cells of a total add up to 1 to {k - 1}. "
            f"Groups smaller than {k} are pooled into one group marked 'other'. An item's mean "
            "and SD are withheld when, with its published counts, they would reveal a withheld "
            "count."
        ),
    )


def export_meta(
    ctx: ResearchContext, coverage: Coverage, *, n: int | None, budget: BudgetState | None
) -> ExportMeta:
    dp = coverage.parameters.privacy == "dp"
    return ExportMeta(
        questionnaire=coverage.questionnaire,
        content_hashes=coverage.content_hashes,
        filters=coverage.filters(),
        generated_at=ctx.now(),
        n=n,
        coverage=coverage.description(),
        privacy=PrivacyInfo(
            mode=coverage.parameters.privacy,
            epsilon=coverage.parameters.epsilon if dp else None,
            mechanism=MECHANISM if dp else None,
            budget=budget,
        ),
        suppression=None if dp else suppression_rule(ctx.settings.min_cell_size),
        codebook=f"{CODEBOOK_PATH}?questionnaire_id={coverage.definition.id}",
    )


class Withholding:
    """Collects the pointers of withheld values, in the order the export shows them."""

    def __init__(self, everything: bool = False) -> None:
        self.everything = everything
        self.pointers: list[str] = []
        self._seen: set[str] = set()

    def show(self, pointer: str, value: T | None, withheld: bool) -> T | None:
        """``value``, or None (and the pointer listed) when it is withheld."""
        if value is None and not self.everything:
            return None
        if withheld or self.everything:
            if pointer not in self._seen:
                self._seen.add(pointer)
                self.pointers.append(pointer)
            return None
        return value
