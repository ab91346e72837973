"""Severity levels and the impact rules' defaults: plain data the configuration can override.

Kept apart from `pipeline.impact` (which needs polars) so that reading the
configuration stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning", "info")

#: rule id -> (default severity, when it fires).
RULES: dict[str, tuple[Severity, str]] = {
    "watched-deleted": ("critical", "a watched code is deleted or discontinued"),
    "watched-non-payable": ("critical", "Medicare stops paying a watched code (fee schedule)"),
    "ncci-pair-watched": ("critical", "a new NCCI edit pairs two watched codes"),
    "ncci-modifier-tightened": (
        "critical",
        "an NCCI edit between two watched codes stops allowing a modifier (1 -> 0)",
    ),
    "mue-below-usage": ("critical", "an MUE limit falls below a watched code's units per day"),
    "watched-descriptor": ("warning", "a watched code's descriptor is revised"),
    "watched-payment": ("warning", "a watched code's payment moves more than the threshold"),
    "watched-added": ("warning", "a code on the watchlist appears or is reactivated"),
    "range-added": ("warning", "a new code inside a watched range"),
    "ncci-pair-one-watched": ("warning", "a new NCCI edit touches one watched code"),
    "watched-changed": ("info", "any other change to a watched code"),
}
RANK = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class SeverityRules:
    """The project's choices: payment threshold and any rule's severity."""

    payment_threshold: Decimal = Decimal("0.02")
    overrides: Mapping[str, Severity] = field(default_factory=dict)

    def severity(self, rule: str) -> Severity:
        return self.overrides.get(rule, RULES[rule][0])
