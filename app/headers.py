"""Security headers every response carries unless it sets its own (a page may set a stricter
or wider CSP itself; :mod:`app.cache_policy` lets public reads be cached). ``no-store`` is the
default so that nothing new is cached by accident, the error pages included."""

from __future__ import annotations

from starlette.types import Message

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
]


def with_security_headers(start: Message) -> Message:
    """The response's start with each security header it does not set itself added."""
    headers: list[tuple[bytes, bytes]] = start.get("headers", [])
    present = {name.lower() for name, _ in headers}
    extra = [(name, value) for name, value in SECURITY_HEADERS if name not in present]
    return {**start, "headers": [*headers, *extra]}
