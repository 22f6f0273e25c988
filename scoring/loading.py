"""Reading definition files: every problem reported at once, each with its file and path.

A definition file is YAML (``.yaml``/``.yml``) or JSON. Parsing goes YAML -> JSON -> strict
pydantic validation, so a quoted ``"3"`` never passes for the number 3 and lists are read as
the tuples the frozen models hold.

The definition's identity includes its *content hash*: SHA-256 over the canonical JSON of the
parsed definition (sorted keys, no insignificant whitespace). Comments and formatting do not
change it; any change to wording, keys or thresholds does, so a stored response scored with an
older file can always be told apart from one scored with the current file. A definition without
demographic items (or without targets) hashes as it did before the format had them. A
definition with ``targets`` is expanded (:mod:`scoring.targets`) before it is hashed.

The ``research`` declaration (earlier versions that measure the same, ``same_measure_as``) is
left out of the hash: it says which stored responses research may pool, not what a respondent
saw or how an answer is scored, so adding it to a definition later mints no new hash (and a
definition cannot name its own). Each hash it declares is checked against the earlier file
kept in the ``archive/`` folder beside the definition (:mod:`scoring.lineage`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from scoring import yaml_text
from scoring.crosscheck import cross_check
from scoring.definition import Definition
from scoring.lineage import first_difference
from scoring.targets import expand

DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")
ARCHIVE_FOLDER = "archive"
"""Beside the definitions: earlier versions kept unchanged, so that a declaration that one
measures the same as an earlier version can be checked. Never loaded as definitions."""
SAME_MEASURE_AS = "research.same_measure_as"


@dataclass(frozen=True, slots=True)
class DefinitionProblem:
    """One problem in one file: where it is (a dotted path) and what is wrong."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class DefinitionError(Exception):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: Sequence[DefinitionProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class LoadedDefinition:
    """A validated definition, the file it came from and its content hash."""

    definition: Definition
    source: Path
    content_hash: str

    @property
    def measured_hashes(self) -> tuple[str, ...]:
        """The content hashes of the responses research pools for this definition: its own,
        then those of the earlier versions it declares measure the same."""
        return (self.content_hash, *self.definition.same_measure_as)


def dotted(path: Iterable[str | int]) -> str:
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(f".{part}" if parts else part)
    return "".join(parts)


def content_hash(definition: Definition) -> str:
    document = definition.model_dump(mode="json")
    del document["research"]  # which responses research pools; not what was asked or scored
    if not definition.demographics:
        del document["demographics"]  # so that existing definitions keep their hash
    if not definition.targets:
        # Likewise for the keys of instruments answered per relationship.
        del document["targets"]
        del document["target_tendencies"]
        for part in ("items", "dimensions", "tendencies"):
            for entry in document[part]:
                del entry["target"]
    canonical = json.dumps(
        document,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_document(path: Path) -> object:
    """Parse a YAML or JSON file into plain data; syntax errors become a DefinitionError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(
            [DefinitionProblem(str(path), "", f"cannot read: {exc.strerror}")]
        ) from exc
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml_text.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise DefinitionError(
            [DefinitionProblem(str(path), "", f"not valid syntax: {exc}")]
        ) from exc


def parse_definition(document: object, source: str) -> Definition:
    """Validate plain data as a Definition, collecting model and cross-reference problems."""
    try:
        # Through JSON so that strict validation reads YAML lists as tuples.
        raw = json.dumps(document, default=str)
    except (TypeError, ValueError) as exc:
        raise DefinitionError([DefinitionProblem(source, "", f"not plain data: {exc}")]) from exc
    problems = [DefinitionProblem(source, dotted(loc), msg) for loc, msg in cross_check(document)]
    try:
        definition = Definition.model_validate_json(raw)
    except ValidationError as exc:
        problems = [
            DefinitionProblem(source, dotted(err["loc"]), err["msg"]) for err in exc.errors()
        ] + problems
        raise DefinitionError(problems) from exc
    if problems:
        raise DefinitionError(problems)
    return expand(definition)


def load_definition(path: Path) -> LoadedDefinition:
    definition = parse_definition(read_document(path), str(path))
    own = content_hash(definition)
    if definition.same_measure_as:
        problems = lineage_problems(definition, own, path)
        if problems:
            raise DefinitionError(problems)
    return LoadedDefinition(definition, path, own)


Archived = dict[str, tuple[Path, Definition]]
"""Earlier versions of a definition by content hash, each with its file."""


def archived(folder: Path, questionnaire_id: str) -> tuple[Archived, list[DefinitionProblem]]:
    """The earlier versions of ``questionnaire_id`` kept in ``folder``, by content hash, with
    the problems of any file there that does not load."""
    found: Archived = {}
    problems: list[DefinitionProblem] = []
    if not folder.is_dir():
        return found, problems
    for file in definition_files(folder):
        try:
            earlier = parse_definition(read_document(file), str(file))
        except DefinitionError as exc:
            problems += exc.problems
            continue
        if earlier.id == questionnaire_id:
            found.setdefault(content_hash(earlier), (file, earlier))
    return found, problems


def lineage_problems(definition: Definition, own: str, path: Path) -> list[DefinitionProblem]:
    """The problems of ``research.same_measure_as``: each hash must be another version's,
    listed once, and kept in the archive folder with the same measurement (only presentation
    text may differ; :mod:`scoring.lineage`)."""
    folder = path.parent / ARCHIVE_FOLDER
    kept, problems = archived(folder, definition.id)
    seen: set[str] = set()
    for index, declared in enumerate(definition.same_measure_as):
        where = f"{SAME_MEASURE_AS}[{index}]"
        if declared == own:
            message = (
                "is this definition's own content hash: list only the hashes of earlier "
                "versions that measure the same"
            )
        elif declared in seen:
            message = "is listed twice"
        elif declared not in kept:
            message = (
                f"no earlier version of {definition.id!r} with this content hash is kept in "
                f"{folder}: keep the earlier file there, unchanged, so that the claim that it "
                "measures the same can be checked"
            )
        else:
            message = _measures_differently(*kept[declared], definition)
        seen.add(declared)
        if message:
            problems.append(DefinitionProblem(str(path), where, message))
    return problems


def _measures_differently(file: Path, earlier: Definition, definition: Definition) -> str:
    difference = first_difference(earlier, definition)
    if difference is None:
        return ""
    return (
        f"the earlier version with this hash ({file.name}) measures differently: "
        f"{dotted(difference) or 'the definition'} is not the same; only presentation text "
        "(version, title, estimated_minutes, instructions, consent_text, the wellbeing "
        "check's title and instructions, labels and descriptions of dimensions and "
        "tendencies, content) may differ"
    )


def definition_files(directory: Path) -> list[Path]:
    """Definition files directly inside ``directory`` (content and resources live elsewhere)."""
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in DEFINITION_SUFFIXES)


def load_definitions(paths: Iterable[Path]) -> list[LoadedDefinition]:
    """Load many files; raise one DefinitionError holding the problems of all of them."""
    loaded: list[LoadedDefinition] = []
    problems: list[DefinitionProblem] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            item = load_definition(path)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        previous = seen.get(item.definition.id)
        if previous is not None:
            problems.append(
                DefinitionProblem(
                    str(path), "id", f"id {item.definition.id!r} also defined in {previous}"
                )
            )
            continue
        seen[item.definition.id] = path
        loaded.append(item)
    if problems:
        raise DefinitionError(problems)
    return loaded
