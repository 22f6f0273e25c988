"""The OpenAPI description of a body a route reads itself (the batch and FHIR routes take the
raw body, so FastAPI cannot infer it): a named component schema and its examples."""

from __future__ import annotations

from typing import Any


def documented_body(schema: str, examples: dict[str, Any], *media_types: str) -> dict[str, Any]:
    """``openapi_extra`` declaring a required body of component ``schema`` under each media type."""
    content = {
        media: {"schema": {"$ref": f"#/components/schemas/{schema}"}, "examples": examples}
        for media in media_types
    }
    return {"requestBody": {"required": True, "content": content}}
