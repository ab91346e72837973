"""Replay: the bundled quarterly HCPCS editions arrive one per scheduled run, through the feed.

From an empty store, a publisher stand-in on 127.0.0.1 posts one more quarter before each
run, on the CMS quarterly update page (tests/feeds/), under CMS's own zip names and inner
file names (sources/sourcelock/manifest.json); each zip holds the bundled column subset of
that quarter (sources/hcpcs-quarterly/). Each run is `codeset run --fail-on critical`, as
the scheduled job calls it. After each run:

- the files written are exactly that run's new cycle reports, plus the index, feed, lock
  file, snapshot, audit and the history pages of codes the cycle changed;
- the run's summary names only that cycle;
- the critical gate (exit 1) fires exactly on the runs that bring a critical item.

The watchlist is the clinic's, plus three codes CMS discontinued in the replayed period
(J0800 at the end of 2023Q3, J1170 at the end of 2024Q3, L6000 at the end of 2026Q1), so
that the gate has something to find: the clinic's own codes lose nothing in these quarters.
Which runs must fire is worked out from the bundled files themselves, not from the
pipeline's reports.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from tests.conftest import REPO
from tests.feedserver import HCPCS_PAGE_PATH, Publisher, hcpcs_page, serving

QUARTERLY = REPO / "sources" / "hcpcs-quarterly"
MANIFEST = REPO / "sources" / "sourcelock" / "manifest.json"
EXTRA_WATCHED = {
    "J0800": "Corticotropin injection",
    "J1170": "Hydromorphone injection",
    "L6000": "Partial hand with thumb remaining",
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (QUARTERLY.is_dir() and MANIFEST.is_file()),
        reason="needs the bundled quarterly HCPCS editions (sources/hcpcs-quarterly/)",
    ),
]


@dataclass(frozen=True)
class Quarter:
    version: str
    effective: str
    zip_name: str
    body: bytes
    table: pl.DataFrame


@dataclass(frozen=True)
class Outcome:
    """One scheduled run: what it printed, its exit code, and every file it changed."""

    quarter: Quarter
    previous: Quarter | None
    exit_code: int
    output: str
    #: What `--summary` appended: the job summary and pull-request text of this run.
    summary: str
    changed: set[str]


def quarters() -> list[Quarter]:
    releases = json.loads(MANIFEST.read_text())["hcpcs_releases"]
    found = []
    for label, entry in sorted(releases.items()):
        bundled = QUARTERLY / f"hcpcs_{label}.zip"
        with zipfile.ZipFile(bundled) as archive:
            [member] = archive.namelist()
            data = archive.read(member)
        inner = entry["inner_file"].rsplit(".", 1)[0] + ".csv"
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(zipfile.ZipInfo(inner, (2026, 6, 17, 15, 59, 47)), data)
        table = pl.read_csv(io.BytesIO(data), infer_schema=False)
        found.append(
            Quarter(
                label.upper(),
                entry["effective_from"],
                entry["source_url"].rsplit("/", 1)[1],
                out.getvalue(),
                table,
            )
        )
    return found


def active(quarter: Quarter) -> set[str]:
    """Codes listed in a quarter and not terminated by its first day (CMS's own fields)."""
    day = quarter.effective.replace("-", "")
    records = quarter.table.filter(pl.col("record_id").is_in(["3", "7"]))
    live = records.filter(pl.col("termination").is_null() | (pl.col("termination") >= day))
    return set(live["code"].to_list())


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".downloads" not in p.parts and not p.name.startswith(".")
    }


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    """Fifteen scheduled runs, one new quarter before each."""
    with pytest.MonkeyPatch.context() as monkey, serving(monkey) as server:
        work, notes = tmp_path_factory.mktemp("replay"), tmp_path_factory.mktemp("summaries")
        return _replay(server, work, notes)


def _replay(server: Publisher, work: Path, notes: Path) -> list[Outcome]:
    watchlist = work / "watchlist.csv"
    watchlist.write_text(
        (REPO / "watchlists" / "pt-ot-clinic.csv").read_text()
        + "".join(f"{code},,{label},12,1,replay test\n" for code, label in EXTRA_WATCHED.items())
    )
    (work / "codesets.toml").write_text(
        "[codesets.hcpcs]\n"
        f'[codesets.hcpcs.feed]\npages = ["{server.base}{HCPCS_PAGE_PATH}"]\n'
        "timeout = 10\ndeadline = 120\n\n"
        f'[watchlist]\npath = "{watchlist}"\n'
    )
    args = ["--config", str(work / "codesets.toml"), "--store", str(work / "snapshots")]
    args += ["--out", str(work / "reports")]
    outcomes = []
    posted: list[Quarter] = []
    for quarter in quarters():
        posted.append(quarter)
        server.page(HCPCS_PAGE_PATH, hcpcs_page([q.zip_name for q in reversed(posted)]))
        server.file(f"/files/zip/{quarter.zip_name}", quarter.body)
        before = tree(work)
        summary = notes / f"{quarter.version}.md"
        command = [*args, "run", "--fail-on", "critical", "--summary", str(summary)]
        result = CliRunner().invoke(cli, command)
        after = tree(work)
        assert result.exit_code in (0, 1), result.output + result.stderr
        changed = {p for p in after if before.get(p) != after[p]} | (set(before) - set(after))
        previous = posted[-2] if len(posted) > 1 else None
        outcomes.append(
            Outcome(
                quarter,
                previous,
                result.exit_code,
                result.output,
                summary.read_text(encoding="utf-8"),
                changed,
            )
        )
    return outcomes


def cycle_stem(run: Outcome) -> str:
    assert run.previous is not None
    return f"{run.previous.version}_to_{run.quarter.version}"


def test_replay_finds_each_quarter_from_the_feed(replay: list[Outcome]) -> None:
    assert len(replay) == 15
    for run in replay:
        new = [line for line in run.output.splitlines() if line.startswith("new: ")]
        assert len(new) == 1 and new[0].startswith(f"new: hcpcs {run.quarter.version} from "), (
            run.output
        )
        assert hashlib.sha256(run.quarter.body).hexdigest() in new[0]
        assert f"snapshots/hcpcs/{run.quarter.version}/manifest.json" in run.changed
        assert "snapshots/releases.lock.json" in run.changed
        if run.previous is not None:
            assert f"reports/hcpcs/{cycle_stem(run)}.json" in run.changed


def test_replay_gate_fires_exactly_on_runs_bringing_a_critical_item(
    replay: list[Outcome],
) -> None:
    watched = set(EXTRA_WATCHED) | {
        line.split(",", 1)[0] for line in (REPO / "watchlists" / "pt-ot-clinic.csv").open()
    }
    critical = {
        run.quarter.version
        for run in replay
        if run.previous is not None and (active(run.previous) - active(run.quarter)) & watched
    }
    assert critical == {"2023Q4", "2024Q4", "2026Q2"}
    fired = {run.quarter.version for run in replay if run.exit_code == 1}
    assert fired == critical


def test_replay_writes_only_the_new_cycle_and_what_it_touches(replay: list[Outcome]) -> None:
    fixed = {"reports/index.html", "reports/index.md", "reports/index.json", "reports/feed.xml"}
    fixed |= {f"reports/audit.{ext}" for ext in ("html", "md", "json")}
    fixed.add("snapshots/releases.lock.json")
    for run in replay[1:]:
        stem = cycle_stem(run)
        cycle = {p for p in run.changed if p.startswith(f"reports/hcpcs/{stem}")}
        own = f"snapshots/hcpcs/{run.quarter.version}/"
        snapshot = {p for p in run.changed if p.startswith(own)}
        history = {p for p in run.changed if p.startswith("reports/history/")}
        touched = changed_codes(run)
        assert {f"reports/hcpcs/{stem}.{ext}" for ext in ("html", "md", "json")} <= cycle
        assert {f"reports/history/{code}.html" for code in touched} >= history, (
            run.quarter.version,
            sorted(history),
        )
        others = run.changed - cycle - snapshot - history - fixed
        assert not others, (run.quarter.version, sorted(others)[:10])


def test_replay_summary_names_only_the_new_cycle(replay: list[Outcome]) -> None:
    """The job summary / pull-request text: this run's edition (with the URL the feed found
    it at) and this run's cycle, none of the cycles stored before."""
    for run in replay:
        url = f"/files/zip/{run.quarter.zip_name}"
        assert f"- new: hcpcs {run.quarter.version} (effective {run.quarter.effective})" in (
            run.summary
        ), run.summary
        assert url in run.summary
        headings = [line for line in run.summary.splitlines() if line.startswith("## ")]
        if run.previous is None:
            assert headings == [], run.summary
            continue
        assert headings == [f"## HCPCS Level II: {run.previous.version} → {run.quarter.version}"], (
            run.summary
        )
        stems = set(re.findall(r"([0-9Q]+)_to_([0-9Q]+)\.md", run.summary))
        assert stems == {(run.previous.version, run.quarter.version)}, run.summary


def changed_codes(run: Outcome) -> set[str]:
    """Codes whose records differ between the two quarters (from the bundled tables)."""
    assert run.previous is not None

    def by_code(quarter: Quarter) -> dict[str, tuple]:
        frame = quarter.table.drop("action_code", "action_effective").sort("code", "seq")
        return {
            code: tuple(map(tuple, group.rows()))
            for (code,), group in frame.group_by("code", maintain_order=True)
        }

    old, new = by_code(run.previous), by_code(run.quarter)
    return {c for c in old.keys() | new.keys() if old.get(c) != new.get(c)}
