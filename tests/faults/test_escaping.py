"""Names and values from the data never become markup, links, formulas or terminal commands.

Every string that leaves the core passes through one escaping function per target
(`pipeline.report.escape`): HTML by Jinja's autoescape, Markdown, CSV cells (OWASP), and
the terminal. Each case puts a hostile name or value where a real one goes (a zip member
name, a publisher's column header, a descriptor) and reads every output.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest

from pipeline.report.escape import FORMULA_STARTS
from tests.faults.conftest import HCPCS_2019, Project

IMG = '<img src=x onerror="alert(1)">'
LINK = "[click](http://evil.example/x)"
SCRIPT = "<script>alert(1)</script>"
ESC = "\x1b[31mRED\x1b]0;owned\x07\x1b[2J"


def _no_markup(text: str, where: str) -> None:
    """No raw HTML tag from the data, no Markdown link or image to an outside address."""
    for bad in ("<img", "<script", "\x1b"):
        assert bad not in text, f"{bad!r} in {where}"
    # A Markdown link: `](` not escaped; a bare URL GitHub would link (no zero-width space).
    link = re.search(r"(?<!\\)\]\((?:https?:|www\.)|https?://", text)
    shown = text[max(0, link.start() - 40) : link.end() + 40] if link else ""
    assert link is None, f"a link in {where}: {shown!r}"


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "member",
    [f"HCPC2021{IMG}.txt", f"HCPC2021`{LINK}`.txt", f"HCPC2021{ESC}.txt"],
    ids=["html", "code-span-break-out", "terminal"],
)
def test_zip_member_name_in_every_report(project: Project, member: str) -> None:
    with zipfile.ZipFile(HCPCS_2019) as archive:
        anweb = archive.read("HCPC2019_CONTR_ANWEB.txt")
    source = project.write("2021-Alpha-Numeric-HCPCS-File.zip", _zip(member, anweb))
    ingest = project.invoke("ingest", "hcpcs", str(source), "--version", "2021")
    assert ingest.exit_code == 0, ingest.output
    assert "\x1b" not in ingest.output
    assert project.invoke("report", "hcpcs").exit_code == 0
    stem = project.out / "hcpcs" / "2020_to_2021"
    md = stem.with_suffix(".md").read_text(encoding="utf-8")
    sources = next(line for line in md.splitlines() if line.startswith("Sources:"))
    _no_markup(sources, "the Markdown Sources line")
    _no_markup(md, "the Markdown report")
    html = stem.with_suffix(".html").read_text(encoding="utf-8")
    assert "<img" not in html and "\x1b" not in html
    shown = project.invoke("diff", "hcpcs", "--format", "md").stdout
    _no_markup(shown, "diff --format md")


FEES = """\
[codesets.fees]
title = "Therapy fees"
publisher = "Example payer"
key = ["code"]
descriptors = ["description"]
display = ["description", {odd}]
reader = {{ format = "delimited" }}
"""


def _fees(project: Project, header: list[str], rows: list[list[str]], version: str) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    source = project.write(f"fees-{version}.csv", buffer.getvalue())
    return source


def _two_editions(project: Project, odd: str, old: list[list[str]], new: list[list[str]]) -> Path:
    config = project.write("codesets.toml", FEES.format(odd=json.dumps(odd)))
    for version, rows, extra in (("2024", old, []), ("2025", new, [f"added {IMG}"])):
        header = ["code", "description", odd, *extra]
        padded = [[*r, *([""] * len(extra))] for r in rows]
        source = _fees(project, header, padded, version)
        args = ["--config", str(config), "ingest", "fees", str(source), "--version", version]
        result = project.invoke(*args, "--effective", f"{version}-01-01", "--allow-mass-change")
        assert result.exit_code == 0, result.output
    return config


@pytest.mark.parametrize("odd", [SCRIPT, LINK, "fee|rate`*_~"], ids=["html", "link", "table"])
def test_generic_column_names_in_markdown_tables(project: Project, odd: str) -> None:
    """Column names come from the payer's header row: in table headers, field-change rows
    and the schema changes, they stay text."""
    old = [["97110", "Therapeutic exercise", "31.25"], ["97140", "Manual therapy", "28.40"]]
    new = [["97110", "Therapeutic exercise, each 15 min", "31.90"], ["97530", "Activities", "35"]]
    config = _two_editions(project, odd, old, new)
    report = project.invoke("--config", str(config), "report", "fees")
    assert report.exit_code == 0, report.output
    md = (project.out / "fees" / "2024_to_2025.md").read_text(encoding="utf-8")
    _no_markup(md, "the Markdown report")
    table_rows = [line for line in md.splitlines() if line.startswith("|")]
    widths = {line.count("|") - line.count("\\|") for line in table_rows if "---" not in line}
    assert all(w >= 3 for w in widths)  # no header split into extra cells by a `|`
    html = (project.out / "fees" / "2024_to_2025.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    shown = project.invoke("--config", str(config), "diff", "fees", "--format", "md").stdout
    _no_markup(shown, "diff --format md")


FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
]


def _formula_rows(count: int) -> list[list[str]]:
    return [[f"9{n:04d}", FORMULAS[n % len(FORMULAS)], f"-{n % 7}.5"] for n in range(count)]


@pytest.mark.parametrize("kind", ["added", "deleted", "descriptors"])
def test_full_list_csv_neutralises_formulas(project: Project, kind: str) -> None:
    """Cells that a spreadsheet would run are prefixed with `'` (OWASP); plain negative
    numbers stay numbers."""
    rows = _formula_rows(300)
    base = [["00001", "Anchor", "1"]]
    if kind == "added":
        old, new = base, base + rows
    elif kind == "deleted":
        old, new = base + rows, base
    else:
        old = [[c, "Plain words here", r] for c, _, r in rows] + base
        new = rows + base
    config = _two_editions(project, "rate", old, new)
    args = ["--config", str(config), "report", "fees", "--markdown-limit", "4096"]
    result = project.invoke(*args)
    assert result.exit_code == 0, result.output
    folder = project.out / "fees" / "2024_to_2025"
    lists = sorted(folder.glob("*.csv"))
    assert lists, "the capped sections' full lists were not written"
    seen_formula = False
    for path in lists:
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
            for cell in row:
                if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
                    seen_formula = True
                elif cell.startswith(FORMULA_STARTS):
                    assert re.fullmatch(r"[+-]?\d+(\.\d+)?", cell), f"{cell!r} in {path.name}"
    assert seen_formula
    md = (project.out / "fees" / "2024_to_2025.md").read_text(encoding="utf-8")
    _no_markup(md, "the Markdown report")


@pytest.mark.parametrize(
    "args",
    [["diff", "fees"], ["history", "97140"], ["list"]],
    ids=["diff", "history", "list"],
)
def test_terminal_escape_sequences_are_stripped(project: Project, args: list[str]) -> None:
    old = [["97110", "Therapeutic exercise", "1"], ["97140", "Manual therapy", "2"]]
    new = [["97110", "Therapeutic exercise", "1"], ["97140", f"Manual {ESC} therapy", "2"]]
    config = _two_editions(project, f"rate{ESC}", old, new)
    result = project.invoke("--config", str(config), *args)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    if args[0] != "list":
        assert "RED" in result.output  # the text stays; only the control sequences go
