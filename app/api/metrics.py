"""Prometheus metrics endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.metrics import exposition

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    response_class=Response,
    operation_id="getMetrics",
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics() -> Response:
    """Counts and latencies in the Prometheus text format."""
    body, media_type = exposition()
    return Response(body, media_type=media_type)
