"""Instruments answered per relationship: ECR-RS, scored once per target.

The library's ECR-RS key (Fraley, Heffernan, Vicary & Brumbaugh, 2011): 9 items on 1..7,
avoidance = items 1-6 with 1-4 reverse-keyed, anxiety = items 7-9; answered about a partner,
the mother, the father and a best friend. Every expected number below is computed by hand.
"""

from __future__ import annotations

import copy
import csv
import io
import random
from typing import Any

import pytest
import yaml

from scoring.answers import check_answers
from scoring.batch import score_rows, write_scores
from scoring.catalog import BUNDLED_DIR, Catalog
from scoring.engine import score
from scoring.loading import (
    DefinitionError,
    LoadedDefinition,
    content_hash,
    load_definition,
    parse_definition,
)
from scoring.vectorized import score_answer_sets, score_one

LIBRARY_FILE = BUNDLED_DIR / "library" / "ecr-rs.yaml"
README = BUNDLED_DIR / "README.md"
TARGETS = ("partner", "mother", "father", "friend")
ITEMS = [f"rs{n:02d}" for n in range(1, 10)]


def per_target(target: str, values: list[int | None]) -> dict[str, int]:
    return {f"{target}.{i}": v for i, v in zip(ITEMS, values, strict=True) if v is not None}


# partner: avoidance (8-1 + 8-2 + 8-3 + 8-4 + 5 + 6)/6 = 33/6 = 5.5, anxiety 21/3 = 7.0
# mother:  avoidance (4+4+4+4+4+4)/6 = 4.0, anxiety 4.0 -> both moderate, none elevated
# father:  avoidance (1+1+1+1+1+1)/6 = 1.0; anxiety 1 of 3 answered (3 needed) -> no score
# friend:  avoidance (1+1+1+1+7)/5 = 2.2 (5 of 6 suffice); anxiety unanswered -> no score
ANSWERS = {
    **per_target("partner", [1, 2, 3, 4, 5, 6, 7, 7, 7]),
    **per_target("mother", [4] * 9),
    **per_target("father", [7, 7, 7, 7, 1, 1, 2, None, None]),
    **per_target("friend", [7, 7, 7, 7, 7, None, None, None, None]),
}
EXPECTED = {
    "partner.avoidance": (5.5, "elevated"),
    "partner.anxiety": (7.0, "elevated"),
    "mother.avoidance": (4.0, "moderate"),
    "mother.anxiety": (4.0, "moderate"),
    "father.avoidance": (1.0, "low"),
    "father.anxiety": (None, None),
    "friend.avoidance": (2.2, "low"),
    "friend.anxiety": (None, None),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load([LIBRARY_FILE.parent])


def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(LIBRARY_FILE.read_text(encoding="utf-8"))
    return loaded


def test_the_key_is_expanded_once_per_relationship() -> None:
    ecr = load_definition(LIBRARY_FILE).definition

    assert [t.id for t in ecr.targets] == list(TARGETS)
    assert [i.id for i in ecr.items] == [f"{t}.{i}" for t in TARGETS for i in ITEMS]
    assert [d.id for d in ecr.dimensions] == [
        f"{t}.{d}" for t in TARGETS for d in ("avoidance", "anxiety")
    ]
    for target in TARGETS:
        assert [int(i.id[-2:]) for i in ecr.items if i.target == target and i.reverse] == [
            1,
            2,
            3,
            4,
        ]
        assert [i.id for i in ecr.items_of(f"{target}.anxiety")] == [
            f"{target}.rs07",
            f"{target}.rs08",
            f"{target}.rs09",
        ]
    assert ecr.items[0].text["en"] == "ECR-RS item 1"
    assert ecr.dimensions[0].label["en"] == "Avoidance (ECR-RS) — Your partner"
    assert ecr.tendencies == ()  # no single tendency across relationships
    assert [(t.id, t.dimension) for t in ecr.target_tendencies][:2] == [
        ("anxious", "partner.anxiety"),
        ("avoidant", "partner.avoidance"),
    ]


def test_each_relationship_is_scored_on_its_own(catalog: Catalog) -> None:
    loaded = catalog.definitions["ecr-rs"]

    result, risk, problems = catalog.evaluate(loaded, ANSWERS, language="en", country=None)

    assert problems == []
    assert risk.level is None
    assert result is not None
    got = {d: (s.mean, s.band) for d, s in result.scores.items()}
    assert got == EXPECTED  # exact: 33/6 and 11/5 round to the literals
    assert result.scores["partner.avoidance"].target == "partner"
    assert result.scores["father.anxiety"].answered == 1
    assert result.scores["father.anxiety"].needed == 3
    by_target = {t.id: t.primary_tendency for t in result.targets}
    # partner: anxiety 2.5 above 4.5, avoidance 1.0 above -> anxious; mother: scored, none
    # elevated -> secure; father and friend: a dimension without a score -> undetermined.
    assert by_target == {"partner": "anxious", "mother": "secure", "father": None, "friend": None}
    assert result.primary_tendency is None  # no single tendency across relationships
    assert next(t.label for t in result.targets) == "Your partner"
    assert result.targets[0].dimensions == ("partner.avoidance", "partner.anxiety")
    partner = [(t.id, t.elevated, t.target) for t in result.tendencies if t.target == "partner"]
    assert partner == [("anxious", True, "partner"), ("avoidant", True, "partner")]
    assert result.summary.startswith(
        "Your partner: anxious tendency. Your mother (or a mother-like figure): secure tendency."
    )
    assert "Anxiety (ECR-RS) — Your father (or a father-like figure): 1 of 3" in result.summary
    assert [s.id for s in result.psychoeducation] == [
        "secure-pattern",
        "anxious-pattern",
        "avoidant-pattern",
        "attachment-and-mental-health",
    ]
    dumped = result.model_dump(mode="json")
    assert dumped["scores"]["mother.anxiety"]["target"] == "mother"
    assert dumped["targets"][1] == {
        "id": "mother",
        "label": "Your mother (or a mother-like figure)",
        "dimensions": ["mother.avoidance", "mother.anxiety"],
        "primary_tendency": "secure",
    }


def test_a_single_target_result_gains_no_new_keys(catalog: Catalog) -> None:
    bundled = catalog.definitions["attachment-self-reflection"]
    answers = {i.id: 4 for i in bundled.definition.items}

    result, _, _ = catalog.evaluate(bundled, answers, language="en", country=None)

    assert result is not None
    dumped = result.model_dump(mode="json")
    assert "targets" not in dumped
    assert all("target" not in s for s in dumped["scores"].values())
    assert all("target" not in t for t in dumped["tendencies"])


def test_answers_are_checked_per_relationship() -> None:
    ecr = load_definition(LIBRARY_FILE).definition

    _, problems = check_answers(ecr, {"partner.rs01": 8, "rs01": 3, "sister.rs01": 2})

    assert [(p.item, p.message) for p in problems] == [
        ("partner.rs01", "8 is off the scale (1 to 7)"),
        ("rs01", "unknown item 'rs01' in ecr-rs"),
        ("sister.rs01", "unknown item 'sister.rs01' in ecr-rs"),
    ]


def test_without_tendencies_no_relationship_is_called_secure(catalog: Catalog) -> None:
    without = document()
    without.pop("tendencies")
    without["content"].pop("tendencies")
    definition = parse_definition(without, "ecr-rs.yaml")
    complete = {**ANSWERS, **per_target("father", [4] * 9), **per_target("friend", [4] * 9)}
    answers, problems = check_answers(definition, complete)

    scoring = score(definition, answers)
    result, _, _ = catalog.evaluate(
        LoadedDefinition(definition, LIBRARY_FILE, content_hash(definition)),
        complete,
        language="en",
        country=None,
    )

    assert problems == []
    assert scoring.complete
    assert scoring.primary_tendency is None
    assert result is not None
    assert [t.primary_tendency for t in result.targets] == [None] * 4
    assert "secure" not in result.summary


def random_answer_sets(count: int, seed: int = 2011) -> list[dict[str, object]]:
    rng = random.Random(seed)
    sets: list[dict[str, object]] = []
    for _ in range(count):
        answers: dict[str, object] = {}
        for target in TARGETS:
            skip_target = rng.random() < 0.2  # e.g. no partner
            for item in ITEMS:
                if not skip_target and rng.random() > 0.07:
                    answers[f"{target}.{item}"] = rng.randint(1, 7)
        sets.append(answers)
    sets[17]["mother.rs03"] = 9  # one bad row
    return sets


def test_the_vectorized_scorer_agrees_with_the_single_one() -> None:
    ecr = load_definition(LIBRARY_FILE).definition
    sets = random_answer_sets(3000)

    fast = score_answer_sets(ecr, sets)

    assert fast == [score_one(ecr, raw) for raw in sets]
    assert fast[17].problems
    assert fast[17].scoring is None
    assert all(r.scoring is None or r.scoring.primary_tendency is None for r in fast)
    first = fast[0].scoring
    assert first is not None
    assert len(first.dimensions) == 8


def test_the_csv_scorer_writes_a_column_per_relationship_and_dimension() -> None:
    ecr = load_definition(LIBRARY_FILE).definition
    sets = [dict(ANSWERS), *random_answer_sets(500)]
    header = ["respondent", *(i.id for i in ecr.items)]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=header)
    writer.writeheader()
    for number, answers in enumerate(sets):
        writer.writerow({"respondent": f"r{number}", **answers})
    out = io.StringIO()

    write_scores(ecr, io.StringIO(text.getvalue()), out)

    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows == list(score_rows(ecr, io.StringIO(text.getvalue())))
    first = rows[0]
    for dimension, (mean, band) in EXPECTED.items():
        assert first[f"{dimension}_mean"] == ("" if mean is None else repr(mean))
        assert first[f"{dimension}_band"] == (band or "")
    assert first["primary_tendency"] == ""
    assert rows[18]["problems"] == "mother.rs03: 9 is off the scale (1 to 7)"


def test_the_library_copy_adds_nothing_by_default() -> None:
    assert "ecr-rs" not in Catalog.load().definitions


def test_single_target_definitions_keep_their_hash() -> None:
    # Computed before definitions could list targets; the new keys are left out of the hash
    # when a definition has none. (The bundled file as it was then is kept in the archive.)
    bundled = load_definition(BUNDLED_DIR / "archive" / "attachment-self-reflection-1.0.0.yaml")
    ecr_r = load_definition(BUNDLED_DIR / "library" / "ecr-r.yaml")

    assert bundled.content_hash == (
        "sha256:6eff2fe4a4687f77856bfe4501e55d5182689c2ef9ed10ffe3ae5f7b21144626"
    )
    assert ecr_r.content_hash == (
        "sha256:94992c0ba345bde5cacbce87362ffc7444c3e5986b2cdcea5d4c4bea5b7bbe4e"
    )


WELLBEING = {
    "title": {"en": "Lately"},
    "instructions": {"en": "Optional."},
    "items": [
        {
            "id": "wb_life",
            "scale": "agreement",
            "text": {"en": "Thoughts of ending your life"},
        }
    ],
    "risk_rules": [{"item": "wb_life", "at_least": 5, "level": "urgent"}],
}


def _with_wellbeing(d: dict[str, Any]) -> dict[str, Any]:
    d["wellbeing"] = copy.deepcopy(WELLBEING)
    return d


# Each rule of targets, with a change that must break it and the message it gives.
TARGET_RULES = [
    (
        lambda d: d["targets"].append({"id": "mother", "label": {"en": "Mum"}}),
        "targets[4].id: duplicate id 'mother'",
    ),
    (
        lambda d: d["targets"][0].update(id="rs05"),
        "targets[0].id: target 'rs05' is also an item's id",
    ),
    (
        lambda d: d["targets"][2].update(label={"de": "Vater"}),
        "targets[2].label: missing text for language(s) en",
    ),
    (
        lambda d: d["targets"][3].update(id="f" * 60),
        "is longer than 64 characters",
    ),
    (
        lambda d: _with_wellbeing(d)["wellbeing"]["risk_rules"][0].update(item="partner.rs07"),
        "wellbeing.risk_rules[0].item: 'partner.rs07' is answered once per relationship; a risk "
        "rule may name only a wellbeing item, which is answered once",
    ),
    (
        lambda d: _with_wellbeing(d)["wellbeing"]["items"][0].update(id="partner.rs07"),
        "wellbeing.items[0].id: 'partner.rs07' is also the id of item 'rs07' answered about "
        "target 'partner'",
    ),
    (
        lambda d: d["targets"][1].update(id="wellbeing"),
        "targets[1].id: 'wellbeing' is reserved: it names a section of the questionnaire "
        "(attachment, demographics, wellbeing)",
    ),
    (
        lambda d: d["items"][0].update(target="partner"),
        "items[0].target: set by the expansion of the top-level targets; not written in a file",
    ),
]


@pytest.mark.parametrize(("change", "message"), TARGET_RULES)
def test_each_target_rule_is_refused_with_its_documented_message(change: Any, message: str) -> None:
    broken = document()
    change(broken)

    with pytest.raises(DefinitionError) as caught:
        parse_definition(broken, "ecr-rs.yaml")

    assert any(message in str(p) for p in caught.value.problems), caught.value.problems
    assert message in README.read_text(encoding="utf-8").replace("\n", " ")


def test_a_risk_rule_on_the_wellbeing_check_of_a_multi_target_instrument_works() -> None:
    with_check = _with_wellbeing(document())
    definition = parse_definition(with_check, "ecr-rs.yaml")

    scored = score_one(definition, {**ANSWERS, "wb_life": 6})

    assert scored.risk.level == "urgent"
    assert scored.scoring is not None
    assert [i.id for i in definition.wellbeing_items] == ["wb_life"]  # answered once
