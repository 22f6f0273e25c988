"""Reading a raw request body for risk, whatever shape it is in.

A body that parses as strict JSON gives every key/value pair of every object at any depth,
duplicates included (``{"wb_now": 1, "wb_now": 0}`` gives both). One that does not parse
(trailing comma, truncated, single quotes, invalid UTF-8, a form post) is scanned tolerantly:
a risk item id, in any letter case, followed by ``:`` or ``=`` and a value. The scan is one
regular-expression pass with bounded repetitions over at most the body limit, so its time is
linear in the body's size; it finds at most ``MAX_SCANNED`` pairs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_plus

MAX_DIGITS = 4300  # Python's own limit for turning digits into an int
MAX_SCANNED = 1000
MAX_DEPTH = 32  # far more than any body of this service needs (answers nest two levels)
NESTED_TOO_DEEPLY = f"is nested more than {MAX_DEPTH} levels deep"
TOO_MANY_DIGITS = f"holds a number with more than {MAX_DIGITS} digits"
APPEARS_TWICE = "appears more than once"


@dataclass(frozen=True, slots=True)
class BodyReading:
    """What a body says: the pairs that may carry risk, and why it must be refused if so."""

    risk_pairs: tuple[tuple[str, object], ...]
    document: object
    parsed: bool
    duplicates: tuple[str, ...] = ()
    refusal: str | None = None


class _Collector:
    """Hooks for ``json.loads`` that keep every pair and note duplicates and long numbers."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, object]] = []
        self.duplicates: list[str] = []
        self.too_long = False

    def start(self) -> _Collector:
        """Empty, for another body."""
        self.pairs = []
        self.duplicates = []
        self.too_long = False
        return self

    def object_pairs(self, pairs: list[tuple[str, object]]) -> dict[str, object]:
        self.pairs += pairs
        document = dict(pairs)
        if len(document) < len(pairs):  # some key appears twice: find which
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen and key not in self.duplicates:
                    self.duplicates.append(key)
                seen.add(key)
        return document

    def integer(self, digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_DIGITS:
            self.too_long = True
            return -(10**100) if digits.startswith("-") else 10**100
        return int(digits)


class _Readers(threading.local):
    """A collector and the JSON decoder that calls it, made once per thread and used for one
    body at a time (decoding never waits): ``json.loads`` with hooks makes a new decoder for
    every call. Numbers are parsed by json itself: a number longer than MAX_DIGITS needs a
    longer body than every usual request, which gets a decoder of its own."""

    def __init__(self) -> None:
        self.collector = _Collector()
        self.decoder = json.JSONDecoder(object_pairs_hook=self.collector.object_pairs)


_READERS = _Readers()


def _decoded(raw: bytes) -> tuple[object, _Collector]:
    """``json.loads(raw)`` with every object's pairs collected (and long numbers noted)."""
    if len(raw) > MAX_DIGITS:
        collector = _Collector()
        hooked = json.JSONDecoder(
            object_pairs_hook=collector.object_pairs, parse_int=collector.integer
        )
    else:
        readers = _READERS
        collector, hooked = readers.collector.start(), readers.decoder
    # As json.loads reads bytes: their encoding detected (a UTF-8 BOM allowed), surrogates
    # passed through to the decoder.
    return hooked.decode(raw.decode(json.detect_encoding(raw), "surrogatepass")), collector


def read_body(raw: bytes, *, form: bool, risk_items: frozenset[str]) -> BodyReading:
    """The pairs of ``raw`` that name a risk item (case-insensitively), and any refusal."""
    if not raw:
        return BodyReading((), None, parsed=False)
    if not form:
        try:
            document, collector = _decoded(raw)
        except RecursionError:
            return BodyReading(scan(raw, risk_items), None, False, refusal=NESTED_TOO_DEEPLY)
        except ValueError:  # includes UnicodeDecodeError
            pass
        else:
            pairs = tuple((k, v) for k, v in collector.pairs if k.casefold() in risk_items)
            pairs += scan_linked(raw, risk_items)
            refusal = None
            if _may_nest_deeper(raw, MAX_DEPTH) and _deeper_than(document, MAX_DEPTH):
                refusal = NESTED_TOO_DEEPLY
            elif collector.too_long:
                refusal = TOO_MANY_DIGITS
            return BodyReading(
                pairs,
                document,
                parsed=True,
                duplicates=tuple(collector.duplicates),
                refusal=refusal,
            )
    return BodyReading(scan(raw, risk_items, form=form), None, parsed=False)


def _may_nest_deeper(raw: bytes, limit: int) -> bool:
    """Whether ``raw`` has enough opening brackets to nest more than ``limit`` levels (each
    level opens one; brackets inside strings only make the count larger)."""
    return raw.count(b"[") + raw.count(b"{") > limit


def _deeper_than(document: object, limit: int) -> bool:
    """Whether lists and objects nest more than ``limit`` levels (iteratively: no recursion)."""
    stack: list[tuple[object, int]] = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


_LINKED_TEMPLATE = (
    r"linkId\"?\s{{0,8}}:\s{{0,8}}\"({names})\"[^\]]{{0,200}}?"
    r"(?:value\w{{0,20}}|code)\"?\s{{0,8}}:\s{{0,8}}[\[{{\"\s]{{0,8}}"
    r"(?:code\"?\s{{0,8}}:\s{{0,8}}\"?)?([^,}}\]\"]{{1,40}})"
)
"""A FHIR answer: ``linkId`` naming one of the items, then its value or code."""
_TEMPLATE = (
    r"(?<![A-Za-z0-9_])({names})[\"']?\s{{0,8}}[:=]\s{{0,8}}[\[{{(\"'\s]{{0,8}}"
    r"(?:[A-Za-z_]\w{{0,31}}[\"']?\s{{0,8}}:\s{{0,8}}[\"']?)?"
    r"([^,}}\])&\r\n\"']{{1,40}})"
)
"""An item id as a key (JSON, form, query), then its value."""


def _compile(template: str, items: frozenset[str]) -> re.Pattern[str]:
    names = "|".join(re.escape(item) for item in sorted(items, key=len, reverse=True))
    return re.compile(template.format(names=names), re.IGNORECASE)


@lru_cache(maxsize=8)
def _linked_pattern(items: frozenset[str]) -> re.Pattern[str]:
    return _compile(_LINKED_TEMPLATE, items)


@lru_cache(maxsize=8)
def _pattern(items: frozenset[str]) -> re.Pattern[str]:
    return _compile(_TEMPLATE, items)


def scan(
    raw: bytes, risk_items: frozenset[str], *, form: bool = False
) -> tuple[tuple[str, object], ...]:
    """Tolerant scan: ``(item, value text)`` for each risk item id followed by a value."""
    if not risk_items:
        return ()
    text = raw.decode("utf-8", "replace")
    if form:
        text = unquote_plus(text)
    found: list[tuple[str, object]] = []
    for match in _pattern(risk_items).finditer(text):
        value = match.group(2).strip()
        found += [(match.group(1), v) for v in _readings(value)]
        if len(found) >= MAX_SCANNED:
            break
    return tuple(found) + scan_linked(raw, risk_items)


def scan_linked(raw: bytes, risk_items: frozenset[str]) -> tuple[tuple[str, object], ...]:
    """FHIR names an item as a value (``"linkId": "wb_now"``) with its answer beside it
    (``"answer": [{"valueInteger": 1}]`` or a coding's ``"code": "1"``): ``(item, value text)``
    for each, whether the body parses or not."""
    if not risk_items or b"linkId" not in raw:
        return ()
    text = raw.decode("utf-8", "replace")
    found: list[tuple[str, object]] = []
    for match in _linked_pattern(risk_items).finditer(text):
        found += [(match.group(1), v) for v in _readings(match.group(2).strip())]
        if len(found) >= MAX_SCANNED:
            break
    return tuple(found)


def _readings(value: str) -> Iterable[str]:
    """The value as found, and its first word (``1 anx01: 3`` from a body without commas)."""
    yield value
    first = value.split(maxsplit=1)[0] if value else ""
    if first and first != value:
        yield first
