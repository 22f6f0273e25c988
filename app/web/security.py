"""Browser-side security of the web pages: headers, the session cookie and CSRF checks.

The session cookie holds ``<response id>.<token>``: Secure, HttpOnly, SameSite=Lax and
``__Host-`` prefixed (no Domain, Path=/), so scripts cannot read it and sibling subdomains
cannot overwrite it. The token is the same one the API hands out; only its hash is stored.

Every form post and every script call is checked three ways:

- Fetch metadata: when the browser sends ``Sec-Fetch-Site``, it must say ``same-origin``.
- Origin: when the browser sends a real ``Origin``, its host must be this request's host.
  (Under ``Referrer-Policy: no-referrer`` browsers send ``Origin: null`` on form posts, so a
  ``null`` origin is left to the other two checks.)
- Double-submit token: a random value in a ``__Host-`` cookie must equal the one the page put
  in the form (or in the ``X-CSRF-Token`` header for script calls).
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "__Host-securebase-session"
CSRF_COOKIE = "__Host-securebase-csrf"
SHOW_CODE_COOKIE = "__Host-securebase-new"
NOTICE_SEEN_COOKIE = "__Host-securebase-notice"
COUNTRY_COOKIE = "__Host-securebase-country"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_CODE = re.compile(r"^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{16,128})$")

# The code to copy by hand: the same 48 bytes (16 of response id, 32 of token) in Crockford's
# base32, which has no I, L, O or U, in groups of four. Read case-insensitively, with or without
# hyphens and spaces, and with I/L read as 1 and O as 0, the way Crockford defines it.
HANDY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
HANDY_GROUP = 4
_ID_BYTES, _TOKEN_BYTES = 16, 32
_HANDY_BITS = (_ID_BYTES + _TOKEN_BYTES) * 8
_HANDY_LENGTH = -(-_HANDY_BITS // 5)
_HANDY_READ = str.maketrans({"I": "1", "L": "1", "O": "0"})
_HANDY_SPACING = re.compile(r"[\s-]+")


def _urlsafe_bytes(text: str, size: int) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        return None
    same = base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == text
    return raw if same and len(raw) == size else None


def handy_code(response_id: str, token: str) -> str | None:
    """The resume code in groups people can copy by hand, or None for a session whose parts
    are not the usual 16 and 32 random bytes."""
    id_bytes = _urlsafe_bytes(response_id, _ID_BYTES)
    token_bytes = _urlsafe_bytes(token, _TOKEN_BYTES)
    if id_bytes is None or token_bytes is None:
        return None
    number = int.from_bytes(id_bytes + token_bytes, "big") << (_HANDY_LENGTH * 5 - _HANDY_BITS)
    symbols = "".join(
        HANDY_ALPHABET[(number >> (5 * index)) & 31] for index in reversed(range(_HANDY_LENGTH))
    )
    return "-".join(
        symbols[start : start + HANDY_GROUP] for start in range(0, len(symbols), HANDY_GROUP)
    )


def _from_handy(code: str) -> tuple[str, str] | None:
    symbols = _HANDY_SPACING.sub("", code).upper().translate(_HANDY_READ)
    if len(symbols) != _HANDY_LENGTH or any(s not in HANDY_ALPHABET for s in symbols):
        return None
    number = 0
    for symbol in symbols:
        number = number * 32 + HANDY_ALPHABET.index(symbol)
    spare = _HANDY_LENGTH * 5 - _HANDY_BITS
    if number & ((1 << spare) - 1):
        return None
    raw = (number >> spare).to_bytes(_ID_BYTES + _TOKEN_BYTES, "big")

    def text(part: bytes) -> str:
        return base64.urlsafe_b64encode(part).rstrip(b"=").decode()

    return text(raw[:_ID_BYTES]), text(raw[_ID_BYTES:])


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """The response this browser is working on, and the token that opens it."""

    response_id: str
    token: str

    @property
    def code(self) -> str:
        """The resume code: the cookie's value, to type or paste on another device."""
        return f"{self.response_id}.{self.token}"

    @property
    def parts(self) -> tuple[str, str]:
        return self.response_id, self.token

    @property
    def handy_code(self) -> str | None:
        """The same code, grouped and without look-alike characters, to copy by hand."""
        return handy_code(self.response_id, self.token)

    @classmethod
    def parse(cls, code: str | None) -> BrowserSession | None:
        """A session from the cookie's form of the code, or from the hand-copied form."""
        text = (code or "").strip()
        match = _CODE.fullmatch(text)
        if match:
            return cls(match.group(1), match.group(2))
        parts = _from_handy(text) if len(text) <= 4 * _HANDY_LENGTH else None
        return cls(*parts) if parts else None


def session_of(request: Request) -> BrowserSession | None:
    return BrowserSession.parse(request.cookies.get(SESSION_COOKIE))


def _set(response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax"
    )


def _clear(response: Response, name: str) -> None:
    response.delete_cookie(name, path="/", secure=True, httponly=True, samesite="lax")


def remember_session(response: Response, session: BrowserSession, days: int) -> None:
    _set(response, SESSION_COOKIE, session.code, days * 24 * 3600)
    _clear(response, NOTICE_SEEN_COOKIE)


def forget_session(response: Response) -> None:
    _clear(response, SESSION_COOKIE)
    _clear(response, NOTICE_SEEN_COOKIE)


def notice_seen_rank(request: Request) -> int:
    """The highest crisis level (as its rank) this browser has been shown in full for its
    current response; 0 when none."""
    value = request.cookies.get(NOTICE_SEEN_COOKIE, "")
    return int(value) if value in {"1", "2", "3"} else 0


def mark_notice_seen(response: Response, rank: int) -> None:
    _set(response, NOTICE_SEEN_COOKIE, str(rank), None)


def countries_asked(request: Request) -> tuple[str, ...]:
    """Countries chosen for crisis services, first choice first: this request's
    ``?country=``, then the one chosen earlier in this browser."""
    values = (request.query_params.get("country"), request.cookies.get(COUNTRY_COOKIE))
    return tuple(v.upper() for v in values if v and re.fullmatch(r"[A-Za-z]{2}", v))


def remember_country(response: Response, country: str) -> None:
    _set(response, COUNTRY_COOKIE, country, 30 * 24 * 3600)


def flag_new_code(response: Response) -> None:
    """Mark that the next questionnaire page should show the resume link (once)."""
    _set(response, SHOW_CODE_COOKIE, "1", 600)


def has_new_code_flag(request: Request) -> bool:
    return request.cookies.get(SHOW_CODE_COOKIE) is not None


def clear_new_code_flag(response: Response) -> None:
    _clear(response, SHOW_CODE_COOKIE)


def csrf_token(request: Request) -> tuple[str, bool]:
    """The browser's CSRF token, and whether it is new (and must be set as a cookie)."""
    current = request.cookies.get(CSRF_COOKIE, "")
    if re.fullmatch(r"[A-Za-z0-9_-]{32,64}", current):
        return current, False
    return secrets.token_urlsafe(32), True


def issue_csrf_cookie(response: Response, token: str) -> None:
    _set(response, CSRF_COOKIE, token, None)


def csrf_failure(request: Request, submitted: str | None) -> str | None:
    """Why this state-changing request must be refused, or None when it may go ahead."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in {"same-origin", "none"}:
        return "cross-site request"
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc.lower() != host.lower():
            return "origin does not match"
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not submitted:
        return "missing token"
    if not hmac.compare_digest(expected.encode(), submitted.encode()):
        return "token does not match"
    return None
