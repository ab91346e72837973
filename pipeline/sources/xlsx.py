"""Excel workbooks (.xlsx, and the older .xls), read with calamine through fastexcel.

Every cell is read as text, so that codes such as "0591T" or "97110" stay strings.
A numeric cell reads as the shortest text for its value ("97110", not "97110.0";
"0.45"), and a date cell at midnight as YYYY-MM-DD. An error cell (#N/A) reads as
empty: calamine gives no text for it.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import fastexcel
import polars as pl

from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import MAX_COMPRESSION_RATIO, MAX_MEMBER_BYTES, RawSource
from pipeline.sources.coerce import LINE
from pipeline.sources.delimited import count_option, name_columns

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec

#: Most cells a sheet may declare (rows x columns of its extent). The largest real release
#: sheet (HCPCS) has about 500,000; the spreadsheet format allows 17 billion, which the
#: reader would try to allocate.
MAX_CELLS = 50_000_000
_DIMENSION = re.compile(
    rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"'
)
_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?\br="([A-Z]{1,3})(\d{1,7})"')


def check_workbook(raw: RawSource) -> None:
    """Refuse an .xlsx whose sheets declare (or place a cell at) an extent past `MAX_CELLS`,
    the way a zip bomb is refused: before the reader allocates for it."""
    import io
    import zipfile

    if not raw.data.startswith(b"PK"):
        return  # an .xls: calamine reads its cells as it finds them
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw.data))
    except zipfile.BadZipFile:
        return  # the reader says what is wrong with it
    with archive:
        for info in archive.infolist():
            if not info.filename.startswith("xl/worksheets/") or info.is_dir():
                continue
            if info.file_size > MAX_MEMBER_BYTES or (
                info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
            ):
                raise InputError(
                    f"{raw.name}!{info.filename}",
                    f"refusing to decompress {info.file_size:,} bytes from "
                    f"{info.compress_size:,} (over the size or ratio cap: a zip bomb?)",
                )
            try:
                xml = archive.read(info)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error) as exc:
                raise InputError(f"{raw.name}!{info.filename}", f"corrupt sheet ({exc})") from None
            rows = columns = 0
            declared = _DIMENSION.search(xml, 0, 65536)
            if declared:
                last = (declared[3] or declared[1], declared[4] or declared[2])
                columns, rows = _column_number(last[0]), int(last[1])
            for match in _CELL_REF.finditer(xml):
                columns = max(columns, _column_number(match[1]))
                rows = max(rows, int(match[2]))
            if rows * columns > MAX_CELLS:
                raise InputError(
                    f"{raw.name}!{info.filename}",
                    f"the sheet spans {rows:,} rows x {columns:,} columns "
                    f"({rows * columns:,} cells), over the {MAX_CELLS:,}-cell limit",
                )


def _column_number(letters: bytes) -> int:
    number = 0
    for char in letters:
        number = number * 26 + (char - ord("A") + 1)
    return number


#: How calamine writes a date cell; the time goes when it is midnight.
MIDNIGHT = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read one sheet: the header is the first non-blank row below `skip_rows` rows.

    `_line` is the spreadsheet's own 1-based row number; columns are named by letter
    until the header names them, so that messages can say "column C".
    """
    sheet, skip = _options(reader.options)
    check_workbook(raw)
    try:
        book = fastexcel.read_excel(raw.data)
    except fastexcel.FastExcelError as exc:
        raise InputError(raw.name, f"not a readable .xlsx or .xls workbook ({_why(exc)})") from None
    try:
        table = book.load_sheet(sheet, header_row=None, skip_rows=0, dtypes="string")
        frame = table.to_polars()
    except fastexcel.SheetNotFoundError:
        sheets = ", ".join(map(repr, book.sheet_names))
        raise InputError(raw.name, f"no sheet {sheet!r} (sheets: {sheets})") from None
    except fastexcel.FastExcelError as exc:
        raise InputError(raw.name, f"cannot read sheet {sheet!r} ({_why(exc)})") from None
    letters = [_letter(c.absolute_index) for c in table.selected_columns]
    frame = frame.rename(dict(zip(frame.columns, letters, strict=True)))
    frame = frame.with_columns(pl.all().str.replace(MIDNIGHT, "${1}"))
    frame = frame.with_row_index(LINE, offset=1).slice(skip)
    if frame.width > 1:
        blank = pl.all_horizontal(pl.exclude(LINE).str.strip_chars().fill_null("") == "")
        frame = frame.filter(~blank)
    if not frame.height:
        below = f" below row {skip}" if skip else ""
        raise InputError(raw.name, f"no header row in sheet {sheet!r}{below} (it is blank)")
    header = list(frame.drop(LINE).row(0))
    return name_columns(frame.slice(1), header, raw.name, int(frame[LINE][0]))


def _options(options: Mapping[str, Any]) -> tuple[int | str, int]:
    where = "xlsx reader"
    sheet = options.get("sheet", 0)
    index = isinstance(sheet, int) and not isinstance(sheet, bool) and sheet >= 0
    if not index and not (isinstance(sheet, str) and sheet):
        raise ConfigError(f"{where}: sheet must be a name or a 0-based index, got {sheet!r}")
    return sheet, count_option(options, "skip_rows", where)


def _letter(index: int) -> str:
    """Excel's name for the 0-based column `index`: A, ..., Z, AA, ..."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def _why(exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Cannot detect file format" in first:
        return "not a spreadsheet, or a truncated one"
    return first.removeprefix("calamine error: ")
