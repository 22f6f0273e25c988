"""A catalog whose bundled questionnaire has norms: a generated norm sample written as a norms
file (as ``securebase norms build`` or a deployer would ship it) beside the definitions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scoring.catalog import Catalog
from scoring.norms import dump_norms
from tests.norms.norms_support import QUESTIONNAIRE, write_norms

N = 600
DATES = "between March and October 2026"
"""The sample's dates (1 March to 31 October 2026) as the page says them."""


def norm_sample(catalog: Catalog) -> dict[str, list[float]]:
    """Scores every fully answered person could have, spread over the scale: anxiety and
    avoidance over all of 1..7, disorganization over the lower half (so its band differs)."""
    definition = catalog.definitions[QUESTIONNAIRE].definition
    sample: dict[str, list[float]] = {}
    for dimension in definition.dimensions:
        items = len(definition.items_of(dimension.id))
        steps = 6 * items + 1 if dimension.id != "disorganization" else 3 * items + 1
        sample[dimension.id] = [1 + (i * 37 % steps) / items for i in range(N)]
    return sample


def normed_catalog(catalog: Catalog, folder: Path, *, kind: str = "study") -> Catalog:
    """The bundled definitions and a norms file for ``QUESTIONNAIRE`` under ``folder``: from a
    published study (named "A test sample"), or built here with a privacy release."""
    path = write_norms(folder, catalog.definitions[QUESTIONNAIRE], norm_sample(catalog))
    if kind == "instance":
        content: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        content["source"] = {"kind": "instance", "description": "this instance"}
        content["privacy"] = {
            "epsilon": 1.0,
            "mechanism": "discrete Laplace",
            "noise_scale": 0.0,
            "ledger": "norms",
        }
        path.write_text(dump_norms(content), encoding="utf-8")
    return Catalog.load([folder])
