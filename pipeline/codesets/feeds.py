"""The release feed of each built-in kind, found by the kind a code set declares."""

from __future__ import annotations

from pipeline.codesets.hcpcs.feed import FEED as HCPCS
from pipeline.codesets.icd10cm.feed import FEED as ICD10CM
from pipeline.codesets.mue.feed import FEED as MUE
from pipeline.codesets.ncci.feed import FEED as NCCI_PTP
from pipeline.codesets.pfs.feed import FEED as PFS
from pipeline.sources.feed import FeedKind

#: kind -> how its publisher lists it.
FEEDS: dict[str, FeedKind] = {
    "hcpcs": HCPCS,
    "icd10cm": ICD10CM,
    "pfs-rvu": PFS,
    "ncci-ptp": NCCI_PTP,
    "mue": MUE,
}
