"""`--fail-on` never misses a critical item because the run that produced it failed.

An edition stored by a run that then failed (another code set's file was bad, a report
could not be written), or by `codeset ingest`, has cycles nobody has seen: they count
as new for the gate until a run completes for them. The state lives in the store
(`.unreported.json`, written atomically) so that it survives the failed process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.store.snapshots import UNREPORTED
from tests.faults.conftest import HCPCS, WATCHLIST, assert_clean_error

CONFIG = """\
[codesets.hcpcs]
reader = {{ format = "hcpcs-anweb", member = "*ANWEB*.txt" }}
{hcpcs}
[codesets.fees]
title = "Therapy fees"
publisher = "Example payer"
key = ["code"]
reader = {{ format = "delimited" }}
[[codesets.fees.editions]]
version = "2024"
effective = 2024-01-01
source = "fees-2024.csv"

[watchlist]
path = "watch.csv"
"""


def _config(root: Path, fees: str, years: tuple[int, ...] = (2019, 2020)) -> Path:
    editions = "".join(
        f'[[codesets.hcpcs.editions]]\nversion = "{y}"\neffective = {y}-01-01\n'
        f'source = "{HCPCS / f"{y}-Alpha-Numeric-HCPCS-File.zip"}"\n'
        for y in years
    )
    (root / "fees-2024.csv").write_text(fees, encoding="utf-8")
    (root / "watch.csv").write_text(WATCHLIST, encoding="utf-8")
    path = root / "codesets.toml"
    path.write_text(CONFIG.format(hcpcs=editions), encoding="utf-8")
    return path


GOOD_FEES = "code,fee\n97110,31.25\n97140,28.40\n"
BAD_FEES = "code,fee\n97110,31.25\n97140,28.40,extra\n"


def _run(root: Path, *args: str) -> Result:
    config = root / "codesets.toml"
    base = [
        "--config",
        str(config),
        "--store",
        str(root / "snapshots"),
        "--out",
        str(root / "reports"),
    ]
    return CliRunner().invoke(cli, [*base, "run", *args])


def _assert_gated(result: Result) -> None:
    assert result.exit_code == 1, result.output
    assert "fail-on critical" in result.stderr
    assert "hcpcs 2019_to_2020" in result.stderr or "hcpcs 2019" in result.stderr
    assert "G8978" in result.stderr


def test_run_failing_after_ingest_leaves_its_cycles_for_the_gate(tmp_path: Path) -> None:
    _config(tmp_path, BAD_FEES)
    failed = _run(tmp_path, "--fail-on", "critical")
    assert_clean_error(failed, "fees-2024.csv, line 3", stdout=True)
    state = json.loads((tmp_path / "snapshots" / UNREPORTED).read_text(encoding="utf-8"))
    assert state == {"unreported": {"hcpcs": ["2019", "2020"]}}
    (tmp_path / "fees-2024.csv").write_text(GOOD_FEES, encoding="utf-8")
    _assert_gated(_run(tmp_path, "--fail-on", "critical"))
    assert not (tmp_path / "snapshots" / UNREPORTED).exists()
    again = _run(tmp_path, "--fail-on", "critical")
    assert again.exit_code == 0, again.output  # reported now: nothing new to gate


def test_editions_stored_by_ingest_are_new_to_the_next_run(tmp_path: Path) -> None:
    _config(tmp_path, GOOD_FEES)
    for year in (2019, 2020):
        source = HCPCS / f"{year}-Alpha-Numeric-HCPCS-File.zip"
        stored = CliRunner().invoke(
            cli,
            [
                "--config",
                str(tmp_path / "codesets.toml"),
                "--store",
                str(tmp_path / "snapshots"),
                "ingest",
                "hcpcs",
                str(source),
                "--version",
                str(year),
            ],
        )
        assert stored.exit_code == 0, stored.output
    _assert_gated(_run(tmp_path, "--fail-on", "critical"))


def test_run_failing_while_writing_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The editions are stored, then a report cannot be written: the next run gates them."""
    _config(tmp_path, GOOD_FEES)
    with monkeypatch.context() as patch:
        patch.setattr("pipeline.report.render.MAX_REPORT_BYTES", 10_000)
        failed = _run(tmp_path, "--fail-on", "critical")
    assert_clean_error(failed, "2019_to_2020", "over the 10,000-byte limit", stdout=True)
    assert (tmp_path / "snapshots" / UNREPORTED).is_file()
    _assert_gated(_run(tmp_path, "--fail-on", "critical"))


def test_a_complete_run_leaves_no_state_behind(tmp_path: Path) -> None:
    """The committed store of a project stays byte for byte what `make run` makes."""
    _config(tmp_path, GOOD_FEES)
    first = _run(tmp_path)
    assert first.exit_code == 0, first.output
    assert not (tmp_path / "snapshots" / UNREPORTED).exists()
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["fees", "hcpcs"]
