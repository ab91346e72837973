"""Helpers for the reader tests: files on disk, and small .xlsx workbooks built by hand.

No spreadsheet writer is installed, so `make_xlsx` writes the few XML parts a
workbook needs with the standard library: inline strings, numbers, booleans,
date-formatted numbers and error cells.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from pipeline.sources.base import RawSource, open_source
from pipeline.spec import ReaderSpec

REPO = Path(__file__).resolve().parents[2]
HCPCS = REPO / "sources" / "hcpcs"

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


class Date(float):
    """An Excel serial date (days since 1899-12-30), written with a date format."""


class Error(str):
    """An error cell such as #N/A."""


def _letter(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _cell(ref: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, Date):
        return f'<c r="{ref}" s="1"><v>{float(value)}</v></c>'
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, Error):
        return f'<c r="{ref}" t="e"><v>{escape(value)}</v></c>'
    text = escape(str(value))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _row(number: int, values: Sequence[Any]) -> str:
    cells = "".join(_cell(f"{_letter(c)}{number}", v) for c, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>' if cells else ""


def make_xlsx(sheets: dict[str, Sequence[Sequence[Any]]]) -> bytes:
    """A workbook with one sheet per entry; row i of a list is spreadsheet row i + 1."""
    buf = io.BytesIO()
    count = len(sheets)
    with zipfile.ZipFile(buf, "w") as z:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
            for i in range(1, count + 1)
        )
        z.writestr(
            "[Content_Types].xml",
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
            f"{overrides}</Types>",
        )
        z.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        entries = "".join(
            f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(sheets, 1)
        )
        z.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{entries}</sheets></workbook>',
        )
        rels = "".join(
            f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, count + 1)
        )
        rels += f'<Relationship Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/>'
        z.writestr(
            "xl/_rels/workbook.xml.rels", f'<Relationships xmlns="{_PKG}">{rels}</Relationships>'
        )
        z.writestr(
            "xl/styles.xml",
            f'<styleSheet xmlns="{_MAIN}"><fonts count="1"><font/></fonts>'
            '<fills count="1"><fill/></fills><borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0"/>'
            '<xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>',
        )
        for i, rows in enumerate(sheets.values(), 1):
            body = "".join(_row(r, row) for r, row in enumerate(rows, 1))
            z.writestr(
                f"xl/worksheets/sheet{i}.xml",
                f'<worksheet xmlns="{_MAIN}"><sheetData>{body}</sheetData></worksheet>',
            )
    return buf.getvalue()


@pytest.fixture
def source(tmp_path: Path) -> Callable[..., RawSource]:
    """Write `data` (bytes, or text as UTF-8) to a file named `name` and open it as a source."""

    def make(data: bytes | str, name: str = "release.txt") -> RawSource:
        blob = data.encode() if isinstance(data, str) else data
        path = tmp_path / name
        path.write_bytes(blob)
        if path.suffix in (".xlsx", ".xls"):
            # Bypass open_source, so that the reader itself meets damaged workbooks.
            digest = hashlib.sha256(blob).hexdigest()
            return RawSource(data=blob, path=path, member=None, sha256=digest, size=len(blob))
        return open_source(path)

    return make


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write `data` to a file in a temporary directory and return its path."""

    def make(data: bytes | str, name: str = "release.txt") -> Path:
        path = tmp_path / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path

    return make


def spec(fmt: str, encoding: str = "auto", **options: Any) -> ReaderSpec:
    return ReaderSpec(format=fmt, encoding=encoding, options=options)
