"""The catalog's YAML is read with libyaml's parser when PyYAML has it: it must read every
bundled document as the same values, and word a broken one's error as before."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scoring import yaml_text

BUNDLED = sorted((Path(__file__).resolve().parents[2] / "questionnaires").rglob("*.yaml"))


@pytest.mark.parametrize("path", BUNDLED, ids=lambda path: path.name)
def test_every_bundled_document_reads_as_the_same_values(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert yaml_text.safe_load(text) == yaml.safe_load(text)


def test_a_broken_document_is_worded_as_the_plain_parser_words_it() -> None:
    broken = "items:\n  - id: a\n    text: [unclosed\n"
    with pytest.raises(yaml.YAMLError) as plain:
        yaml.safe_load(broken)
    with pytest.raises(yaml.YAMLError) as read:
        yaml_text.safe_load(broken)
    assert str(read.value) == str(plain.value)
