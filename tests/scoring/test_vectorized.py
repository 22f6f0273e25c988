"""Scoring many answer sets at once gives, row for row, exactly what the single scorer gives.

"Exactly" means equal objects: every mean to the last bit, every band, borderline flag,
count, distance, primary tendency, crisis level and problem message. Checked on the bundled
questionnaire and on random definitions (random scales, dimensions, reverse keys, answered
fractions, thresholds, tendencies and risk rules) with random partial, and partly invalid,
answer sets.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.batch import output_columns, score_rows, write_scores
from scoring.catalog import Catalog
from scoring.definition import Definition
from scoring.vectorized import score_answer_sets, score_one

BUNDLED_ID = "attachment-self-reflection"
TENDENCIES = ("anxious", "avoidant", "disorganized")
BANDS = ("low", "moderate", "elevated")
LEVELS = ("support", "urgent", "acute")


def _text(word: str) -> dict[str, str]:
    return {"en": word}


@st.composite
def definitions(draw: st.DrawFn) -> Definition:
    """A valid definition with everything the scoring rules read drawn at random."""
    scales: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 3))):
        low = draw(st.integers(-3, 3))
        high = low + draw(st.integers(1, 8))
        labels = [f"s{index} point {p}" for p in range(high - low + 1)]
        scales[f"scale{index}"] = {"min": low, "max": high, "labels": {"en": labels}}
    scale_ids = sorted(scales)
    dimensions, items = [], []
    for d in range(draw(st.integers(1, 4))):
        moderate = draw(st.floats(-4, 10, allow_nan=False).map(lambda x: round(x * 4) / 4))
        elevated = moderate + draw(st.sampled_from([0.25, 0.5, 1.0, 1.5, 1 / 3, 2.0]))
        dimensions.append(
            {
                "id": f"dim{d}",
                "label": _text(f"Dimension {d}"),
                "min_answered_fraction": draw(
                    st.sampled_from([0.1, 0.25, 1 / 3, 0.5, 0.6, 0.75, 0.8, 1.0])
                ),
                "bands": {
                    "moderate_from": moderate,
                    "elevated_from": elevated,
                    "borderline_margin": draw(st.sampled_from([0.0, 0.1, 0.25, 0.5])),
                },
            }
        )
        for k in range(draw(st.integers(1, 9))):
            items.append(
                {
                    "id": f"d{d}i{k}",
                    "dimension": f"dim{d}",
                    "scale": draw(st.sampled_from(scale_ids)),
                    "reverse": draw(st.booleans()),
                    "text": _text("A statement."),
                }
            )
    draw(st.randoms()).shuffle(items)  # items of one dimension need not be adjacent
    chosen = draw(st.lists(st.sampled_from(TENDENCIES), unique=True, max_size=3))
    tendencies = [
        {
            "id": tendency,
            "dimension": f"dim{draw(st.integers(0, len(dimensions) - 1))}",
            "label": _text(tendency),
            "elevated_band": draw(st.sampled_from(BANDS)),
        }
        for tendency in chosen
    ]
    document: dict[str, Any] = {
        "id": "random",
        "version": "1.0.0",
        "title": _text("Random"),
        "languages": ["en"],
        "estimated_minutes": 5,
        "instructions": _text("Answer."),
        "scales": scales,
        "dimensions": dimensions,
        "items": items,
        "tendencies": tendencies,
    }
    wellbeing_count = draw(st.integers(0, 3))
    if wellbeing_count:
        wellbeing_items = [
            {"id": f"wb{w}", "scale": draw(st.sampled_from(scale_ids)), "text": _text("How?")}
            for w in range(wellbeing_count)
        ]
        rules = []
        for w_item in wellbeing_items:
            scale = scales[w_item["scale"]]
            for _ in range(draw(st.integers(1, 2))):
                rules.append(
                    {
                        "item": w_item["id"],
                        "at_least": draw(st.integers(scale["min"] + 1, scale["max"])),
                        "level": draw(st.sampled_from(LEVELS)),
                    }
                )
        document["wellbeing"] = {
            "title": _text("Wellbeing"),
            "instructions": _text("Answer."),
            "items": wellbeing_items,
            "risk_rules": rules,
        }
    if draw(st.booleans()):
        document["demographics"] = [
            {
                "id": "age",
                "text": _text("Age?"),
                "options": [{"id": f"o{o}", "label": _text(f"o{o}")} for o in range(3)],
            }
        ]
    return Definition.model_validate_json(json.dumps(document))


def _answerable(definition: Definition) -> list[tuple[str, int, int]]:
    columns = []
    for item in (*definition.items, *definition.wellbeing_items):
        scale = definition.scales[item.scale]
        columns.append((item.id, scale.min, scale.max))
    columns += [(d.id, 1, len(d.options)) for d in definition.demographics]
    return columns


@st.composite
def answer_sets(draw: st.DrawFn, definition: Definition, invalid: bool = True) -> dict[str, Any]:
    """A random partial answer set; now and then a value no valid answer set has."""
    answers: dict[str, Any] = {}
    for item_id, low, high in _answerable(definition):
        if draw(st.integers(0, 9)) < 3:
            continue  # unanswered
        answers[item_id] = draw(st.integers(low, high))
    if invalid and draw(st.integers(0, 4)) == 0:
        strange = draw(
            st.sampled_from([True, 2.0, "3", None, 99, -99, "Yes", [1], 2**70, "s0 point 1"])
        )
        target = draw(st.sampled_from([*[c[0] for c in _answerable(definition)], "nope"]))
        answers[target] = strange
    return answers


@st.composite
def definition_with_answers(draw: st.DrawFn) -> tuple[Definition, list[dict[str, Any]]]:
    definition = draw(definitions())
    return definition, draw(st.lists(answer_sets(definition), max_size=40))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definition_with_answers())
def test_random_definitions_score_exactly_as_the_single_scorer(
    case: tuple[Definition, list[dict[str, Any]]],
) -> None:
    definition, rows = case
    assert score_answer_sets(definition, rows) == [score_one(definition, raw) for raw in rows]


def _bundled(catalog: Catalog) -> Definition:
    loaded = catalog.get(BUNDLED_ID)
    assert loaded is not None
    return loaded.definition


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bundled_questionnaire_scores_exactly_as_the_single_scorer(
    catalog: Catalog, data: st.DataObject
) -> None:
    definition = _bundled(catalog)
    rows = data.draw(st.lists(answer_sets(definition), min_size=1, max_size=60))
    results = score_answer_sets(definition, rows)
    assert results == [score_one(definition, raw) for raw in rows]


def test_a_row_with_problems_keeps_its_problems_and_its_crisis_level(catalog: Catalog) -> None:
    definition = _bundled(catalog)
    complete = {item.id: 4 for item in definition.items}
    rows: list[dict[str, object]] = [
        complete,
        {**complete, "anx01": 9, "wb_now": "Yes"},
        {**complete, "wb_selfharm": 1},
    ]

    results = score_answer_sets(definition, rows)

    assert results[0].scoring is not None
    assert results[0].scoring.primary_tendency == "secure"
    assert results[0].risk.level is None
    assert results[1].scoring is None
    assert [p.item for p in results[1].problems] == ["anx01", "wb_now"]
    assert results[1].risk.level == "acute", "a written 'Yes' still counts for risk"
    assert results[2].risk.level == "urgent"
    assert results[2].scoring is not None


# The CSV path: the chunked, vectorized file gives the same file as scoring row by row.

_CELLS = st.one_of(
    st.integers(-4, 12).map(str),
    st.sampled_from(
        ["", " ", " 3 ", "x", "2.0", "+1", "1_0", "Yes", "s0 point 2", "99999999999", "٣"]
    ),
    st.sampled_from(["a,b", 'say "hi"', "two\nlines", "tab\there", "é"]),
)


@st.composite
def csv_files(draw: st.DrawFn, definition: Definition) -> str:
    known = [c[0] for c in _answerable(definition)]
    bounds_of = {c[0]: (c[1], c[2]) for c in _answerable(definition)}
    header = draw(
        st.lists(st.sampled_from([*known, "respondent", "other"]), min_size=1, max_size=20)
    )
    if draw(st.booleans()):
        header = ["respondent", *known]
    lines = [header]
    for _ in range(draw(st.integers(0, 30))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, 0, -1, 1]))
        mostly_valid = draw(st.booleans())
        row = []
        for position in range(max(0, width)):
            name = header[position] if position < len(header) else "other"
            bounds = bounds_of.get(name)
            if mostly_valid and bounds is not None:
                row.append(draw(st.one_of(st.just(""), st.integers(*bounds).map(str))))
            else:
                row.append(draw(_CELLS))
        lines.append(row)
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(lines)
    return text.getvalue()


def _reference(definition: Definition, text: str) -> str:
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(output_columns(definition))
    for out in score_rows(definition, io.StringIO(text)):
        writer.writerow([out[c] for c in output_columns(definition)])
    return output.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_csv_file_scores_as_each_row_alone(data: st.DataObject) -> None:
    definition = data.draw(definitions())
    text = data.draw(csv_files(definition))
    output = io.StringIO()
    write_scores(definition, io.StringIO(text), output)
    assert output.getvalue() == _reference(definition, text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), final_newline=st.booleans())
def test_a_file_without_quotes_scores_as_each_row_alone(
    data: st.DataObject, final_newline: bool
) -> None:
    """Lines without quotes are read as arrays of bytes, odd cells and all."""
    definition = data.draw(definitions())
    text = data.draw(csv_files(definition)).replace('"', "")
    text = text if final_newline else text.rstrip("\n")
    output = io.StringIO()
    write_scores(definition, io.StringIO(text), output)
    assert output.getvalue() == _reference(definition, text)


def test_rows_across_chunks_are_numbered_and_scored_alike(
    catalog: Catalog, monkeypatch: Any
) -> None:
    import scoring.batch

    monkeypatch.setattr(scoring.batch, "CHUNK_ROWS", 3)
    definition = _bundled(catalog)
    ids = [item.id for item in definition.items]
    lines = [",".join(ids)]
    for n in range(10):
        lines.append(",".join(str(1 + (n + k) % 7) for k in range(len(ids))))
        if n % 4 == 0:
            lines.append("")  # blank lines are skipped and not numbered
    text = "\n".join(lines) + "\n"
    output = io.StringIO()

    count = write_scores(definition, io.StringIO(text), output)

    assert count == 10
    assert output.getvalue() == _reference(definition, text)
    assert [r["respondent"] for r in csv.DictReader(io.StringIO(output.getvalue()))] == [
        str(n) for n in range(1, 11)
    ]
