"""``/metrics`` on the application's port: only for a holder of ``SECUREBASE_METRICS_TOKEN``.

Without a token configured the address does not exist here (the metrics have a port of their
own, see :mod:`app.metrics`); a missing or wrong token gets 401.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.deps import SettingsDep
from app.errors import NotFound
from app.metrics import exposition
from app.security import digest, token_matches

router = APIRouter(tags=["operations"], include_in_schema=False)
_bearer = HTTPBearer(auto_error=False)


@router.get("/metrics", response_class=Response, operation_id="getMetrics")
def metrics(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Response:
    """Counts and latencies in the Prometheus text format."""
    if settings.metrics_token is None:
        raise NotFound("Not found.")
    presented = credentials.credentials if credentials else ""
    if not token_matches(presented, digest(settings.metrics_token.get_secret_value())):
        raise HTTPException(
            401, "The metrics token is required.", headers={"WWW-Authenticate": "Bearer"}
        )
    body, media_type = exposition()
    return Response(body, media_type=media_type)
