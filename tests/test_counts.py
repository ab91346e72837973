"""One count, everywhere: the index, each report, the audit page, the JSON and the CLI.

A billing lead who reads "18 critical" on the index and finds 8 warnings in the report
stops trusting both. Each cycle's critical and warning counts come from its Action
required (other code sets' items of the same period included), and the audit's from
its findings to correct (notes excluded); every page is read back here and compared.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from pipeline.cli import cli
from tests.conftest import REPO, Bundled


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _number(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    assert match, pattern
    return int(match[1].replace(",", ""))


def test_cycle_counts_agree_on_every_page(bundled: Bundled) -> None:
    out = bundled.out
    cycles = _json(out / "index.json")["cycles"]
    index = {f"{c['codeset']}/{c['from']['version']}_to_{c['to']['version']}": c for c in cycles}
    index_html = (out / "index.html").read_text(encoding="utf-8")
    index_md = (out / "index.md").read_text(encoding="utf-8")
    seen = {"critical": 0, "warning": 0}
    for analysis in bundled.result.analyses:
        cs = analysis.changes
        stem = f"{cs.codeset}/{cs.old.version}_to_{cs.new.version}"
        counts = analysis.action_counts
        report = _json(out / f"{stem}.json")
        html = (out / f"{stem}.html").read_text(encoding="utf-8")
        md = (out / f"{stem}.md").read_text(encoding="utf-8")
        assert report["impact"]["action_required"] == counts, stem
        assert dict(index[stem]["severity"]) == counts, stem
        items = analysis.action_items
        assert len(items) == counts["critical"] + counts["warning"], stem
        if items:
            caption = r"(\d+) critical items?, (\d+) warnings?"
            for text in (html, md):
                found = re.search(caption, text)
                assert found and (int(found[1]), int(found[2])) == (
                    counts["critical"],
                    counts["warning"],
                ), stem
        # The index's row of this cycle: its link, then the two counts.
        row = re.search(rf'href="{re.escape(stem)}\.html">[^<]*</a></td>.*?</tr>', index_html)
        assert row, stem
        cell = r'data-label="(Critical|Warning)" class="num">(?:<strong>)?[‼⚠ ]*([\d,]+)'
        cells = re.findall(cell, row[0])
        assert {k.lower(): int(v) for k, v in cells} == counts, stem
        md_row = next(line for line in index_md.splitlines() if f"({stem}.md) |" in line)
        assert f"| {counts['critical']} / {counts['warning']} |" in md_row, stem
        for k in seen:
            seen[k] += counts[k]
    assert seen["critical"] >= 18 and seen["warning"] >= 6, "the bundled cycles have items"

    # The CLI's JSON of a cycle without other code sets' items says the same.
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    args = [*base, "diff", "hcpcs", "--from", "2019", "--to", "2020", "--format", "json"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    cli_counts = json.loads(result.stdout)["impact"]["action_required"]
    assert cli_counts == index["hcpcs/2019_to_2020"]["severity"] == {"critical": 18, "warning": 0}


def test_audit_counts_agree_on_every_page(bundled: Bundled) -> None:
    out = bundled.out
    audit = bundled.result.audit
    assert audit is not None
    n = audit.to_correct
    assert n == sum(1 for f in audit.findings if f.kind != "note") and n < len(audit.findings)
    assert _json(out / "audit.json")["to_correct"] == n
    pattern = r"(\d+) findings? to correct"
    for page in ("audit.html", "audit.md", "index.html", "index.md"):
        assert _number(pattern, (out / page).read_text(encoding="utf-8")) == n, page
    # The 18 functional-limitation codes that ended together are one row, still counted 18.
    html, md = (out / "audit.html").read_text(), (out / "audit.md").read_text()
    assert html.count("<summary>18 codes, G8978–G8995</summary>") == 1
    assert '<h2 id="discontinued">Discontinued (18)</h2>' in html
    assert md.count("| 18 codes: G8978, G8979,") == 1 and "## Discontinued (18)" in md
    base = ["--config", str(REPO / "codesets.toml"), "--store", str(bundled.store.root)]
    result = CliRunner().invoke(cli, [*base, "audit"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert _number(r": (\d+) finding\(s\) to correct", result.output.splitlines()[0]) == n


def test_links_resolve_where_the_reports_are_published(bundled: Bundled) -> None:
    """Only reports/ is published: every relative link of every page resolves inside it,
    and no page cites a file of the repository outside it (a source's README)."""
    out = bundled.out
    pages = sorted(out.rglob("*.html")) + sorted(out.rglob("*.md"))
    broken, cited = [], []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        links = re.findall(r'href="([^"#]+)', text) if page.suffix == ".html" else []
        links += re.findall(r"\]\(([^)#\s]+)", text) if page.suffix == ".md" else []
        for link in links:
            if "://" in link or link.startswith("mailto:"):
                assert link.startswith("https://"), (page, link)
                continue
            if not (page.parent / link).resolve().is_file():
                broken.append((page.relative_to(out).as_posix(), link))
        cited += [(page.name, m) for m in re.findall(r"\bsources/[\w./-]+", text)]
    assert broken == [] and cited == []
    pfs = (out / "pfs-rvu" / "RVU24C_to_RVU25A.html").read_text(encoding="utf-8")
    assert '<a href="https://www.cms.gov/medicare/payment/fee-schedules/physician/' in pfs
