"""JSON from clients, read so that risk answers can always be screened.

Python refuses integers of more than 4,300 digits; one such value would make a whole batch (or
a whole QuestionnaireResponse) unreadable, and the risk answers beside it unscreened. Such a
number is read as a huge number instead, which is then refused as off the scale by name.
"""

from __future__ import annotations

import json

HUGE = 10**100


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > 4000:
        return -HUGE if digits.startswith("-") else HUGE
    return int(digits)


def loads(raw: bytes | str) -> object:
    """Like ``json.loads``; raises ValueError (or RecursionError) for what is not JSON."""
    return json.loads(raw, parse_int=_integer)
