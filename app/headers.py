"""Security headers every response carries unless it sets its own (a page may set a stricter
or wider CSP itself; :mod:`app.cache_policy` lets public reads be cached). ``no-store`` is the
default so that nothing new is cached by accident, the error pages included."""

from __future__ import annotations

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
]
