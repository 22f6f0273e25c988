"""A reference beside the submit benchmark: a submission's exchange without its work.

The floor's stack (an async FastAPI route on the same uvicorn, same options) answering
``POST /api/v1/responses``: it reads the request body, parses it as JSON and answers 201
with the bytes of a real submission's answer, headers included, recorded by the bench from
Secure Base in the same run (``SECUREBASE_BENCH_REPLY`` names the file). Nothing is
validated, scored or stored. Its CPU per request is what carrying the submission's bytes
costs on this stack, so the floor's share minus this is what is left for the work itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from fastapi import FastAPI, Request, Response

_RECORDED = json.loads(Path(os.environ["SECUREBASE_BENCH_REPLY"]).read_text())
BODY: bytes = _RECORDED["body"].encode()
HEADERS: list[tuple[bytes, bytes]] = [
    (name.lower().encode("latin-1"), value.encode("latin-1"))
    for name, value in _RECORDED["headers"]
    if name.lower() != "content-type"
]

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/api/v1/responses")
async def exchange(request: Request) -> Response:
    json.loads(await request.body())
    answer = Response(BODY, status_code=201, media_type="application/json")
    answer.raw_headers.extend(HEADERS)  # as recorded, repeated names included
    return answer
