"""The columns of the CSV exports, listed once: each column's name, type and description. The
CSV writer (:mod:`app.services.research.csv_format`) takes the names in this order; the codebook
(:mod:`app.services.research.codebook`) describes the same columns, with the values a column can
take where the questionnaire fixes them.

Also here: the comment lines that come before the header row, and the group names the CSV uses
for everyone, for no value and for the pooled small groups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from app.schemas.research import FieldConstraints, TableField
from app.services.research.request import groupings
from app.services.research.vocabulary import SECURE, STATISTICS
from scoring.definition import Definition

META_LINES = (
    "export",
    "questionnaire",
    "content_hashes",
    "generated_at",
    "n",
    "coverage",
    "filters",
    "privacy",
    "suppression",
    "codebook",
)
"""The comment lines (``# name: value``) before the header row, in order."""
HEADER_ROW = len(META_LINES) + 1
ALL_GROUP = "(all)"
NO_VALUE_GROUP = "(none)"
OTHER_GROUP = "(other)"

FieldType = Literal["string", "number", "integer", "boolean"]
Choices = Callable[[Definition], list[str]]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: FieldType
    description: str | Callable[[Definition], str]
    choices: list[str] | Choices | None = None
    required: bool = False

    def field(self, definition: Definition) -> TableField:
        """The column as the codebook describes it for ``definition``."""
        text = self.description
        choices = self.choices
        enum = choices(definition) if callable(choices) else choices
        constraints = None
        if enum or self.required:
            constraints = FieldConstraints(enum=enum or None, required=self.required or None)
        return TableField(
            name=self.name,
            type=self.type,
            description=text(definition) if callable(text) else text,
            constraints=constraints,
        )


def _dimensions(definition: Definition) -> list[str]:
    return [d.id for d in definition.dimensions]


def _items(definition: Definition) -> list[str]:
    return [i.id for i in definition.items]


def _categories(definition: Definition) -> str:
    tendencies = [t.id for t in definition.tendencies]
    return (
        f"The dimension ({', '.join(_dimensions(definition))}), tendency "
        f"({', '.join([*tendencies, SECURE])}), crisis level (acute, urgent, support) "
        "or period (YYYY-Www or YYYY-MM); empty for n."
    )


VALUE = Column(
    "value", "number", "The value; empty when withheld or when it does not exist for the data."
)
WITHHELD = Column(
    "withheld",
    "boolean",
    "true when the value is withheld for privacy (the value cell is then empty).",
    required=True,
)

SUMMARY = (
    Column(
        "group_by",
        "string",
        "The field the groups are formed by (a response's study, language, country or "
        "primary tendency, or a demographic item listed under demographics); empty "
        "without group_by.",
        groupings,
    ),
    Column(
        "group",
        "string",
        f"The group: {ALL_GROUP} for everyone covered, its value (for a demographic item, "
        f"the chosen option's id), {NO_VALUE_GROUP} for responses without one (for a "
        f"demographic item: not answered), {OTHER_GROUP} for the pooled groups smaller "
        "than k.",
    ),
    Column(
        "section",
        "string",
        "n: responses covered; dimension: score statistics; tendency_primary: the primary "
        "tendency; tendency_elevated: tendencies elevated (several per response "
        "possible); crisis: responses whose answers called for a crisis notice, by "
        "level; period: responses submitted per ISO week or month.",
        ["n", "dimension", "tendency_primary", "tendency_elevated", "crisis", "period"],
    ),
    Column("category", "string", _categories),
    Column(
        "statistic",
        "string",
        "Which statistic the value is.",
        ["n", *STATISTICS, "count", "share", "rate"],
    ),
    VALUE,
    WITHHELD,
)
HISTOGRAMS = (
    Column("dimension", "string", "The dimension.", _dimensions),
    Column(
        "statistic", "string", "n: scored responses; count: responses in the bin.", ["n", "count"]
    ),
    Column("bin", "integer", "The bin's position, from 0."),
    Column("lower", "number", "The bin's lower edge."),
    Column("upper", "number", "The bin's upper edge."),
    Column(
        "closed",
        "string",
        "left: lower <= score < upper; both: also score = upper.",
        ["left", "both"],
    ),
    VALUE,
    WITHHELD,
)
ITEMS = (
    Column(
        "section",
        "string",
        "n: responses covered; item: one item; reliability: one dimension's internal "
        "consistency; correlation: correlations of the dimension scores.",
        ["n", "item", "reliability", "correlation"],
    ),
    Column("dimension", "string", "The dimension (for correlations, the row's).", _dimensions),
    Column("item", "string", "The item.", _items),
    Column("reverse", "boolean", "Whether the scoring reverses the item (min + max - answer)."),
    Column(
        "statistic",
        "string",
        "Which statistic the value is (count: how many chose the point in category).",
        [
            "n",
            "items",
            "mean",
            "sd",
            "count",
            "alpha",
            "alpha_if_deleted",
            "corrected_item_total",
            "r",
        ],
    ),
    Column(
        "category",
        "string",
        "For count, the point of the scale chosen; for r, the column's dimension.",
    ),
    VALUE,
    WITHHELD,
)


def names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(column.name for column in columns)
