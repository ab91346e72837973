"""Where CMS lists the physician fee schedule relative value files, and how it names them.

The PFS Relative Value Files page links one page per release,
`.../pfs-relative-value-files/rvu26a` (A to D are the quarters; `rvu24ar` was a
revised A release; `rvu25d-0` a duplicate address of D), and each release page links
its zip (`/files/zip/rvu26a-updated-01-09-2026.zip`). Version `RVU26A`, effective the
first day of its quarter.
"""

from __future__ import annotations

import re
from datetime import date

from pipeline.sources.feed import Candidate, FeedKind, Link

PAGE = "https://www.cms.gov/medicare/payment/fee-schedules/physician/pfs-relative-value-files"
_QUARTER = {"a": 1, "b": 4, "c": 7, "d": 10}
_RELEASE_PAGE = re.compile(r"rvu(\d{2})([a-d])(r?)(?:-\d+)?")
_ZIP = re.compile(r"rvu(\d{2})([a-d])(r?)(?:[-_][a-z0-9-]*)?\.zip")


def _candidate(match: re.Match[str]) -> Candidate:
    year, letter, revised = 2000 + int(match[1]), match[2], match[3]
    version = f"RVU{match[1]}{letter.upper()}{revised.upper()}"
    return Candidate(version, date(year, _QUARTER[letter], 1))


def release(link: Link, parent: Candidate | None = None) -> Candidate | None:
    match = _ZIP.fullmatch(link.name)
    if match is None:
        return None
    found = _candidate(match)
    return found if parent is None or parent.version == found.version else None


def follow(link: Link) -> Candidate | None:
    if "/pfs-relative-value-files/" not in link.url.lower():
        return None
    match = _RELEASE_PAGE.fullmatch(link.name)
    return _candidate(match) if match else None


FEED = FeedKind(
    kind="pfs",
    pages=(PAGE,),
    release=release,
    follow=follow,
    expect="links to release pages .../pfs-relative-value-files/rvu<yy><a-d> and their rvu*.zip",
)
