"""Small pieces of the web client: strings per language, templates, markup, pages, links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.schemas.questionnaires import ItemView, QuestionnaireView, ScaleView, SectionView
from app.web import notice as notice_display
from app.web.markup import Block, Span, blocks
from app.web.pages import first_open_step, plan, sizes
from app.web.rendering import TEMPLATES_DIR, contact_link, translator
from app.web.strings import STRINGS_DIR, StringsError, WebStrings, web_strings
from scoring.catalog import Catalog
from scoring.crisis import Contact

VISIBLE_ATTRIBUTES = (
    "aria-label",
    "title",
    "alt",
    "placeholder",
    "data-copied",
    "data-failed",
    "data-go-help",
    "data-announced",
)


def _without_jinja(source: str) -> str:
    source = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    source = re.sub(r"\{%.*?%\}", " ", source, flags=re.S)
    return re.sub(r"\{\{.*?\}\}", " ", source, flags=re.S)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES_DIR.glob("*.html")))
def test_templates_hold_no_words_of_their_own(template: str) -> None:
    """Every visible word comes from strings/<lang>.yaml or the content files, so a new
    language needs a translation file and no template change."""
    source = _without_jinja((TEMPLATES_DIR / template).read_text(encoding="utf-8"))
    text_between_tags = re.sub(r"<[^>]*>", " ", source)
    words = re.findall(r"[A-Za-z]{2,}", text_between_tags)
    assert words == [], f"{template} has literal text: {words[:10]}"
    for attribute in VISIBLE_ATTRIBUTES:
        for value in re.findall(rf'{attribute}="([^"]*)"', source):
            assert not re.search(r"[A-Za-z]", value), f"{template}: {attribute}={value!r}"


def test_every_string_the_templates_name_exists() -> None:
    keys = web_strings().keys()
    named: set[str] = set()
    for path in TEMPLATES_DIR.glob("*.html"):
        named |= set(re.findall(r"\bt(?:\.many)?\('([a-z_.]+)'", path.read_text(encoding="utf-8")))
    for path in Path(STRINGS_DIR).parent.glob("*.py"):
        named |= set(re.findall(r'\bt\("([a-z_.]+)"', path.read_text(encoding="utf-8")))
    dynamic = {key for key in named if key.endswith(".")}
    assert named - dynamic - keys == set()
    for level in ("acute", "urgent", "support"):
        assert f"notice.heading.{level}" in keys
    for channel in ("call", "text", "chat", "email", "web"):
        assert f"resources.channel.{channel}" in keys


def test_a_second_language_needs_exactly_the_same_keys(tmp_path: Path) -> None:
    english = (STRINGS_DIR / "en.yaml").read_text(encoding="utf-8")
    (tmp_path / "en.yaml").write_text(english, encoding="utf-8")
    (tmp_path / "xx.yaml").write_text(english.replace('"Start"', '"Beginnen"'), encoding="utf-8")
    strings = WebStrings.load(tmp_path)
    assert strings.languages == ("en", "xx")
    assert strings.text("xx", "landing.start") == "Beginnen"
    assert translator("en")("site.name") == "Secure Base"
    (tmp_path / "xx.yaml").write_text("site:\n  name: Nur das\n", encoding="utf-8")
    with pytest.raises(StringsError, match="missing"):
        WebStrings.load(tmp_path)


def test_strings_refuse_unknown_keys_and_wrong_shapes() -> None:
    strings = web_strings()
    with pytest.raises(KeyError):
        strings.text("en", "no.such.key")
    with pytest.raises(TypeError):
        strings.text("en", "landing.not_items")
    assert len(strings.texts("en", "landing.not_items")) == 3
    # An unknown language falls back to English rather than showing nothing.
    assert strings.text("zz", "site.name") == "Secure Base"


def test_markup_keeps_paragraphs_lists_and_strong_text_as_plain_data() -> None:
    source = (
        "First line\nsame paragraph.\n\n"
        "- **Bold**: item one\n  continues\n- item <two>\n\n"
        "Unmatched ** marker."
    )
    assert blocks(source) == (
        Block("paragraph", ((Span("First line same paragraph."),),)),
        Block(
            "list",
            (
                (Span("Bold", strong=True), Span(": item one continues")),
                (Span("item <two>"),),
            ),
        ),
        Block("paragraph", ((Span("Unmatched ** marker."),),)),
    )


def _view(attachment: int, wellbeing: int) -> QuestionnaireView:
    def items(prefix: str, count: int) -> list[ItemView]:
        return [ItemView(id=f"{prefix}{n}", text=f"{prefix} {n}", scale="s") for n in range(count)]

    sections = [
        SectionView(
            id="a", title="A", instructions="", optional=False, items=items("a", attachment)
        ),
        SectionView(id="w", title="W", instructions="", optional=True, items=items("w", wellbeing)),
    ]
    return QuestionnaireView(
        id="q",
        version="1.0.0",
        hash="h",
        language="en",
        title="Q",
        instructions="",
        consent_text=None,
        estimated_minutes=5,
        scales={"s": ScaleView(min=1, max=3, labels=["x", "y", "z"])},
        sections=sections,
        items=sections[0].items,
        wellbeing_items=sections[1].items,
    )


@pytest.mark.parametrize(
    ("count", "expected"), [(27, [7, 7, 7, 6]), (5, [5]), (14, [7, 7]), (16, [6, 5, 5])]
)
def test_pages_are_balanced_and_short(count: int, expected: list[int]) -> None:
    assert sizes(count) == expected


def test_plan_numbers_items_per_section_and_puts_wellbeing_on_its_own_page() -> None:
    pages = plan(_view(27, 5))
    assert [len(p.items) for p in pages] == [7, 7, 7, 6, 5]
    assert [p.step for p in pages] == [1, 2, 3, 4, 5]
    assert pages[1].items[0].number == 8
    assert pages[4].section.optional
    assert pages[4].items[0].number == 1
    answers = {f"a{n}": 1 for n in range(10)}
    assert first_open_step(pages, answers) == 2
    assert first_open_step(pages, {f"a{n}": 1 for n in range(27)}) == 5


@pytest.mark.parametrize(
    ("channel", "value", "href"),
    [
        ("call", "116 123", "tel:116123"),
        ("text", "741741", "sms:741741"),
        ("chat", "https://988lifeline.org", "https://988lifeline.org"),
        ("email", "jo@samaritans.org", "mailto:jo@samaritans.org"),
        ("call", "your local emergency number", None),
        ("web", "javascript:alert(1)", None),
        ("chat", "http://plain.example", None),
    ],
)
def test_contacts_become_links_only_with_safe_schemes(
    channel: str, value: str, href: str | None
) -> None:
    link = contact_link(
        Contact.model_validate({"channel": channel, "value": value}), translator("en")
    )
    assert link.href == href
    assert link.label


@pytest.mark.parametrize(
    ("country", "href", "label"),
    [
        ("GB", "tel:999", "Call 999"),
        ("US", "tel:911", "Call 911"),
        (None, "tel:112", "Call 112 or your local emergency number"),
        ("ZZ", "tel:112", "Call 112 or your local emergency number"),
    ],
)
def test_acute_always_has_a_number_to_dial(
    catalog: Catalog, country: str | None, href: str, label: str
) -> None:
    resources = catalog.crisis.resources_for("acute", country)
    action = notice_display.emergency_action(resources, translator("en"))
    assert (action.href, action.label) == (href, label)


def test_the_compact_notice_lists_contacts_that_reach_someone_at_once(catalog: Catalog) -> None:
    t = translator("en")
    notice = catalog.crisis.notice("urgent", ("wb_selfharm",), "GB", "en")
    shown = notice_display.shown(catalog, notice, t, compact=True)
    assert shown.compact
    assert shown.emergency is None
    assert [(c.service, c.link.href) for c in shown.first_contacts] == [
        ("Samaritans", "tel:116123"),
        ("Shout", "sms:85258"),
    ]
    assert shown.countries == (), "a known country needs no choice"
    unknown = notice_display.shown(catalog, catalog.crisis.notice("acute", (), None, "en"), t)
    assert ("GB", "United Kingdom") in unknown.countries
    assert unknown.emergency is not None
    assert all(c.link.href != unknown.emergency.href for c in unknown.first_contacts)


def test_a_level_is_shown_in_full_until_it_was_seen(catalog: Catalog) -> None:
    urgent = catalog.crisis.notice("urgent", (), "GB", "en")
    assert notice_display.in_full(urgent, 0, always=False)
    assert notice_display.in_full(urgent, 1, always=False)
    assert not notice_display.in_full(urgent, 2, always=False)
    assert not notice_display.in_full(urgent, 3, always=False)
    assert notice_display.in_full(urgent, 3, always=True)
