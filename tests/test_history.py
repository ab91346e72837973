"""A code's timeline across every stored edition."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from click.testing import CliRunner

from pipeline.analysis.history import Timeline
from pipeline.cli import cli
from pipeline.project.project import Project
from pipeline.report.render import event_sentence
from tests.conftest import REPO, Bundled

D = Decimal


def history(bundled: Bundled, code: str, codeset: str | None = None) -> list[Timeline]:
    return Project.of(bundled.config, bundled.store).history(code, codeset)


def test_g8978_from_its_add_date_to_its_discontinuation(bundled: Bundled) -> None:
    annual, quarterly = history(bundled, "G8978")
    assert (annual.codeset, quarterly.codeset) == ("hcpcs", "hcpcs-quarterly")
    timeline = annual
    events = [(e.version, e.kind, event_sentence(e)) for e in timeline.events]
    assert events == [
        ("", "added", "added 2013-01-01 (publisher's add date)"),
        ("2017", "present", "listed"),
        ("2018", "unchanged", "unchanged"),
        ("2019", "unchanged", "unchanged"),
        ("2020", "discontinued", "discontinued: terminated 2019-12-31"),
    ]
    assert timeline.events[-1].terminated == date(2019, 12, 31)
    assert timeline.events[0].effective_date == date(2013, 1, 1)
    # CMS still lists it, terminated, in every quarterly file since (2023Q1-2026Q3).
    later = [(e.version, e.kind) for e in quarterly.events]
    assert later[1] == ("2023Q1", "present") and later[-1] == ("2026Q3", "unchanged")


def test_fee_schedule_changes_are_listed_field_by_field(bundled: Bundled) -> None:
    (timeline,) = history(bundled, "97140", "pfs-rvu")
    changed = {e.version: e for e in timeline.events if e.kind == "changed"}
    event = changed["RVU25A"]
    assert "Non-facility total RVU: 0.81 → 0.84" in event_sentence(event)  # never a column name
    assert ("non_facility_total", D("0.81"), D("0.84")) in event.changes
    # The national payment of each edition, and the cycle report that carries the change.
    assert (event.payment, event.facility, event.status) == (D("27.17"), D("27.17"), "A")
    assert event.cycle == "RVU24C_to_RVU25A"
    first = timeline.events[0]
    assert (first.version, first.payment, first.cycle) == ("RVU23A", D("27.45"), None)


def test_a_code_added_later_starts_with_that_edition(bundled: Bundled) -> None:
    (timeline,) = history(bundled, "CQ", "hcpcs")
    assert [(e.version, e.kind) for e in timeline.events][1] == ("2019", "present")


def test_unknown_code_has_no_timeline(bundled: Bundled) -> None:
    assert history(bundled, "Z9999") == []
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    result = CliRunner().invoke(cli, [*base, "history", " z9999 "])
    assert result.exit_code == 1
    assert (
        "Z9999: not found in any stored edition of hcpcs, hcpcs-quarterly, icd10cm, pfs-rvu"
        in result.output
    )


def test_cli_history(bundled: Bundled) -> None:
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    result = CliRunner().invoke(cli, [*base, "history", "g8978"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "G8978 in HCPCS Level II (hcpcs)" in result.output
    assert "2020       discontinued: terminated 2019-12-31" in result.output


def test_icd10cm_codes_with_or_without_the_dot_and_trimmed(bundled: Bundled) -> None:
    (with_dot,) = history(bundled, " m54.50 ")
    (plain,) = history(bundled, "M5450")
    assert with_dot == plain and with_dot.key == "M5450"
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    result = CliRunner().invoke(cli, [*base, "history", "M54.50"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("M54.50 in ICD-10-CM")
    trimmed = CliRunner().invoke(cli, [*base, "history", "G8978 "], catch_exceptions=False)
    assert trimmed.exit_code == 0 and "G8978 in HCPCS Level II" in trimmed.output
