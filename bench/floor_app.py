"""The floor of the submit benchmark: the barest async FastAPI GET on the same stack.

Its own tiny app, served by the same uvicorn with the same options as Secure Base, so the
ratio of a submission's throughput to this one cannot be moved by tuning the project's own
routes.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/")
async def floor() -> dict[str, str]:
    return {"status": "ok"}
