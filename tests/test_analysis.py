"""One cycle analysed: the kind's verification, payment and rules, and the items of other
code sets that took effect within the cycle's period."""

from __future__ import annotations

import dataclasses
from datetime import date

from pipeline.analysis.cycle import Analysis, analyse, in_period, with_companions
from pipeline.diff.engine import diff
from pipeline.impact.items import Impact, Item
from pipeline.impact.watchlist import parse_watchlist
from tests.conftest import Bundled, edition, make_spec, therapy_2024, therapy_2025

CLINIC = parse_watchlist("code,label\n97140,Manual therapy\nG8978,Mobility current status\n")


def cycle(codeset: str, old: date, new: date, items: tuple[Item, ...] = ()) -> Analysis:
    spec = make_spec(id=codeset)
    cs = diff(
        therapy_2024(),
        therapy_2025(),
        spec,
        old_info=edition(str(old.year), old),
        new_info=edition(str(new.year), new),
    )
    return Analysis(cs, impact=Impact(items))


def item(codeset: str, severity: str = "warning") -> Item:
    return Item(severity, "watched-payment", codeset, "A", "B", "97140", None)  # type: ignore[arg-type]


def test_companions_are_other_code_sets_that_took_effect_within_the_period() -> None:
    """A fee-schedule cycle effective 2024-07-01 lies within HCPCS 2024 -> 2025; one
    effective on 2024-01-01 (the old edition's own date) does not; nor does HCPCS itself."""
    hcpcs = cycle("hcpcs", date(2024, 1, 1), date(2025, 1, 1))
    within = cycle("pfs-rvu", date(2024, 4, 1), date(2024, 7, 1), (item("pfs-rvu"),))
    before = cycle("pfs-rvu", date(2023, 10, 1), date(2024, 1, 1), (item("pfs-rvu"),))
    same = cycle("hcpcs", date(2023, 1, 1), date(2024, 7, 1), (item("hcpcs"),))
    assert [in_period(hcpcs, o) for o in (within, before, same)] == [True, False, False]
    joined = with_companions(hcpcs, [within, before, same])
    assert [i.codeset for i in joined.companions] == ["pfs-rvu"]
    assert joined.action_counts == {"critical": 0, "warning": 1}
    assert joined.to_dict()["impact"]["action_required"] == {"critical": 0, "warning": 1}


def test_action_items_put_critical_first_and_this_code_set_before_others() -> None:
    base = cycle("hcpcs", date(2024, 1, 1), date(2025, 1, 1), (item("hcpcs"),))
    joined = dataclasses.replace(base, companions=(item("pfs-rvu", "critical"), item("mue")))
    order = [(i.severity, i.codeset) for i in joined.action_items]
    assert order == [("critical", "pfs-rvu"), ("warning", "hcpcs"), ("warning", "mue")]


def test_analyse_uses_the_kind(bundled: Bundled) -> None:
    """HCPCS is verified against CMS's action codes and has no payment; the fee schedule
    has a payment table and no verification; ICD-10-CM has neither."""
    store, config = bundled.store, bundled.config
    hcpcs = analyse(
        config.codeset("hcpcs"), store.get("hcpcs", "2019"), store.get("hcpcs", "2020"), CLINIC
    )
    assert hcpcs.kind == "hcpcs" and hcpcs.verification is not None and hcpcs.payment is None
    assert [i.code for i in hcpcs.impact.at_least("critical")] == ["G8978"]
    fees = analyse(
        config.codeset("pfs-rvu"),
        store.get("pfs-rvu", "RVU24C"),
        store.get("pfs-rvu", "RVU25A"),
        CLINIC,
    )
    assert fees.kind == "pfs" and fees.verification is None and fees.payment is not None
    assert [r.code for r in fees.payment.rows] == ["97140"]
    icd = analyse(
        config.codeset("icd10cm"), store.get("icd10cm", "FY2024"), store.get("icd10cm", "FY2025")
    )
    assert (icd.kind, icd.verification, icd.payment, icd.impact.items) == (
        "icd10cm",
        None,
        None,
        (),
    )
