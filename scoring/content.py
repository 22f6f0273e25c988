"""Psychoeducation sections and result wording, read from ``content/<lang>/``.

A section is a Markdown file with a YAML front matter block::

    ---
    id: anxious-pattern
    title: When closeness feels uncertain
    references:
      - "Mikulincer, M., & Shaver, P. R. (2016). ..."
    ---
    Body in Markdown.

``strings.yaml`` in the same folder holds every sentence the result composes around the
scores (summary, how it was scored, the disclaimer), so a second language is a folder of
translations, not a code change.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from scoring import yaml_text
from scoring.definition import Identifier, NonEmptyText, TendencyId
from scoring.loading import DefinitionError, DefinitionProblem, dotted


class ContentModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Section(ContentModel):
    id: Identifier
    title: NonEmptyText
    references: tuple[NonEmptyText, ...] = ()
    body: NonEmptyText


class ResultWording(ContentModel):
    """Sentences the result is composed of. Placeholders in braces are filled by the report:

    - ``how_scored``: ``{title}``, ``{version}``, ``{scale_min}``, ``{scale_max}`` (of the
      attachment statements), ``{min_answered}`` (the share of a dimension's statements that
      must be answered, e.g. ``75%``)
    - ``dimension_line``: ``{dimension}``, ``{answered}``, ``{of}``, ``{score}``, ``{band}``,
      ``{moderate_from}``, ``{elevated_from}``
    - ``summary_elevated``: ``{primary}``; ``also_elevated``: ``{others}``
    - ``borderline_note``: ``{dimension}``; ``insufficient_note``: ``{dimension}``,
      ``{answered}``, ``{of}``, ``{needed}``
    """

    disclaimer: NonEmptyText
    how_scored: NonEmptyText
    dimension_line: NonEmptyText
    summary_secure: NonEmptyText
    summary_elevated: NonEmptyText
    also_elevated: NonEmptyText
    summary_undetermined: NonEmptyText
    summary_scores_only: NonEmptyText
    borderline_note: NonEmptyText
    insufficient_note: NonEmptyText
    band_names: dict[str, NonEmptyText]
    tendency_names: dict[TendencyId | str, NonEmptyText]
    list_separator: str = Field(default=", ")
    list_last_separator: str = Field(default=" and ")


class ContentLibrary:
    """Sections and wording for every language found under a content root."""

    def __init__(self, sections: dict[str, dict[str, Section]], wording: dict[str, ResultWording]):
        self._sections = sections
        self._wording = wording

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self._wording)

    def section(self, language: str, section_id: str) -> Section | None:
        return self._sections.get(language, {}).get(section_id)

    def section_ids(self, language: str) -> frozenset[str]:
        return frozenset(self._sections.get(language, {}))

    def wording(self, language: str) -> ResultWording | None:
        return self._wording.get(language)

    @classmethod
    def load(cls, root: Path) -> ContentLibrary:
        sections: dict[str, dict[str, Section]] = {}
        wording: dict[str, ResultWording] = {}
        problems: list[DefinitionProblem] = []
        if not root.is_dir():
            raise DefinitionError([DefinitionProblem(str(root), "", "content folder not found")])
        for language_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            language = language_dir.name
            sections[language] = {}
            strings = language_dir / "strings.yaml"
            try:
                wording[language] = ResultWording.model_validate(
                    _plain(yaml_text.safe_load(strings.read_text(encoding="utf-8")))
                )
            except OSError:
                problems.append(DefinitionProblem(str(strings), "", "missing"))
            except yaml.YAMLError as exc:
                problems.append(DefinitionProblem(str(strings), "", f"not valid YAML: {exc}"))
            except ValidationError as exc:
                problems += [
                    DefinitionProblem(str(strings), dotted(e["loc"]), e["msg"])
                    for e in exc.errors()
                ]
            for path in sorted(language_dir.glob("*.md")):
                try:
                    section = _read_section(path)
                except DefinitionError as exc:
                    problems += exc.problems
                    continue
                if section.id in sections[language]:
                    problems.append(
                        DefinitionProblem(str(path), "id", f"duplicate id {section.id!r}")
                    )
                sections[language][section.id] = section
        if problems:
            raise DefinitionError(problems)
        return cls(sections, wording)


def _plain(document: object) -> object:
    """YAML lists become tuples so that strict validation accepts them."""
    if isinstance(document, list):
        return tuple(_plain(x) for x in document)
    if isinstance(document, dict):
        return {k: _plain(v) for k, v in document.items()}
    return document


def _read_section(path: Path) -> Section:
    text = path.read_text(encoding="utf-8")
    parts = text.split("---\n", 2)
    if len(parts) != 3 or parts[0].strip():
        raise DefinitionError(
            [DefinitionProblem(str(path), "", "must start with a '---' front matter block")]
        )
    try:
        front = yaml_text.safe_load(parts[1])
    except yaml.YAMLError as exc:
        raise DefinitionError([DefinitionProblem(str(path), "", f"front matter: {exc}")]) from exc
    if not isinstance(front, dict):
        raise DefinitionError([DefinitionProblem(str(path), "", "front matter must be a mapping")])
    try:
        return Section.model_validate(_plain({**front, "body": parts[2].strip()}))
    except ValidationError as exc:
        raise DefinitionError(
            [DefinitionProblem(str(path), dotted(e["loc"]), e["msg"]) for e in exc.errors()]
        ) from exc
