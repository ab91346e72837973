"""Items that say the same thing about several codes, said once.

HCPCS 2019 -> 2020 ends eighteen functional-limitation G-codes with the same cause and
the same advice: a billing lead reads that once, as one row naming the codes and their
count, and unfolds it to the codes. Items group when their severity, rule, code set,
cycle, facts and advice agree: only the code (and the clinic's label) differ.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.diff.changeset import jsonable


@dataclass(frozen=True)
class ItemGroup:
    """One or more items with the same rule, cause and advice."""

    items: tuple[Any, ...]

    @property
    def first(self) -> Any:
        return self.items[0]

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def codes(self) -> list[str]:
        return [str(i.code) for i in self.items]

    @property
    def span(self) -> str:
        """`G8978–G8995` for several codes; the code itself for one."""
        codes = sorted(self.codes)
        return codes[0] if len(codes) == 1 else f"{codes[0]}–{codes[-1]}"


def _key(item: Any) -> tuple[str, ...]:
    facts = json.dumps(item.facts, sort_keys=True, default=jsonable)
    parts = (item.severity, item.rule, item.codeset, item.old_version, item.new_version)
    return (*map(str, parts), str(item.advice or ""), facts)


def group_items(items: Iterable[Any]) -> list[ItemGroup]:
    """Items grouped by rule, cause and advice, in the order of each group's first item."""
    groups: dict[tuple[str, ...], list[Any]] = {}
    for item in items:
        groups.setdefault(_key(item), []).append(item)
    return [ItemGroup(tuple(found)) for found in groups.values()]


def by_codeset(items: Iterable[Any]) -> list[tuple[str, str, list[ItemGroup]]]:
    """(code set's name, "old → new", grouped items) in the order the code sets first appear."""
    parts: dict[tuple[str, str], list[Any]] = {}
    for item in items:
        cycle = f"{item.old_version} → {item.new_version}"
        parts.setdefault((str(item.title or item.codeset), cycle), []).append(item)
    return [(name, cycle, group_items(found)) for (name, cycle), found in parts.items()]
