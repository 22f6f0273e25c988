"""What is derived from an immutable object, kept with that object.

Definitions, the content library and the crisis directory are loaded once and never change,
so tables and texts derived from them (which scale an item has, the words of a result in one
language, the notice for one country) can be made on first use and kept. They are kept in
the object itself and belong to that object alone: a copy (``model_copy`` copies an object's
``__dict__``), a deep copy or an unpickled object starts with nothing kept, and what is kept
never takes part in comparing two objects.
"""

from __future__ import annotations

from typing import Any

_MEMO = "_derived"
"""The key under which the memo sits in its owner's ``__dict__`` (never a field name)."""


class _Memo:
    """What was derived from the object with the id ``owner``."""

    __slots__ = ("owner", "values")

    def __init__(self, owner: int | None) -> None:
        self.owner = owner
        self.values: dict[Any, Any] = {}

    def __eq__(self, other: object) -> bool:
        # Two objects are equal by their own fields, whatever either has derived so far.
        return isinstance(other, _Memo)

    __hash__ = None  # type: ignore[assignment]

    def __copy__(self) -> _Memo:
        return _Memo(None)

    def __deepcopy__(self, _memo: dict[int, Any]) -> _Memo:
        return _Memo(None)

    def __reduce__(self) -> tuple[type[_Memo], tuple[None]]:
        return _Memo, (None,)


def kept_with(owner: object) -> dict[Any, Any]:
    """The memo of ``owner``: a dict for what is derived from it, empty at first."""
    state: dict[str, Any] = owner.__dict__
    memo: _Memo | None = state.get(_MEMO)
    if memo is None or memo.owner != id(owner):
        # None yet, or carried over from the object this one was copied from: that object
        # was alive when the copy was made, so its id is not this one's.
        memo = state[_MEMO] = _Memo(id(owner))
    return memo.values


def bounded(memo: dict[Any, Any], name: str, limit: int) -> dict[Any, Any]:
    """A sub-memo of at most about ``limit`` entries, for values keyed by what requests
    bring (a country, a language): emptied when full, so it never grows without bound."""
    table: dict[Any, Any] = memo.setdefault(name, {})
    if len(table) >= limit:
        table.clear()
    return table
