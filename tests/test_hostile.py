"""Every template, every field from the data, hostile: a run of a code set whose title,
publisher, column names, codes, descriptors, notes and watchlist labels all carry markup,
links, table breakers and terminal escapes writes no raw HTML, no live link and no escape
sequence into any page (HTML, Markdown, Atom feed, job summary)."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli

HOSTILE = "<img src=x onerror=alert(1)> [click](javascript:alert(1)) | `tick` **b** \x1b[31mred"
#: What must never reach a page: a raw tag, an escape sequence, or a live link (in HTML
#: an href, in Markdown a `](` that is not escaped).
RAW = {
    ".html": re.compile(r"<img src=x|href=\"javascript:|\x1b\["),
    ".xml": re.compile(r"<img src=x|href=\"javascript:|\x1b\["),
    ".md": re.compile(r"<img src=x|(?<!\\)\]\(javascript:|\x1b\["),
}


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _project(tmp_path: Path) -> list[str]:
    hostile_toml = HOSTILE.replace("\x1b", "\\u001b").replace('"', '\\"')
    (tmp_path / "codesets.toml").write_text(
        "[codesets.own]\n"
        f'title = "Title {hostile_toml}"\n'
        f'publisher = "Publisher {hostile_toml}"\n'
        'key = ["code"]\ndescriptors = ["description"]\n'
        'reader = { format = "delimited" }\n'
        "[[codesets.own.editions]]\n"
        'version = "2025"\neffective = 2025-01-01\nsource = "a.csv"\n'
        f'note = "Note {hostile_toml}"\n'
        "[[codesets.own.editions]]\n"
        'version = "2026"\neffective = 2026-01-01\nsource = "b.csv"\n'
        '[watchlist]\npath = "watchlist.csv"\n',
        encoding="utf-8",
    )
    column = _csv_cell(f"extra {HOSTILE}")
    rows_a = [f"A0001,{_csv_cell('old ' + HOSTILE)},x", f"A0002,{_csv_cell(HOSTILE)},y"]
    rows_b = [f"A0001,{_csv_cell('new ' + HOSTILE)},z", f"A0003,{_csv_cell(HOSTILE)},w"]
    (tmp_path / "a.csv").write_text(
        f"code,description,{column}\n" + "\n".join(rows_a) + "\n", encoding="utf-8"
    )
    (tmp_path / "b.csv").write_text(
        f"code,description,{column}\n" + "\n".join(rows_b) + "\n", encoding="utf-8"
    )
    (tmp_path / "watchlist.csv").write_text(
        "code,label\n"
        f"A0001,{_csv_cell('Label ' + HOSTILE)}\n"
        f"A0002,{_csv_cell('Gone ' + HOSTILE)}\n"
        f"A0003,{_csv_cell('New ' + HOSTILE)}\n",
        encoding="utf-8",
    )
    return ["--config", str(tmp_path / "codesets.toml"), "--out", str(tmp_path / "reports"),
            "--store", str(tmp_path / "snapshots")]  # fmt: skip


def test_no_page_carries_raw_markup_links_or_escapes(tmp_path: Path) -> None:
    base = _project(tmp_path)
    summary = tmp_path / "summary.md"
    result = CliRunner().invoke(
        cli, [*base, "run", "--allow-mass-change", "--summary", str(summary)]
    )
    assert result.exit_code == 0, result.output
    pages = [p for p in (tmp_path / "reports").rglob("*") if p.suffix in (".html", ".md", ".xml")]
    kinds = {p.name.split(".")[0].split("_")[0] for p in pages}
    # the cycle report, its index, feed, glossary, audit and a history page
    assert {"2025", "index", "feed", "glossary", "audit", "A0001"} <= kinds, kinds
    for page in [*pages, summary]:
        text = page.read_text(encoding="utf-8")
        found = RAW[page.suffix].search(text)
        assert found is None, f"{page.name} carries {found and found.group(0)!r}"
    cycle_md = (tmp_path / "reports" / "own" / "2025_to_2026.md").read_text(encoding="utf-8")
    assert "Title &lt;img" in cycle_md  # the title is there, as text
    for line in cycle_md.splitlines():
        if line.startswith("| A000"):  # a table row keeps its columns: no unescaped pipe
            assert line.count(" | ") == line.replace("\\|", "").count(" | ")
    printed = CliRunner().invoke(cli, [*base, "diff", "own"]).output
    assert "\x1b[" not in printed
