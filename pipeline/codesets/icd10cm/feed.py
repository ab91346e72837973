"""Where CMS and CDC list the ICD-10-CM files, and how they name them.

CMS's ICD-10 page links each fiscal year's code files as
`/files/zip/2026-code-descriptions-tabular-order.zip` and the April 1 update as
`/files/zip/april-1-2026-code-descriptions-tabular-order.zip`. CDC's directory listing
(`ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/`) has a folder per
year (`2025/`) and per April update (`2025-Update/`), each holding a
code-descriptions zip (`icd10cm-CodesDescriptions-2024.zip`,
`Code-desciptions-April-2025.zip`, spelled as CDC spells it).

A fiscal year's edition is `FY2026`, effective 2025-10-01. An April update is a later
issue of the same fiscal year, effective April 1: when its records are the October
ones (the usual case), it is recorded as a re-post and stores nothing.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import unquote

from pipeline.sources.feed import Candidate, FeedKind, Link

CMS_PAGE = "https://www.cms.gov/medicare/coding-billing/icd-10-codes"
CDC_PAGE = "https://ftp.cdc.gov/pub/Health_Statistics/NCHS/Publications/ICD10CM/"

_CMS_YEAR = re.compile(r"(\d{4})-code-descriptions-tabular-order(?:-[a-z0-9-]*)?\.zip")
_CMS_APRIL = re.compile(r"april-1-(\d{4})-code-descriptions-tabular-order(?:-[a-z0-9-]*)?\.zip")
_CDC_FOLDER = re.compile(r".*/icd10cm/(\d{4})(-update)?/?", re.IGNORECASE)
_CDC_FILE = re.compile(r".*code.{0,3}desc.*\.zip")


def _fiscal(year: int, april: bool) -> Candidate:
    if april:
        return Candidate(f"FY{year}", date(year, 4, 1), issue=1)
    return Candidate(f"FY{year}", date(year - 1, 10, 1))


def release(link: Link, parent: Candidate | None = None) -> Candidate | None:
    """A code-descriptions zip; inside a CDC folder, the folder says which edition."""
    name = unquote(link.name)
    if match := _CMS_APRIL.fullmatch(name):
        return _fiscal(int(match[1]), april=True)
    if match := _CMS_YEAR.fullmatch(name):
        return _fiscal(int(match[1]), april=False)
    if parent is not None and _CDC_FILE.fullmatch(name):
        return parent
    return None


def follow(link: Link) -> Candidate | None:
    """A CDC year folder (`2025/`) or April-update folder (`2025-Update/`)."""
    match = _CDC_FOLDER.fullmatch(unquote(link.url))
    if match is None or not 2000 <= int(match[1]) <= 2100:
        return None
    return _fiscal(int(match[1]), april=bool(match[2]))


FEED = FeedKind(
    kind="icd10cm",
    pages=(CMS_PAGE,),
    release=release,
    follow=follow,
    expect="links to <year>-code-descriptions-tabular-order.zip, or CDC folders <year>/",
)
