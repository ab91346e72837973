"""Where CMS lists the HCPCS Level II files, and how it names them.

The quarterly update page links one zip per quarter, named after the month the file
takes effect: `/files/zip/january-2026-alpha-numeric-hcpcs-file.zip` (some quarters
`...-hcpcs-files.zip`, Oct 2023 to Apr 2024). The annual files of earlier years are
`2020-alpha-numeric-hcpcs-file.zip`. A corrected file re-posted beside the first one
carries `-v2`, `-v3`; more often CMS replaces the file in place under the same name (a
new inner name such as `HCPC2023_OCT_anweb2.txt`), which only the file's hash shows.
"""

from __future__ import annotations

import re
from datetime import date

from pipeline.sources.feed import Candidate, FeedKind, Link

PAGE = (
    "https://www.cms.gov/medicare/coding-billing/healthcare-common-procedure-system/"
    "quarterly-update"
)
_MONTHS = {"january": 1, "april": 4, "july": 7, "october": 10}
_QUARTERLY = re.compile(
    r"(january|april|july|october)-(\d{4})-alpha-numeric-hcpcs-files?(?:-v(\d+))?\.zip"
)
_ANNUAL = re.compile(r"(\d{4})-alpha-numeric-hcpcs-files?(?:-v(\d+))?\.zip")


def release(link: Link, parent: Candidate | None = None) -> Candidate | None:
    """`july-2026-alpha-numeric-hcpcs-file.zip` -> 2026Q3 effective 2026-07-01."""
    name = link.name
    if match := _QUARTERLY.fullmatch(name):
        month, year = _MONTHS[match[1]], int(match[2])
        return Candidate(f"{year}Q{(month + 2) // 3}", date(year, month, 1), int(match[3] or 0))
    if match := _ANNUAL.fullmatch(name):
        year = int(match[1])
        return Candidate(str(year), date(year, 1, 1), int(match[2] or 0))
    return None


FEED = FeedKind(
    kind="hcpcs",
    pages=(PAGE,),
    release=release,
    expect="links to <month>-<year>-alpha-numeric-hcpcs-file(s).zip",
)
