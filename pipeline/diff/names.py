"""Field names in words, for every reader of a report: never `non_facility_pe_rvu`.

Splitting a column name at `_` leaves jargon ("non facility pe rvu", "mp rvu"); a
billing lead reads "Non-facility practice expense RVU". Columns not listed read as
their words, capitalised.
"""

from __future__ import annotations

#: Field names in words, where splitting at `_` would leave jargon.
FIELD_NAMES = {
    "work_rvu": "Work RVU",
    "non_facility_pe_rvu": "Non-facility practice expense RVU",
    "facility_pe_rvu": "Facility practice expense RVU",
    "mp_rvu": "Malpractice RVU",
    "non_facility_total": "Non-facility total RVU",
    "facility_total": "Facility total RVU",
    "non_facility_na_indicator": "Non-facility price not applicable",
    "facility_na_indicator": "Facility price not applicable",
    "non_facility_pe_used_for_opps": "Non-facility practice expense RVU (hospital outpatient cap)",
    "facility_pe_used_for_opps": "Facility practice expense RVU (hospital outpatient cap)",
    "mp_used_for_opps": "Malpractice RVU (hospital outpatient cap)",
    "conversion_factor": "Conversion factor (dollars per RVU)",
    "status_code": "Status",
    "pctc_indicator": "Professional / technical component rule",
    "global_days": "Global surgery period",
    "multiple_procedure": "Multiple-procedure rule",
    "bilateral_surgery": "Bilateral surgery rule",
    "assistant_surgery": "Assistant at surgery rule",
    "co_surgeons": "Co-surgeons rule",
    "team_surgery": "Team surgery rule",
    "not_used_for_medicare": "Not used for Medicare payment",
    "physician_supervision_diagnostic": "Physician supervision of diagnostic tests",
    "calculation_flag": "Calculation flag",
    "diagnostic_imaging_family": "Diagnostic imaging family",
    "endoscopic_base_code": "Endoscopic base code",
    "long_description": "Description",
    "short_description": "Short description",
    "long_title": "Description",
    "short_title": "Short description",
    "termination_date": "Termination date",
    "action_code": "CMS action code",
    "cross_reference": "Cross-reference (use instead)",
    "coverage_code": "Medicare coverage",
    "betos": "Type of service group (BETOS)",
    "mue_value": "Most units a day (MUE)",
    "modifier_indicator": "Modifier allowed (NCCI)",
}


def field_name(name: str) -> str:
    """`non_facility_pe_rvu` -> `Non-facility practice expense RVU`; else words, capitalised."""
    if name in FIELD_NAMES:
        return FIELD_NAMES[name]
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]
