"""Release feeds against a publisher stand-in on 127.0.0.1 serving real HCPCS files.

The listing page is the CMS quarterly update page's markup (tests/feeds/); the files are
CMS's own 2017 and 2018 HCPCS zips (sources/hcpcs/). Each test is a sequence of
scheduled runs while the publisher's page changes under them.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.project.discover import discover
from pipeline.store import Store
from tests.conftest import REPO
from tests.feedserver import HCPCS_PAGE_PATH, PAGES, Publisher, Reply, hcpcs_page, publisher, rezip

__all__ = ["publisher"]

SOURCES = REPO / "sources" / "hcpcs"
Z2017 = (SOURCES / "2017-Alpha-Numeric-HCPCS-File.zip").read_bytes()
Z2018 = (SOURCES / "2018-Alpha-Numeric-HCPCS-File.zip").read_bytes()
N2017, N2018 = "2017-alpha-numeric-hcpcs-file.zip", "2018-alpha-numeric-hcpcs-file.zip"
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def setup(tmp_path: Path, server: Publisher, extra: str = "") -> Path:
    config = tmp_path / "codesets.toml"
    config.write_text(
        '[codesets.hcpcs]\nreader = { format = "hcpcs-anweb", member = "*ANWEB*.txt" }\n'
        f'[codesets.hcpcs.feed]\npages = ["{server.base}{HCPCS_PAGE_PATH}"]\n'
        "timeout = 5\ndeadline = 60\n" + extra
    )
    return config


def invoke(tmp_path: Path, *args: str) -> Result:
    base = ["--config", str(tmp_path / "codesets.toml"), "--store", str(tmp_path / "snapshots")]
    return CliRunner().invoke(cli, [*base, "--out", str(tmp_path / "reports"), *args])


def tree(root: Path) -> dict[str, str]:
    """Every committed file under `root` (the download cache is not) and its sha256."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".downloads" not in p.parts and not p.name.startswith(".")
    }


def publish(server: Publisher, *files: tuple[str, bytes]) -> None:
    server.page(HCPCS_PAGE_PATH, hcpcs_page([name for name, _ in reversed(files)]))
    for name, body in files:
        server.file(f"/files/zip/{name}", body)


def lock(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "snapshots" / "releases.lock.json").read_text())


def test_a_quarter_appearing_between_two_runs_is_found_stored_and_locked(
    publisher: Publisher, tmp_path: Path
) -> None:
    setup(tmp_path, publisher)
    publish(publisher, (N2017, Z2017))
    first = invoke(tmp_path, "run")
    assert first.exit_code == 0, first.output + first.stderr
    url17 = f"{publisher.base}/files/zip/{N2017}"
    assert (
        f"new: hcpcs 2017 from {url17}, sha256 {hashlib.sha256(Z2017).hexdigest()}" in first.output
    )

    publish(publisher, (N2017, Z2017), (N2018, Z2018))
    found = invoke(tmp_path, "discover")
    assert found.exit_code == 0, found.output + found.stderr
    url18 = f"{publisher.base}/files/zip/{N2018}"
    sha18 = hashlib.sha256(Z2018).hexdigest()
    assert found.output.splitlines() == [f"new: hcpcs 2018 from {url18}, sha256 {sha18}"]
    listing = json.loads(invoke(tmp_path, "discover", "--format", "json").output)
    [feed] = listing["feeds"]
    assert feed["pages"] == [f"{publisher.base}{HCPCS_PAGE_PATH}"]
    assert [(f["version"], f["status"], f["sha256"]) for f in feed["found"]] == [
        ("2017", "known", hashlib.sha256(Z2017).hexdigest()),
        ("2018", "new", sha18),
    ]
    assert [m.version for m in Store(tmp_path / "snapshots").manifests()] == ["2017"]

    second = invoke(tmp_path, "run")
    assert second.exit_code == 0, second.output + second.stderr
    assert f"new: hcpcs 2018 from {url18}, sha256 {sha18}" in second.output
    assert "hcpcs 2017 -> 2018: 154 added, 29 deleted" in second.output
    entries = lock(tmp_path)["releases"]["hcpcs"]
    assert sorted(entries) == ["2017", "2018"]
    [issue] = entries["2018"]
    assert issue["url"] == url18 and issue["sha256"] == sha18 and issue["bytes"] == len(Z2018)
    assert issue["etag"] and issue["last_modified"] == "Wed, 17 Jun 2026 15:59:47 GMT"
    assert issue["stored_as"] == "2018" and issue["first_seen"].endswith("Z")

    before = tree(tmp_path)
    # A fresh clone in CI has no download cache: the lock's validators make it a 304.
    shutil.rmtree(tmp_path / "snapshots" / ".downloads")
    hits = publisher.hits[(f"/files/zip/{N2018}", 304)]
    summary = tmp_path.parent / f"{tmp_path.name}-summary.md"
    quiet = invoke(tmp_path, "run", "--summary", str(summary))
    assert quiet.exit_code == 0, quiet.output + quiet.stderr
    assert "new:" not in quiet.output
    assert f"hcpcs: no new edition on {publisher.base}{HCPCS_PAGE_PATH} (newest listed: 2018)" in (
        quiet.output
    )
    assert tree(tmp_path) == before, "a quiet run changed a committed file"
    text = summary.read_text()
    assert text.startswith("# Code-set update: no new edition"), text
    assert "Checked 1 code set (hcpcs (release feed: http" in text
    assert f"{HCPCS_PAGE_PATH})) on " in text
    assert publisher.hits[(f"/files/zip/{N2018}", 304)] == hits + 1
    assert publisher.hits[(f"/files/zip/{N2018}", 200)] == 1  # by discover; runs revalidate


def test_a_reissued_file_is_stored_beside_the_first_and_diffed_against_it(
    publisher: Publisher, tmp_path: Path
) -> None:
    """CMS re-posts 2018 in place: the same URL, a new inner name, one descriptor fixed."""
    setup(tmp_path, publisher)
    publish(publisher, (N2017, Z2017), (N2018, Z2018))
    assert invoke(tmp_path, "run").exit_code == 0
    fixed = rezip(
        SOURCES / "2018-Alpha-Numeric-HCPCS-File.zip",
        "HCPC2018_CONTR_ANWEB_disc.txt",
        rename="HCPC2018_CONTR_ANWEB_disc_v2.txt",
        edit=lambda b: b.replace(b"to one or more areas for", b"to one or more sites for", 1),
    )
    publish(publisher, (N2017, Z2017), (N2018, fixed))
    result = invoke(tmp_path, "run")
    assert result.exit_code == 0, result.output + result.stderr
    url = f"{publisher.base}/files/zip/{N2018}"
    old, new = hashlib.sha256(Z2018).hexdigest(), hashlib.sha256(fixed).hexdigest()
    line = next(x for x in result.output.splitlines() if x.startswith("re-issue:"))
    assert line.startswith(f"re-issue: hcpcs 2018 from {url}, sha256 {new}, replaces sha256 {old}")
    assert line.endswith("stored as 2018-r2")
    assert "hcpcs 2018 -> 2018-r2: 0 added, 0 deleted, 1 changed" in result.output
    report = json.loads((tmp_path / "reports" / "hcpcs" / "2018_to_2018-r2.json").read_text())
    assert [c["code"] for c in report["changed"]] == ["G0283"]
    snap = Store(tmp_path / "snapshots").get("hcpcs", "2018-r2").manifest
    assert snap.source.member == "HCPC2018_CONTR_ANWEB_disc_v2.txt"
    assert f"replaces {url} (sha256 {old}" in (snap.source.note or "")
    issues = lock(tmp_path)["releases"]["hcpcs"]["2018"]
    assert [(i["stored_as"], i["sha256"]) for i in issues] == [("2018", old), ("2018-r2", new)]
    assert invoke(tmp_path, "verify").exit_code == 0
    path = tmp_path / "snapshots" / "releases.lock.json"
    path.write_text(path.read_text().replace(new, old))
    damaged = invoke(tmp_path, "verify")
    assert damaged.exit_code == 2
    assert f"hcpcs 2018-r2 is recorded with sha256 {old}, but its snapshot was made from a " in (
        damaged.stderr
    )


def test_a_repost_with_the_same_records_is_reported_and_stores_nothing(
    publisher: Publisher, tmp_path: Path
) -> None:
    setup(tmp_path, publisher)
    publish(publisher, (N2017, Z2017))
    assert invoke(tmp_path, "run").exit_code == 0
    same = rezip(SOURCES / "2017-Alpha-Numeric-HCPCS-File.zip", "HCPC17_CONTR_ANWEB.txt")
    publish(publisher, (N2017, same))
    result = invoke(tmp_path, "run")
    assert result.exit_code == 0, result.output + result.stderr
    assert "same records as the stored issue, nothing to store" in result.output
    assert [m.version for m in Store(tmp_path / "snapshots").manifests()] == ["2017"]
    issues = lock(tmp_path)["releases"]["hcpcs"]["2017"]
    assert [i["stored_as"] for i in issues] == ["2017", None]
    again = invoke(tmp_path, "run")
    assert "re-issue" not in again.output, "a recorded re-post must not be news twice"


def test_a_reissue_posted_as_v2_beside_the_first_is_one_more_issue(
    publisher: Publisher, tmp_path: Path
) -> None:
    """`-v2.zip` next to the first post: both are listed; the first is stored, the v2
    judged against it (here the same file, so nothing more is stored)."""
    config = load_config(setup(tmp_path, publisher))
    name = "january-2017-alpha-numeric-hcpcs-file.zip"
    v2 = "january-2017-alpha-numeric-hcpcs-file-v2.zip"
    same = rezip(SOURCES / "2017-Alpha-Numeric-HCPCS-File.zip", "HCPC17_CONTR_ANWEB.txt")
    publisher.page(HCPCS_PAGE_PATH, hcpcs_page([v2, name]))
    publisher.file(f"/files/zip/{name}", Z2017)
    publisher.file(f"/files/zip/{v2}", same)
    found = discover(config, Store(tmp_path / "snapshots"), now=NOW)
    [check] = found.checks
    assert [(f.release.version, f.release.issue, f.status, f.label) for f in check.found] == [
        ("2017Q1", 0, "new", "2017Q1"),
        ("2017Q1", 2, "repost", None),
    ]
    assert not (tmp_path / "snapshots" / "releases.lock.json").exists()
    assert not (tmp_path / "snapshots" / "hcpcs").exists()


def test_a_listing_page_whose_links_no_longer_match_is_an_error_naming_it(
    publisher: Publisher, tmp_path: Path
) -> None:
    setup(tmp_path, publisher)
    publisher.page(
        HCPCS_PAGE_PATH, (PAGES / "cms-hcpcs-quarterly-update-media-links.html").read_text()
    )
    for command in ("run", "discover"):
        result = invoke(tmp_path, command)
        assert result.exit_code == 2, result.output
        [line] = result.stderr.splitlines()
        assert line.startswith(f"error: {publisher.base}{HCPCS_PAGE_PATH}: no hcpcs release files")
        assert "alpha-numeric-hcpcs-file(s).zip" in line and "changed its layout" in line
    assert not (tmp_path / "snapshots" / "hcpcs").exists()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (None, "HTTP 404 Not Found"),
        (
            Reply(b"<!DOCTYPE html><html><body>Please log in</body></html>", "text/html"),
            "server sent a web page (text/html), not a release file",
        ),
        (Reply(b"<html><body>Moved</body></html>", "application/zip"), "server sent a web page"),
        (Reply(b"%PDF-1.7 not the file", "application/octet-stream"), "not a zip file"),
        (Reply(Z2018, delay=4.0), "timed out after 1 s"),
        (Reply(Z2018, trickle=0.5), "-second deadline ("),
    ],
    ids=["404", "html", "html-labelled-zip", "not-a-zip", "slow", "trickle"],
)
def test_a_bad_linked_file_fails_the_run_with_one_line_and_stores_nothing(
    publisher: Publisher, tmp_path: Path, reply: Reply | None, message: str
) -> None:
    setup(tmp_path, publisher, "")
    config = tmp_path / "codesets.toml"
    config.write_text(
        config.read_text().replace("timeout = 5\ndeadline = 60", "timeout = 1\ndeadline = 3")
    )
    publish(publisher, (N2017, Z2017), (N2018, Z2018))
    if reply is None:
        del publisher.routes[f"/files/zip/{N2018}"]
    else:
        publisher.routes[f"/files/zip/{N2018}"] = reply
    result = invoke(tmp_path, "run")
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {publisher.base}/files/zip/{N2018}: "), line
    assert message in line
    assert not (tmp_path / "snapshots" / "hcpcs").exists()
    assert not (tmp_path / "snapshots" / "releases.lock.json").exists()
    assert not (tmp_path / "reports").exists()


def test_a_slow_listing_page_is_bounded_by_the_deadline(
    publisher: Publisher, tmp_path: Path
) -> None:
    setup(tmp_path, publisher)
    config = tmp_path / "codesets.toml"
    config.write_text(
        config.read_text().replace("timeout = 5\ndeadline = 60", "timeout = 5\ndeadline = 1.5")
    )
    publisher.routes[HCPCS_PAGE_PATH] = Reply(hcpcs_page([N2017]).encode(), "text/html", delay=4.0)
    started = datetime.now(UTC)
    result = invoke(tmp_path, "discover")
    took = (datetime.now(UTC) - started).total_seconds()
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {publisher.base}{HCPCS_PAGE_PATH}: timed out")
    assert took < 3.5


def test_configuration_skips_pins_and_hand_listed_editions_win(
    publisher: Publisher, tmp_path: Path
) -> None:
    hand = SOURCES / "2017-Alpha-Numeric-HCPCS-File.zip"
    setup(
        tmp_path,
        publisher,
        f'skip = ["2018"]\n\n[[codesets.hcpcs.editions]]\nversion = "2017"\n'
        f'effective = 2017-01-01\nsource = "{hand}"\n',
    )
    publish(publisher, (N2017, Z2017), (N2018, Z2018))
    config = load_config(tmp_path / "codesets.toml")
    found = discover(config, Store(tmp_path / "snapshots"), now=NOW)
    assert [(f.release.version, f.status) for f in found.checks[0].found] == [
        ("2017", "configured"),
        ("2018", "skipped"),
    ]
    assert publisher.hits[(f"/files/zip/{N2018}", 200)] == 0
    (tmp_path / "codesets.toml").write_text(
        (tmp_path / "codesets.toml")
        .read_text()
        .replace('skip = ["2018"]', f'sha256 = {{ "2018" = "{"0" * 64}" }}')
    )
    result = invoke(tmp_path, "discover")
    assert result.exit_code == 2
    assert f"sha256 mismatch: expected {'0' * 64}" in result.stderr
    cached = list((tmp_path / "snapshots" / ".downloads").rglob(N2018))
    assert cached == [], "a file failing its pin must not stay in the cache"


def test_editions_before_since_are_not_even_listed(publisher: Publisher, tmp_path: Path) -> None:
    setup(tmp_path, publisher, "since = 2018-01-01\n")
    publish(publisher, (N2017, Z2017), (N2018, Z2018))
    config = load_config(tmp_path / "codesets.toml")
    found = discover(config, Store(tmp_path / "snapshots"), now=NOW)
    assert [(f.release.version, f.status) for f in found.checks[0].found] == [("2018", "new")]
    assert publisher.hits[(f"/files/zip/{N2017}", 200)] == 0


def test_an_edition_in_several_files_is_reported_and_left_for_a_person(
    publisher: Publisher, tmp_path: Path
) -> None:
    """NCCI PTP quarters come in four parts: listed and reported, nothing downloaded."""
    path = "/medicare/coding-billing/ncci-medicare/ptp-edits"
    publisher.page(path, (PAGES / "cms-ncci-ptp-edits.html").read_text())
    (tmp_path / "codesets.toml").write_text(
        f'[codesets.ncci-ptp.feed]\npages = ["{publisher.base}{path}"]\n'
    )
    result = invoke(tmp_path, "run")
    assert result.exit_code == 0, result.output + result.stderr
    parts = [line for line in result.output.splitlines() if line.startswith("found: ")]
    assert parts[-1].startswith(
        f"found: ncci-ptp 2026Q2 in 4 files ({publisher.base}/files/zip/"
        "medicare-ncci-2026q2-practitioner-ptp-edits-ccipra-v321r0-f1.zip, "
    )
    assert parts[-1].endswith(
        "not ingested, an edition published in several files is ingested by hand"
    )
    assert not [p for (p, _) in publisher.hits if p.startswith("/files/")]
    assert not (tmp_path / "snapshots" / "releases.lock.json").exists()


ICD = REPO / "sources" / "icd10cm"


@pytest.mark.skipif(
    not (ICD / "icd10cm_codes_2026.zip").is_file(),
    reason="needs the bundled ICD-10-CM code-descriptions files (sources/icd10cm/)",
)
def test_an_april_update_with_the_october_codes_is_a_repost_not_news(
    publisher: Publisher, tmp_path: Path
) -> None:
    """CMS's ICD-10 page lists FY2026, its April 1 update (the same codes file) and FY2027."""
    path = "/medicare/coding-billing/icd-10-codes"
    publisher.page(path, (PAGES / "cms-icd-10-codes.html").read_text())
    for year, name in ((2026, "2026"), (2026, "april-1-2026"), (2027, "2027")):
        source = ICD / f"icd10cm_codes_{year}.zip"
        with zipfile.ZipFile(source) as archive:
            member = archive.namelist()[0]
        # The April zip holds the same codes file, packed anew: another file hash.
        level = 1 if name.startswith("april") else 6
        body = rezip(source, member, f"Code Descriptions/icd10cm_codes_{year}.txt", level=level)
        publisher.file(f"/files/zip/{name}-code-descriptions-tabular-order.zip", body)
    (tmp_path / "codesets.toml").write_text(
        f'[codesets.icd10cm.feed]\npages = ["{publisher.base}{path}"]\n'
    )
    result = invoke(tmp_path, "run")
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.output.splitlines()
    assert [
        line.split(" from ")[0] for line in lines if line.startswith(("new:", "re-issue:"))
    ] == [
        "new: icd10cm FY2026",
        "re-issue: icd10cm FY2026",
        "new: icd10cm FY2027",
    ]
    assert any(
        "april-1-2026" in line and "same records as the stored issue" in line for line in lines
    )
    assert [m.version for m in Store(tmp_path / "snapshots").manifests()] == ["FY2026", "FY2027"]
    assert "icd10cm FY2026 -> FY2027:" in result.output
    issues = lock(tmp_path)["releases"]["icd10cm"]["FY2026"]
    assert [(i["stored_as"], i["effective"]) for i in issues] == [
        ("FY2026", "2025-10-01"),
        (None, "2026-04-01"),
    ]


def test_a_code_set_of_a_kind_without_a_feed_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "codesets.toml").write_text(
        '[codesets.clinic-fees]\ntitle = "Fees"\npublisher = "Acme"\nkey = ["code"]\n'
        'reader = { format = "delimited" }\n[codesets.clinic-fees.feed]\n'
    )
    result = invoke(tmp_path, "discover")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: code set 'clinic-fees': no release feed for its kind 'generic' (feeds exist for "
        "hcpcs, icd10cm, mue, ncci, pfs)"
    )


def test_fee_schedule_release_pages_are_followed_to_their_files(
    publisher: Publisher, tmp_path: Path
) -> None:
    """Two hops: the PFS Relative Value Files page, then each release page, then its zip."""
    base = "/medicare/payment/fee-schedules/physician/pfs-relative-value-files"
    publisher.page(base, (PAGES / "cms-pfs-relative-value-files.html").read_text())
    for page in ("rvu26a", "rvu25d-0", "rvu24ar"):
        publisher.page(f"{base}/{page}", (PAGES / f"cms-pfs-{page}.html").read_text())
    csv = REPO / "sources" / "pfs-rvu" / "RVU25D-PPRRVU2025_Oct-ptot.csv"
    for name in ("rvu26a-updated-01-09-2026", "rvu25d", "rvu24ar"):
        body = io.BytesIO()
        with zipfile.ZipFile(body, "w") as archive:
            archive.writestr("PPRRVU_ptot.csv", csv.read_bytes())
        publisher.file(f"/files/zip/{name}.zip", body.getvalue())
    (tmp_path / "codesets.toml").write_text(
        f'[codesets.pfs-rvu.feed]\npages = ["{publisher.base}{base}"]\n'
    )
    found = discover(load_config(tmp_path / "codesets.toml"), Store(tmp_path / "s"), now=NOW)
    assert [
        (f.release.version, f.status, f.release.page.rsplit("/", 1)[1]) for f in found.news
    ] == [
        ("RVU24AR", "new", "rvu24ar"),
        ("RVU25D", "new", "rvu25d-0"),
        ("RVU26A", "new", "rvu26a"),
    ]
    assert found.news[-1].release.url == (
        f"{publisher.base}/files/zip/rvu26a-updated-01-09-2026.zip"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "unreadable release lock"),
        ('{"format": 1, "releases": {"hcpcs": {"2018": [{"url": "x"}]}}}', "damaged release lock"),
        ('{"format": 9, "releases": {}}', "damaged release lock (unknown format 9)"),
    ],
)
def test_a_damaged_lock_file_is_an_error_naming_it(
    publisher: Publisher, tmp_path: Path, text: str, message: str
) -> None:
    setup(tmp_path, publisher)
    publish(publisher, (N2017, Z2017))
    path = tmp_path / "snapshots" / "releases.lock.json"
    path.parent.mkdir()
    path.write_text(text)
    result = invoke(tmp_path, "run")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}: {message}"), result.stderr
    assert path.read_text() == text
    assert not (tmp_path / "snapshots" / "hcpcs").exists()
