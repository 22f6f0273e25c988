"""Fixtures of the documentation tests: a real instance (see ``docs_support``)."""

from __future__ import annotations

from docs_support import instance

__all__ = ["instance"]
