"""Claims checked against the editions in force on their date of service, and replayed
under newer editions: code validity, payment status, NCCI pairs, MUE limits, therapy
modifiers. Above the impact layer (it reads stored editions and reference data), below
the reports (which lay its results out)."""

from pipeline.claims.check import OUTCOMES, RULES, check_lines
from pipeline.claims.editions import Edition, EditionSet, in_force, pinned
from pipeline.claims.input import COLUMNS, read_claims
from pipeline.claims.result import ClaimsCheck, Replay, RuleCount, RuleDelta, check_claims, replay

__all__ = [
    "COLUMNS",
    "OUTCOMES",
    "RULES",
    "ClaimsCheck",
    "Edition",
    "EditionSet",
    "Replay",
    "RuleCount",
    "RuleDelta",
    "check_claims",
    "check_lines",
    "in_force",
    "pinned",
    "read_claims",
    "replay",
]
