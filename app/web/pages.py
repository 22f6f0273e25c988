"""How the questionnaire is cut into pages: short pages of about seven items, in order.

Each section is split on its own into the fewest pages of at most seven items, with sizes that
differ by one at most (27 items: 7, 7, 7, 6), so every page stays within five to eight items
when the section allows it. The optional wellbeing section always starts a page of its own.

Statements the questionnaire groups (an instrument answered per relationship gives each item the
label of its relationship, ``target_label``) are paged group by group under the group's heading,
and numbered within it ("Statement 3 of 9" under "Your partner").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from app.schemas.questionnaires import ItemView, QuestionnaireView, ScaleView, SectionView

ITEMS_PER_PAGE = 7


@dataclass(frozen=True, slots=True)
class NumberedItem:
    item: ItemView
    number: int
    """Position within its section, from 1."""
    scale: ScaleView


@dataclass(frozen=True, slots=True)
class QuestionPage:
    step: int
    section: SectionView
    items: tuple[NumberedItem, ...]
    section_size: int
    """How many statements the numbers count: the section's, or the group's."""
    group: str | None = None
    """The heading of the group these statements belong to, if the questionnaire groups them."""

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(numbered.item.id for numbered in self.items)

    def unanswered(self, answers: Mapping[str, int]) -> tuple[NumberedItem, ...]:
        return tuple(numbered for numbered in self.items if numbered.item.id not in answers)


def sizes(count: int, most: int = ITEMS_PER_PAGE) -> list[int]:
    """Balanced page sizes for ``count`` items, none above ``most``."""
    if count <= 0:
        return []
    pages = math.ceil(count / most)
    base, extra = divmod(count, pages)
    return [base + 1 if index < extra else base for index in range(pages)]


def group_of(item: ItemView) -> str | None:
    """The heading an item is grouped under: its relationship's label, when the questionnaire
    view carries one."""
    label = getattr(item, "target_label", None)
    return label if isinstance(label, str) and label else None


def _runs(items: list[ItemView]) -> list[tuple[str | None, list[ItemView]]]:
    """Consecutive items of one group (all of a section, when nothing is grouped)."""
    runs: list[tuple[str | None, list[ItemView]]] = []
    for item in items:
        group = group_of(item)
        if runs and runs[-1][0] == group:
            runs[-1][1].append(item)
        else:
            runs.append((group, [item]))
    return runs


def plan(view: QuestionnaireView) -> tuple[QuestionPage, ...]:
    pages: list[QuestionPage] = []
    for section in view.sections:
        for group, items in _runs(section.items):
            start = 0
            for size in sizes(len(items)):
                pages.append(
                    QuestionPage(
                        step=len(pages) + 1,
                        section=section,
                        items=tuple(
                            NumberedItem(item, start + offset + 1, view.scales[item.scale])
                            for offset, item in enumerate(items[start : start + size])
                        ),
                        section_size=len(items),
                        group=group,
                    )
                )
                start += size
    return tuple(pages)


def first_open_step(pages: tuple[QuestionPage, ...], answers: Mapping[str, int]) -> int:
    """Where to carry on: the first required page with an unanswered item, else the last
    required page's successor (the optional check), else the last page."""
    for page in pages:
        if not page.section.optional and page.unanswered(answers):
            return page.step
    optional = [page for page in pages if page.section.optional]
    return optional[0].step if optional else pages[-1].step
