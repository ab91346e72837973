"""Word-level differences between two descriptor texts.

A billing analyst reading "descriptor revised" needs to see which words went
and which came, not two long strings side by side.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

Tag = Literal["=", "-", "+"]


@dataclass(frozen=True)
class Segment:
    """A run of text kept (`=`), removed (`-`) or inserted (`+`)."""

    tag: Tag
    text: str


@dataclass(frozen=True)
class WordDiff:
    segments: tuple[Segment, ...]

    @property
    def removed(self) -> list[str]:
        return [s.text for s in self.segments if s.tag == "-"]

    @property
    def inserted(self) -> list[str]:
        return [s.text for s in self.segments if s.tag == "+"]


def word_diff(old: str | None, new: str | None) -> WordDiff:
    """Diff two texts word by word. Segments hold words joined by single spaces;
    a renderer puts one space between segments."""
    a = (old or "").split()
    b = (new or "").split()
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    out: list[Segment] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(Segment("=", " ".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(Segment("-", " ".join(a[i1:i2])))
        if op in ("insert", "replace"):
            out.append(Segment("+", " ".join(b[j1:j2])))
    return WordDiff(tuple(out))
