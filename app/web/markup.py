"""The small part of Markdown the psychoeducation files use, as data for the templates.

Paragraphs (separated by blank lines), bullet lists (``- `` items whose wrapped lines are
indented) and ``**strong**`` text. The result is plain data, never HTML: the templates turn it
into elements and escape every piece of text, so content files cannot inject markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    strong: bool = False


Line = tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Block:
    kind: Literal["paragraph", "list"]
    lines: tuple[Line, ...]


def spans(text: str) -> Line:
    """Split ``text`` at ``**`` markers; an unmatched marker is kept as text."""
    parts = text.split("**")
    if len(parts) % 2 == 0:  # an odd number of markers: the last one is literal
        parts = [*parts[:-2], parts[-2] + "**" + parts[-1]]
    return tuple(Span(part, strong=index % 2 == 1) for index, part in enumerate(parts) if part)


def blocks(markdown: str) -> tuple[Block, ...]:
    result: list[Block] = []
    paragraph: list[str] = []
    items: list[list[str]] = []

    def close() -> None:
        if paragraph:
            result.append(Block("paragraph", (spans(" ".join(paragraph)),)))
            paragraph.clear()
        if items:
            result.append(Block("list", tuple(spans(" ".join(item)) for item in items)))
            items.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if not line:
            close()
        elif line.startswith("- "):
            if paragraph:
                close()
            items.append([line[2:].strip()])
        elif items and raw[:1].isspace():
            items[-1].append(line)
        else:
            if items:
                close()
            paragraph.append(line)
    close()
    return tuple(result)
