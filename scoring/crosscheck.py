"""Rules that span a whole definition, checked on the raw document.

Model validation sees one field at a time; these rules relate fields to each other: an item
names a dimension and a scale that exist, ids are unique (items, wellbeing items and
demographic items share one answer namespace; a demographic item's options have unique ids),
every language has its text, a risk rule names a wellbeing item and never fires on its lowest
answer ("not at all"), the content plan names defined tendencies, a demographic item does not
take a name the research exports already group by, and the rules of ``targets``. They run
on the plain data, not on a validated model, so that a file with both kinds of mistakes gets
all of them reported in one go. Parts too malformed to read are skipped here: model
validation reports those.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scoring.definition import RESERVED_DEMOGRAPHIC_IDS, RESERVED_TARGET_IDS

Path = tuple[str | int, ...]
Problem = tuple[Path, str]


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _entries(value: object, path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    if isinstance(value, list):
        for index, entry in enumerate(value):
            if isinstance(entry, dict):
                yield (*path, index), entry


def _duplicates(entries: list[tuple[Path, dict[str, Any]]]) -> list[Problem]:
    seen: set[object] = set()
    problems: list[Problem] = []
    for path, entry in entries:
        identifier = entry.get("id")
        if not isinstance(identifier, str):
            continue
        if identifier in seen:
            problems.append(((*path, "id"), f"duplicate id {identifier!r}"))
        seen.add(identifier)
    return problems


_EXPANDED = "set by the expansion of the top-level targets; not written in a file"
_MAX_ID = 64


def _target_problems(
    doc: dict[str, Any],
    targets: list[tuple[Path, dict[str, Any]]],
    items: list[tuple[Path, dict[str, Any]]],
    answered_once: list[tuple[Path, dict[str, Any]]],
) -> list[Problem]:
    """The rules of ``targets`` (see :mod:`scoring.targets`): unique target ids that are no
    item's id, scoped ids (``<target>.<item>``) that are valid identifiers and no wellbeing or
    demographic item's id, and no ``target`` written by hand."""
    problems: list[Problem] = _duplicates(targets)
    if "target_tendencies" in doc:
        problems.append((("target_tendencies",), _EXPANDED))
    for part in ("items", "dimensions", "tendencies"):
        for path, entry in _entries(doc.get(part), (part,)):
            if "target" in entry:
                problems.append(((*path, "target"), _EXPANDED))
    item_ids = [i.get("id") for _, i in items if isinstance(i.get("id"), str)]
    once = {a.get("id"): path for path, a in answered_once}
    for path, target in targets:
        target_id = target.get("id")
        if not isinstance(target_id, str):
            continue
        if target_id in item_ids or target_id in once:
            problems.append(((*path, "id"), f"target {target_id!r} is also an item's id"))
        if target_id in RESERVED_TARGET_IDS:
            problems.append(
                (
                    (*path, "id"),
                    f"{target_id!r} is reserved: it names a section of the questionnaire "
                    f"({', '.join(sorted(RESERVED_TARGET_IDS))})",
                )
            )
        for item_id in item_ids:
            scoped = f"{target_id}.{item_id}"
            if len(scoped) > _MAX_ID:
                problems.append(
                    (
                        (*path, "id"),
                        f"item id {scoped!r} (target and item) is longer than {_MAX_ID} characters",
                    )
                )
            if scoped in once:
                problems.append(
                    (
                        (*once[scoped], "id"),
                        f"{scoped!r} is also the id of item {item_id!r} answered about "
                        f"target {target_id!r}",
                    )
                )
    return problems


def cross_check(document: object) -> list[Problem]:
    """Every cross-reference problem in a definition document, as (path, message)."""
    doc = _mapping(document)
    languages = [x for x in doc.get("languages", []) or [] if isinstance(x, str)]
    scales = _mapping(doc.get("scales"))
    problems: list[Problem] = []

    def localized(path: Path, text: object) -> None:
        if not isinstance(text, dict):
            return
        missing = [language for language in languages if language not in text]
        if missing:
            problems.append((path, f"missing text for language(s) {', '.join(missing)}"))

    def known_scale(path: Path, name: object) -> None:
        if isinstance(name, str) and name not in scales:
            problems.append((path, f"unknown scale {name!r}"))

    localized(("title",), doc.get("title"))
    localized(("instructions",), doc.get("instructions"))
    for name, scale in scales.items():
        localized(("scales", name, "labels"), _mapping(scale).get("labels"))

    dimensions = list(_entries(doc.get("dimensions"), ("dimensions",)))
    items = list(_entries(doc.get("items"), ("items",)))
    wellbeing = _mapping(doc.get("wellbeing"))
    wellbeing_items = list(_entries(wellbeing.get("items"), ("wellbeing", "items")))
    tendencies = list(_entries(doc.get("tendencies"), ("tendencies",)))
    demographics = list(_entries(doc.get("demographics"), ("demographics",)))
    dimension_ids = {d.get("id") for _, d in dimensions}

    targets = list(_entries(doc.get("targets"), ("targets",)))
    per_target = {item.get("id") for _, item in items} | {
        f"{target.get('id')}.{item.get('id')}" for _, target in targets for _, item in items
    }
    problems += _target_problems(doc, targets, items, wellbeing_items + demographics)
    for path, target_entry in targets:
        localized((*path, "label"), target_entry.get("label"))
    problems += _duplicates(dimensions)
    problems += _duplicates(items + wellbeing_items + demographics)  # one answer namespace
    problems += _duplicates(tendencies)

    for path, item in items:
        localized((*path, "text"), item.get("text"))
        if isinstance(item.get("dimension"), str) and item["dimension"] not in dimension_ids:
            problems.append(((*path, "dimension"), f"unknown dimension {item['dimension']!r}"))
        known_scale((*path, "scale"), item.get("scale"))
    for path, dimension in dimensions:
        if not any(item.get("dimension") == dimension.get("id") for _, item in items):
            problems.append((path, f"dimension {dimension.get('id')!r} has no items"))
    for path, tendency in tendencies:
        named = tendency.get("dimension")
        if isinstance(named, str) and named not in dimension_ids:
            problems.append(((*path, "dimension"), f"unknown dimension {named!r}"))

    by_id = {w.get("id"): w for _, w in wellbeing_items}
    for path, w_item in wellbeing_items:
        localized((*path, "text"), w_item.get("text"))
        known_scale((*path, "scale"), w_item.get("scale"))
    for path, rule in _entries(wellbeing.get("risk_rules"), ("wellbeing", "risk_rules")):
        target = by_id.get(rule.get("item"))
        if target is None:
            named = rule.get("item")
            message = f"unknown wellbeing item {named!r}"
            if targets and named in per_target:
                message = (
                    f"{named!r} is answered once per relationship; a risk rule may name only "
                    "a wellbeing item, which is answered once"
                )
            problems.append(((*path, "item"), message))
            continue
        scale_name = target.get("scale")
        scale = _mapping(scales.get(scale_name)) if isinstance(scale_name, str) else {}
        low, high, at_least = scale.get("min"), scale.get("max"), rule.get("at_least")
        if (
            isinstance(low, int)
            and isinstance(high, int)
            and isinstance(at_least, int)
            and not low < at_least <= high
        ):
            problems.append(
                (
                    (*path, "at_least"),
                    f"must lie above the lowest answer and within {low}..{high}, "
                    "so that 'not at all' never triggers",
                )
            )

    for path, d_item in demographics:
        localized((*path, "text"), d_item.get("text"))
        identifier = d_item.get("id")
        if isinstance(identifier, str) and identifier in RESERVED_DEMOGRAPHIC_IDS:
            problems.append(
                (
                    (*path, "id"),
                    f"{identifier!r} is reserved: research exports already group by "
                    f"{', '.join(sorted(RESERVED_DEMOGRAPHIC_IDS))}",
                )
            )
        options = list(_entries(d_item.get("options"), (*path, "options")))
        problems += _duplicates(options)
        for option_path, option in options:
            localized((*option_path, "label"), option.get("label"))

    tendency_ids = {t.get("id") for _, t in tendencies}
    for tendency_id in _mapping(_mapping(doc.get("content")).get("tendencies")):
        if tendency_id not in tendency_ids:
            problems.append(
                (("content", "tendencies", tendency_id), f"no tendency {tendency_id!r} defined")
            )
    return problems
