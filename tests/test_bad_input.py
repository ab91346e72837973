"""Bad input, through the CLI: every case fails with exit code 2 and one clean line.

Each case starts from a store that already holds a real edition (HCPCS 2019, ingested
from the bundled CMS zip), runs `codeset ingest` on a broken file, and checks the
contract of README.md: exit code 2; exactly one line on stderr, `error: ...`, naming
the file (`zip!member` for a zip member) and, where the reader knows it, the line,
column or byte; no traceback; nothing on stdout; the store byte for byte as it was;
nothing written beside it but the store's lock file.

The fixtures are slices of the bundled real files (a few hundred lines each), mutated
the way real downloads go wrong, or small files in the publisher's exact layout.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli

REPO = Path(__file__).resolve().parent.parent
HCPCS_2019 = REPO / "sources" / "hcpcs" / "2019-Alpha-Numeric-HCPCS-File.zip"
HCPCS_2020 = REPO / "sources" / "hcpcs" / "2020-Alpha-Numeric-HCPCS-File.zip"
ANWEB_2019 = "HCPC2019_CONTR_ANWEB.txt"
ANWEB_2020 = "HCPC2020_ANWEB_w_disclaimer.txt"
ICD_ORDER = REPO / "sources" / "icd10cm" / "icd10cm-order-Jan-2021.zip"
PFS_CSV = REPO / "sources" / "pfs-rvu" / "RVU25D-PPRRVU2025_Oct-ptot.csv"
PFS_TXT = REPO / "sources" / "pfs-rvu" / "RVU25D-PPRRVU2025_Oct-ptot.txt"
#: Rows of the HCPCS 2019 edition every case starts from.
STORED_ROWS = 6_800
#: The store's lock file sits beside it (pipeline.lock): the only thing a run may add.
LOCK = ".snapshots.lock"


# --- the real files, sliced ------------------------------------------------------------------


@cache
def member_lines(archive: Path, member: str, count: int) -> tuple[bytes, ...]:
    """The first `count` lines of a zip member, without their line ends (CRLF in CMS files)."""
    lines: list[bytes] = []
    with zipfile.ZipFile(archive) as z, z.open(member) as handle:
        for line in handle:
            lines.append(line.rstrip(b"\r\n"))
            if len(lines) == count:
                break
    return tuple(lines)


def crlf(lines: list[bytes] | tuple[bytes, ...]) -> bytes:
    return b"".join(line + b"\r\n" for line in lines)


def anweb_2019(count: int = 300) -> list[bytes]:
    """The 2019 ANWEB file's first lines: 8 disclaimer lines, then records from line 9."""
    return list(member_lines(HCPCS_2019, ANWEB_2019, count))


def is_head(line: bytes) -> bool:
    """A first record (id 3 procedure or 7 modifier), which carries every field."""
    return re.match(rb"^[A-Z0-9 ]{5}[0-9]{5}[37]", line) is not None


def head_index(lines: list[bytes], nth: int) -> int:
    """0-based index of the `nth` first record (0-based)."""
    return [i for i, line in enumerate(lines) if is_head(line)][nth]


def put(line: bytes, column: int, value: bytes) -> bytes:
    """`line` with `value` written from the 1-based `column` on."""
    return line[: column - 1] + value + line[column - 1 + len(value) :]


def icd_order(count: int = 200) -> list[bytes]:
    return list(member_lines(ICD_ORDER, "icd10cm-order-Jan-2021.txt", count))


def pfs_csv() -> tuple[list[bytes], int]:
    """The fee-schedule CSV's lines and the 0-based index of its last header line."""
    lines = PFS_CSV.read_bytes().split(b"\r\n")
    return lines, next(i for i, line in enumerate(lines) if line.startswith(b"HCPCS,MOD,"))


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


README = b"HCPCS 2021 annual file\r\nSee the record layout for the fields.\r\n"

# --- small files in the publishers' exact layouts ----------------------------------------------

#: A therapy fee list, the kind of CSV a payer publishes (read by the `delimited` reader).
FEES = [
    b"code,description,rate,effective",
    b"97110,Therapeutic exercise,31.25,2024-01-01",
    b"97140,Manual therapy techniques,28.40,2024-01-01",
    b"97530,Therapeutic activities,35.10,2024-01-01",
    b'G0283,"Electrical stimulation (unattended), other than wound care",12.50,2024-01-01',
    b"G8978,Mobility current status,0.00,2024-01-01",
]
FEES_CONFIG = """\
[codesets.therapy-fees]
title = "Therapy fee list"
publisher = "Example payer"
key = ["code"]
descriptors = ["description"]
reader = {{ format = "delimited"{reader} }}
"""
TYPES = ', types = { rate = "decimal", effective = "date" }'

#: NCCI PTP edits: the header lines and records of CMS's `ccipra-v322r0-f1.txt`, verbatim.
NCCI_HEADER = [
    b"CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t",
    b"Column1/Column2 Edits\t\t\t\t\t\t",
    b"Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
    b"\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    b"\t\t\t\t*=no data\t1=allowed\t",
    b"\t\t\t\t\t9=not applicable\t",
]
NCCI_RECORDS = [
    b"0001A\t0591T\t\t20220101\t20231231\t1\tCPT Manual or CMS manual coding instruction",
    b"0001A\t0592T\t\t20220101\t20231231\t1\tCPT Manual or CMS manual coding instruction",
    b"0001A\t36591\t\t20220101\t20231231\t0\tCPT Manual or CMS manual coding instruction",
    b"0001A\t90473\t\t20220101\t20220101\t9\tCPT Manual or CMS manual coding instruction",
    b"0001T\t36000\t\t20021001\t20041231\t1\tStandards of medical/surgical practice",
    b"0001U\t80500\t\t20180101\t20211231\t1\tMisuse of Column Two code with Column One code",
    b"0001U\t81166\t\t20190101\t*\t1\tMisuse of Column Two code with Column One code",
]
NCCI_NAME = "ccipra-v322r0-f1.txt"

#: An MUE table: the AMA notice (one quoted cell over several LF lines), then a header whose
#: first cell spans two lines, then records ending CRLF; Latin-1, as CMS writes it.
MUE_NOTICE = (
    b'"Current Procedural Terminology (CPT) codes, descriptions and other data only are '
    b"copyright 2025 American Medical Association. All rights reserved. \n\n"
    b"CPT\xae is a registered trademark of the American Medical Association.\n\n"
    b'Applicable FARS/DFARS Restrictions Apply to Government Use. ",,,'
)
MUE_HEADER = (
    b'"HCPCS/\nCPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale'
)
MUE_RECORDS = [
    b"0001U,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction",
    b"71046,2,3 Date of Service Edit: Clinical,Clinical: Data",
    b"99213,2,3 Date of Service Edit: Clinical,Clinical: Data",
    b"E0114,0,3 Date of Service Edit: Clinical,CMS Policy",
    b"J1885,8,3 Date of Service Edit: Clinical,Prescribing Information",
]
MUE_NAME = "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"
#: The notice spans lines 1-5, the header 6-7: the first code is on line 8.
MUE_FIRST = MUE_NOTICE.count(b"\n") + 1 + MUE_HEADER.count(b"\n") + 1 + 1

#: An excerpt of CDC's tabular list in its own structure (chapter > section > diag).
ICD_XML = """\
<?xml version="1.0" encoding="utf-8"?>
{doctype}<ICD10CM.tabular>
  <version>2021</version>
  <chapter>
    <name>1</name>
    <desc>Certain infectious and parasitic diseases (A00-B99)</desc>
    <section id="A00-A09">
      <desc>Intestinal infectious diseases (A00-A09)</desc>
      <diag>
        <name>A00</name>
        <desc>Cholera</desc>
        <diag>
          <name>A00.0</name>
          <desc>{desc}</desc>
        </diag>
        <diag>
          <name>A00.1</name>
          <desc>Cholera due to Vibrio cholerae 01, biovar eltor</desc>
        </diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""
A000 = "Cholera due to Vibrio cholerae 01, biovar cholerae"


def icd_xml(desc: str = A000, doctype: str = "") -> bytes:
    return ICD_XML.format(desc=desc, doctype=doctype).encode()


# --- the case table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Work:
    """Where a case writes its input files (beside the store, never in it)."""

    root: Path

    def write(self, name: str, data: bytes) -> Path:
        path = self.root / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def config(self, text: str) -> Path:
        path = self.root / "in" / "codesets.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path


@dataclass(frozen=True)
class Run:
    """The CLI arguments (after --store/--out) and what the error line must contain."""

    args: list[str]
    expect: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Work], Run]
    marks: tuple[pytest.MarkDecorator, ...] = field(default_factory=tuple)


CASES: list[Case] = []


def case(id: str, *marks: pytest.MarkDecorator) -> Callable[[Callable[[Work], Run]], Callable]:
    def register(build: Callable[[Work], Run]) -> Callable[[Work], Run]:
        CASES.append(Case(id, build, marks))
        return build

    return register


def ingest(
    codeset: str, source: Path | str, version: str, *more: str, config: Path | None = None
) -> list[str]:
    """`[--config FILE] ingest CODESET SOURCE --version V ...`"""
    head = ["--config", str(config)] if config else []
    return [*head, "ingest", codeset, str(source), "--version", version, *more]


def fees(w: Work, lines: list[bytes], reader: str = TYPES, name: str = "fees-2024.csv") -> Run:
    """A fee-list CSV ingested as code set `therapy-fees` (effective implied by `2024`)."""
    config = w.config(FEES_CONFIG.format(reader=reader))
    source = w.write(name, crlf(lines))
    return Run(ingest("therapy-fees", source, "2024", config=config), (name,))


def expect(run: Run, *fragments: str) -> Run:
    return Run(run.args, (*run.expect, *fragments))


# Delimited text (CSV) ------------------------------------------------------------------------


@case("csv-ragged-row-too-long")
def _(w: Work) -> Run:
    lines = [*FEES[:3], FEES[3] + b",per 15 minutes", *FEES[4:]]
    return expect(fees(w, lines), "line 4", "expected 4 fields, found 5")


@case("csv-ragged-row-too-short")
def _(w: Work) -> Run:
    lines = [*FEES[:5], b"G8978,Mobility current status,0.00"]
    return expect(fees(w, lines), "line 6", "expected 4 fields, found 3")


@case("csv-unparseable-date")
def _(w: Work) -> Run:
    lines = [*FEES[:2], FEES[2].replace(b"2024-01-01", b"2024-02-30"), *FEES[3:]]
    return expect(fees(w, lines), "line 3, column effective", "'2024-02-30' is not a date")


@case("csv-unparseable-decimal")
def _(w: Work) -> Run:
    lines = [*FEES[:4], FEES[4].replace(b"12.50", b"12.5O"), *FEES[5:]]
    return expect(fees(w, lines), "line 5, column rate", "'12.5O' is not a decimal number")


@case("csv-duplicate-keys")
def _(w: Work) -> Run:
    lines = [*FEES, b"97110,Therapeutic exercise,31.30,2024-01-01", FEES[5]]
    return expect(fees(w, lines), "duplicate key code", "97110 (lines 2, 7)", "G8978 (lines 6, 8)")


@case("csv-missing-required-column")
def _(w: Work) -> Run:
    lines = [b"hcpcs,description,rate,effective", *FEES[1:]]
    return expect(fees(w, lines), "missing required column(s) 'code'", "'hcpcs'")


@case("csv-renamed-source-column")
def _(w: Work) -> Run:
    columns = (
        ', columns = { "HCPCS" = "code", "Description" = "description", "Rate" = "rate", '
        '"Effective" = "effective" }'
    )
    lines = [b"HCPCS Code,Description,Rate,Effective", *FEES[1:]]
    return expect(fees(w, lines, columns + TYPES), "missing column(s) 'HCPCS'", "'HCPCS Code'")


@case("csv-quote-never-closes")
def _(w: Work) -> Run:
    lines = [*FEES[:5], b'G8978,"Mobility current status,0.00,2024-01-01']
    return expect(fees(w, lines), "line 6", "quoted field never closes")


@case("csv-stray-quote-swallows-lines")
def _(w: Work) -> Run:
    # The quote opened on line 3 runs on to the first quote of line 5, where the csv module
    # gives up: the record that is wrong is the one starting on line 3.
    lines = [*FEES[:2], b'97140,"Manual therapy techniques,28.40,2024-01-01', *FEES[3:]]
    return expect(fees(w, lines), "line 3")


@case("csv-header-only")
def _(w: Work) -> Run:
    return expect(fees(w, FEES[:1]), "no data records found")


@case("csv-decimal-in-exponent-notation")
def _(w: Work) -> Run:
    # A spreadsheet export wrote a small rate in exponent notation.
    lines = [*FEES[:5], FEES[5].replace(b"0.00", b"1.5e-3")]
    return expect(fees(w, lines), "line 6, column rate", "'1.5e-3'")


@case("csv-date-year-zero")
def _(w: Work) -> Run:
    lines = [*FEES[:2], FEES[2].replace(b"2024-01-01", b"0000-01-01"), *FEES[3:]]
    return expect(fees(w, lines), "line 3, column effective", "'0000-01-01' is not a date")


@case("csv-nul-bytes")
def _(w: Work) -> Run:
    data = crlf(FEES)
    at = data.index(b"Manual")
    lines = (data[:at] + b"\x00\x00\x00\x00" + data[at:]).split(b"\r\n")[:-1]
    return expect(fees(w, lines), f"byte {at}", "binary data where text was expected")


@case("csv-declared-utf8-holding-cp1252")
def _(w: Work) -> Run:
    # "Caf\xe9": Windows-1252's é, which is not UTF-8, in a file the config says is UTF-8.
    lines = [*FEES[:3], b"97530,Therapeutic activities (caf\xe9 table),35.10,2024-01-01"]
    at = crlf(lines).index(b"\xe9")
    run = fees(w, lines, ', encoding = "utf-8"' + TYPES)
    return expect(run, f"byte {at}", "byte 0xe9 is not valid utf-8 text")


# Files and paths -----------------------------------------------------------------------------


@case("empty-file")
def _(w: Work) -> Run:
    source = w.write("HCPC2021_ANWEB.txt", b"")
    return Run(ingest("hcpcs", source, "2021"), ("HCPC2021_ANWEB.txt", "file is empty"))


@case("binary-file-auto-detected-as-nothing")
def _(w: Work) -> Run:
    # A gzip (what a proxy sometimes saves instead of the page) named like the release file.
    data = bytes.fromhex("1f8b0800000000000003") + bytes(range(256)) * 4
    source = w.write("HCPC2021_ANWEB.txt", data)
    return Run(
        ingest("hcpcs", source, "2021"), ("HCPC2021_ANWEB.txt", "no reader recognises this file")
    )


@case("file-no-reader-recognises")
def _(w: Work) -> Run:
    notes = b"PROCEDURE NOTES 2019\r\n\r\nNote 1: see CMS Pub. 100-04, chapter 12.\r\n" * 20
    source = w.write("proc_notes_2021.txt", notes)
    return Run(
        ingest("hcpcs", source, "2021"),
        ("proc_notes_2021.txt", "no reader recognises this file", "hcpcs-anweb"),
    )


@case("file-of-another-code-set")
def _(w: Work) -> Run:
    source = w.write("icd10cm-order-2021.txt", crlf(icd_order(50)))
    return Run(
        ingest("hcpcs", source, "2021"),
        ("icd10cm-order-2021.txt", "no reader recognises this file"),
    )


@case("source-missing")
def _(w: Work) -> Run:
    source = w.root / "in" / "2021-Alpha-Numeric-HCPCS-File.zip"
    return Run(
        ingest("hcpcs", source, "2021"), ("2021-Alpha-Numeric-HCPCS-File.zip", "file not found")
    )


@case("source-is-a-directory")
def _(w: Work) -> Run:
    source = w.root / "in" / "2021-release"
    source.mkdir(parents=True)
    return Run(ingest("hcpcs", source, "2021"), ("2021-release", "directory"))


@case("source-is-a-symlink-loop")
def _(w: Work) -> Run:
    source = w.root / "in" / "HCPC2021_ANWEB.txt"
    source.parent.mkdir(parents=True)
    source.symlink_to(source.name)
    return Run(ingest("hcpcs", source, "2021"), ("HCPC2021_ANWEB.txt",))


@case("source-unreadable-chmod-000")
def _(w: Work) -> Run:
    source = w.write("HCPC2021_ANWEB.txt", crlf(anweb_2019()))
    source.chmod(0)
    if os.access(source, os.R_OK):
        pytest.skip(
            "running as root (or with CAP_DAC_OVERRIDE): a chmod 000 file is still readable, "
            "so there is no error to check; source-read-io-error covers an unreadable file"
        )
    return Run(ingest("hcpcs", source, "2021"), ("HCPC2021_ANWEB.txt", "cannot read"))


@case("source-read-io-error")
def _(w: Work) -> Run:
    # A file every user, root included, fails to read: reading /proc/self/mem from offset 0
    # is an I/O error (EIO), as a failing disk or a dropped network mount would give.
    if not Path("/proc/self/mem").exists():
        pytest.skip("no /proc/self/mem on this system")
    source = w.root / "in" / "HCPC2021_ANWEB.txt"
    source.parent.mkdir(parents=True)
    source.symlink_to("/proc/self/mem")
    return Run(ingest("hcpcs", source, "2021"), ("HCPC2021_ANWEB.txt", "cannot read"))


# Arguments and configuration -----------------------------------------------------------------


@case("version-label-with-path-separator")
def _(w: Work) -> Run:
    source = w.write("HCPC2021_ANWEB.txt", crlf(anweb_2019()))
    return Run(ingest("hcpcs", source, "2021/../../evil"), ("invalid version label", "evil"))


@case("version-label-with-dot-dot")
def _(w: Work) -> Run:
    source = w.write("HCPC2021_ANWEB.txt", crlf(anweb_2019()))
    return Run(
        ingest("hcpcs", source, "v..2021", "--effective", "2021-01-01"),
        ("invalid version label", "'v..2021'"),
    )


@case("unknown-code-set-id")
def _(w: Work) -> Run:
    source = w.write("HCPC2021_ANWEB.txt", crlf(anweb_2019()))
    return Run(ingest("hcpc", source, "2021"), ("unknown code set 'hcpc'", "hcpcs"))


@case("config-syntax-error")
def _(w: Work) -> Run:
    config = w.config('[codesets.hcpcs]\nreader = { format = "hcpcs-anweb", member = }\n')
    source = w.write("HCPC2021_ANWEB.txt", crlf(anweb_2019()))
    return Run(ingest("hcpcs", source, "2021", config=config), ("codesets.toml", "line 2"))


@case("effective-date-unparseable")
def _(w: Work) -> Run:
    source = w.write("HCPC2021_ANWEB.txt", crlf(anweb_2019()))
    return Run(
        ingest("hcpcs", source, "2021", "--effective", "2021-02-30"), ("--effective", "2021-02-30")
    )


@case("mass-change-truncated-edition")
def _(w: Work) -> Run:
    # The first 400 lines of the real 2020 file: a download cut short that parses cleanly.
    lines = list(member_lines(HCPCS_2020, ANWEB_2020, 400))
    lines = lines[: max(i for i, line in enumerate(lines) if is_head(line))]  # whole codes
    rows = sum(map(is_head, lines))
    source = w.write(ANWEB_2020, crlf(lines))
    return Run(
        ingest("hcpcs", source, "2020"),
        (
            ANWEB_2020,
            "refusing a suspicious edition",
            f"it has {rows:,} rows against {STORED_ROWS:,} in 2019",
            f"of {STORED_ROWS:,} codes in 2019 are gone",
            "--allow-mass-change",
        ),
    )


# Zips -------------------------------------------------------------------------------------


ZIP_NAME = "2021-Alpha-Numeric-HCPCS-File.zip"
MEMBER_CONFIG = '[codesets.hcpcs]\nreader = { format = "hcpcs-anweb", member = "*ANWEB*.txt" }\n'


def hcpcs_zip(w: Work, data: bytes, config: bool = False) -> list[str]:
    source = w.write(ZIP_NAME, data)
    return ingest("hcpcs", source, "2021", config=w.config(MEMBER_CONFIG) if config else None)


@case("zip-truncated")
def _(w: Work) -> Run:
    data = zip_of({"HCPC2021_README.txt": README, "HCPC2021_ANWEB.txt": crlf(anweb_2019())})
    return Run(hcpcs_zip(w, data[: len(data) * 2 // 3]), (ZIP_NAME, "not a valid zip archive"))


@case("zip-corrupt-member")
def _(w: Work) -> Run:
    member = "HCPC2021_ANWEB.txt"
    data = bytearray(zip_of({"HCPC2021_README.txt": README, member: crlf(anweb_2019())}))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(member)
    start = info.header_offset + 30 + len(member.encode()) + len(info.extra)
    middle = start + info.compress_size // 2
    for i in range(middle, middle + 32):  # flip bytes inside the deflate stream
        data[i] ^= 0xFF
    return Run(hcpcs_zip(w, bytes(data)), (f"{ZIP_NAME}!{member}", "corrupt zip member"))


@case("zip-member-invalid-deflate-block")
def _(w: Work) -> Run:
    member = "HCPC2021_ANWEB.txt"
    data = bytearray(zip_of({"HCPC2021_README.txt": README, member: crlf(anweb_2019())}))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(member)
    start = info.header_offset + 30 + len(member.encode()) + len(info.extra)
    data[start] |= 0b110  # the first block's type: 3, which deflate reserves (invalid)
    return Run(hcpcs_zip(w, bytes(data)), (f"{ZIP_NAME}!{member}", "corrupt zip member"))


@case("zip-no-matching-member")
def _(w: Work) -> Run:
    data = zip_of({"HCPC2021_README.txt": README, "proc_notes_2021.txt": README})
    return Run(
        hcpcs_zip(w, data, config=True),
        (ZIP_NAME, "no member matches '*ANWEB*.txt'", "HCPC2021_README.txt"),
    )


@case("zip-no-member-recognised")
def _(w: Work) -> Run:
    data = zip_of({"HCPC2021_README.txt": README, "proc_notes_2021.txt": README})
    return Run(hcpcs_zip(w, data), (ZIP_NAME, "no reader recognises any member"))


@case("zip-several-matching-members")
def _(w: Work) -> Run:
    text = crlf(anweb_2019())
    data = zip_of({"HCPC2021_ANWEB.txt": text, "HCPC2021_ANWEB_disc.txt": text})
    return Run(
        hcpcs_zip(w, data, config=True),
        (ZIP_NAME, "matches several files", "HCPC2021_ANWEB.txt, HCPC2021_ANWEB_disc.txt"),
    )


@case("zip-several-members-recognised")
def _(w: Work) -> Run:
    text = crlf(anweb_2019())
    data = zip_of({"HCPC2021_ANWEB.txt": text, "HCPC2021_ANWEB_disc.txt": text})
    return Run(
        hcpcs_zip(w, data), (ZIP_NAME, "several members look like hcpcs-anweb", "member pattern")
    )


@case("zip-empty-archive")
def _(w: Work) -> Run:
    return Run(hcpcs_zip(w, zip_of({})), (ZIP_NAME, "no reader recognises any member"))


def zip_bomb(member: str, megabytes: int = 50) -> bytes:
    """A zip whose member inflates `megabytes` MB of zeros from about 1/1000 of that."""
    buf = io.BytesIO()
    block = bytes(1 << 20)
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z,
        z.open(member, "w", force_zip64=True) as handle,
    ):
        for _ in range(megabytes):
            handle.write(block)
    return buf.getvalue()


@case("zip-bomb")
def _(w: Work) -> Run:
    data = zip_bomb("HCPC2021_ANWEB.txt")
    assert len(data) < 200_000  # the refusal must come from the ratio, not the size
    return Run(
        hcpcs_zip(w, data),
        (f"{ZIP_NAME}!HCPC2021_ANWEB.txt", "refusing to decompress 52,428,800 bytes", "cap"),
    )


@case("zip-bomb-configured-member")
def _(w: Work) -> Run:
    return Run(
        hcpcs_zip(w, zip_bomb("HCPC2021_ANWEB.txt"), config=True),
        (f"{ZIP_NAME}!HCPC2021_ANWEB.txt", "refusing to decompress", "cap"),
    )


@case("zip-slip-member-name")
def _(w: Work) -> Run:
    data = zip_of({"../../evil.txt": b"owned\r\n", "HCPC2021_README.txt": README})
    return Run(hcpcs_zip(w, data), (ZIP_NAME, "no reader recognises any member"))


# HCPCS ANWEB (fixed width) ------------------------------------------------------------------


def anweb(w: Work, lines: list[bytes], name: str = "HCPC2021_ANWEB.txt") -> Run:
    """An ANWEB slice as edition 2021: the mass-change guard is off, so that only the
    reader can refuse it (the slice has 207 codes against 6,800 stored)."""
    source = w.write(name, crlf(lines))
    return Run(ingest("hcpcs", source, "2021", "--allow-mass-change"), (name,))


@case("anweb-truncated-download")
def _(w: Work) -> Run:
    lines = anweb_2019()
    last = head_index(lines, -1)
    lines = [*lines[:last], lines[last][:187]]  # the download stopped mid-record
    return expect(anweb(w, lines), f"line {last + 1}", "record is 187 characters long")


@case("anweb-truncated-record")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 40)
    lines[i] = lines[i][:250]
    return expect(anweb(w, lines), f"line {i + 1}", "expected 320 (truncated file?)")


@case("anweb-stray-line")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 60)
    lines.insert(i, b"Page 2 of 47")  # a page footer, from a printout saved as text
    return expect(anweb(w, lines), f"line {i + 1}", "expected an ANWEB record", "Page 2 of 47")


@case("anweb-bad-action-code")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 25)
    lines[i] = put(lines[i], 293, b"X")
    return expect(anweb(w, lines), f"line {i + 1}, column 293", "action code 'X'")


@case("anweb-orphan-continuation")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 30)
    # A continuation (record id 4) of A4206, after a first record of another code.
    lines.insert(i, b"A420600200" + b"4" + b"with needle, sterile, any size".ljust(80))
    return expect(
        anweb(w, lines), f"line {i + 1}", "continuation record for 'A4206' does not follow"
    )


@case("anweb-unparseable-date")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 70)
    lines[i] = put(lines[i], 269, b"20191301")  # add date, month 13
    return expect(
        anweb(w, lines), f"line {i + 1}, column add_date", "'20191301' is not a date (YYYYMMDD)"
    )


@case("anweb-date-year-zero")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 70)
    lines[i] = put(lines[i], 269, b"00000101")
    return expect(
        anweb(w, lines), f"line {i + 1}, column add_date", "'00000101' is not a date (YYYYMMDD)"
    )


@case("anweb-date-with-inner-blank")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 75)
    lines[i] = put(lines[i], 285, b"2019 101")  # termination date
    return expect(
        anweb(w, lines),
        f"line {i + 1}, column termination_date",
        "'2019 101' is not a date (YYYYMMDD)",
    )


@case("anweb-non-numeric-anesthesia-units")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 70)
    lines[i] = put(lines[i], 266, b"X7 ")
    return expect(anweb(w, lines), f"line {i + 1}, column anesthesia_base_units", "'X7'")


@case("anweb-byte-undefined-in-cp1252")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 10)
    lines[i] = put(lines[i], 40, b"\x81")  # not UTF-8, and undefined in Windows-1252
    at = crlf(lines).index(b"\x81")
    return expect(anweb(w, lines), f"byte {at}", "byte 0x81 is not valid cp1252 text")


@case("anweb-nul-bytes")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 100)
    lines[i] = put(lines[i], 120, b"\x00\x00")
    at = crlf(lines).index(b"\x00")
    return expect(anweb(w, lines), f"byte {at}", "binary data where text was expected")


@case("anweb-zip-member-error-names-member")
def _(w: Work) -> Run:
    lines = anweb_2019()
    i = head_index(lines, 12)
    lines[i] = put(lines[i], 293, b"?")
    data = zip_of({"HCPC2021_README.txt": README, "HCPC2021_ANWEB.txt": crlf(lines)})
    return Run(hcpcs_zip(w, data), (f"{ZIP_NAME}!HCPC2021_ANWEB.txt", f"line {i + 1}, column 293"))


# ICD-10-CM ---------------------------------------------------------------------------------


def icd(w: Work, data: bytes, name: str) -> Run:
    source = w.write(name, data)
    return Run(ingest("icd10cm", source, "FY2021"), (name,))


@case("icd-order-bad-billable-flag")
def _(w: Work) -> Run:
    lines = icd_order()
    lines[49] = put(lines[49], 15, b"2")
    return expect(
        icd(w, crlf(lines), "icd10cm-order-2021.txt"), "line 50, column 15", "billable flag"
    )


@case("icd-order-truncated-download")
def _(w: Work) -> Run:
    data = crlf(icd_order())
    cut = len(crlf(icd_order()[:119])) + 40  # 40 bytes into line 120
    return expect(
        icd(w, data[:cut], "icd10cm-order-2021.txt"), "line 120, column 78", "truncated line"
    )


@case("icd-xml-malformed")
def _(w: Work) -> Run:
    data = icd_xml(desc="Cholera due to Vibrio cholerae 01 & biovar cholerae")
    line = (
        data.split(b"\n").index(
            b"          <desc>Cholera due to Vibrio cholerae 01 & biovar cholerae</desc>"
        )
        + 1
    )
    column = len("          <desc>Cholera due to Vibrio cholerae 01 &") + 1
    return expect(
        icd(w, data, "icd10cm_tabular_2021.xml"),
        f"line {line}, column {column}",
        "malformed XML: not well-formed",
    )


@case("icd-xml-billion-laughs")
def _(w: Work) -> Run:
    refs = ["&lol;", *(f"&lol{n};" for n in range(1, 9))]
    entities = '  <!ENTITY lol "lol">\n' + "".join(
        f'  <!ENTITY lol{n} "{ref * 10}">\n' for n, ref in enumerate(refs, 1)
    )
    data = icd_xml(desc="&lol9;", doctype=f"<!DOCTYPE ICD10CM.tabular [\n{entities}]>\n")
    return expect(
        icd(w, data, "icd10cm_tabular_2021.xml"),
        "line 3",
        "refused: the document declares the entity 'lol'",
    )


@case("icd-xml-external-entity")
def _(w: Work) -> Run:
    doctype = '<!DOCTYPE ICD10CM.tabular [\n  <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
    data = icd_xml(desc="Cholera &xxe;", doctype=doctype)
    return expect(
        icd(w, data, "icd10cm_tabular_2021.xml"),
        "line 3",
        "refused: the document declares the entity 'xxe'",
    )


@case("icd-xml-unknown-declared-encoding")
def _(w: Work) -> Run:
    data = icd_xml().replace(b'encoding="utf-8"', b'encoding="klingon"')
    return expect(icd(w, data, "icd10cm_tabular_2021.xml"), "unknown encoding 'klingon'")


@case("icd-xml-diag-without-desc")
def _(w: Work) -> Run:
    data = icd_xml().replace(b"<desc>Cholera</desc>", b"")
    line = data.split(b"\n").index(b"      <diag>") + 1
    return expect(
        icd(w, data, "icd10cm_tabular_2021.xml"), f"line {line}", "<diag> without <name> or <desc>"
    )


# Fee schedule (PPRRVU) -----------------------------------------------------------------------


def pfs(w: Work, data: bytes, name: str) -> Run:
    source = w.write(name, data)
    return Run(ingest("pfs-rvu", source, "RVU25D"), (name,))


@case("pfs-csv-ragged-row")
def _(w: Work) -> Run:
    lines, header = pfs_csv()
    i = header + 12
    lines[i] = lines[i].removesuffix(b",0.00")
    return expect(
        pfs(w, b"\r\n".join(lines), PFS_CSV.name), f"line {i + 1}", "expected 31 fields, found 30"
    )


@case("pfs-csv-bad-rvu")
def _(w: Work) -> Run:
    lines, header = pfs_csv()
    i = header + 20
    cells = lines[i].split(b",")
    cells[5] = b"0.4S"  # the work RVU, with a letter S for a 5
    lines[i] = b",".join(cells)
    return expect(
        pfs(w, b"\r\n".join(lines), PFS_CSV.name),
        f"line {i + 1}, column work_rvu",
        "'0.4S' is not a number with at most 2 decimals",
    )


@case("pfs-csv-moved-column")
def _(w: Work) -> Run:
    lines, header = pfs_csv()
    lines[header] = lines[header].replace(b"RVU,PE RVU,INDICATOR", b"RVU,INDICATOR,PE RVU", 1)
    return expect(
        pfs(w, b"\r\n".join(lines), PFS_CSV.name),
        f"line {header + 1}, column non_facility_pe_rvu",
        "header cell 7 is 'INDICATOR', expected 'PE RVU'",
    )


@case("pfs-txt-truncated-download")
def _(w: Work) -> Run:
    lines = PFS_TXT.read_bytes().split(b"\r\n")
    cut = len(b"".join(line + b"\r\n" for line in lines[:59])) + 100  # 100 bytes into line 60
    return expect(
        pfs(w, PFS_TXT.read_bytes()[:cut], PFS_TXT.name),
        "line 60",
        "record is 100 characters, expected 171 (truncated?)",
    )


@case("pfs-txt-shifted-record")
def _(w: Work) -> Run:
    lines = PFS_TXT.read_bytes().split(b"\r\n")
    lines[40] = lines[40][:20] + b" " + lines[40][20:-1]  # one column to the right
    return expect(pfs(w, b"\r\n".join(lines), PFS_TXT.name), "line 41", "misaligned record?")


# NCCI and MUE --------------------------------------------------------------------------------


@case("ncci-cut-mid-record")
def _(w: Work) -> Run:
    data = crlf([*NCCI_HEADER, *NCCI_RECORDS]) + b"0001U\t81167\t\t20190101\t*\t1\tMisuse of Co"
    source = w.write(NCCI_NAME, data)
    line = len(NCCI_HEADER) + len(NCCI_RECORDS) + 1
    return Run(
        ingest("ncci-ptp", source, "v322r0", "--effective", "2025-07-01"),
        (NCCI_NAME, f"line {line}", "the file is cut off"),
    )


@case("ncci-bad-modifier-indicator")
def _(w: Work) -> Run:
    records = list(NCCI_RECORDS)
    records[3] = records[3].replace(b"\t9\t", b"\t5\t")
    source = w.write(NCCI_NAME, crlf([*NCCI_HEADER, *records]))
    line = len(NCCI_HEADER) + 4
    return Run(
        ingest("ncci-ptp", source, "v322r0", "--effective", "2025-07-01"),
        (NCCI_NAME, f"line {line}, column modifier_indicator", "'5' is not a modifier indicator"),
    )


@case("ncci-date-year-zero")
def _(w: Work) -> Run:
    records = list(NCCI_RECORDS)
    records[2] = records[2].replace(b"20220101", b"00000101")
    source = w.write(NCCI_NAME, crlf([*NCCI_HEADER, *records]))
    line = len(NCCI_HEADER) + 3
    return Run(
        ingest("ncci-ptp", source, "v322r0", "--effective", "2025-07-01"),
        (NCCI_NAME, f"line {line}, column effective_date", "'00000101' is not a date"),
    )


def mue(w: Work, records: list[bytes], end: bytes = b"\r\n") -> Run:
    data = b"\r\n".join([MUE_NOTICE, MUE_HEADER, *records]) + end
    source = w.write(MUE_NAME, data)
    return Run(ingest("mue", source, "2026Q4"), (MUE_NAME,))


@case("mue-bad-value")
def _(w: Work) -> Run:
    records = list(MUE_RECORDS)
    records[2] = records[2].replace(b",2,", b",two,")
    return expect(
        mue(w, records),
        f"line {MUE_FIRST + 2}, column mue_value",
        "'two' is not a whole number",
    )


@case("mue-cut-mid-record")
def _(w: Work) -> Run:
    records = [*MUE_RECORDS, b"K0001,0,3 Date of Serv"]
    return expect(
        mue(w, records, end=b""), f"line {MUE_FIRST + len(MUE_RECORDS)}", "the file is cut off"
    )


# --- running a case ------------------------------------------------------------------------


def tree(root: Path) -> dict[str, str]:
    """Every path under `root` with a digest of its content (`dir` for a directory)."""
    found: dict[str, str] = {}
    if not root.exists():
        return found
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = f"link {os.readlink(path)}"
        elif path.is_dir():
            found[rel] = "dir"
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def outside(root: Path) -> set[str]:
    """What is under the case directory besides the store and its lock."""
    return {p for p in tree(root) if not p.startswith("snapshots") and p != LOCK}


def assert_clean_error(result: Result, fragments: tuple[str, ...]) -> str:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"crashed instead of a clean error:\n{trace}")
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    return line


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding HCPCS 2019, ingested from the bundled CMS zip (copied per case)."""
    root = tmp_path_factory.mktemp("template")
    store = root / "snapshots"
    config = root / "empty.toml"  # no code sets configured: the built-in hcpcs applies
    config.write_text("", encoding="utf-8")
    args = ["ingest", "hcpcs", str(HCPCS_2019), "--version", "2019"]
    result = CliRunner().invoke(cli, ["--config", str(config), "--store", str(store), *args])
    assert result.exit_code == 0, result.output
    assert f"stored {STORED_ROWS:,} rows" in result.stdout
    return store


@pytest.fixture
def workdir(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A case directory holding a copy of the template store; the working directory, so that
    no `codesets.toml` of the repository applies (the built-in code sets do)."""
    shutil.copytree(template, tmp_path / "snapshots", symlinks=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(workdir: Path, args: list[str]) -> Result:
    store, out = workdir / "snapshots", workdir / "reports"
    return CliRunner().invoke(cli, ["--store", str(store), "--out", str(out), *args])


PARAMS = [pytest.param(c, id=c.id, marks=c.marks) for c in CASES]


@pytest.mark.parametrize("bad", PARAMS)
def test_bad_input_fails_cleanly(bad: Case, workdir: Path) -> None:
    run = bad.build(Work(workdir))
    store = workdir / "snapshots"
    before, beside = tree(store), outside(workdir)
    result = invoke(workdir, run.args)
    assert_clean_error(result, run.expect)
    assert tree(store) == before, "the store changed"
    assert outside(workdir) == beside, "files were written outside the store"


def test_case_table_is_large_and_distinct() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 30


def test_external_entity_content_never_reaches_the_output(workdir: Path) -> None:
    """The XXE case's message must not carry what the entity points at."""
    secret = workdir / "secret.txt"
    secret.write_text("TOP-SECRET-PAYER-CONTRACT\n", encoding="utf-8")
    doctype = f'<!DOCTYPE ICD10CM.tabular [\n  <!ENTITY xxe SYSTEM "{secret.as_uri()}">\n]>\n'
    source = Work(workdir).write("icd10cm_tabular_2021.xml", icd_xml("&xxe;", doctype))
    before = tree(workdir / "snapshots")
    result = invoke(workdir, ingest("icd10cm", source, "FY2021"))
    assert_clean_error(result, ("icd10cm_tabular_2021.xml", "refused"))
    assert "TOP-SECRET" not in result.output
    assert tree(workdir / "snapshots") == before


def test_zip_slip_member_is_read_in_memory_and_never_written(workdir: Path) -> None:
    """A valid edition inside a member named `../../evil.txt` is read from memory: nothing
    appears outside the store, and the snapshot records the member's name as given."""
    data = zip_of({"../../evil.txt": crlf(anweb_2019()), "HCPC2021_README.txt": README})
    source = Work(workdir).write(ZIP_NAME, data)
    beside = outside(workdir)
    result = invoke(workdir, ingest("hcpcs", source, "2021", "--allow-mass-change"))
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "../../evil.txt" in result.stdout
    assert outside(workdir) == beside
    # Where an extracting reader would have put it: beside the cwd, the source or the store.
    for base in (workdir, source.parent, workdir / "snapshots" / "hcpcs" / "2021"):
        assert not (base / "../../evil.txt").exists()
        assert not (base / "evil.txt").exists()
    stored = tree(workdir / "snapshots")
    assert sorted(p for p in stored if p.startswith("hcpcs/2021")) == [
        "hcpcs/2021",
        "hcpcs/2021/data.parquet",
        "hcpcs/2021/manifest.json",
    ]
