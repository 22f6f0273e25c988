"""The research copy's layout, under the name submission imports it by; the layout itself
lives in :mod:`scoring.answer_copy`."""

from scoring.answer_copy import encode, position_of

__all__ = ["encode", "position_of"]
