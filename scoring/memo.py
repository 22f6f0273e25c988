"""What is derived from an immutable object, kept with that object.

Definitions, the content library and the crisis directory are loaded once and never change,
so tables and texts derived from them (which scale an item has, the words of a result in one
language, the notice for one country) can be made on first use and kept. They are kept in
the object itself, under the object's own identity: a copy (``model_copy`` copies an
object's ``__dict__``) never reads what was derived from the original, and what is kept goes
away with the object.
"""

from __future__ import annotations

from typing import Any

_MEMO = "_derived"
"""The key under which the memo sits in its owner's ``__dict__`` (never a field name)."""


def kept_with(owner: object) -> dict[Any, Any]:
    """The memo of ``owner``: a dict for what is derived from it, empty at first."""
    state: dict[str, Any] = owner.__dict__
    memo: tuple[object, dict[Any, Any]] | None = state.get(_MEMO)
    if memo is None or memo[0] is not owner:
        memo = (owner, {})
        state[_MEMO] = memo
    return memo[1]


def without_memo(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` (an object's ``__dict__``) without its memo: for pickling."""
    return {key: value for key, value in state.items() if key != _MEMO}


def bounded(memo: dict[Any, Any], name: str, limit: int) -> dict[Any, Any]:
    """A sub-memo of at most about ``limit`` entries, for values keyed by what requests
    bring (a country, a language): emptied when full, so it never grows without bound."""
    table: dict[Any, Any] = memo.setdefault(name, {})
    if len(table) >= limit:
        table.clear()
    return table
