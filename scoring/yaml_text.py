"""YAML documents read with libyaml's parser when PyYAML has it, as ``yaml.safe_load`` reads
them otherwise.

Both parsers feed the same safe constructor, so a document reads as the same values; libyaml
parses them about ten times faster, which is most of loading the catalog at start-up. A
document libyaml refuses is read again by the pure-Python parser, so every error a file gets
is worded exactly as ``yaml.safe_load`` words it.
"""

from __future__ import annotations

from typing import Any

import yaml

_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", None)


def safe_load(text: str) -> Any:
    if _FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 (the safe loader)
        except yaml.YAMLError:
            pass  # worded below, as the pure-Python parser words it
    return yaml.safe_load(text)
