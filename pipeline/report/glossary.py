"""The glossary every report links to: each term a report uses, in plain words.

Terms are data here, rendered by `glossary.html` and `glossary.md`; the kinds of
change, severities and statuses come from where the pipeline defines them, so the
glossary cannot drift from what the reports say.
"""

from __future__ import annotations

from pipeline.codesets.pfs.payment import (
    ASSISTANT_PAID,
    DEFAULT_ASSISTANT_SHARE,
    DEFAULT_LATER_SHARE,
    MPPR_PE_PAID,
)
from pipeline.codesets.pfs.vocabulary import STATUS_CODES
from pipeline.impact.severity import RULES

#: (section title, ((term, meaning), ...)), in reading order.
Glossary = tuple[tuple[str, tuple[tuple[str, str], ...]], ...]

CHANGES = (
    ("Added", "In the new edition only, and billable there."),
    (
        "Deleted / discontinued",
        "Billable in the old edition, and in the new one either terminated (discontinued: the "
        "publisher keeps it listed with its termination date) or no longer listed (removed). "
        "Claims with it after that date are denied.",
    ),
    ("Reactivated", "Terminated in the old edition, billable again in the new one."),
    ("Changed", "In both editions and billable in both, with a field that differs."),
    (
        "Added and ended between editions",
        "First listed in the new edition already terminated: it was added and ended between "
        "the two releases.",
    ),
    (
        "Dropped from the file",
        "Discontinued before the old edition and now no longer listed at all.",
    ),
    ("Unchanged", "The same in both editions."),
    (
        "Edition-wide change",
        "A field that moved the same way on most records (the conversion factor), shown once "
        "instead of on every record.",
    ),
)

EDITIONS = (
    (
        "Release (e.g. January 2025 release, RVU25A)",
        "One file as the publisher released it. The short label is the publisher's: RVU25A is "
        "CMS's January 2025 fee-schedule file (A = January, B = April, C = July, D = October); "
        "FY2025 is ICD-10-CM's fiscal year 2025, in effect from 1 October 2024.",
    ),
    (
        "Cycle",
        "Two consecutive releases of a code set compared: what changed from one to the next.",
    ),
    (
        "Watchlist",
        "The clinic's own list of the codes it bills, with its labels and yearly units. Only "
        "its codes make items in Action required.",
    ),
)

CODE_SETS = (
    (
        "HCPCS Level II",
        "CMS's codes for supplies, services and temporary codes (letters A-V and four digits, "
        "e.g. G0283).",
    ),
    (
        "CPT",
        "The American Medical Association's five-digit procedure codes (e.g. 97110). Their "
        "descriptions are the AMA's and are not reproduced here: reports use plain labels.",
    ),
    (
        "ICD-10-CM",
        "Diagnosis codes, written with a dot after the third character (M54.50). Reports show "
        "the dot; searches and watchlists accept the code with or without it.",
    ),
    (
        "Medicare fee schedule",
        "CMS's physician fee schedule: for each code its status and its relative value units. "
        "The bundled files hold only the physical and occupational therapy codes.",
    ),
    ("NCCI edit", "A pair of codes Medicare does not pay together on the same day."),
    ("MUE", "The most units of a code Medicare pays for one patient on one day."),
)


def _percent(share: object) -> str:
    return f"{float(str(share)) * 100:g}%"


PAYMENT = (
    (
        "RVU (relative value unit)",
        "The fee schedule's measure of a service: work, practice expense and malpractice parts.",
    ),
    (
        "Conversion factor",
        "Dollars per RVU, set each year: national payment = total RVU × conversion factor.",
    ),
    (
        "Non-facility / facility",
        "Non-facility: the service is given in a private practice, which bears the practice "
        "expense. Facility: in a hospital or similar facility, which is paid separately.",
    ),
    (
        "National amount",
        "The payment before the locality adjustment (GPCI), which raises or lowers it by area.",
    ),
    (
        "Therapy MPPR",
        "Multiple procedure payment reduction: for 'always therapy' codes the first unit of a day "
        f"is paid in full and each second or later unit at {_percent(MPPR_PE_PAID)} of its "
        "practice-expense part.",
    ),
    (
        "CQ / CO (assistant rate)",
        "Modifiers for a service given in whole or in part by a physical therapist assistant "
        f"(CQ) or an occupational therapy assistant (CO); Medicare pays {_percent(ASSISTANT_PAID)}"
        " of the amount.",
    ),
    (
        "Average a unit",
        "What a unit pays on average given the share of second or later units (default "
        f"{_percent(DEFAULT_LATER_SHARE)}) and of assistant units (default "
        f"{_percent(DEFAULT_ASSISTANT_SHARE)}); the watchlist's later_share and assistant_share "
        "columns set them per code.",
    ),
    (
        "Annual impact",
        "The change of the average a unit times the clinic's annual units of the code.",
    ),
)

AUDIT = (
    (
        "Probably mistyped",
        "Not the shape of any code, or one character from a real code whose description "
        "matches the label.",
    ),
    (
        "Not in the code sets checked",
        "A well-formed code that none of the stored code sets carries. They hold only part of "
        "all codes, so it may be real: check it elsewhere.",
    ),
    ("Not paid by Medicare", "The fee schedule's status says Medicare pays nothing for the code."),
    ("Discontinued", "Terminated by the publisher: claims with it are denied."),
    ("Listed more than once", "The same code on several lines of the watchlist."),
    (
        "Label not matching the code",
        "The clinic's label names a different service than the code's description.",
    ),
    (
        "A guess",
        "A suggestion from description similarity only, not from the publisher or a reviewed "
        "crosswalk: check it before billing.",
    ),
)


def glossary() -> Glossary:
    severity = (
        ("Critical", "Claims will be denied or underpaid unless you act: "),
        ("Warning", "Check before the release takes effect: "),
        ("Information", "Worth knowing, nothing to do: "),
    )
    rules = tuple(
        (title, lead + "; ".join(when for level, when in RULES.values() if level == key) + ".")
        for (title, lead), key in zip(severity, ("critical", "warning", "info"), strict=True)
    )
    statuses = tuple((f"Status {code}", meaning + ".") for code, meaning in STATUS_CODES.items())
    return (
        ("Editions and cycles", EDITIONS),
        ("Kinds of change", CHANGES),
        ("Severity of an item", rules),
        ("Code sets", CODE_SETS),
        ("Payment", PAYMENT),
        ("Fee-schedule status codes", statuses),
        ("Watchlist audit", AUDIT),
    )
