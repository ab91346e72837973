"""What a cycle means for one clinic, as values: items ranked critical, warning or info.

An item carries the rule that raised it and the facts it rests on (dates, statuses,
amounts, limits); the report templates write the sentences, so JSON readers get
numbers and every target (HTML, Markdown, terminal) says the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.diff.changeset import jsonable
from pipeline.impact.severity import RANK, SEVERITIES, Severity


@dataclass(frozen=True)
class Item:
    """One thing the clinic should know about one code (or one pair of codes)."""

    severity: Severity
    rule: str
    codeset: str
    old_version: str
    new_version: str
    code: str
    label: str | None
    #: The values the item's sentence is written from (see the report's `_items` macros).
    facts: Mapping[str, Any] = field(default_factory=dict)
    #: What to bill instead, from the reviewed crosswalk, when it knows.
    advice: str | None = None
    #: The code set's kind (ICD-10-CM codes are shown with their dot).
    kind: str = "generic"
    #: The code set's name in words ("HCPCS Level II"), for readers who do not know its id.
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "rule": self.rule,
            "codeset": self.codeset,
            "from": self.old_version,
            "to": self.new_version,
            "code": self.code,
            "label": self.label,
            "facts": {k: jsonable(v) for k, v in self.facts.items()},
            "advice": self.advice,
            "kind": self.kind,
            "title": self.title,
        }


@dataclass(frozen=True)
class Impact:
    """A cycle's items for the clinic, most severe first."""

    items: tuple[Item, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(i.severity == s for i in self.items) for s in SEVERITIES}

    def at_least(self, severity: Severity) -> tuple[Item, ...]:
        return tuple(i for i in self.items if RANK[i.severity] <= RANK[severity])

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts, "items": [i.to_dict() for i in self.items]}
