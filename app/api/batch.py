"""Batch scoring: many answer sets for one questionnaire in one request, nothing stored.

``application/json``: ``{"responses": [...]}`` (at most 10,000 rows) -> ``{"results": [...]}``.
``application/x-ndjson``: one answer set per line -> one result per line, streamed as the lines
arrive, so a batch of any number of rows is scored in flat memory.

This route reads its body itself, with its own limit (``SECUREBASE_MAX_BATCH_BODY_BYTES``); the
global body limit does not apply to it (see ``app.edge``, which refuses only a declared
length over the limit and otherwise leaves the counting to this route).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from app.api.bodies import documented_body
from app.api.problems import PROBLEM_MEDIA_TYPE, problem_body
from app.deps import CatalogDep, LocaleDep, SettingsDep
from app.errors import FieldProblem, InvalidInput, PayloadTooLarge
from app.schemas.batch import BatchResults
from app.schemas.problem import problem_responses
from app.services import json_input
from app.services.batch import MAX_BATCH_ROWS, BatchScorer
from app.services.questionnaires import find

router = APIRouter(prefix="/questionnaires", tags=["questionnaires"])

NDJSON = "application/x-ndjson"
JSON = "application/json"


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"A batch body may be at most {limit} bytes; split it across requests.")


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _payload(body: bytes) -> object:
    try:
        return json_input.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput(
            "The body could not be read.", [FieldProblem("body", "must be JSON encoded as UTF-8")]
        ) from exc


def _rows_problem(payload: object) -> FieldProblem | None:
    """What makes the body as a whole unusable; None for a list of at most 10,000 rows."""
    if not isinstance(payload, dict) or "responses" not in payload:
        return FieldProblem("responses", "required: a list of answer sets")
    extra = sorted(set(payload) - {"responses"})
    if extra:
        return FieldProblem(extra[0], "not a field of a batch (only responses)")
    rows = payload["responses"]
    if not isinstance(rows, list):
        return FieldProblem("responses", "must be a list of answer sets")
    if len(rows) > MAX_BATCH_ROWS:
        return FieldProblem(
            "responses", f"{len(rows)} rows; at most {MAX_BATCH_ROWS} (or send NDJSON)"
        )
    return None


def _refused(scorer: BatchScorer, payload: object, problem: FieldProblem) -> JSONResponse:
    """A batch refused as a whole, still with the notice its riskiest row calls for."""
    body = problem_body(
        422, InvalidInput.slug, InvalidInput.title, "The batch cannot be read.", [problem]
    )
    rows = payload.get("responses") if isinstance(payload, dict) else None
    notice = scorer.strongest_notice(rows) if isinstance(rows, list) else None
    if notice is not None:
        body["crisis"] = notice.model_dump(mode="json")
    return JSONResponse(body, status_code=422, media_type=PROBLEM_MEDIA_TYPE)


def _json_results(scorer: BatchScorer, rows: list[object]) -> Iterator[bytes]:
    yield b'{"results":['
    for index, row in enumerate(rows):
        yield (b"," if index else b"") + _encode(scorer.score_row(row))
    yield b"]}"


def _encode(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


class NdjsonScoring(Response):
    """A response that reads NDJSON rows as they arrive and sends each chunk's answers at once:
    one line in, one line out, nothing held but the lines of the chunk being read."""

    media_type = NDJSON

    def __init__(self, scorer: BatchScorer, limit: int) -> None:
        super().__init__(media_type=NDJSON)
        self.scorer = scorer
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", NDJSON.encode())],
            }
        )
        async for lines in self._chunks(receive):
            await send({"type": "http.response.body", "body": lines, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _chunks(self, receive: Receive) -> AsyncIterator[bytes]:
        pending = b""
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            more = bool(message.get("more_body", False))
            if size > self.limit:
                # Headers are sent: the last line says why the stream ends here.
                problem = {"errors": [{"item": "body", "message": str(_too_large(self.limit))}]}
                yield _encode(problem) + b"\n"
                return
            pending += chunk
            *complete, pending = pending.split(b"\n")
            if complete:
                # Scoring is CPU work: off the event loop, one call per chunk of lines.
                yield await run_in_threadpool(self._answers, complete)
        if pending.strip():
            yield await run_in_threadpool(self._answers, [pending])

    def _answers(self, lines: list[bytes]) -> bytes:
        return b"".join(self._answer(line) for line in lines if line.strip())

    def _answer(self, line: bytes) -> bytes:
        try:
            row: object = json_input.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            answer = {"errors": [{"item": "row", "message": "must be one JSON object per line"}]}
            return _encode(answer) + b"\n"
        return _encode(self.scorer.score_row(row)) + b"\n"


_EXAMPLES = {
    "rows": {
        "summary": "Two rows: one scored, one refused with its crisis notice",
        "value": {
            "responses": [
                {"answers": {"anx01": 5, "avo01": 2, "dis01": 3}, "lang": "en"},
                {"answers": {"anx01": 9, "wb_life": 1}, "country": "GB"},
            ]
        },
    }
}


@router.post(
    "/{questionnaire_id}/score/batch",
    operation_id="scoreBatch",
    response_model=BatchResults,
    # application/x-ndjson is described in words: OpenAPI client generators cannot express
    # a streamed body, and would drop the whole operation.
    responses=problem_responses(404, 413, 422),
    openapi_extra=documented_body("BatchRequest", _EXAMPLES, JSON),
)
async def score_batch(
    questionnaire_id: str,
    request: Request,
    catalog: CatalogDep,
    locale: LocaleDep,
    settings: SettingsDep,
) -> Any:
    """Score up to 10,000 answer sets statelessly, each row as POST .../score would, in input
    order; a row that cannot be scored gets its own problems (with the crisis notice its answers
    call for). Send ``application/x-ndjson`` to stream larger batches: one row per line in, one
    answer per line out."""
    scorer = BatchScorer(catalog, find(catalog, questionnaire_id), locale)
    limit = settings.max_batch_body_bytes
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == NDJSON:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        return NdjsonScoring(scorer, limit)
    payload = _payload(await _read_limited(request, limit))
    problem = _rows_problem(payload)
    if problem is not None:
        return _refused(scorer, payload, problem)
    assert isinstance(payload, dict)
    return StreamingResponse(_json_results(scorer, payload["responses"]), media_type=JSON)
