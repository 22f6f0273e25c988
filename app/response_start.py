"""Editing a response as it starts: its status and headers, before any of its body is sent.

The cache policy, the ``Allow`` header of a 405 and the security headers each change only the
``http.response.start`` message of an HTTP response; this is how they do it, and everything
else (the body, lifespan and websocket traffic) passes through untouched.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

StartEdit = Callable[[Message], Message]
"""Given a response's start message, the start to send instead."""


def editing_start(send: Send, edit: StartEdit) -> Send:
    """``send``, with the response's start message passed through ``edit`` first."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = edit(message)
        await send(message)

    return sending


def content_type(start: Message) -> bytes:
    """The response's ``Content-Type`` as sent (empty when it has none)."""
    headers: list[tuple[bytes, bytes]] = start.get("headers", [])
    return next((value for name, value in headers if name.lower() == b"content-type"), b"")


def with_header(start: Message, name: bytes, value: bytes) -> Message:
    """The start message with header ``name`` (lower case) set to ``value`` alone: any value
    the response set itself is replaced."""
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != name]
    headers.append((name, value))
    return {**start, "headers": headers}


class ResponseStartMiddleware:
    """Middleware that changes each HTTP response's start (see :meth:`edit`) and nothing
    else."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, editing_start(send, lambda start: self.edit(scope, start)))

    def edit(self, scope: Scope, start: Message) -> Message:
        """The start to send for the request ``scope``, given the one the app sent."""
        raise NotImplementedError
