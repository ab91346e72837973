"""Every file a report links to exists: the Markdown report, cut to fit a small size
limit, shows fewer rows than the HTML report and links full lists the HTML one does not
need; they are written too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.faults.conftest import HCPCS, Project

_MD_LINK = re.compile(r"(?<!\\)\]\(([^)\s]+)\)")
_HREF = re.compile(r'href="([^"#]+)"')


def _missing(out: Path) -> list[str]:
    """Relative links in every report under `out` whose target does not exist."""
    missing = []
    for report in sorted([*out.rglob("*.md"), *out.rglob("*.html")]):
        text = report.read_text(encoding="utf-8")
        pattern = _MD_LINK if report.suffix == ".md" else _HREF
        for target in pattern.findall(text):
            if "://" in target or target.startswith(("mailto:", "data:")):
                continue
            if not (report.parent / target).exists():
                missing.append(f"{report.relative_to(out)} -> {target}")
    return missing


def _full_lists(out: Path) -> list[str]:
    return sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.suffix in (".csv", ".parquet")
    )


@pytest.mark.parametrize("limit", ["65536", "4096", "1000000"])
def test_report_links_only_files_that_exist(project: Project, limit: str) -> None:
    result = project.invoke("report", "hcpcs", "--markdown-limit", limit)
    assert result.exit_code == 0, result.output
    assert _missing(project.out) == []
    md = (project.out / "hcpcs" / "2019_to_2020.md").read_text(encoding="utf-8")
    if limit != "1000000":
        assert "[CSV](2019_to_2020/" in md  # the small limit did cut sections
        assert _full_lists(project.out)


@pytest.mark.slow
def test_run_with_a_pull_request_sized_limit(tmp_path: Path) -> None:
    """The bundled HCPCS editions with `--markdown-limit 65536`: the case that linked
    eight full lists that were never written."""
    editions = "".join(
        f'[[codesets.hcpcs.editions]]\nversion = "{y}"\neffective = {y}-01-01\n'
        f'source = "{HCPCS / f"{y}-Alpha-Numeric-HCPCS-File.zip"}"\n'
        for y in (2017, 2018, 2019, 2020)
    )
    config = tmp_path / "codesets.toml"
    config.write_text(
        '[codesets.hcpcs]\nreader = { format = "hcpcs-anweb", member = "*ANWEB*.txt" }\n'
        + editions,
        encoding="utf-8",
    )
    project = Project(tmp_path)
    result = project.invoke("--config", str(config), "run", "--markdown-limit", "65536")
    assert result.exit_code == 0, result.output
    assert _missing(project.out) == []
    linked = sum(
        len(_MD_LINK.findall(p.read_text(encoding="utf-8")))
        for p in (project.out / "hcpcs").glob("*.md")
    )
    assert linked >= 8
    verify = project.invoke("--config", str(config), "verify")
    assert verify.exit_code == 0, verify.output
