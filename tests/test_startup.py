"""Start-up prepares what a respondent's first submission needs and leaves the rest to the
first request that uses it, so a new instance answers ``/readyz`` sooner.

Each check runs ``securebase serve``'s preparation (catalog, database check, application) in a
process of its own, on a SQLite file migrated beforehand, and looks at what it imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.migrations import upgrade

LATER = (
    # The schema is changed only when the database is behind.
    "alembic",
    # Research exports: numbers, suppression, differential privacy, CSV.
    "numpy",
    "opendp",
    "app.services.research.summary",
    "app.services.research.histograms",
    "app.services.research.items",
    "app.services.research.codebook",
    "app.services.research.csv_format",
    # Reading, scoring and storing a posted FHIR QuestionnaireResponse.
    "app.services.fhir.intake",
    "app.services.fhir.results",
    "app.services.fhir.storing",
    # The pages' template engine.
    "jinja2",
)

PREPARE = """
import json, sys
from app.cli import _prepared
application = _prepared(1)
later = json.loads(sys.argv[1])
imported = sorted(name for name in later if name in sys.modules)
print(json.dumps({"imported": imported, "paths": sorted(application.openapi()["paths"])}))
"""


def prepared(tmp_path: Path) -> dict[str, list[str]]:
    url = f"sqlite:///{tmp_path / 'start.db'}"
    upgrade(url)
    env = {
        **os.environ,
        "SECUREBASE_DATABASE_URL": url,
        "SECUREBASE_METRICS_ADDRESS": "off",
        "SECUREBASE_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(  # noqa: S603 (this interpreter, our own code)
        [sys.executable, "-c", PREPARE, json.dumps(LATER)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found: dict[str, list[str]] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_start_up_leaves_what_only_some_requests_need_to_their_first_use(
    tmp_path: Path,
) -> None:
    found = prepared(tmp_path)
    assert found["imported"] == []
    # Their routes are there all the same, from the start.
    assert {
        "/readyz",
        "/api/v1/responses",
        "/api/v1/research/summary",
        "/api/v1/research/codebook",
        "/api/v1/fhir/QuestionnaireResponse",
    } <= set(found["paths"])
