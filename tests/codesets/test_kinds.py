"""The code-set kinds: one package each, found by looking; built-in code sets; the
effective dates implied by each publisher's version labels."""

from __future__ import annotations

import importlib
from datetime import date

import pytest

from pipeline.codesets import builtin, formats, kind_of, kinds
from pipeline.config.load import Config
from pipeline.errors import ConfigError
from pipeline.spec import CodeSetSpec, ReaderSpec


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
        # A label's meaning is the kind's: RVU naming means nothing to HCPCS.
        ("hcpcs", "RVU25D", "", None),
    ],
)
def test_infer_effective(codeset: str, version: str, source: str, expected: date | None) -> None:
    assert kind_of(builtin()[codeset]).infer_effective(version, source) == expected


def test_the_six_kinds_are_found() -> None:
    assert set(kinds()) == {"generic", "hcpcs", "icd10cm", "pfs", "ncci", "mue"}


def test_every_builtin_names_readers_that_exist() -> None:
    for spec in builtin().values():
        assert spec.formats and set(spec.formats) <= set(formats())
        assert spec.reader.format == "auto"
        assert kind_of(spec).spec == spec


def test_every_format_names_an_importable_reader_and_sniffer() -> None:
    for fmt in formats().values():
        for target in filter(None, (fmt.reader, fmt.sniffer)):
            module, _, name = target.partition(":")
            assert callable(getattr(importlib.import_module(module), name)), target


def test_builtins_need_no_configuration() -> None:
    config = Config(path=None, codesets={})
    assert {s: config.codeset(s).key for s in ("hcpcs", "ncci-ptp")} == {
        "hcpcs": ("code",),
        "ncci-ptp": ("column1", "column2"),
    }


def test_an_unknown_kind_is_refused_by_name() -> None:
    spec = CodeSetSpec("x", "X", "Y", ("code",), ReaderSpec("delimited"), kind="cpt")
    with pytest.raises(ConfigError, match="unknown kind 'cpt'"):
        kind_of(spec)
