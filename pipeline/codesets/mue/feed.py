"""Where CMS lists the Medicare MUE tables, and how it names them.

The MUE page links each quarter's practitioner table as
`/files/zip/medicare-ncci-2026-q3-practitioner-services-mue-table.zip` (the hospital
and DME tables sit beside it and are not this code set's editions). Version `2026Q3`,
effective the first day of the quarter.
"""

from __future__ import annotations

import re
from datetime import date

from pipeline.sources.feed import Candidate, FeedKind, Link, unwrap

PAGE = (
    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/"
    "medicare-ncci-medically-unlikely-edits"
)
_TABLE = re.compile(
    r"medicare-ncci-(\d{4})-?q([1-4])-practitioner-services-mue-table(?:-v(\d+))?\.zip"
)


def release(link: Link, parent: Candidate | None = None) -> Candidate | None:
    match = _TABLE.fullmatch(Link(unwrap(link.url)).name)
    if match is None:
        return None
    year, quarter = int(match[1]), int(match[2])
    return Candidate(f"{year}Q{quarter}", date(year, 3 * quarter - 2, 1), int(match[3] or 0))


FEED = FeedKind(
    kind="mue",
    pages=(PAGE,),
    release=release,
    expect="links to medicare-ncci-<year>-q<n>-practitioner-services-mue-table.zip",
)
