"""A 405 names every method the address answers (RFC 9110 §15.5.6), not just one route's.

The framework answers 405 from the first route whose path matches, so an address served by
several routes (``GET`` and ``DELETE /api/v1/responses/{id}``) would send ``Allow: GET``.
:class:`AllowHeader` replaces the header of every 405 with the methods of all the routes whose
path matches, with ``HEAD`` wherever ``GET`` is (HEAD is answered as GET).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import fastapi.routing
from starlette.routing import compile_path
from starlette.types import Message, Scope

from app.response_start import with_header

RouteMethods = list[tuple[re.Pattern[str], frozenset[str]]]


def _flat_routes(routes: Iterable[Any]) -> Iterator[Any]:
    # Newer FastAPI keeps included routers as one entry each and offers their routes, with
    # the full path, through iter_route_contexts; older versions list the routes themselves.
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    yield from flatten(list(routes)) if flatten is not None else routes


def route_methods(routes: Iterable[Any]) -> RouteMethods:
    """Each route's path pattern and methods (routes without methods, like mounts, skipped)."""
    table: RouteMethods = []
    for route in _flat_routes(routes):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if isinstance(path, str) and methods:
            table.append((compile_path(path)[0], frozenset(methods)))
    return table


def allowed_methods(table: RouteMethods, path: str) -> list[str]:
    """The methods some route serves at ``path``, sorted."""
    methods: set[str] = set()
    for pattern, served in table:
        if pattern.fullmatch(path):
            methods.update(served)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


class AllowHeader:
    """The ``StartEdit`` (:meth:`edit`) that gives each 405 the methods of every route at
    its address, from the routes of the application that answered."""

    def __init__(self) -> None:
        self._table: RouteMethods | None = None

    def _methods(self, scope: Scope) -> list[str]:
        if self._table is None:  # the routes are complete once the first request arrives
            self._table = route_methods(getattr(scope.get("app"), "routes", []))
        return allowed_methods(self._table, str(scope["path"]))

    def edit(self, scope: Scope, start: Message) -> Message:
        if start["status"] != 405:
            return start
        methods = self._methods(scope)
        return with_header(start, b"allow", ", ".join(methods).encode()) if methods else start
