"""ICD-10-CM diagnosis codes (CDC/CMS): the order file, the tabular XML and the
code-descriptions file.

Billable codes only, as CDC's addenda count them; codes are stored without the dot.
The fiscal year starts in October: `FY2025` takes effect on 2024-10-01.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from pipeline.codesets.icd10cm.feed import FEED
from pipeline.codesets.kind import Format, Kind, label_date
from pipeline.spec import CodeSetSpec, ReaderSpec


@dataclass(frozen=True)
class Icd10cm(Kind):
    name: ClassVar[str] = "icd10cm"

    def catalogue_columns(self, spec: CodeSetSpec) -> dict[str, str] | None:
        return {"code": spec.key[0], "label": spec.descriptors[0]} if spec.descriptors else None

    def infer_effective(self, version: str, source_name: str = "") -> date | None:
        if match := re.fullmatch(r"FY(\d{4})", version.upper()):
            return label_date(int(match[1]) - 1, 10, 1, version)
        return super().infer_effective(version, source_name)


KIND = Icd10cm(
    feed=FEED,
    spec=CodeSetSpec(
        id="icd10cm",
        kind="icd10cm",
        title="ICD-10-CM diagnosis codes",
        publisher="CDC National Center for Health Statistics / CMS",
        key=("code",),
        reader=ReaderSpec(format="auto"),
        formats=("icd10cm-order", "icd10cm-xml", "icd10cm-codes"),
        descriptors=("long_title", "short_title"),
    ),
    formats=(
        Format(
            "icd10cm-order",
            "pipeline.codesets.icd10cm.order:read_order",
            "pipeline.codesets.icd10cm.order:sniff_order",
            frozenset({"headers"}),
        ),
        Format(
            "icd10cm-xml",
            "pipeline.codesets.icd10cm.xml:read",
            "pipeline.codesets.icd10cm.xml:sniff",
            frozenset({"headers"}),
        ),
        Format(
            "icd10cm-codes",
            "pipeline.codesets.icd10cm.codes:read",
            "pipeline.codesets.icd10cm.codes:sniff",
            frozenset({"headers"}),
        ),
    ),
    diagnosis=True,
)
