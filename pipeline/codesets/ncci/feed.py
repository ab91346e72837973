"""Where CMS lists the Medicare NCCI procedure-to-procedure edits, and how it names them.

The PTP page links each quarter's practitioner table in four parts through the AMA
licence click-through:
`/license/ama?file=/files/zip/medicare-ncci-2026q2-practitioner-ptp-edits-ccipra-v321r0-f1.zip`
(`v321` the version, `r0` the revision: `r1` is a corrected re-post; `f1`..`f4` the
parts). Hospital tables (`ccioph`) and the quarterly change files are not editions.
"""

from __future__ import annotations

import re
from datetime import date

from pipeline.sources.feed import Candidate, FeedKind, Link, unwrap

PAGE = (
    "https://www.cms.gov/medicare/coding-billing/national-correct-coding-initiative-ncci-edits/"
    "medicare-ncci-procedure-procedure-ptp-edits"
)
_PART = re.compile(
    r"medicare-ncci-(\d{4})-?q([1-4])-practitioner-ptp-edits-ccipra-v(\d+)r(\d+)-f(\d+)\.zip"
)


def release(link: Link, parent: Candidate | None = None) -> Candidate | None:
    match = _PART.fullmatch(Link(unwrap(link.url)).name)
    if match is None:
        return None
    year, quarter = int(match[1]), int(match[2])
    return Candidate(
        f"{year}Q{quarter}", date(year, 3 * quarter - 2, 1), issue=int(match[4]), part=int(match[5])
    )


FEED = FeedKind(
    kind="ncci",
    pages=(PAGE,),
    release=release,
    expect="links to medicare-ncci-<year>q<n>-practitioner-ptp-edits-ccipra-v<n>r<n>-f<n>.zip",
)
