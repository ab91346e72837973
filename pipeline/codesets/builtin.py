"""The code sets the pipeline knows without a configuration file.

`codeset ingest icd10cm FILE --version FY2025` works out of the box: the spec
below says how the publisher's files are keyed and compared, the reader is
detected from the file's content, and the effective date follows from the
publisher's own version naming. A `[codesets.<id>]` table in `codesets.toml`
overrides any field.
"""

from __future__ import annotations

import re
from datetime import date

from pipeline.spec import CodeSetSpec, ReaderSpec

AUTO = ReaderSpec(format="auto")

BUILTIN: dict[str, CodeSetSpec] = {
    spec.id: spec
    for spec in (
        CodeSetSpec(
            id="hcpcs",
            title="HCPCS Level II",
            publisher="Centers for Medicare & Medicaid Services (CMS)",
            key=("code",),
            reader=AUTO,
            formats=("hcpcs-anweb", "hcpcs-xlsx"),
            descriptors=("long_description", "short_description"),
            # The action code and its date describe the edition's maintenance, not the code.
            ignore=("action_code", "action_effective_date"),
            termination="termination_date",
        ),
        CodeSetSpec(
            id="icd10cm",
            title="ICD-10-CM diagnosis codes",
            publisher="CDC National Center for Health Statistics / CMS",
            key=("code",),
            reader=AUTO,
            formats=("icd10cm-order", "icd10cm-xml"),
            descriptors=("long_title", "short_title"),
        ),
        CodeSetSpec(
            id="pfs-rvu",
            title="Medicare Physician Fee Schedule relative values (PPRRVU)",
            publisher="Centers for Medicare & Medicaid Services (CMS)",
            key=("hcpcs", "modifier"),
            reader=AUTO,
            formats=("pprrvu-csv", "pprrvu-txt"),
            display=("status_code", "work_rvu", "non_facility_total", "facility_total"),
        ),
        CodeSetSpec(
            id="ncci-ptp",
            title="NCCI procedure-to-procedure edits",
            publisher="Centers for Medicare & Medicaid Services (CMS)",
            key=("column1", "column2"),
            reader=AUTO,
            formats=("ncci-ptp",),
            termination="deletion_date",
            display=("effective_date", "modifier_indicator", "rationale"),
        ),
        CodeSetSpec(
            id="mue",
            title="Medically Unlikely Edits (MUE)",
            publisher="Centers for Medicare & Medicaid Services (CMS)",
            key=("code",),
            reader=AUTO,
            formats=("mue",),
            display=("mue_value", "adjudication_indicator", "rationale"),
        ),
    )
}

_QUARTER_MONTH = {"A": 1, "B": 4, "C": 7, "D": 10}


def infer_effective(codeset: str, version: str, source_name: str = "") -> date | None:
    """The effective date implied by a publisher's version label or file name, if any.

    HCPCS `2020` -> 2020-01-01; ICD-10-CM `FY2025` -> 2024-10-01 (the fiscal year
    starts in October); PFS `RVU25D` -> 2025-10-01 (releases A-D are the quarters);
    NCCI / MUE files named `..._Eff_10-01-2026...` -> that date.
    """
    label = version.upper()
    if match := re.fullmatch(r"FY(\d{4})", label):
        return date(int(match[1]) - 1, 10, 1)
    if match := re.fullmatch(r"RVU(\d{2})([A-D])", label):
        return date(2000 + int(match[1]), _QUARTER_MONTH[match[2]], 1)
    if match := re.fullmatch(r"(\d{4})(?:Q([1-4]))?", label):
        quarter = int(match[2] or 1)
        return date(int(match[1]), 3 * quarter - 2, 1)
    if match := re.search(r"Eff_(\d{2})-(\d{2})-(\d{4})", source_name):
        return date(int(match[3]), int(match[1]), int(match[2]))
    return None
