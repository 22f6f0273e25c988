"""Editing a response as it starts: its status and headers, before any of its body is sent.

The cache policy, the ``Allow`` header of a 405 and the security headers each change only the
``http.response.start`` message of an HTTP response. Each is a function from the request's
scope and the start message to the start to send instead (a ``StartEdit``); the layer that
runs them wraps ``send`` once for all of them, so that a response passes through one wrapper
rather than one per job. The body and every other message pass through untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from starlette.types import Message, Scope, Send

StartEdit = Callable[[Scope, Message], Message]
"""Given the request's scope and its response's start message, the start to send instead."""


def editing_start(send: Send, scope: Scope, edits: Sequence[StartEdit]) -> Send:
    """``send``, with the response's start message passed through each of ``edits`` in
    turn first."""
    if not edits:
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            for edit in edits:
                message = edit(scope, message)
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
