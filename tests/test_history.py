"""A code's timeline across every stored edition."""

from __future__ import annotations

from datetime import date

from click.testing import CliRunner

from pipeline.analysis.history import Timeline
from pipeline.cli import cli
from pipeline.project.project import Project
from pipeline.report.render import event_sentence
from tests.conftest import REPO, Bundled


def history(bundled: Bundled, code: str, codeset: str | None = None) -> list[Timeline]:
    return Project.of(bundled.config, bundled.store).history(code, codeset)


def test_g8978_from_its_add_date_to_its_discontinuation(bundled: Bundled) -> None:
    (timeline,) = history(bundled, "G8978")
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


def test_fee_schedule_changes_are_listed_field_by_field(bundled: Bundled) -> None:
    (timeline,) = history(bundled, "97140", "pfs-rvu")
    changed = {e.version: event_sentence(e) for e in timeline.events if e.kind == "changed"}
    assert "non facility total: 0.81 → 0.84" in changed["RVU25A"]


def test_a_code_added_later_starts_with_that_edition(bundled: Bundled) -> None:
    (timeline,) = history(bundled, "CQ", "hcpcs")
    assert [(e.version, e.kind) for e in timeline.events][1] == ("2019", "present")


def test_unknown_code_has_no_timeline(bundled: Bundled) -> None:
    assert history(bundled, "Z9999") == []
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    result = CliRunner().invoke(cli, [*base, "history", " z9999 "])
    assert result.exit_code == 1
    assert "Z9999: not in any stored edition" in result.output


def test_cli_history(bundled: Bundled) -> None:
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    result = CliRunner().invoke(cli, [*base, "history", "g8978"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "G8978 in HCPCS Level II (hcpcs)" in result.output
    assert "2020       discontinued: terminated 2019-12-31" in result.output
