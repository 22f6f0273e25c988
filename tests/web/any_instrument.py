"""A small instrument written from questionnaires/README.md, as a deployer would write one."""

from __future__ import annotations

from pathlib import Path

import yaml

ID = "closeness-pulse"
ITEMS = [f"cp.{n:02d}" for n in range(1, 13)]  # odd: reaching out, even: pulling back
LABELS = ["Never", "Rarely", "Sometimes", "Often", "Always"]

# Written from questionnaires/README.md ("Every field"): the required fields, one scale, two
# dimensions, twelve statements; no tendencies, no wellbeing check, no content plan.
INSTRUMENT = {
    "id": ID,
    "version": "1.0.0",
    "title": {"en": "Closeness pulse"},
    "languages": ["en"],
    "estimated_minutes": 3,
    "instructions": {"en": "For each statement, choose how often it is true for you."},
    "consent_text": {"en": "May we use your answers, anonymously, for research?"},
    "scales": {"often": {"min": 1, "max": 5, "labels": {"en": LABELS}}},
    "dimensions": [
        {
            "id": "reaching",
            "label": {"en": "Reaching out"},
            "min_answered_fraction": 0.75,
            "bands": {"moderate_from": 2.5, "elevated_from": 3.5, "borderline_margin": 0.25},
        },
        {
            "id": "pulling",
            "label": {"en": "Pulling back"},
            "min_answered_fraction": 0.75,
            "bands": {"moderate_from": 2.5, "elevated_from": 3.5, "borderline_margin": 0.25},
        },
    ],
    "items": [
        {
            "id": item,
            "dimension": "reaching" if n % 2 else "pulling",
            "scale": "often",
            "reverse": n in (3, 4),
            "text": {"en": f"Closeness pulse statement {n}"},
        }
        for n, item in enumerate(ITEMS, 1)
    ],
}
# Reaching out: every answer 5 (the reverse-keyed cp.03 answered 1): mean 5, elevated.
# Pulling back: every answer 2 (the reverse-keyed cp.04 answered 4): mean 2, low.
ANSWERS = {item: (5 if n % 2 else 2) for n, item in enumerate(ITEMS, 1)} | {
    "cp.03": 1,
    "cp.04": 4,
}


def write_instrument(folder: Path) -> Path:
    """The instrument as a file in ``folder`` (a SECUREBASE_QUESTIONNAIRES_DIR)."""
    folder.mkdir(exist_ok=True)
    (folder / f"{ID}.yaml").write_text(yaml.safe_dump(INSTRUMENT), encoding="utf-8")
    return folder
