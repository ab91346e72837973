"""Hangs and resource exhaustion: each is refused promptly, by a limit README.md states.

Cases that used to hang run in a subprocess with a timeout far above what the refusal
takes, so a regression fails instead of blocking the suite; the limits themselves are
checked on inputs just past them.
"""

from __future__ import annotations

import http.server
import io
import os
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.sources.base import MAX_FIELD_CHARS, MAX_LINE_BYTES
from pipeline.sources.xlsx import MAX_CELLS
from tests.faults.conftest import HCPCS_2019, Project, assert_clean_error, tree

ICD_ORDER = (
    Path(__file__).resolve().parent.parent.parent
    / "sources"
    / "icd10cm"
    / "icd10cm-order-Jan-2021.zip"
)


def _store(project: Project) -> dict[str, str]:
    """The store, less the download cache (a cache, not the store's content)."""
    return {k: v for k, v in tree(project.store).items() if not k.startswith(".downloads")}


# --- numbers and files that used to hang ---------------------------------------------------------


@pytest.mark.parametrize("number", ["1e9999999", "9" * 5000, "1" + "0" * 20])
def test_huge_watchlist_number_is_refused_at_once(project: Project, number: str) -> None:
    watchlist = project.write("watch.csv", f"code,label,annual_units\n97110,Exercise,{number}\n")
    result = project.run(
        "--store", str(project.store), "audit", "--watchlist", str(watchlist), timeout=60
    )
    assert_clean_error(result, "watch.csv, line 2, column annual_units")


@pytest.fixture
def fifo(project: Project) -> Iterator[Path]:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this system")
    path = project.root / "in" / "2021-Alpha-Numeric-HCPCS-File.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    yield path
    path.unlink()


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "hcpcs", "{fifo}", "--version", "2021"],
        ["audit", "--watchlist", "{fifo}"],
        ["--config", "{fifo}", "diff", "hcpcs"],
    ],
    ids=["source", "watchlist", "configuration"],
)
def test_fifo_is_refused_without_blocking(project: Project, fifo: Path, args: list[str]) -> None:
    """Nobody ever writes to the FIFO: reading it would block for ever."""
    before = tree(project.store)
    argv = [a.replace("{fifo}", str(fifo)) for a in args]
    result = project.run("--store", str(project.store), *argv, timeout=60)
    assert_clean_error(result, str(fifo), "not a regular file")
    assert tree(project.store) == before


# --- a server that drips --------------------------------------------------------------------


class _Drip(http.server.BaseHTTPRequestHandler):
    """Announces 100,000 bytes, then sends one every 50 ms (for ever, for `/endless`)."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        if self.path != "/endless.zip":
            self.send_header("Content-Length", "100000")
        self.end_headers()
        try:
            for _ in range(100_000):
                self.wfile.write(b"P")
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            return

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def drip() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _url_config(project: Project, url: str) -> Path:
    return project.write(
        "codesets.toml",
        '[codesets.hcpcs]\nreader = { format = "hcpcs-anweb" }\n'
        '[[codesets.hcpcs.editions]]\nversion = "2021"\neffective = 2021-01-01\n'
        f'source = "{url}"\n',
    )


@pytest.mark.parametrize(
    ("path", "settings", "expected"),
    [
        ("/2021.zip", {"MIN_RATE": 1000.0, "RATE_GRACE": 0.5}, "under the minimum of 1,000"),
        (
            "/2021.zip",
            {"DEADLINE": 1.5, "MIN_RATE": 0.0},
            "not complete within the 1.5-second deadline",
        ),
        ("/endless.zip", {"DEADLINE": 1.5, "MIN_RATE": 0.0}, "deadline"),
    ],
    ids=["minimum-rate", "deadline", "endless-body"],
)
def test_dripping_server_is_given_up(
    project: Project,
    drip: str,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    settings: dict[str, float],
    expected: str,
) -> None:
    for name, value in settings.items():
        monkeypatch.setattr(f"pipeline.project.download.{name}", value)
    config = _url_config(project, drip + path)
    before = _store(project)
    started = time.monotonic()
    result = project.invoke("--config", str(config), "run")
    assert time.monotonic() - started < 60
    assert_clean_error(result, drip + path, expected)
    assert _store(project) == before
    assert not list((project.store / ".downloads").rglob("*.zip"))  # no partial file kept


# --- a spreadsheet declaring a huge sheet -----------------------------------------------------


def _xlsx(sheet: str) -> bytes:
    """A minimal workbook: one sheet whose XML is `sheet`."""
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org'
            '/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.'
            'openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
            '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
            'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
            'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships"><sheets><sheet name="Fees" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
            'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
            'Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _sheet(dimension: str, cells: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.'
        f'org/spreadsheetml/2006/main">{dimension}<sheetData>{cells}</sheetData></worksheet>'
    )


_ROWS = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>code</t></is></c><c r="B1" t="inlineStr"><is>'
    '<t>fee</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>97110</t></is></c>'
    '<c r="B2"><v>31.25</v></c></row>'
)
_FEES = (
    '[codesets.fees]\ntitle = "Fees"\npublisher = "Payer"\nkey = ["code"]\n'
    'reader = {{ format = "{fmt}" }}\n'
)


@pytest.mark.parametrize(
    ("codeset", "fmt", "sheet"),
    [
        ("fees", "xlsx", _sheet('<dimension ref="A1:XFD1048576"/>', _ROWS)),
        (
            "fees",
            "xlsx",
            _sheet("", _ROWS + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'),
        ),
        ("hcpcs", "hcpcs-xlsx", _sheet('<dimension ref="A1:ZZZ9999999"/>', _ROWS)),
    ],
    ids=["declared-dimension", "far-cell", "builtin-detected"],
)
def test_spreadsheet_declaring_a_huge_sheet(
    project: Project, codeset: str, fmt: str, sheet: str
) -> None:
    """1.5 KB that would make the reader allocate for billions of cells."""
    source = project.write("fees-2021.xlsx", _xlsx(sheet))
    assert source.stat().st_size < 4096
    table = _FEES if codeset == "fees" else '[codesets.hcpcs]\nreader = {{ format = "{fmt}" }}\n'
    config = project.write("codesets.toml", table.format(fmt=fmt))
    before = tree(project.store)
    result = project.invoke(
        "--config",
        str(config),
        "ingest",
        codeset,
        str(source),
        "--version",
        "2021",
        "--effective",
        "2021-01-01",
    )
    assert_clean_error(
        result, "fees-2021.xlsx!xl/worksheets/sheet1.xml", f"over the {MAX_CELLS:,}-cell limit"
    )
    assert tree(project.store) == before


def test_spreadsheet_within_the_limits_is_read(project: Project) -> None:
    """The check refuses extents, not workbooks: the same small sheet is stored."""
    source = project.write("fees-2021.xlsx", _xlsx(_sheet('<dimension ref="A1:B2"/>', _ROWS)))
    config = project.write("codesets.toml", _FEES.format(fmt="xlsx"))
    result = project.invoke(
        "--config",
        str(config),
        "ingest",
        "fees",
        str(source),
        "--version",
        "2021",
        "--effective",
        "2021-01-01",
    )
    assert result.exit_code == 0, result.output


# --- lines, fields, reports ------------------------------------------------------------------


def _icd_lines(count: int = 60) -> list[bytes]:
    with (
        zipfile.ZipFile(ICD_ORDER) as archive,
        archive.open("icd10cm-order-Jan-2021.txt") as handle,
    ):
        return [handle.readline().rstrip(b"\r\n") for _ in range(count)]


def test_icd10cm_line_over_the_limit(project: Project) -> None:
    """A title run on for 2 MB without a line break (a real fault report had 200 MB)."""
    lines = _icd_lines()
    lines[40] = lines[40] + b" x" * (MAX_LINE_BYTES + 10)
    source = project.write("icd10cm-order-2022.txt", b"".join(line + b"\r\n" for line in lines))
    before = tree(project.store)
    result = project.invoke("ingest", "icd10cm", str(source), "--version", "FY2022")
    assert_clean_error(
        result, "icd10cm-order-2022.txt, line 41", f"over the {MAX_LINE_BYTES:,}-byte limit"
    )
    assert tree(project.store) == before


def test_csv_field_over_the_limit(project: Project) -> None:
    long = "word " * (MAX_FIELD_CHARS // 5 + 10)
    source = project.write("fees-2021.csv", f"code,description\n97110,Exercise\n97140,{long}\n")
    config = project.write("codesets.toml", _FEES.format(fmt="delimited"))
    before = tree(project.store)
    result = project.invoke(
        "--config",
        str(config),
        "ingest",
        "fees",
        str(source),
        "--version",
        "2021",
        "--effective",
        "2021-01-01",
    )
    assert_clean_error(
        result,
        "fees-2021.csv, line 3, column description",
        f"over the {MAX_FIELD_CHARS:,}-character limit",
    )
    assert tree(project.store) == before


def test_hcpcs_line_over_the_limit_in_a_zip(project: Project) -> None:
    with zipfile.ZipFile(HCPCS_2019) as archive:
        text = archive.read("HCPC2019_CONTR_ANWEB.txt")
    lines = text.split(b"\r\n")[:200]
    lines[150] = lines[150] + b"A" * (MAX_LINE_BYTES + 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("HCPC2021_ANWEB.txt", b"\r\n".join(lines) + b"\r\n")
    source = project.write("2021-Alpha-Numeric-HCPCS-File.zip", buffer.getvalue())
    before = tree(project.store)
    result = project.invoke(
        "ingest", "hcpcs", str(source), "--version", "2021", "--allow-mass-change"
    )
    assert_clean_error(
        result, "2021-Alpha-Numeric-HCPCS-File.zip!HCPC2021_ANWEB.txt, line 151", "byte limit"
    )
    assert tree(project.store) == before


def test_report_over_the_size_limit(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cycle whose report would be larger than the limit writes none of its files."""
    monkeypatch.setattr("pipeline.report.render.MAX_REPORT_BYTES", 100_000)
    before = tree(project.store)
    result = project.invoke("report", "hcpcs")
    assert_clean_error(
        result, str(project.out / "hcpcs" / "2019_to_2020"), "over the 100,000-byte limit"
    )
    assert tree(project.store) == before
    assert not project.out.exists() or not list(project.out.rglob("*.*"))
