"""Built-in code sets and the effective dates implied by publishers' version labels."""

from __future__ import annotations

from datetime import date

import pytest

from pipeline.codesets.builtin import BUILTIN, infer_effective
from pipeline.codesets.registry import READER_FUNCTIONS
from pipeline.config.load import Config


@pytest.mark.parametrize(
    ("codeset", "version", "source", "expected"),
    [
        ("hcpcs", "2020", "", date(2020, 1, 1)),
        ("hcpcs", "2024Q3", "", date(2024, 7, 1)),
        ("icd10cm", "FY2025", "", date(2024, 10, 1)),
        ("icd10cm", "fy2021", "", date(2020, 10, 1)),
        ("pfs-rvu", "RVU24C", "", date(2024, 7, 1)),
        ("pfs-rvu", "RVU25D", "", date(2025, 10, 1)),
        ("mue", "v2026q4", "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv", date(2026, 10, 1)),
        ("hcpcs", "January", "", None),
        ("pfs-rvu", "RVU25E", "", None),
    ],
)
def test_infer_effective(codeset: str, version: str, source: str, expected: date | None) -> None:
    assert infer_effective(codeset, version, source) == expected


def test_every_builtin_names_readers_that_exist() -> None:
    for spec in BUILTIN.values():
        assert spec.formats and set(spec.formats) <= set(READER_FUNCTIONS)
        assert spec.reader.format == "auto"


def test_builtins_need_no_configuration() -> None:
    config = Config(path=None, codesets={})
    assert {s: config.codeset(s).key for s in ("hcpcs", "ncci-ptp")} == {
        "hcpcs": ("code",),
        "ncci-ptp": ("column1", "column2"),
    }
