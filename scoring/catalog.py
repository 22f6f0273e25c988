"""The catalog: every definition in use, with the content and crisis resources they need.

Loaded once at start-up. Loading checks the whole set together and reports every problem at
once: each definition file on its own, duplicate ids across folders, and content sections a
definition names that the content library does not have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from scoring.answers import AnswerProblem, check_answers
from scoring.content import ContentLibrary
from scoring.crisis import CrisisDirectory, CrisisNotice
from scoring.engine import score
from scoring.loading import (
    DefinitionError,
    DefinitionProblem,
    LoadedDefinition,
    definition_files,
    load_definitions,
)
from scoring.norms import NO_NORMS, NormsShelf, compare
from scoring.packaged import packaged_folder
from scoring.result import ScoreResult, compose_result
from scoring.risk import RiskAssessment, assess_answer, assess_risk, strongest

BUNDLED_DIR = packaged_folder("scoring", "_bundled", "questionnaires")
"""The bundled definitions, content/<lang>/ and resources/ (the repository's questionnaires/)."""
RESOURCES_FILE = "crisis-resources.yaml"


@dataclass(frozen=True)
class Catalog:
    definitions: Mapping[str, LoadedDefinition]
    content: ContentLibrary
    crisis: CrisisDirectory
    norms: NormsShelf = field(default=NO_NORMS)

    @classmethod
    def load(cls, extra_dirs: Iterable[Path] = (), bundled_dir: Path = BUNDLED_DIR) -> Catalog:
        problems: list[DefinitionProblem] = []
        files = definition_files(bundled_dir)
        for directory in extra_dirs:
            if not directory.is_dir():
                problems.append(DefinitionProblem(str(directory), "", "not a folder"))
                continue
            files += definition_files(directory)
        loaded: list[LoadedDefinition] = []
        content: ContentLibrary | None = None
        crisis: CrisisDirectory | None = None
        for step in ("definitions", "content", "crisis"):
            try:
                if step == "definitions":
                    loaded = load_definitions(files)
                elif step == "content":
                    content = ContentLibrary.load(bundled_dir / "content")
                else:
                    crisis = CrisisDirectory.load(
                        bundled_dir / "resources" / "crisis-resources.yaml"
                    )
            except DefinitionError as exc:
                problems += exc.problems
        if content is not None:
            for item in loaded:
                for language in item.definition.languages:
                    available = content.section_ids(language) or content.section_ids("en")
                    for section_id in sorted(item.definition.content_section_ids() - available):
                        problems.append(
                            DefinitionProblem(
                                str(item.source),
                                "content",
                                f"section {section_id!r} not found for language {language!r}",
                            )
                        )
        norms = NO_NORMS
        try:
            norms = NormsShelf.load([bundled_dir, *extra_dirs], loaded)
        except DefinitionError as exc:
            problems += exc.problems
        if problems or content is None or crisis is None:
            raise DefinitionError(problems)
        return cls({item.definition.id: item for item in loaded}, content, crisis, norms)

    def get(self, questionnaire_id: str) -> LoadedDefinition | None:
        return self.definitions.get(questionnaire_id)

    def screen(
        self, raw_answers: Mapping[str, object], questionnaire_id: str | None
    ) -> RiskAssessment:
        """Risk of ``raw_answers``; against every definition when the questionnaire is unknown,
        so that a request too broken to name its questionnaire still gets help."""
        known = self.get(questionnaire_id) if questionnaire_id is not None else None
        if known is not None:
            return assess_risk(known.definition, raw_answers)
        return strongest(assess_risk(d.definition, raw_answers) for d in self.definitions.values())

    def screen_answer(
        self, key: object, value: object, questionnaire_id: str | None
    ) -> RiskAssessment:
        """:meth:`screen` of the one raw answer ``{key: value}``."""
        known = self.get(questionnaire_id) if questionnaire_id is not None else None
        if known is not None:
            return assess_answer(known.definition, key, value)
        return strongest(assess_answer(d.definition, key, value) for d in self.definitions.values())

    def notice(
        self, risk: RiskAssessment, country: str | None, language: str
    ) -> CrisisNotice | None:
        if risk.level is None:
            return None
        return self.crisis.notice(risk.level, risk.triggered_by, country, language)

    def evaluate(
        self,
        loaded: LoadedDefinition,
        raw_answers: Mapping[str, object],
        *,
        language: str,
        country: str | None,
    ) -> tuple[ScoreResult | None, RiskAssessment, list[AnswerProblem]]:
        """Risk first, then validity, then the result (only for valid answers)."""
        risk = assess_risk(loaded.definition, raw_answers)
        answers, problems = check_answers(loaded.definition, raw_answers)
        if problems:
            return None, risk, problems
        result = compose_result(
            definition=loaded.definition,
            definition_hash=loaded.content_hash,
            scoring=score(loaded.definition, answers),
            risk=risk,
            language=language,
            country=country,
            content=self.content,
            crisis=self.crisis,
        )
        return self.with_norms(loaded, result), risk, []

    def with_norms(self, loaded: LoadedDefinition, result: ScoreResult) -> ScoreResult:
        """The result with its place in the norm sample, when norms for exactly this
        definition are shipped; unchanged otherwise."""
        norms = self.norms.get(loaded.content_hash)
        if norms is None:
            return result
        means = {dimension_id: s.mean for dimension_id, s in result.scores.items()}
        return result.model_copy(update={"norms": compare(norms, means)})
