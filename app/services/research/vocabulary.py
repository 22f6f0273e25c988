"""The names the exports use for what is not a definition's own id: the secure tendency, the
undetermined primary tendency, no crisis, the crisis levels strongest first, the statistics of
a score."""

from __future__ import annotations

from scoring.definition import CRISIS_LEVEL_ORDER

SECURE = "secure"
UNDETERMINED = "undetermined"
NO_CRISIS = "none"
CRISIS_LEVELS = tuple(sorted(CRISIS_LEVEL_ORDER, key=lambda level: -CRISIS_LEVEL_ORDER[level]))
STATISTICS = ("mean", "sd", "median", "q1", "q3", "min", "max")
NOT_RELEASED_UNDER_DP = ("sd", "median", "q1", "q3", "min", "max")
