"""Risk rules: which crisis level, if any, a set of answers indicates.

Safety comes before validity here. The rules run on *raw* answers, before any other check,
and read a value generously: ``true`` and ``"true"`` count as 1, ``2.0`` as 2, ``"3"`` as 3, a
scale label such as ``"Yes"`` or ``"nearly every day"`` as its point, a list or object as the
highest value inside it (``[1]``, ``{"v": 1}``), and an item id in any letter case
(``"WB_NOW"``). A request that is wrong in every other
way still shows help when it says someone is at risk. A single endorsed rule is enough; the
highest level any rule reaches wins.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scoring.definition import (
    CRISIS_LEVEL_ORDER,
    CrisisLevel,
    Definition,
    ResponseScale,
    RiskRule,
    per_definition,
)


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """The highest level reached and every item whose rule fired, in definition order."""

    level: CrisisLevel | None
    triggered_by: tuple[str, ...]

    @property
    def indicated(self) -> bool:
        return self.level is not None


NO_RISK = RiskAssessment(None, ())


_WORDS = {"true": 1.0, "yes": 1.0, "y": 1.0, "on": 1.0, "false": 0.0, "no": 0.0, "off": 0.0}
_MAX_DEPTH = 8
_MAX_VALUES = 64
_HUGE = 2**1000
"""Integers from here on are read as infinitely high (or low): beyond a float's range."""


def generous_value(value: object, scale: ResponseScale | None, depth: int = 0) -> float | None:
    """The number a raw answer most plausibly means, or None when it means no number."""
    if isinstance(value, list | tuple | dict):
        if depth >= _MAX_DEPTH:
            return None
        inner = list(value.values() if isinstance(value, dict) else value)[:_MAX_VALUES]
        numbers = [n for v in inner if (n := generous_value(v, scale, depth + 1)) is not None]
        return max(numbers, default=None)
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int):
        # JSON integers have no size limit; one too large for a float is still "very high".
        return float(value) if abs(value) < _HUGE else (math.inf if value > 0 else -math.inf)
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            return None if math.isnan(number) else number
        if scale is not None:
            for labels in scale.labels.values():
                for offset, label in enumerate(labels):
                    if label.casefold() == text.casefold():
                        return float(scale.min + offset)
        return _WORDS.get(text.casefold())
    return None


@dataclass(frozen=True, slots=True)
class _RuleCheck:
    """A risk rule with what reading it needs: its item in lower case and the item's scale."""

    rule: RiskRule
    folded_item: str
    scale: ResponseScale | None


@per_definition
def _rule_checks(definition: Definition) -> tuple[tuple[_RuleCheck, ...], frozenset[str]]:
    """The definition's risk rules, ready to read, and the lower-case ids they read."""
    checks = tuple(
        _RuleCheck(rule, rule.item.casefold(), definition.scale_of(rule.item))
        for rule in definition.risk_rules
    )
    return checks, frozenset(check.folded_item for check in checks)


@per_definition
def _checks_by_item(definition: Definition) -> dict[str, tuple[_RuleCheck, ...]]:
    """The rule checks of each lower-case item id, in rule order."""
    checks, _ = _rule_checks(definition)
    by_item: dict[str, list[_RuleCheck]] = {}
    for check in checks:
        by_item.setdefault(check.folded_item, []).append(check)
    return {item: tuple(item_checks) for item, item_checks in by_item.items()}


def assess_answer(definition: Definition, key: object, value: object) -> RiskAssessment:
    """What ``assess_risk(definition, {key: value})`` finds, for one raw answer."""
    checks = _checks_by_item(definition).get(str(key).casefold())
    if not checks:
        return NO_RISK
    level: CrisisLevel | None = None
    triggered: list[str] = []
    for check in checks:
        rule = check.rule
        number = generous_value(value, check.scale)
        if number is None or number < rule.at_least:
            continue
        if rule.item not in triggered:
            triggered.append(rule.item)
        if level is None or CRISIS_LEVEL_ORDER[rule.level] > CRISIS_LEVEL_ORDER[level]:
            level = rule.level
    return RiskAssessment(level, tuple(triggered)) if level is not None else NO_RISK


@per_definition
def _unread_ids(definition: Definition) -> frozenset[str]:
    """The ids of the definition's items that no risk rule reads, in any letter case: an
    answer under one of them, as written, is passed over without folding its key."""
    _, read = _rule_checks(definition)
    ids = (
        *(item.id for item in definition.items),
        *(item.id for item in definition.wellbeing_items),
        *(demographic.id for demographic in definition.demographics),
    )
    return frozenset(i for i in ids if i.casefold() not in read)


def assess_risk(definition: Definition, raw: Mapping[str, object]) -> RiskAssessment:
    """Run every risk rule of ``definition`` over ``raw`` answers, valid or not."""
    checks, read = _rule_checks(definition)
    if not checks:
        return NO_RISK
    unread = _unread_ids(definition)
    level: CrisisLevel | None = None
    triggered: list[str] = []
    by_item: dict[str, list[object]] = {}
    for key, value in raw.items():
        if key in unread:
            continue
        folded = str(key).casefold()
        if folded in read:  # the values no rule reads are never looked at
            by_item.setdefault(folded, []).append(value)
    for check in checks:
        rule = check.rule
        numbers: list[float] = []
        for v in by_item.get(check.folded_item, ()):
            # A whole number (the usual answer) is read at once, as generous_value reads it.
            if type(v) is int and -_HUGE < v < _HUGE:
                numbers.append(float(v))
            elif (n := generous_value(v, check.scale)) is not None:
                numbers.append(n)
        if not numbers or max(numbers) < rule.at_least:
            continue
        if rule.item not in triggered:
            triggered.append(rule.item)
        if level is None or CRISIS_LEVEL_ORDER[rule.level] > CRISIS_LEVEL_ORDER[level]:
            level = rule.level
    return RiskAssessment(level, tuple(triggered))


def strongest(assessments: Iterable[RiskAssessment]) -> RiskAssessment:
    """Combine assessments (e.g. against every definition when the questionnaire is unknown)."""
    level: CrisisLevel | None = None
    triggered: list[str] = []
    for assessment in assessments:
        triggered += [i for i in assessment.triggered_by if i not in triggered]
        if assessment.level is not None and (
            level is None or CRISIS_LEVEL_ORDER[assessment.level] > CRISIS_LEVEL_ORDER[level]
        ):
            level = assessment.level
    return RiskAssessment(level, tuple(triggered))
