"""The risk edge: ASGI middleware that runs before routing for every HTTP request.

1. Reads the body, up to the limit (``SECUREBASE_MAX_BODY_BYTES``; more is refused with 413
   after what fits was read), and screens it for risk (``app.edge.reading``).
2. For a request about a known response whose token matches (API path and Bearer token, or
   the web client's session cookie), raises the response's stored level to what was seen, in
   its own small transaction, whatever happens to the request afterwards.
3. Refuses a body it cannot accept as it is (duplicate keys, nesting too deep, a number too
   long) with 422, the notice included.
4. Passes the app's answer through the application's start edits (``start_edits``: the
   cache policy and the ``Allow`` header), in the same wrapper of ``send`` as the notice.
5. Puts the effective notice (the stronger of seen and stored) in ``scope["state"]
   ["crisis_notice"]`` (a ``CrisisNotice`` or None) for pages and error handlers, and adds it
   as ``crisis`` to any JSON object the app answers with that lacks it or has a weaker one.
6. Opens the request's one count of its notice (``app.services.notices.one_answer``): the
   service, an error handler and the edge may each hold it, and it is counted once, when the
   answer is done, unless its status shows nothing (a redirect).

The batch scoring route is the one exception: its body is passed through unread (the handler
screens each row), under its own limit ``SECUREBASE_MAX_BATCH_BODY_BYTES``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import PROBLEM_MEDIA_TYPE, body_of
from app.api.screened_body import SCREENED_JSON, ScreenedJson
from app.edge.policy import (
    body_policy,
    notice_country,
    notice_language,
    questionnaire_hint,
    response_reference,
    speaks_fhir,
)
from app.edge.reading import APPEARS_TWICE, BodyReading, read_body
from app.edge.remembered import RememberedScreening
from app.errors import DATABASE_OUTAGES, FieldProblem, InvalidInput, PayloadTooLarge
from app.response_start import StartEdit, editing_start
from app.services.fhir.outcome import Issue, operation_outcome
from app.services.fhir.versions import FHIR_JSON
from app.services.notices import counted, one_answer
from app.services.responses import StoredRisk
from app.services.screening import keep_risk, risk_items
from scoring.catalog import Catalog
from scoring.crisis import CrisisNotice
from scoring.definition import CRISIS_LEVEL_ORDER
from scoring.risk import strongest

_JSON_TYPES = (b"application/json", b"application/problem+json")
_FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")


class ClientGone(Exception):
    """The client closed the connection before its body arrived."""


@dataclass(frozen=True, slots=True)
class Screened:
    """A request the edge let through: the ``receive`` that replays its body to the app, and
    the notice its answer carries (None when it calls for none)."""

    receive: Receive
    notice: CrisisNotice | None


async def _read_within(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body, or its first ``limit`` bytes and True when it is longer."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value)
    return b""


def _rank(notice: object) -> int:
    level = notice.get("level") if isinstance(notice, dict) else None
    ranks: dict[str, int] = {str(name): rank for name, rank in CRISIS_LEVEL_ORDER.items()}
    return ranks.get(level, 0) if isinstance(level, str) else 0


class RiskEdge:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        max_batch_body_bytes: int,
        start_edits: Sequence[StartEdit] = (),
    ) -> None:
        self.app = app
        self.start_edits = tuple(start_edits)
        self.max_body_bytes = max_body_bytes
        self.max_batch_body_bytes = max_batch_body_bytes
        self._known_risk_items: tuple[Catalog, frozenset[str]] | None = None
        self._remembered = RememberedScreening()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if body_policy(scope["path"]) == "streamed":
            await self._streamed(scope, receive, send)
            return
        # One count for the answer's notice, however many layers hold it, and none for an
        # answer that shows nothing (a redirect): the answer's status is noted as it is sent.
        with one_answer(state) as answer:

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    answer.status = message["status"]
                await send(message)

            await self._screened(scope, receive, sending, state)

    async def _screened(
        self, scope: Scope, receive: Receive, send: Send, state: dict[str, Any]
    ) -> None:
        screened = await self.screen(scope, receive, send, state)
        if screened is not None:
            await self.app(scope, screened.receive, self.answering(scope, send, screened.notice))

    async def screen(
        self, scope: Scope, receive: Receive, send: Send, state: dict[str, Any]
    ) -> Screened | None:
        """Read and screen the request's body (steps 1 to 3 and 5 above). A request the edge
        refuses is answered here, through ``send``, and gives None, as does a client gone
        before its body arrived; any other gives what the app is to be called with."""
        try:
            raw, too_large = await _read_within(receive, self.max_body_bytes)
        except ClientGone:
            state["client_disconnected"] = True
            return None
        state["raw_body"] = raw
        notice, reading = await self._screen(scope, raw)
        state["crisis_notice"] = notice
        if too_large:
            too_large_error = PayloadTooLarge(
                f"The body may be at most {self.max_body_bytes} bytes."
            )
            await self._refuse(scope, send, body_of(too_large_error), notice, close=True)
            return None
        problems = [FieldProblem(key, APPEARS_TWICE) for key in reading.duplicates]
        # A FHIR route reads an unparsable, deep or long-numbered body itself, so that its
        # OperationOutcome can name the item at fault; its risk is already screened above.
        if reading.refusal is not None and not speaks_fhir(scope["path"]):
            problems.insert(0, FieldProblem("body", reading.refusal))
        if problems:
            invalid = InvalidInput("See errors for each field.", problems)
            await self._refuse(scope, send, body_of(invalid), notice)
            return None
        if reading.parsed and reading.refusal is None:
            state[SCREENED_JSON] = ScreenedJson(raw, reading.document)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        return Screened(replay, notice)

    def answering(self, scope: Scope, send: Send, notice: CrisisNotice | None) -> Send:
        """``send`` for the app's own answer: its start passed through the start edits (the
        application's: ``Cache-Control`` and ``Allow``), then the notice added. The
        edge's own refusals skip the edits: they set their headers themselves."""
        return editing_start(_with_notice(send, notice), scope, self.start_edits)

    def answer_of(
        self, scope: Scope, start: Message, payload: bytes, notice: CrisisNotice | None
    ) -> tuple[Message, bytes]:
        """The start and the body that :meth:`answering` sends for an answer of one
        ``start`` and one body: the start edits, then the notice."""
        for edit in self.start_edits:
            start = edit(scope, start)
        if notice is None or not _is_json(start):
            return start, payload
        return noticed(start, payload, notice)

    def _risk_items(self, catalog: Catalog) -> frozenset[str]:
        """The catalog's risk item ids, worked out once per catalog rather than per request."""
        known = self._known_risk_items
        if known is None or known[0] is not catalog:
            known = self._known_risk_items = (catalog, risk_items(catalog))
        return known[1]

    async def _screen(self, scope: Scope, raw: bytes) -> tuple[CrisisNotice | None, BodyReading]:
        app_state = scope["app"].state
        catalog = app_state.catalog
        settings = app_state.settings
        form = _header(scope, b"content-type").split(b";")[0].strip().lower() in _FORM_TYPES
        reading = read_body(raw, form=form, risk_items=self._risk_items(catalog))
        seen = self._remembered.screen(
            catalog, reading.risk_pairs, questionnaire_hint(scope["path"], reading.document)
        )
        reference = response_reference(scope)
        stored: StoredRisk | None = None
        if reference is not None:
            try:
                stored = await run_in_threadpool(
                    keep_risk,
                    app_state.engine,
                    catalog,
                    settings,
                    reference.response_id,
                    reference.token,
                    seen,
                )
            except DATABASE_OUTAGES:
                # The database is unavailable: the route meets the same outage and answers
                # 503 (app.api.problems), with the notice of what this request sent.
                stored = None
        risk = strongest([seen, stored.risk]) if stored is not None else seen
        if risk.level is None:
            return None, reading
        request = Request(scope)
        country = notice_country(
            request, reading.document, stored.country if stored else None, settings.default_country
        )
        language = notice_language(request, reading.document, stored.language if stored else None)
        return catalog.notice(risk, country, language), reading

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        body: dict[str, Any],
        notice: CrisisNotice | None,
        close: bool = False,
    ) -> None:
        if notice is not None:
            counted(notice)
        media_type = PROBLEM_MEDIA_TYPE
        if speaks_fhir(scope["path"]):
            media_type = FHIR_JSON
            issues = [Issue("structure", p["message"], p["item"]) for p in body.get("errors", [])]
            answer = operation_outcome(issues or [Issue("invalid", body["detail"])], notice)
        else:
            answer = body
            if notice is not None:
                answer["crisis"] = notice.model_dump(mode="json")
        payload = json.dumps(answer, ensure_ascii=False).encode()
        headers = [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(payload)).encode()),
            (b"cache-control", b"no-store"),
        ]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": body["status"], "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def _streamed(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_batch_body_bytes
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            too_large = PayloadTooLarge(f"A batch body may be at most {limit} bytes.")
            await self._refuse(scope, send, body_of(too_large), None, close=True)
            return
        # The handler counts what it reads against the same limit and answers in its own
        # format: a JSON batch with 413, an NDJSON stream already under way with a last line
        # that says why it stopped. Raising here instead would break a reply already started.
        await self.app(scope, receive, self.answering(scope, send, None))


def _is_json(start: Message) -> bool:
    """Whether the answer that starts so is a JSON document (a problem's included)."""
    headers: Sequence[tuple[bytes, bytes]] = start.get("headers", [])
    kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
    return kind.split(b";")[0].strip().lower() in _JSON_TYPES


def noticed(start: Message, payload: bytes, notice: CrisisNotice) -> tuple[Message, bytes]:
    """A JSON answer's start and whole body with ``crisis`` added to a JSON object that
    lacks it or has a weaker one (the notice counted then), and never kept by a cache."""
    try:
        document = json.loads(payload)
    except ValueError:
        document = None
    if (
        isinstance(document, dict)
        and _rank(document.get("crisis")) < CRISIS_LEVEL_ORDER[notice.level]
    ):
        document["crisis"] = counted(notice).model_dump(mode="json")  # type: ignore[union-attr]
        payload = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    dropped = {b"content-length", b"cache-control"}
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() not in dropped]
    # A notice is about one person: never kept by a cache.
    headers += [
        (b"content-length", str(len(payload)).encode()),
        (b"cache-control", b"no-store"),
    ]
    return {**start, "headers": headers}, payload


def _with_notice(send: Send, notice: CrisisNotice | None) -> Send:
    """``send``, adding ``crisis`` to a JSON object answer that lacks it or has a weaker one."""
    if notice is None:
        return send
    start: Message | None = None
    chunks: list[bytes] = []

    async def sending(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            if _is_json(message):
                start = message
                return
            await send(message)
            return
        if start is None or message["type"] != "http.response.body":
            await send(message)
            return
        chunks.append(message.get("body", b""))
        if message.get("more_body", False):
            return
        answer_start, payload = noticed(start, b"".join(chunks), notice)
        await send(answer_start)
        await send({"type": "http.response.body", "body": payload})

    return sending
