"""The one path: every command reaches a cycle the way `run` does, and a code set is known
by its kind, never by its id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config.load import load_config
from pipeline.errors import ConfigError
from pipeline.project.project import Project
from tests.conftest import REPO, Bundled


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def snapshot_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_report_rewrites_exactly_what_run_wrote(bundled: Bundled, tmp_path: Path) -> None:
    """`report` of each code set's newest cycle after `run` changes no byte: the crosswalk
    advice and the other code sets' items are the same by either path."""
    out = tmp_path / "reports"
    shutil.copytree(bundled.out, out)
    before = snapshot_of(out)
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    for codeset in ("hcpcs", "icd10cm", "pfs-rvu"):
        invoke(*base, "--out", str(out), "report", codeset)
    assert snapshot_of(out) == before


def test_diff_counts_what_the_report_counts(bundled: Bundled) -> None:
    """`diff --format json` judges the cycle against the configured watchlist, as the report
    does: HCPCS 2019 -> 2020 has the 18 discontinued functional-limitation G-codes."""
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    printed = json.loads(
        invoke(*base, "diff", "hcpcs", "--from", "2019", "--to", "2020", "--format", "json")
    )
    report = json.loads((bundled.out / "hcpcs" / "2019_to_2020.json").read_text())
    assert printed["impact"]["counts"] == report["impact"]["counts"]
    assert printed["impact"]["counts"]["critical"] == 18
    assert printed == report


def test_the_icd_cycle_carries_the_fee_schedule_items_of_its_period(bundled: Bundled) -> None:
    project = Project.of(bundled.config, bundled.store)
    cycle = project.cycle("icd10cm", "FY2025", "FY2026")
    assert {i.codeset for i in cycle.companions} == {"pfs-rvu"}
    assert cycle.action_counts["warning"] == len(
        [i for i in cycle.companions if i.severity == "warning"]
    )


def renamed_config(tmp_path: Path) -> Path:
    text = (REPO / "codesets.toml").read_text().replace("codesets.pfs-rvu", "codesets.fee-schedule")
    text = text.replace('"sources/', f'"{REPO}/sources/').replace(
        '"watchlists/', f'"{REPO}/watchlists/'
    )
    path = tmp_path / "codesets.toml"
    path.write_text(text)
    return path


def test_a_renamed_fee_schedule_keeps_every_finding_and_figure(
    bundled: Bundled, tmp_path: Path
) -> None:
    """Renaming `[codesets.pfs-rvu]` changes no audit finding and no payment figure: the
    payment status check and the payment table follow the declared kind, not the id."""
    from pipeline.project.run import run

    store = tmp_path / "snapshots"
    config = load_config(renamed_config(tmp_path))
    renamed = Project.of(config, Project.open(None, str(store)).store, tmp_path / "reports")
    run(renamed)
    original = Project.of(bundled.config, bundled.store)

    def findings(project: Project) -> list[tuple[object, ...]]:
        audit = project.audit()
        assert audit is not None
        return [(f.code, f.kind, f.lines, f.status) for f in audit.findings]

    assert findings(renamed) == findings(original)
    assert any(f[1] == "not-payable" for f in findings(renamed))
    new = renamed.cycle("fee-schedule", "RVU24C", "RVU25A")
    old = original.cycle("pfs-rvu", "RVU24C", "RVU25A")
    assert new.payment is not None and old.payment is not None
    assert new.payment.rows == old.payment.rows
    assert [(i.rule, i.code, dict(i.facts)) for i in new.impact.items] == [
        (i.rule, i.code, dict(i.facts)) for i in old.impact.items
    ]


def test_from_newer_than_to_is_refused(bundled: Bundled) -> None:
    project = Project.of(bundled.config, bundled.store)
    with pytest.raises(ConfigError, match="newer than --to 2018"):
        project.cycle("hcpcs", "2020", "2018")


def test_effective_dates_follow_the_kind(bundled: Bundled) -> None:
    project = Project.of(bundled.config, bundled.store)
    assert str(project.effective_date("pfs-rvu", "RVU26B")) == "2026-04-01"
    assert str(project.effective_date("icd10cm", "FY2027")) == "2026-10-01"
    with pytest.raises(ConfigError, match="give --effective"):
        project.effective_date("hcpcs", "RVU26B")


def test_the_run_summary_names_only_what_the_run_brought(bundled: Bundled, tmp_path: Path) -> None:
    """With HCPCS 2020 missing from the store, a run stores it and its summary names that
    edition and the one cycle it makes (18 critical), no older cycle; the next run's
    summary says there was no new edition."""
    store = tmp_path / "snapshots"
    shutil.copytree(bundled.store.root, store)
    shutil.rmtree(store / "hcpcs" / "2020")
    out = tmp_path / "reports"
    shutil.copytree(bundled.out, out)
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(store), "--out", str(out)]
    summary = tmp_path / "summary.md"
    invoke(*base, "run", "--summary", str(summary))
    text = summary.read_text()
    assert "- new: hcpcs 2020 (effective 2020-01-01)" in text
    assert "## HCPCS Level II: 2019 → 2020" in text
    assert "18 critical · 0 warning for your codes" in text
    assert text.count("## ") == 1, "only the new cycle"
    again = tmp_path / "again.md"
    invoke(*base, "run", "--summary", str(again))
    assert again.read_text().startswith("# Code-set update: no new edition")


def test_a_watchlist_change_rerenders_old_cycles_and_says_so(
    bundled: Bundled, tmp_path: Path
) -> None:
    store, out = tmp_path / "snapshots", tmp_path / "reports"
    shutil.copytree(bundled.store.root, store)
    shutil.copytree(bundled.out, out)
    watchlist = tmp_path / "watchlist.csv"
    lines = (REPO / "watchlists" / "pt-ot-clinic.csv").read_text().splitlines()
    watchlist.write_text("\n".join(line for line in lines if not line.startswith("G89")) + "\n")
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(store), "--out", str(out)]
    printed = invoke(*base, "run", "--watchlist", str(watchlist))
    assert "older cycle report(s) whose inputs changed" in printed
    assert "hcpcs 2019 -> 2020" in printed.split("whose inputs changed")[1]
    assert "0 new edition(s)" in printed
