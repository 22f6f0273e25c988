"""A Python client generated from the served ``/openapi.json`` with ``openapi-python-client``
takes the questionnaire end to end against a real server: start, save a risk answer and see
the notice, save the rest, submit, read, a research export with a researcher key, erase.

The client is generated into a temporary folder and imported from there; nothing is
installed. Everything below goes through the generated functions and models, so a document
that generated a wrong or unusable client fails here.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from types import ModuleType
from typing import Any

import httpx2
import pytest
from docs_support import VENV_BIN, Instance

PACKAGE = "securebase_client"
QUESTIONNAIRE = "attachment-self-reflection"


@pytest.fixture(scope="module")
def generated(
    instance: Instance, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, ModuleType]]:
    folder = tmp_path_factory.mktemp("client")
    served = httpx2.get(f"{instance.base_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    document = folder / "openapi.json"
    document.write_bytes(served.content)
    made = subprocess.run(  # noqa: S603 - the generator of this environment, fixed arguments
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(folder / PACKAGE),
        ],
        env={"PATH": str(VENV_BIN), "HOME": str(folder)},
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    # The generator reports what it could not turn into code as warnings: there must be none.
    assert "Warning" not in made.stdout + made.stderr, made.stdout + made.stderr
    sys.path.insert(0, str(folder))
    try:
        names = [
            "client",
            "models",
            "api.responses.create_response",
            "api.responses.save_answers",
            "api.responses.submit_response",
            "api.responses.get_response",
            "api.responses.delete_response",
            "api.questionnaires.get_questionnaire",
            "api.research.get_research_summary",
        ]
        yield {name: importlib.import_module(f"{PACKAGE}.{name}") for name in names}
    finally:
        sys.path.remove(str(folder))
        for loaded in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[loaded]


@pytest.fixture
def clients() -> Iterator[ExitStack]:
    """Closes every generated client a test opens (each holds an httpx connection pool)."""
    with ExitStack() as opened:
        yield opened


def test_generated_client_takes_the_questionnaire_end_to_end(
    instance: Instance, generated: dict[str, ModuleType], clients: ExitStack
) -> None:
    client_module, models = generated["client"], generated["models"]
    anonymous: Any = clients.enter_context(client_module.Client(base_url=instance.base_url))

    view = generated["api.questionnaires.get_questionnaire"].sync(
        QUESTIONNAIRE, client=anonymous, lang="en"
    )
    assert isinstance(view, models.QuestionnaireView)
    item_ids = [item.id for item in view.items]
    assert len(item_ids) == 27

    created = generated["api.responses.create_response"].sync_detailed(
        client=anonymous,
        body=models.CreateResponseRequest(
            questionnaire_id=QUESTIONNAIRE, consent=models.Consent(research=True)
        ),
    )
    assert created.status_code == 201
    started = created.parsed
    assert isinstance(started, models.ResponseCreated)
    holder: Any = clients.enter_context(
        client_module.AuthenticatedClient(base_url=instance.base_url, token=started.token)
    )
    save = generated["api.responses.save_answers"]

    # A risk answer: the crisis notice comes back with the save, in the client's own model.
    risky = save.sync(
        started.response_id,
        client=holder,
        body=models.SaveAnswersRequest(
            answers=models.SaveAnswersRequestAnswers.from_dict({"wb_life": 1}), country="GB"
        ),
    )
    assert isinstance(risky, models.AnswersSaved)
    assert isinstance(risky.crisis, models.CrisisNotice)
    assert risky.crisis.level.value == "urgent"
    assert risky.crisis.resources, "the notice names who to contact"
    assert "wb_life" in risky.crisis.triggered_by

    rest = save.sync(
        started.response_id,
        client=holder,
        body=models.SaveAnswersRequest(
            answers=models.SaveAnswersRequestAnswers.from_dict(dict.fromkeys(item_ids, 6))
        ),
    )
    assert isinstance(rest, models.AnswersSaved)
    assert rest.progress.ready_to_submit is True

    submitted = generated["api.responses.submit_response"].sync(started.response_id, client=holder)
    assert isinstance(submitted, models.Submitted)
    assert submitted.status.value == "submitted"
    assert submitted.result.disclaimer
    assert isinstance(submitted.crisis, models.CrisisNotice), "the notice stays on the result"

    read = generated["api.responses.get_response"].sync(started.response_id, client=holder)
    assert isinstance(read, models.ResponseView)
    assert read.status.value == "submitted"
    assert read.answers.to_dict()["wb_life"] == 1

    researcher: Any = clients.enter_context(
        client_module.AuthenticatedClient(
            base_url=instance.base_url, token=instance.researcher_key("generated client")
        )
    )
    export = generated["api.research.get_research_summary"].sync_detailed(
        client=researcher, questionnaire_id=QUESTIONNAIRE
    )
    assert export.status_code == 200, export.content
    assert isinstance(export.parsed, models.SummaryExport)
    assert export.parsed.meta.questionnaire.id == QUESTIONNAIRE

    erased = generated["api.responses.delete_response"].sync_detailed(
        started.response_id, client=holder
    )
    assert erased.status_code == 204
    gone = generated["api.responses.get_response"].sync_detailed(started.response_id, client=holder)
    assert gone.status_code == 404
    assert isinstance(gone.parsed, models.Problem)


def test_generated_client_is_refused_with_another_token(
    instance: Instance, generated: dict[str, ModuleType], clients: ExitStack
) -> None:
    """The scheme is enforced: the same call with another token is a 404 problem."""
    client_module, models = generated["client"], generated["models"]
    anonymous: Any = clients.enter_context(client_module.Client(base_url=instance.base_url))
    started = generated["api.responses.create_response"].sync(
        client=anonymous, body=models.CreateResponseRequest(questionnaire_id=QUESTIONNAIRE)
    )
    stranger: Any = clients.enter_context(
        client_module.AuthenticatedClient(
            base_url=instance.base_url, token="not-the-token-of-this-response"
        )
    )
    refused = generated["api.responses.get_response"].sync_detailed(
        started.response_id, client=stranger
    )
    assert refused.status_code == 404
    assert isinstance(refused.parsed, models.Problem)
