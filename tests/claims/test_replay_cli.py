"""The replay and the `codeset check` command: reports, CSV, exit codes, nothing written on
bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.claims import check_claims, in_force, read_claims, replay
from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.report.claims import neutralise_csv
from pipeline.store import Store
from tests.claims.fixtures import DATA, files

REPO = Path(__file__).resolve().parent.parent.parent


def test_committed_test_data_is_what_the_generator_writes() -> None:
    for name, data in files().items():
        assert (DATA / name).read_bytes() == data, f"{name}: run python -m tests.claims.fixtures"


def test_replay_of_2019q4_under_hcpcs_2020_fails_the_g_codes(claims_store: Store) -> None:
    editions = in_force(claims_store, load_config(REPO / "codesets.toml"))
    path = DATA / "claims-2019Q4.csv"
    lines = read_claims(path)
    before = check_claims(path, editions, lines=lines)
    after = replay(before, editions, "hcpcs=2020", lines)
    fails = after.rows("pass", "fail")
    assert fails.height > 0
    assert set(fails["code"]) == {"G8978", "G8979"}
    assert set(fails["rule"]) == {"hcpcs-code"}
    assert after.rows("fail", "pass").height == 0
    [delta] = [d for d in after.summary if d.rule == "hcpcs-code"]
    assert delta.would_fail == fails.height
    # Only HCPCS is pinned: every other rule is judged as before.
    assert set(after.changes["rule"]) == {"hcpcs-code"}


def test_csv_cells_that_look_like_formulas_are_neutralised() -> None:
    frame = pl.DataFrame({"a": ["=cmd", "+1", "-2", "@x", "ok", None], "n": [1, 2, 3, 4, 5, 6]})
    out = neutralise_csv(frame)
    assert out["a"].to_list() == ["'=cmd", "'+1", "'-2", "'@x", "ok", None]
    assert out["n"].to_list() == [1, 2, 3, 4, 5, 6]


@pytest.fixture()
def env(claims_store: Store, tmp_path: Path) -> tuple[list[str], Path]:
    out = tmp_path / "reports"
    return [
        "--config",
        str(REPO / "codesets.toml"),
        "--store",
        str(claims_store.root),
        "--out",
        str(out),
    ], out


def test_check_writes_reports_and_fail_on_exits_1(
    env: tuple[list[str], Path], tmp_path: Path
) -> None:
    base, out = env
    claims = tmp_path / "visits.csv"
    text = (DATA / "edge-cases.csv").read_text()
    claims.write_text(text.replace("E12,", "=HYPERLINK(1),").replace("E11,", "<i>E11</i>,"))
    result = CliRunner().invoke(cli, [*base, "check", str(claims)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "ncci-ptp" in result.output and "dollars at risk" in result.output
    names = sorted(p.name for p in (out / "claims").iterdir())
    assert names == ["visits.findings.csv", "visits.html", "visits.json", "visits.md"]
    rows = list(csv.DictReader((out / "claims" / "visits.findings.csv").open(encoding="utf-8")))
    assert {r["outcome"] for r in rows} == {"fail", "bypassed", "no_data"}
    assert any(r["claim_id"] == "'=HYPERLINK(1)" for r in rows)
    assert not any(r["claim_id"].startswith("=") for r in rows)
    report = json.loads((out / "claims" / "visits.json").read_text())
    assert {s["rule"] for s in report["summary"]} >= {"ncci-ptp", "mue", "payable"}
    assert set(report["findings"][0]) == {
        "line", "claim_id", "date_of_service", "code", "modifiers", "units", "rule",
        "outcome", "edition", "other_code", "other_line", "limit", "payment", "message",
    }  # fmt: skip
    html = (out / "claims" / "visits.html").read_text()
    assert "<i>E11" not in html and "&lt;i&gt;E11" in html
    failing = CliRunner().invoke(cli, [*base, "check", str(claims), "--fail-on", "fail"])
    assert failing.exit_code == 1
    assert "fail-on fail" in failing.output


def test_check_replay_option(env: tuple[list[str], Path]) -> None:
    base, out = env
    args = [*base, "check", str(DATA / "claims-2019Q4.csv"), "--as-of", "hcpcs=2020"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "replayed under hcpcs 2020" in result.output
    md = (out / "claims" / "claims-2019Q4.md").read_text()
    assert "| hcpcs-code | 90 |" in md and "G8978 was discontinued" in md


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "claim_id,date_of_service,code,modifiers,units\nA,2025-13-01,97110,GP,1\n",
            "line 2, column date_of_service",
        ),
        (
            b"claim_id,date_of_service,code,modifiers,units\nA,2025-01-01,97110,G\xd0,1\n",
            "line 2, column 21",
        ),
        ("", "file is empty"),
    ],
)
def test_bad_input_exit_2_and_nothing_written(
    env: tuple[list[str], Path], tmp_path: Path, body: str | bytes, expected: str
) -> None:
    base, out = env
    claims = tmp_path / "bad.csv"
    claims.write_bytes(body if isinstance(body, bytes) else body.encode())
    result = CliRunner().invoke(cli, [*base, "check", str(claims)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and result.output.startswith("error: bad.csv")
    assert expected in result.output
    assert not out.exists()


def test_as_of_must_name_a_stored_edition(env: tuple[list[str], Path]) -> None:
    base, _ = env
    args = [*base, "check", str(DATA / "edge-cases.csv"), "--as-of", "hcpcs=2031"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "no edition '2031' of hcpcs" in result.output
