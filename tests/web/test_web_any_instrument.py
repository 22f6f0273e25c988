"""An instrument written only from questionnaires/README.md is answered in the web pages.

A deployer's folder (SECUREBASE_QUESTIONNAIRES_DIR) holds a 12-statement instrument on a 1-5
scale with two dimensions, statement ids holding a dot, no tendencies and no wellbeing check.
The app is built from those settings as at start-up, and the instrument is chosen, answered,
scored and resumed through the pages exactly as a browser without scripts does (form posts,
redirects, cookies); the stored response and a research export then show it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from any_instrument import ANSWERS, ID, ITEMS, LABELS, write_instrument
from fastapi.testclient import TestClient
from sqlmodel import Session
from study_registry import register
from webflow import (
    api_read,
    csrf_token,
    notice_first,
    page_text,
    post_page,
    radio_names,
    session_cookie,
)

from app.config import Settings
from app.main import create_app
from app.schemas.questionnaires import ItemView, QuestionnaireView, ScaleView, SectionView
from app.schemas.responses import Progress
from app.services.research.access import create_key
from app.web.charts import Axis
from app.web.pages import plan
from app.web.rendering import render_fragment, translator
from app.web.score_bars import dimension_axis
from app.web.security import CSRF_FIELD, SESSION_COOKIE
from app.web.strings import web_strings
from app.web.views import PartOf
from scoring.catalog import BUNDLED_DIR, Catalog

S = web_strings()
BUNDLED = "attachment-self-reflection"


def t(key: str, **values: object) -> str:
    return S.text("en", key, **values)


def text_of(html: str) -> str:
    return " ".join(page_text(html).text)


@pytest.fixture
def definitions(tmp_path: Path) -> Path:
    return write_instrument(tmp_path / "definitions")


AnyWeb = Callable[..., TestClient]


@pytest.fixture
def any_web(settings: Settings, definitions: Path) -> Iterator[AnyWeb]:
    """Browsers (https clients) on one app built from the deployer's settings: the catalog is
    loaded from SECUREBASE_QUESTIONNAIRES_DIR, as at start-up."""
    app = create_app(settings.model_copy(update={"questionnaires_dir": definitions}))
    opened: list[TestClient] = []

    def browser() -> TestClient:
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        client.__enter__()
        opened.append(client)
        return client

    yield browser
    for client in opened:
        client.__exit__(None, None, None)
    app.state.engine.dispose()


def choose_and_start(web: TestClient, *, consent: bool = True, study: str | None = None) -> str:
    """Follow the landing page's link to the instrument and press Start; returns the token."""
    landing = web.get("/", params={"study": study} if study else None).text
    link = re.search(rf'<a href="(/\?questionnaire={ID}[^"]*)">Closeness pulse</a>', landing)
    assert link, "the landing page offers no link to the instrument"
    chosen = web.get(link.group(1).replace("&amp;", "&")).text
    form = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', chosen))
    assert form["questionnaire"] == ID
    if consent:
        form["research_consent"] = "yes"
    started = web.post("/start", data=form)
    assert (started.status_code, started.headers["location"]) == (303, "/questionnaire/1")
    return form[CSRF_FIELD]


def answer_pages(web: TestClient, token: str, answers: dict[str, int], steps: int = 2) -> None:
    for step in range(1, steps + 1):
        items = radio_names(web.get(f"/questionnaire/{step}").text)
        on_page = {item: answers[item] for item in items if item in answers}
        reply = post_page(web, step, token, on_page, "finish" if step == steps else "next")
        assert reply.status_code == 303, reply.text


def test_with_a_second_instrument_the_landing_page_offers_both_the_bundled_one_by_default(
    any_web: AnyWeb,
) -> None:
    html = any_web().get("/").text
    text = text_of(html)

    assert t("landing.choose_heading") in text
    offered = re.findall(r'<li data-questionnaire="([^"]+)">', html)
    assert offered == [BUNDLED, ID]
    assert '<a href="/?questionnaire=attachment-self-reflection" aria-current="page">' in html
    assert t("landing.choice_facts", minutes=3, items=12) in text
    assert 'name="questionnaire" value="attachment-self-reflection"' in html
    assert t("landing.what_body") in text  # the bundled one keeps its own words


def test_the_bundled_questionnaire_alone_is_offered_as_before(web: TestClient) -> None:
    html = web.get("/").text

    assert t("landing.choose_heading") not in text_of(html)
    assert "data-questionnaire" not in html
    assert t("landing.lead") in text_of(html)


def test_the_chosen_instrument_is_described_from_its_own_definition(any_web: AnyWeb) -> None:
    html = any_web().get("/", params={"questionnaire": ID}).text
    text = text_of(html)

    assert re.search(r"<h1>Closeness pulse</h1>", html)
    assert t("landing.what_body_any", items=12, dimensions="Reaching out, Pulling back") in text
    # Twelve statements on two pages, and no optional check promised: it has none.
    assert t("landing.time_body_no_check", minutes=3, items=12, pages=2) in text
    assert "optional check" not in text
    assert "May we use your answers, anonymously, for research?" in text
    assert 'aria-current="page">Closeness pulse</a>' in html


def test_the_instrument_is_answered_page_by_page_with_its_own_scale(any_web: AnyWeb) -> None:
    web = any_web()
    token = choose_and_start(web)

    first = web.get("/questionnaire/1").text
    items = radio_names(first)
    assert items == ITEMS[:6]  # dotted ids are the form's field names
    assert t("questionnaire.page_title", step=1, steps=2, section="Closeness pulse") in first
    assert all(f"<span>{label}</span>" in first for label in LABELS)
    assert 'class="scale scale-5"' in first
    assert first.count("<fieldset") == 6
    assert t("questionnaire.answered_of", answered=0, of=12) in first

    moved = post_page(web, 1, token, {item: ANSWERS[item] for item in items})
    assert moved.headers["location"] == "/questionnaire/2"
    second = web.get("/questionnaire/2").text
    assert radio_names(second) == ITEMS[6:]
    assert t("questionnaire.finish") in second  # the last page: there is no wellbeing page
    assert web.get("/questionnaire/3").status_code == 404
    assert api_read(web).json()["answers"] == {item: ANSWERS[item] for item in items}


def test_results_show_its_dimensions_as_bars_and_nothing_it_does_not_have(
    any_web: AnyWeb,
) -> None:
    web = any_web()
    token = choose_and_start(web)
    answer_pages(web, token, ANSWERS)

    html = web.get("/results").text
    text = text_of(html)

    reaching = t(
        "results.score_bar_desc", label="Reaching out", score="5.00", band="elevated", min=1, max=5
    )
    pulling = t(
        "results.score_bar_desc", label="Pulling back", score="2.00", band="low", min=1, max=5
    )
    assert reaching in text
    assert pulling in text
    assert re.findall(r'<h3 id="score-\d-heading" data-dimension="([a-z]+)">', html) == [
        "reaching",
        "pulling",
    ]
    assert 'id="score-1-marker"' in html
    assert 'id="score-2-marker"' in html
    # Neither the attachment map nor the disorganization bar: it has no such dimensions.
    assert "chart-map" not in html
    assert t("results.bar_heading") not in text
    assert t("results.fearful_note") not in text
    # No tendencies are defined and no sections planned: those headings are left out.
    assert t("results.tendencies_heading") not in text
    assert t("results.learn_heading") not in text
    assert t("results.help_heading") in text
    assert not notice_first(html)


def test_the_stored_response_is_scored_by_its_key(any_web: AnyWeb) -> None:
    web = any_web()
    token = choose_and_start(web)
    answer_pages(web, token, ANSWERS)

    stored = api_read(web).json()

    assert stored["status"] == "submitted"
    assert stored["questionnaire"]["id"] == ID
    assert stored["answers"] == ANSWERS
    assert stored["consent"] == {"research": True}
    scores = stored["result"]["scores"]
    assert (scores["reaching"]["mean"], scores["reaching"]["band"]) == (5.0, "elevated")
    assert (scores["pulling"]["mean"], scores["pulling"]["band"]) == (2.0, "low")
    assert stored["crisis"] is None


def test_the_resume_link_names_the_instrument_and_opens_it_elsewhere(any_web: AnyWeb) -> None:
    web = any_web()
    token = choose_and_start(web)
    first = web.get("/questionnaire/1").text
    post_page(web, 1, token, {item: ANSWERS[item] for item in ITEMS[:6]})
    response_id, secret = session_cookie(web)
    link = f"https://testserver/resume?code={response_id}.{secret}&amp;questionnaire={ID}"
    assert link in first

    other = any_web()
    found = other.get(link.replace("&amp;", "&"))
    assert found.status_code == 200
    assert t("resume.found_progress", answered=6, of=12) in text_of(found.text)
    assert t("landing.answers_to", title="Closeness pulse") in text_of(found.text)
    carried = other.post(
        "/resume", data={CSRF_FIELD: csrf_token(found.text), "code": f"{response_id}.{secret}"}
    )
    assert (carried.status_code, carried.headers["location"]) == (303, "/questionnaire/2")
    assert radio_names(other.get("/questionnaire/2").text) == ITEMS[6:]
    assert other.get("/questionnaire/1").text.count(" checked>") == 6


def test_a_resume_link_whose_answers_are_gone_leads_back_to_its_instrument(
    any_web: AnyWeb,
) -> None:
    web = any_web()
    choose_and_start(web)
    first = web.get("/questionnaire/1").text
    link = re.search(r'id="resume-link"[^>]*value="([^"]+)"', first)
    assert link
    erased = web.post("/delete", data={CSRF_FIELD: csrf_token(first)})
    assert erased.headers["location"] == "/deleted"

    gone = any_web().get(link.group(1).replace("&amp;", "&"))

    assert gone.status_code == 404
    assert t("resume.not_found") in text_of(gone.text)
    assert f'<a href="/?questionnaire={ID}">' in gone.text
    assert t("resume.start_again", title="Closeness pulse") in text_of(gone.text)


def test_the_start_page_says_which_questionnaire_saved_answers_belong_to(
    any_web: AnyWeb,
) -> None:
    web = any_web()
    choose_and_start(web)

    landing = text_of(web.get("/").text)

    assert t("landing.saved_heading") in landing
    assert t("landing.answers_to", title="Closeness pulse") in landing
    assert t("landing.saved_progress", answered=0, of=12) in landing


def test_a_study_link_naming_the_instrument_enrols_in_it(any_web: AnyWeb) -> None:
    web = any_web()
    enrolment = register(web.app.state.engine, "pulse-study")  # type: ignore[attr-defined]

    landing = web.get("/", params={"study": enrolment, "questionnaire": ID}).text
    # The link chose the questionnaire: no other is offered beside it.
    assert "data-questionnaire" not in landing
    assert f'name="study" value="{enrolment}"' in landing
    form = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', landing))
    assert form["questionnaire"] == ID
    started = web.post("/start", data=form)
    assert started.status_code == 303

    stored = api_read(web).json()
    assert (stored["questionnaire"]["id"], stored["study"]) == (ID, "pulse-study")


def test_the_choice_list_keeps_the_study_of_the_link(any_web: AnyWeb) -> None:
    web = any_web()
    enrolment = register(web.app.state.engine, "open-study")  # type: ignore[attr-defined]

    landing = web.get("/", params={"study": enrolment}).text

    assert f'<a href="/?questionnaire={ID}&amp;study={enrolment}">' in landing


def test_a_questionnaire_that_is_not_offered_is_refused_plainly(any_web: AnyWeb) -> None:
    web = any_web()
    page = web.get("/", params={"questionnaire": "no-such-thing"})
    assert page.status_code == 404
    assert t("landing.not_offered_title") in text_of(page.text)

    token = csrf_token(web.get("/").text)
    refused = web.post("/start", data={CSRF_FIELD: token, "questionnaire": "no-such-thing"})
    assert refused.status_code == 422
    assert t("landing.not_offered_body") in text_of(refused.text)
    assert web.cookies.get(SESSION_COOKIE) is None


def test_answers_given_in_the_pages_reach_the_research_export(
    settings: Settings, definitions: Path
) -> None:
    update = {"questionnaires_dir": definitions, "min_cell_size": 2}
    app = create_app(settings.model_copy(update=update))
    for _ in range(2):
        with TestClient(app, base_url="https://testserver", follow_redirects=False) as web:
            answer_pages(web, choose_and_start(web, consent=True), ANSWERS)
    with Session(app.state.engine) as session:
        _, key = create_key(session, "Study team", (), dt.datetime.now(dt.UTC))
        session.commit()
    with TestClient(app) as researcher:
        auth = {"Authorization": f"Bearer {key}"}
        query = {"questionnaire_id": ID}
        summary = researcher.get("/api/v1/research/summary", params=query, headers=auth)
        items = researcher.get("/api/v1/research/items", params=query, headers=auth)
    app.state.engine.dispose()

    assert summary.status_code == 200, summary.text
    assert summary.json()["meta"]["n"] == 2
    assert summary.json()["dimensions"]["reaching"]["mean"] == pytest.approx(5.0)
    assert summary.json()["dimensions"]["pulling"]["mean"] == pytest.approx(2.0)
    assert items.status_code == 200, items.text
    listed = items.json()["items"]
    assert sorted(listed) == ITEMS
    assert (listed["cp.03"]["dimension"], listed["cp.03"]["reverse"]) == ("reaching", True)


def test_the_readme_example_keeps_its_wellbeing_check_map_and_crisis_notice(
    settings: Settings, tmp_path: Path
) -> None:
    """The README's own example has anxious and avoidant tendencies and a wellbeing check:
    the pages draw its two dimensions on the map and show the notice its risk rule calls for."""
    readme = (BUNDLED_DIR / "README.md").read_text(encoding="utf-8")
    example = re.search(r"## A complete, annotated example.*?```yaml\n(.*?)```", readme, re.S)
    assert example
    folder = tmp_path / "readme-example"
    folder.mkdir()
    (folder / "closeness-check.yaml").write_text(example.group(1), encoding="utf-8")
    app = create_app(settings.model_copy(update={"questionnaires_dir": folder}))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as web:
        token = csrf_token(web.get("/", params={"questionnaire": "closeness-check"}).text)
        web.post("/start", data={CSRF_FIELD: token, "questionnaire": "closeness-check"})
        post_page(web, 1, token, {"cc01": 5, "cc02": 1, "cc03": 1, "cc04": 5})
        check = web.get("/questionnaire/2").text
        assert radio_names(check) == ["wb_life", "wb_overwhelmed"]
        assert t("questionnaire.optional") in text_of(check)
        post_page(web, 2, token, {"wb_life": 1}, "finish")
        results = web.get("/results").text
    app.state.engine.dispose()

    assert notice_first(results)
    assert 'data-level="urgent"' in results
    assert 'id="map-point"' in results
    assert "score-1-marker" not in results  # both dimensions are on the map
    assert t("results.fearful_note") not in text_of(results)  # no disorganization to point to


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (1, 7, [1, 2, 3, 4, 5, 6, 7]),
        (0, 100, list(range(0, 101, 10))),
        (1, 255, [1, 25, 50, 75, 100, 125, 150, 175, 200, 225, 255]),
    ],
)
def test_a_long_scale_is_numbered_in_round_steps(low: int, high: int, expected: list[int]) -> None:
    axis = Axis("d", low, high, (low + high) / 3, (low + high) / 2, 16, 384)
    assert [value for value, _ in axis.ticks] == expected


def test_a_score_kept_per_target_is_drawn_on_its_dimensions_axis(definitions: Path) -> None:
    """Scores of instruments answered per relationship are keyed ``<target>.<dimension>``
    (questionnaires/README.md); such a score gets the bar of the dimension it scores."""
    definition = Catalog.load([definitions]).definitions[ID].definition

    per_target = dimension_axis(definition, "partner.reaching")
    unknown = dimension_axis(definition, "partner.nothing")

    assert per_target is not None
    assert (per_target.dimension, per_target.low, per_target.high) == ("reaching", 1, 5)
    assert per_target.elevated_from == 3.5
    assert unknown is None


class RelationshipItem(ItemView):
    """An item as a questionnaire answered per relationship shows it: with its relationship."""

    target: str
    target_label: str


def _per_relationship_view() -> QuestionnaireView:
    targets = [("partner", "Your partner"), ("friend", "Your best friend")]
    items: list[ItemView] = [
        RelationshipItem(
            id=f"{target}.rs{n:02d}",
            text=f"Statement {n}",
            scale="agree",
            target=target,
            target_label=label,
        )
        for target, label in targets
        for n in range(1, 10)
    ]
    section = SectionView(id="attachment", title="R", instructions="", optional=False, items=items)
    labels = [str(n) for n in range(1, 8)]
    return QuestionnaireView(
        id="per-relationship",
        version="1.0.0",
        hash="h",
        language="en",
        title="R",
        instructions="",
        consent_text=None,
        estimated_minutes=5,
        scales={"agree": ScaleView(min=1, max=7, labels=labels)},
        sections=[section],
        items=items,
        wellbeing_items=[],
    )


def test_statements_grouped_by_relationship_are_paged_and_headed_by_group() -> None:
    pages = plan(_per_relationship_view())

    assert [(p.group, len(p.items)) for p in pages] == [
        ("Your partner", 5),
        ("Your partner", 4),
        ("Your best friend", 5),
        ("Your best friend", 4),
    ]
    assert [n.number for n in pages[3].items] == [6, 7, 8, 9]
    assert pages[3].section_size == 9
    html = render_fragment(
        "questionnaire.html",
        {
            "lang": "en",
            "t": translator("en"),
            "csrf_token": "token",
            "title": "R",
            "notice": None,
            "notice_shown": None,
            "has_session": True,
            "page": pages[2],
            "part": PartOf(3, 4),
            "last": False,
            "answers": {"friend.rs02": 4},
            "progress": Progress(answered=10, of=18, wellbeing_answered=0, ready_to_submit=False),
            "resume": None,
            "missing": (),
            "unanswered": (),
            "open_here": False,
        },
    )
    assert '<h2 class="group-heading" id="group-heading">Your best friend</h2>' in html
    assert radio_names(html) == [f"friend.rs{n:02d}" for n in range(1, 6)]
    assert 'name="friend.rs02" value="4" checked>' in html
    assert t("questionnaire.statement_number", number=5, total=9) in html


def test_ungrouped_statements_have_no_group_heading() -> None:
    assert all(page.group is None for page in plan(_view_of_instrument()))


def _view_of_instrument() -> QuestionnaireView:
    items = [ItemView(id=item, text=item, scale="often") for item in ITEMS]
    section = SectionView(id="attachment", title="C", instructions="", optional=False, items=items)
    return QuestionnaireView(
        id=ID,
        version="1.0.0",
        hash="h",
        language="en",
        title="C",
        instructions="",
        consent_text=None,
        estimated_minutes=3,
        scales={"often": ScaleView(min=1, max=5, labels=LABELS)},
        sections=[section],
        items=items,
        wellbeing_items=[],
    )
