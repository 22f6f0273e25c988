"""An instrument written only from questionnaires/README.md works without touching code.

The README's annotated example is copied verbatim into a folder named by
SECUREBASE_QUESTIONNAIRES_DIR; the app is built from the environment as at start-up; the
instrument is then listed, served, scored, stored, submitted and exported.
"""

from __future__ import annotations

import copy
import datetime as dt
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from readme_instrument import README, AppFactory, readme_example
from sqlmodel import Session

from app.services.research.access import create_key
from scoring.answers import check_answers
from scoring.catalog import Catalog
from scoring.engine import score
from scoring.loading import DefinitionError, load_definition, parse_definition

API = "/api/v1"
ID = "closeness-check"
# By the README's example: worry = cc01 + reversed cc03, distance = cc02 + reversed cc04, 1..5.
TESTS = Path(__file__).resolve().parent.parent
WORRIED = {"cc01": 5, "cc02": 1, "cc03": 1, "cc04": 5}  # worry (5 + 5)/2 = 5, distance 1


def test_the_example_is_served_as_written(
    app_from_environment: AppFactory, own_questionnaires_dir: Path
) -> None:
    client = app_from_environment(questionnaires_dir=own_questionnaires_dir)

    listed = {q["id"]: q for q in client.get(f"{API}/questionnaires").json()}
    view = client.get(f"{API}/questionnaires/{ID}").json()

    assert listed[ID]["item_count"] == 6  # four statements, two wellbeing items
    assert "attachment-self-reflection" in listed  # the bundled one stays
    assert [i["id"] for i in view["items"]] == ["cc01", "cc02", "cc03", "cc04"]
    assert view["scales"]["truth"]["labels"][0] == "Not at all true"
    assert [(s["id"], s["optional"]) for s in view["sections"]] == [
        ("attachment", False),
        ("wellbeing", True),
    ]
    assert [d["id"] for d in view["demographics"]] == ["age_band"]


def test_the_example_scores_by_its_own_key_and_screens_risk(
    app_from_environment: AppFactory, own_questionnaires_dir: Path
) -> None:
    client = app_from_environment(questionnaires_dir=own_questionnaires_dir)

    calm = client.post(f"{API}/questionnaires/{ID}/score", json={"answers": WORRIED}).json()
    at_risk = client.post(
        f"{API}/questionnaires/{ID}/score", json={"answers": {**WORRIED, "wb_life": 1}}
    ).json()

    assert calm["scores"]["worry"]["mean"] == 5.0
    assert calm["scores"]["worry"]["band"] == "elevated"
    assert calm["scores"]["distance"]["mean"] == 1.0
    assert calm["primary_tendency"] == "anxious"
    assert calm["psychoeducation"][0]["id"] == "anxious-pattern"
    assert calm["crisis"] is None
    assert at_risk["crisis"]["level"] == "urgent"


def test_the_example_is_stored_submitted_and_exported(
    app_from_environment: AppFactory, own_questionnaires_dir: Path
) -> None:
    client = app_from_environment(questionnaires_dir=own_questionnaires_dir, min_cell_size=2)
    for value in (1, 2, 4, 5):
        started = client.post(
            f"{API}/responses",
            json={"questionnaire_id": ID, "answers": {"cc01": value, "age_band": 1}},
        )
        assert started.status_code == 201, started.text
        token = started.json()["token"]
        response_id = started.json()["response_id"]
        auth = {"Authorization": f"Bearer {token}"}
        saved = client.put(
            f"{API}/responses/{response_id}/answers",
            json={"answers": {"cc02": 2, "cc03": 3, "cc04": 4}},
            headers=auth,
        )
        assert saved.json()["progress"]["ready_to_submit"] is True
        submitted = client.post(f"{API}/responses/{response_id}/submit", headers=auth)
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["result"]["questionnaire"]["id"] == ID
    for value in (1, 5):
        created = client.post(
            f"{API}/responses",
            json={
                "questionnaire_id": ID,
                "answers": {"cc01": value, "cc02": 2, "cc03": 3, "cc04": 4, "age_band": 2},
                "submit": True,
                "consent": {"research": True},
            },
        )
        assert created.status_code == 201, created.text
    with Session(client.app.state.engine) as session:  # type: ignore[attr-defined]
        _, key = create_key(session, "Study team", (), dt.datetime.now(dt.UTC))
        session.commit()

    summary = client.get(
        f"{API}/research/summary",
        params={"questionnaire_id": ID},
        headers={"Authorization": f"Bearer {key}"},
    )

    assert summary.status_code == 200, summary.text
    body: dict[str, Any] = summary.json()
    assert body["meta"]["questionnaire"]["id"] == ID
    # Only the two responses submitted with research consent count.
    assert body["meta"]["n"] == 2
    assert set(body["dimensions"]) == {"worry", "distance"}
    # worry = (cc01 + (6 - 3)) / 2 -> (1 + 3)/2 = 2 and (5 + 3)/2 = 4: mean 3
    assert body["dimensions"]["worry"]["mean"] == pytest.approx(3.0)


# Each documented message of the README's rule tables, with a change that must produce it.
DOCUMENTED = [
    (lambda d: d.pop("estimated_minutes"), "estimated_minutes: Field required"),
    (
        lambda d: d.update(estimated_minutes="4"),
        "estimated_minutes: Input should be a valid integer",
    ),
    (lambda d: d["scales"]["truth"].update(min=3, max=1), "must be greater than min (3)"),
    (lambda d: d["scales"]["truth"].update(max=300), "at most 255 are allowed"),
    (lambda d: d["items"][0].update(scale="agree5"), "items[0].scale: unknown scale 'agree5'"),
    (
        lambda d: d["wellbeing"]["risk_rules"][0].update(level="severe"),
        "Input should be 'support', 'urgent' or 'acute'",
    ),
    (
        lambda d: d["wellbeing"]["risk_rules"][1].update(at_least=0),
        "must lie above the lowest answer and within 0..3, so that 'not at all' never triggers",
    ),
    (
        lambda d: d["demographics"][0].update(id="country"),
        "'country' is reserved: research exports already group by country, language, study, "
        "tendency",
    ),
    (
        lambda d: d["content"]["tendencies"].update(disorganized=["x"]),
        "content.tendencies.disorganized: no tendency 'disorganized' defined",
    ),
]


@pytest.mark.parametrize(("change", "message"), DOCUMENTED)
def test_each_documented_message_is_the_one_given(change: Any, message: str) -> None:
    document = yaml.safe_load(readme_example())
    broken = copy.deepcopy(document)
    change(broken)

    with pytest.raises(DefinitionError) as caught:
        parse_definition(broken, "closeness-check.yaml")

    assert any(message in str(p) for p in caught.value.problems), caught.value.problems
    assert message in README.read_text(encoding="utf-8").replace("\n", " ")


def test_the_library_is_shipped_but_not_active() -> None:
    library = README.parent / "library"

    default = Catalog.load()
    with_library = Catalog.load([library])

    assert "ecr-r" not in default.definitions
    ecr = with_library.definitions["ecr-r"].definition
    assert [i.id for i in ecr.items_of("anxiety")] == [f"ecr{n:02d}" for n in range(1, 19)]
    assert [i.id for i in ecr.items_of("avoidance")] == [f"ecr{n:02d}" for n in range(19, 37)]
    # The published key (Fraley, Waller & Brennan, 2000), as the golden tests check it.
    assert [int(i.id[3:]) for i in ecr.items if i.reverse] == [
        9, 11, 20, 22, 26, 27, 28, 29, 30, 31, 33, 34, 35, 36,
    ]  # fmt: skip
    assert all(item.text["en"] == f"ECR-R item {n}" for n, item in enumerate(ecr.items, 1))


def test_the_library_ecr_r_scores_the_golden_cases_as_the_published_key() -> None:
    golden = yaml.safe_load((TESTS / "scoring" / "ecr_r_golden.yaml").read_text(encoding="utf-8"))
    ecr = load_definition(README.parent / "library" / "ecr-r.yaml").definition

    for case in golden["cases"]:
        answers, problems = check_answers(ecr, case["answers"])
        scoring = score(ecr, answers)
        assert problems == []
        for dimension, expected in case["expected"]["scores"].items():
            mean = scoring.dimensions[dimension].mean
            wanted = None if expected["mean"] is None else float(Fraction(expected["mean"]))
            assert mean == pytest.approx(wanted, abs=1e-12), case["name"]
        assert scoring.primary_tendency == case["expected"]["primary_tendency"], case["name"]
