"""Truncated inputs are never stored as editions.

A partial download is the most common real fault. Each case cuts a real release file the
way an interrupted transfer does, at a place where every record still fits its layout
(so only the missing final line break, the changing file, or the publisher's own size or
checksum can tell), and checks that nothing is stored.
"""

from __future__ import annotations

import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import HCPCS_2019, REPO, Project, assert_clean_error, tree

ICD_ORDER = REPO / "sources" / "icd10cm" / "icd10cm-order-Jan-2021.zip"
PFS_TXT = REPO / "sources" / "pfs-rvu" / "RVU25D-PPRRVU2025_Oct-ptot.txt"
PFS_CSV = REPO / "sources" / "pfs-rvu" / "RVU25D-PPRRVU2025_Oct-ptot.csv"


def _member(archive: Path, name: str) -> bytes:
    with zipfile.ZipFile(archive) as z:
        return z.read(name)


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_hcpcs_cut_inside_its_last_record(project: Project) -> None:
    """The last record keeps its first 300 of 320 columns: long enough for every field the
    layout checks, and yet the edition would lose its final codes."""
    lines = _member(HCPCS_2019, "HCPC2019_CONTR_ANWEB.txt").split(b"\r\n")[:400]
    cut = b"\r\n".join(lines[:-1]) + b"\r\n" + lines[-1][:300]
    source = project.write("2021-Alpha-Numeric-HCPCS-File.zip", _zip("HCPC2021_ANWEB.txt", cut))
    before = tree(project.store)
    result = project.invoke(
        "ingest", "hcpcs", str(source), "--version", "2021", "--allow-mass-change"
    )
    assert_clean_error(
        result, "2021-Alpha-Numeric-HCPCS-File.zip!HCPC2021_ANWEB.txt, line 400", "cut off"
    )
    assert tree(project.store) == before


def test_icd10cm_cut_mid_title(project: Project) -> None:
    lines = _member(ICD_ORDER, "icd10cm-order-Jan-2021.txt").split(b"\r\n")[:500]
    cut = b"\r\n".join(lines[:-1]) + b"\r\n" + lines[-1][:90]  # inside the long title
    source = project.write("icd10cm-order-2022.txt", cut)
    before = tree(project.store)
    result = project.invoke("ingest", "icd10cm", str(source), "--version", "FY2022")
    assert_clean_error(result, "icd10cm-order-2022.txt, line 500", "does not end with a line break")
    assert tree(project.store) == before


@pytest.mark.parametrize("path", [PFS_TXT, PFS_CSV], ids=["txt", "csv"])
def test_fee_schedule_cut_after_its_last_full_record(project: Project, path: Path) -> None:
    """The transfer stopped exactly at the end of a record, before its CRLF."""
    data = path.read_bytes().rstrip(b"\x1a").rstrip(b"\r\n")
    lines = data.split(b"\r\n")
    source = project.write(f"RVU26A-{path.name}", b"\r\n".join(lines[:-5]))
    before = tree(project.store)
    result = project.invoke(
        "ingest", "pfs-rvu", str(source), "--version", "RVU26A", "--allow-mass-change"
    )
    assert_clean_error(result, source.name, "cut off")
    assert tree(project.store) == before


def test_file_growing_while_it_is_read(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """A download still being written by another process: the file grows during the read."""
    source = project.write("2021-Alpha-Numeric-HCPCS-File.zip", HCPCS_2019.read_bytes())
    original = __import__("pipeline.sources.base", fromlist=["_read"])._read

    def growing(handle: io.BufferedReader) -> bytes:
        data = original(handle)
        with source.open("ab") as more:
            more.write(b"\x00" * 4096)  # the writer appends its next block
        return data

    monkeypatch.setattr("pipeline.sources.base._read", growing)
    before = tree(project.store)
    result = project.invoke("ingest", "hcpcs", str(source), "--version", "2021")
    assert_clean_error(result, str(source), "changed while it was read", "still being written")
    assert tree(project.store) == before


def test_zip_member_failing_its_checksum(project: Project) -> None:
    """The zip's own CRC-32, the publisher's checksum of each member, is checked."""
    data = bytearray(_zip("HCPC2021_ANWEB.txt", _member(HCPCS_2019, "HCPC2019_CONTR_ANWEB.txt")))
    data[len(data) // 3] ^= 0xFF  # one flipped byte in the compressed data
    source = project.write("2021-Alpha-Numeric-HCPCS-File.zip", bytes(data))
    before = tree(project.store)
    result = project.invoke("ingest", "hcpcs", str(source), "--version", "2021")
    assert_clean_error(result, "2021-Alpha-Numeric-HCPCS-File.zip")
    assert tree(project.store) == before


def test_zip_cut_short(project: Project) -> None:
    data = HCPCS_2019.read_bytes()
    source = project.write("2021-Alpha-Numeric-HCPCS-File.zip", data[: len(data) * 2 // 3])
    before = tree(project.store)
    result = project.invoke("ingest", "hcpcs", str(source), "--version", "2021")
    assert_clean_error(result, "2021-Alpha-Numeric-HCPCS-File.zip", "truncated or corrupt")
    assert tree(project.store) == before


class _Serve(http.server.BaseHTTPRequestHandler):
    body = HCPCS_2019.read_bytes()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Serve)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_not_matching_its_published_checksum(project: Project, server: str) -> None:
    """The configuration pins the sha256 the publisher gives: a different file is refused."""
    url = f"{server}/2021-Alpha-Numeric-HCPCS-File.zip"
    config = project.write(
        "codesets.toml",
        '[codesets.hcpcs]\nreader = { format = "hcpcs-anweb", member = "*ANWEB*.txt" }\n'
        '[[codesets.hcpcs.editions]]\nversion = "2021"\neffective = 2021-01-01\n'
        f'source = "{url}"\nsha256 = "{"0" * 64}"\n',
    )
    before = {k: v for k, v in tree(project.store).items() if not k.startswith(".downloads")}
    result = project.invoke("--config", str(config), "run")
    assert_clean_error(result, url, "sha256 mismatch")
    after = {k: v for k, v in tree(project.store).items() if not k.startswith(".downloads")}
    assert after == before
    assert not list((project.store / ".downloads").rglob("*.zip"))
