"""The README's quick start and ``examples/quickstart.py`` run, as written, against a real
server: the README cannot drift from the API without this failing.

The ``sh`` block under "## Quick start" is taken from the README and run by bash with
``set -euo pipefail``; only ``BASE`` is pointed at the test server (the block reads it from the
environment) and the ``securebase`` command of this environment is on ``PATH`` for the
researcher key. Every line it prints is checked.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import httpx2
from docs_support import REPO, Instance, require_tool

QUESTIONNAIRE = "attachment-self-reflection"


def quickstart_block() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"^```sh\n(.*?)^```$", section, re.MULTILINE | re.DOTALL)
    assert found, "the Quick start section has no ```sh block"
    return found.group(1)


def urgent_contacts(instance: Instance) -> list[str]:
    answer = httpx2.get(f"{instance.api}/crisis-resources", params={"country": "GB"}, timeout=30)
    assert answer.status_code == 200
    return [resource["name"] for resource in answer.json()["resources"]]


def test_the_block_is_the_whole_flow() -> None:
    """What an integrator needs is there: each operation of the flow appears once at least."""
    block = quickstart_block()
    for needed in (
        'curl -s "$BASE/questionnaires"',
        '"$BASE/questionnaires/$Q?lang=en"',
        '-X POST "$BASE/responses"',
        '-X PUT "$BASE/responses/$ID/answers"',
        '-X POST "$BASE/responses/$ID/submit"',
        'curl -s "$BASE/responses/$ID"',
        '"$BASE/crisis-resources?country=GB"',
        '"$BASE/research/summary?',
        '-X DELETE "$BASE/responses/$ID"',
        "securebase researchers add",
    ):
        assert needed in block, needed


def test_readme_quickstart_runs_against_a_real_server(instance: Instance) -> None:
    require_tool("curl")
    require_tool("jq")
    script = "set -euo pipefail\n" + quickstart_block()
    ran = subprocess.run(  # noqa: S603 - bash running the README's own block
        ["bash", "-c", script],  # noqa: S607
        env={**instance.env, "BASE": instance.api},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, f"{ran.stderr}\n{instance.logs()}"
    lines: list[Any] = [json.loads(line) for line in ran.stdout.splitlines()]
    assert len(lines) == 11, ran.stdout
    offered, questionnaire, first_save, risk, all_saved, submitted, read, contacts = lines[:8]
    export, erased, after = lines[8:]

    assert QUESTIONNAIRE in offered
    assert set(questionnaire) == {"title", "items"}
    assert questionnaire["title"]
    assert questionnaire["items"] == 27
    assert first_save == {
        "answered": 2,
        "of": 27,
        "wellbeing_answered": 0,
        "ready_to_submit": False,
    }
    # The risk answer gets the urgent notice back at once, with the country's first line.
    assert risk == {"level": "urgent", "first_contact": urgent_contacts(instance)[0]}
    assert all_saved["answered"] == 27
    assert all_saved["ready_to_submit"] is True
    # 4 on every item is the middle of each dimension: nothing elevated, so secure; the
    # notice stays on the result because the response once indicated risk.
    assert submitted == {"status": "submitted", "primary_tendency": "secure", "crisis": "urgent"}
    assert read == {"status": "submitted", "answered": 27}
    assert contacts == urgent_contacts(instance)
    # One response is under the minimum cell size: the export answers, with values withheld
    # (a wrong key would answer 401 with no "suppressed" at all).
    assert export["withheld"] is True
    assert (erased, after) == (204, 404)


def test_python_example_runs_against_a_real_server(instance: Instance) -> None:
    key = instance.researcher_key("example")
    ran = subprocess.run(  # noqa: S603 - the example script, fixed arguments
        [sys.executable, str(REPO / "examples" / "quickstart.py"), instance.base_url],
        env={**os.environ, "SECUREBASE_RESEARCH_KEY": key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, f"{ran.stderr}\n{instance.logs()}"
    out = ran.stdout
    assert f"questionnaires: ['{QUESTIONNAIRE}'" in out
    assert "| items: 27" in out
    first_line = urgent_contacts(instance)[0]
    assert f"crisis notice: urgent | first contact: {first_line}" in out
    assert "submitted: submitted | primary tendency: secure | crisis: urgent" in out
    assert "read back: submitted | answered: 27" in out
    assert "research summary: n =" in out
    assert "erased: 204 | then: 404" in out
