"""The watchlist audit, against the committed store and the shipped clinic watchlist."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from pipeline.analysis.audit import KINDS, Audit, Finding, audit
from pipeline.analysis.reference import CrosswalkRow, Reference, load_reference, stem
from pipeline.codesets.pfs.pprrvu import STATUS_CODES
from pipeline.config.load import Config, load_config
from pipeline.errors import InputError
from pipeline.impact.watchlist import load_watchlist, parse_watchlist
from pipeline.store.snapshots import Store

REPO = Path(__file__).resolve().parent.parent
FUNCTIONAL_LIMITATION = [f"G{n}" for n in range(8978, 8996)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A copy of the committed store (hcpcs-quarterly 2026Q3, pfs-rvu RVU25D, icd10cm FY2027
    newest; the annual hcpcs series ends in 2020 and gives way to the quarterly one)."""
    root = tmp_path_factory.mktemp("audit") / "snapshots"
    shutil.copytree(REPO / "snapshots", root)
    return Store(root)


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(REPO / "codesets.toml")


@pytest.fixture(scope="module")
def shipped(store: Store, config: Config) -> Audit:
    return audit(load_watchlist(REPO / "watchlists" / "pt-ot-clinic.csv"), store, config)


def audit_text(text: str, store: Store, config: Config, **kwargs: Reference) -> Audit:
    return audit(
        parse_watchlist("code,modifier,label\n" + text, "test.csv"), store, config, **kwargs
    )


def only(result: Audit, kind: str, code: str) -> Finding:
    found = [f for f in result.findings if f.kind == kind and f.code == code]
    assert len(found) == 1, (kind, code, result.findings)
    return found[0]


def test_checks_against_the_newest_editions(shipped: Audit) -> None:
    assert shipped.editions == {
        "hcpcs-quarterly": "2026Q3",
        "icd10cm": "FY2027",
        "pfs-rvu": "RVU25D",
    }
    assert shipped.watchlist == "pt-ot-clinic.csv"


def test_97633_is_not_a_code_and_97533_is_the_first_suggestion(shipped: Audit) -> None:
    finding = only(shipped, "not-a-code", "97633")
    assert finding.lines == (20,)
    first = finding.suggestions[0]
    assert (first.code, first.label, first.source) == ("97533", "Sensory integration", "guess")
    assert first.reason.startswith("one digit off: 97633 -> 97533, Sensory integration;")
    assert "'sensory', 'integrative'" in first.reason
    assert "97533 (Sensory integration)" in finding.message
    assert [s.code for s in shipped.findings if s.kind == "not-a-code"] == ["97633"]


def test_97014_is_not_payable_and_points_to_g0283(shipped: Audit) -> None:
    finding = only(shipped, "not-payable", "97014")
    assert finding.status == "I"
    assert "status I in RVU25D" in finding.message
    assert STATUS_CODES["I"][1:] in finding.message
    assert "bill G0283 instead" in finding.message
    first = finding.suggestions[0]
    assert (first.code, first.source) == ("G0283", "crosswalk")
    assert first.label is not None and first.label.startswith("Electrical stimulation")
    assert first.citation is not None and "97014 status I" in first.citation


def test_97010_is_bundled_with_nothing_to_bill_instead(shipped: Audit) -> None:
    finding = only(shipped, "not-payable", "97010")
    assert finding.status == "B"
    assert finding.suggestions == ()
    assert "nothing to bill instead" in finding.message
    assert finding.citation is not None and "97010 status B" in finding.citation


def test_functional_limitation_g_codes_are_discontinued_without_successor(shipped: Audit) -> None:
    found = shipped.of_kind("discontinued")
    assert [f.code for f in found] == FUNCTIONAL_LIMITATION
    for finding in found:
        assert finding.termination_date == date(2019, 12, 31)
        assert "2019-12-31 (HCPCS 2026Q3)" in finding.message
        assert "no replacement: functional limitation reporting ended (no longer" in finding.message
        assert finding.suggestions == ()
        assert finding.citation is not None and "CMS-1693-F" in finding.citation


def test_duplicates_name_every_line_and_label(shipped: Audit) -> None:
    found = {f.code: f for f in shipped.of_kind("duplicate")}
    assert sorted(found) == ["97110", "97112", "97140", "97150", "97530", "97535"]
    assert found["97110"].lines == (2, 21)
    assert found["97110"].labels == ("Therapeutic exercises", "Therapeutic procedures")
    assert "lines 2 and 21" in found["97110"].message
    assert found["97530"].lines == (3, 17)


def test_59_is_a_cpt_modifier_with_the_ncci_guidance(shipped: Audit) -> None:
    assert [f.kind for f in shipped.findings if f.code == "59"] == ["note"]
    note = only(shipped, "note", "59")
    assert "CPT (Level I) modifier" in note.message
    assert "XE, XS, XP or XU" in note.message
    assert [(s.code, s.source) for s in note.suggestions] == [
        ("XE", "crosswalk"),
        ("XS", "crosswalk"),
        ("XP", "crosswalk"),
        ("XU", "crosswalk"),
    ]


@pytest.mark.parametrize("code", ["GP", "GO", "CQ", "CO", "KX", "XE", "XS", "XU", "G0283"])
def test_real_modifiers_and_codes_raise_nothing(shipped: Audit, code: str) -> None:
    assert [f for f in shipped.findings if f.code == code] == []


def test_shipped_watchlist_summary(shipped: Audit) -> None:
    assert shipped.counts == {
        "not-a-code": 1,
        "not-found": 0,
        "not-payable": 2,
        "discontinued": 18,
        "duplicate": 6,
        "label-mismatch": 0,
        "note": 1,
    }
    assert list(shipped.counts) == list(KINDS)
    assert all(53 not in f.lines and 54 not in f.lines for f in shipped.findings)  # ranges


def test_to_dict_is_json_serialisable(shipped: Audit) -> None:
    data = json.loads(json.dumps(shipped.to_dict()))
    assert data["counts"]["discontinued"] == 18
    g8978 = next(f for f in data["findings"] if f["code"] == "G8978")
    assert g8978["termination_date"] == "2019-12-31"
    s97633 = next(f for f in data["findings"] if f["code"] == "97633")
    assert s97633["suggestions"][0]["code"] == "97533"


def test_the_audit_is_deterministic(shipped: Audit, store: Store, config: Config) -> None:
    again = audit(load_watchlist(REPO / "watchlists" / "pt-ot-clinic.csv"), store, config)
    assert again.to_dict() == shipped.to_dict()


def test_label_mismatch(store: Store, config: Config) -> None:
    result = audit_text(
        "97110,,Therapeutic ultrasound\n"  # names another service
        "GP,,Occupational therapy plan of care\n"  # GO's words
        "97110,,Therapeutic procedures\n"  # too general to judge: fine
        "97140,,Manual therapy techniques\n"
        "KX,,Therapy above the annual threshold; medically necessary and documented\n",
        store,
        config,
    )
    found = {f.lines[0]: f for f in result.of_kind("label-mismatch")}
    assert sorted(found) == [2, 3]
    assert found[2].code == "97110" and found[2].suggestions[0].code == "97035"
    assert "shares no distinctive word" in found[2].message
    assert found[2].reference is not None and found[2].reference.startswith("Therapeutic exercise")
    assert found[3].code == "GP" and [s.code for s in found[3].suggestions] == ["GO"]
    assert "fits GO" in found[3].message
    assert (
        found[3].reference == "Services delivered under an outpatient physical therapy plan of care"
    )


def test_publisher_cross_reference_comes_before_the_crosswalk(
    tmp_path: Path, config: Config
) -> None:
    # C8904 ended 2018-12-31; CMS's own annual file cross-references it to 77046 (the
    # quarterly files do not carry cross-references: audit against the annual series).
    root = tmp_path / "snapshots"
    shutil.copytree(REPO / "snapshots", root, ignore=shutil.ignore_patterns("hcpcs-quarterly"))
    store = Store(root)
    rows = (
        CrosswalkRow("C8904", "77047", "successor", "test row", "test"),
        CrosswalkRow("C8904", "77046", "successor", "repeats the publisher", "test"),
    )
    reference = replace(load_reference(), crosswalk=rows)
    finding = only(
        audit_text("C8904,,MRI breast\n", store, config, reference=reference),
        "discontinued",
        "C8904",
    )
    assert [(s.code, s.source) for s in finding.suggestions] == [
        ("77046", "publisher"),
        ("77047", "crosswalk"),
    ]
    assert finding.termination_date == date(2018, 12, 31)
    assert "bill 77046 instead" in finding.message


def test_guesses_only_when_publisher_and_crosswalk_are_silent(store: Store, config: Config) -> None:
    bare = replace(load_reference(), crosswalk=())
    finding = only(
        audit_text("97014,,E-stim\n", store, config, reference=bare), "not-payable", "97014"
    )
    assert finding.suggestions and {s.source for s in finding.suggestions} == {"guess"}
    assert finding.suggestions[0].code == "G0283"
    assert "guesses" in finding.message
    reviewed = only(audit_text("97014,,E-stim\n", store, config), "not-payable", "97014")
    assert {s.source for s in reviewed.suggestions} == {"crosswalk"}


def test_deleted_codes_known_to_the_crosswalk(store: Store, config: Config) -> None:
    result = audit_text("97532,,Cognitive skills\n97110,ZZ,Therapeutic exercise\n", store, config)
    deleted = only(result, "discontinued", "97532")
    assert [s.code for s in deleted.suggestions] == ["97129", "97130"]
    modifier = only(result, "not-a-code", "97110")
    assert modifier.modifier == "ZZ" and "ZZ, the modifier on 97110" in modifier.message


def test_59_in_the_modifier_column_gets_the_guidance(store: Store, config: Config) -> None:
    result = audit_text("97530,59,Therapeutic activities\n", store, config)
    assert [(f.kind, f.code, f.modifier) for f in result.findings] == [("note", "97530", "59")]


def test_every_bundled_fee_schedule_cpt_code_has_a_project_label(store: Store) -> None:
    labels = load_reference().cpt_labels
    for snapshot in store.snapshots("pfs-rvu"):
        codes = set(snapshot.frame(["hcpcs"])["hcpcs"].to_list())
        assert {c for c in codes if c[0].isdigit()} <= set(labels), snapshot.manifest.version


def test_reference_rows_are_cited_and_validated(tmp_path: Path) -> None:
    reference = load_reference()
    assert all(row.source and row.note for row in reference.crosswalk)
    assert reference.rows("G8990")[0].relation == "no-replacement"
    assert "59" in reference.modifiers and "KX" not in reference.modifiers
    for name in ("cpt_labels.csv", "cpt_modifiers.csv"):
        shutil.copy(REPO / "pipeline" / "analysis" / "data" / name, tmp_path / name)
    (tmp_path / "crosswalk.csv").write_text(
        "code,replacement,relation,note,source\n97014,G0283,typo-of,x,y\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="unknown relation 'typo-of'"):
        load_reference(tmp_path)
    (tmp_path / "crosswalk.csv").write_text(
        "code,replacement,relation,note,source\n97010,G0283,no-replacement,x,y\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="line 2"):
        load_reference(tmp_path)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("integrative", "integration"),
        ("activities", "activity"),
        ("documented", "documentation"),
        ("electrical", "electric"),
        ("exercises", "exercise"),
        ("medically", "medical"),
    ],
)
def test_stem_merges_word_forms(a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_diagnosis_codes_are_checked_too(store: Store, config: Config) -> None:
    result = audit_text(
        "M5450,,Low back pain\nM5450,,Knee sprain\nM5452,,Low back pain\n", store, config
    )
    assert [(f.kind, f.lines) for f in result.findings] == [
        ("duplicate", (2, 3)),
        ("label-mismatch", (3,)),
        ("not-a-code", (4,)),
    ]
    assert result.of_kind("not-a-code")[0].suggestions[0].code == "M5450"


def test_an_empty_store_says_so(tmp_path: Path, config: Config) -> None:
    result = audit_text(
        "97110,,Therapeutic exercise\n59,,Distinct service\n", Store(tmp_path), config
    )
    assert result.editions == {}
    finding = only(result, "not-found", "97110")
    assert "the store holds no edition" in finding.message
    assert [f.kind for f in result.findings if f.code == "59"] == ["note"]


def test_answers_for_real_codes_a_dotted_diagnosis_and_a_label_in_other_words(
    store: Store, config: Config
) -> None:
    """20560 and 99213 are real CPT codes the bundled code sets do not carry (the fee
    schedule holds PT/OT rows only): "not in the code sets checked", naming them, never
    "mistyped". M54.50 is written as billing staff write it: found in ICD-10-CM, shown with
    its dot. "Orthotic management" is 97760 in other words: no finding, and never the
    guess "97542 Wheelchair management", which shares only "management"."""
    text = (
        "code,label\n20560,Dry needling 1-2 muscles\n99213,Office visit established\n"
        "M54.50,Low back pain unspecified\n97760,Orthotic management\n"
    )
    result = audit(parse_watchlist(text, "four.csv"), store, config)
    by_code = {f.code: f for f in result.findings}
    assert sorted(by_code) == ["20560", "99213"]
    for code in ("20560", "99213"):
        finding = by_code[code]
        assert finding.kind == "not-found"
        assert finding.message.startswith(f"{code} is not in the code sets checked: ")
        assert "Medicare fee schedule" in finding.message and "PT/OT" in finding.message
        assert "HCPCS Level II" in finding.message and "ICD-10-CM" in finding.message
        assert "mistyped" not in finding.message and finding.suggestions == ()
    assert result.to_correct == 2 and result.counts["not-a-code"] == 0
    # M54.50 is found without its dot, and each finding's code reads as written.
    assert [f.display for f in result.findings] == ["20560", "99213"]
    dotted = audit(parse_watchlist("code,label\nM54.50,Low back pain\n", "d.csv"), store, config)
    plain = audit(parse_watchlist("code,label\nM5450,Low back pain\n", "p.csv"), store, config)
    assert dotted.findings == plain.findings == ()
    wrong = audit(parse_watchlist("code,label\nM54.50,Wheelchair\n", "w.csv"), store, config)
    (mismatch,) = wrong.findings
    assert (mismatch.kind, mismatch.code, mismatch.display) == ("label-mismatch", "M5450", "M54.50")
    # The label on the wrong code: only codes sharing its meaning are suggested.
    moved = audit(
        parse_watchlist("code,label\n97542,Orthotic management\n", "m.csv"), store, config
    )
    (finding,) = moved.findings
    assert finding.kind == "label-mismatch"
    assert {s.code for s in finding.suggestions} <= {"97760", "97763"}
    assert finding.suggestions and "97535" not in finding.message
