"""Structured (JSON) logs. What may be logged is decided where logs are written: route
templates, statuses, counts and error types, never answers, tokens, ids or addresses."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any

import structlog

_encoders: dict[Callable[[Any], Any], json.JSONEncoder] = {}
"""One encoder per fallback for what JSON cannot say, made once: ``json.dumps`` given any
option builds a new encoder for every line."""


def _json_line(event: dict[str, Any], *, default: Callable[[Any], Any]) -> str:
    """What ``json.dumps(event, default=default)`` says, from an encoder kept for ``default``."""
    encoder = _encoders.get(default)
    if encoder is None:
        encoder = _encoders[default] = json.JSONEncoder(default=default)
    return encoder.encode(event)


def configure_logging(level: str) -> None:
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(serializer=_json_line),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        # Each line written and flushed whole, in one write (``print`` writes the line and
        # its end apart).
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
