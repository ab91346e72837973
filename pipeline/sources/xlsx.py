"""Excel workbooks (.xlsx, and the older .xls), read with calamine through fastexcel.

Every cell is read as text, so that codes such as "0591T" or "97110" stay strings.
A numeric cell reads as the shortest text for its value ("97110", not "97110.0";
"0.45"), and a date cell at midnight as YYYY-MM-DD. An error cell (#N/A) reads as
empty: calamine gives no text for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import fastexcel
import polars as pl

from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import RawSource
from pipeline.sources.coerce import LINE
from pipeline.sources.delimited import count_option, name_columns

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec

#: How calamine writes a date cell; the time goes when it is midnight.
MIDNIGHT = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read one sheet: the header is the first non-blank row below `skip_rows` rows.

    `_line` is the spreadsheet's own 1-based row number; columns are named by letter
    until the header names them, so that messages can say "column C".
    """
    sheet, skip = _options(reader.options)
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
