"""Delimited text (CSV, tab, pipe), the format most publishers release.

polars parses the usual file fast. The csv module, slow but knowing the line each
record starts on, re-reads it when polars fails or might differ from it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import RawSource, decode_text
from pipeline.sources.coerce import LINE

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec

#: Appended to every line before polars parses it, so that a short row shows.
END = "\x01"
ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "pipe": "|"}
#: How polars reads text for us: every value a string, as written, empty or not.
POLARS: dict[str, Any] = {
    "has_header": False,
    "empty_string_is_null": False,
    "raise_if_empty": False,
}
#: ... and with a column per field: a row too long is an error, a short one gets blanks.
FIELDS: dict[str, Any] = {**POLARS, "truncate_ragged_lines": False, "missing_columns": "insert"}


@dataclass(frozen=True)
class Options:
    delimiter: str
    quote: str  # "" turns quoting off
    skip_lines: int
    names: tuple[str, ...] | None  # None: the first record is the header

    def dialect(self) -> dict[str, Any]:
        quoting = csv.QUOTE_MINIMAL if self.quote else csv.QUOTE_NONE
        return dict(
            delimiter=self.delimiter, quotechar=self.quote or None, quoting=quoting, strict=True
        )


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read a delimited file into text columns named by its header, plus `_line`."""
    opts = parse_options(reader.options)
    text = decode_text(raw, reader.encoding)
    pos = skip_lines(text, opts.skip_lines)
    line = text.count("\n", 0, pos)
    header, header_line = list(opts.names or ()), None
    if opts.names is None:
        header, header_line, pos, line = _header(text, pos, opts, raw.name)
    body = text[pos:]
    if body and not body.endswith("\n"):
        body += "\n"
    frame = _read_fast(body, len(header), line, opts)
    if frame is None:
        frame = _read_slow(body, len(header), line, opts, raw.name)
    return name_columns(frame, header, raw.name, header_line)


def parse_options(options: Mapping[str, Any]) -> Options:
    """Check the options' values here: the configuration knows only their names."""
    where = "delimited reader"
    delimiter = options.get("delimiter", ",")
    delimiter = ALIASES.get(delimiter, delimiter) if isinstance(delimiter, str) else delimiter
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n" + END:
        raise ConfigError(f"{where}: delimiter must be one character or 'tab', got {delimiter!r}")
    quote = options.get("quote", '"')
    if not isinstance(quote, str) or len(quote) > 1 or (quote and quote in "\r\n" + delimiter):
        raise ConfigError(f"{where}: quote must be one character or '' (none), got {quote!r}")
    skip = count_option(options, "skip_lines", where)
    header, names = options.get("header", True), options.get("names")
    if not isinstance(header, bool):
        raise ConfigError(f"{where}: header must be true or false, got {header!r}")
    if header:
        if names is not None:
            raise ConfigError(f"{where}: names is for header = false (rename with columns)")
        return Options(delimiter, quote, skip, None)
    ok = isinstance(names, list) and all(isinstance(n, str) and n for n in names)
    unique: list[str] = list(names) if ok and names else []
    if not unique or len(set(unique)) != len(unique) or LINE in unique:
        raise ConfigError(f"{where}: header = false needs unique names = [...], got {names!r}")
    return Options(delimiter, quote, skip, tuple(unique))


def count_option(options: Mapping[str, Any], key: str, where: str) -> int:
    value = options.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: {key} must be a whole number >= 0, got {value!r}")
    return value


def skip_lines(text: str, count: int) -> int:
    """Offset just past the first `count` lines (a title or copyright preamble), or the end."""
    pos = 0
    for _ in range(count):
        pos = text.find("\n", pos) + 1 or len(text)
    return pos


def name_columns(
    frame: pl.DataFrame, header: list[Any], file: str, line: int | None
) -> pl.DataFrame:
    """Name columns after the stripped header (an unnamed one must be empty); errors cite the
    frame's own column names, which say where each column is."""
    seen: dict[str, str] = {}
    keep = []
    for column, title in zip([c for c in frame.columns if c != LINE], header, strict=True):
        name = (title or "").lstrip("\ufeff").strip()  # a BOM an explicit utf-8 left
        if not name:
            if (frame[column].str.strip_chars() != "").any():
                raise InputError(file, "column has values but no header", line=line, column=column)
            continue
        if name in seen or name == LINE:
            also = f" (also column {seen[name]})" if name in seen else ""
            raise InputError(file, f"header {name!r} is not unique{also}", line=line, column=column)
        seen[name] = column
        keep.append(pl.col(column).alias(name))
    return frame.select(*keep, pl.col(LINE).cast(pl.Int64))


def _header(text: str, pos: int, opts: Options, file: str) -> tuple[list[str], int, int, int]:
    """The first non-blank record and its line; the offset and line count after it."""
    buf = io.StringIO(text)
    buf.seek(pos)
    first = text.count("\n", 0, pos)
    for line, row in _records(buf, opts, file, first):
        pos = buf.tell()
        return row, line, pos, text.count("\n", 0, pos)
    raise InputError(file, "no header line (only blank lines after any skipped)", line=first + 1)


def _records(buf: io.StringIO, opts: Options, file: str, first: int) -> Iterator[Any]:
    """The csv module's non-blank records, each with the line it starts on."""
    records = csv.reader(buf, **opts.dialect())
    done = 0
    try:
        for row in records:
            start, done = done + 1, records.line_num
            if any(field.strip() for field in row):
                yield first + start, row
    except csv.Error as exc:
        if any(s in str(exc) for s in ("end of data", "field limit")):
            message = "quoted field never closes (the file ends, or the field is far too long)"
            raise InputError(file, message, line=first + done + 1) from None
        # Name the line the broken record starts on, not where the csv module gave up.
        raise InputError(
            file,
            f"malformed record (a stray quote?): {exc}; the parser gave up at line "
            f"{first + records.line_num}",
            line=first + done + 1,
        ) from None


def _read_fast(body: str, width: int, first: int, opts: Options) -> pl.DataFrame | None:
    """polars' parse, or None when it may differ from the csv module's."""
    if END in body or not opts.delimiter.isascii() or not opts.quote.isascii():
        return None
    quote = opts.quote if opts.quote and opts.quote in body else None
    if quote and _odd_quoting(body, opts.delimiter, quote):
        return None
    names = [str(i) for i in range(1, width + 2)]
    marked = body.replace("\n", opts.delimiter + END + "\n").encode()
    try:
        schema = dict.fromkeys(names, pl.String)
        frame = pl.read_csv(
            marked, **FIELDS, schema=schema, separator=opts.delimiter, quote_char=quote
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.height != body.count("\n"):
        return None  # a record spans lines: line numbers need the csv module
    frame = frame.with_row_index(LINE, offset=first + 1)
    end = pl.col(names[-1])
    short = (end != END) | end.is_null()
    odd = frame.filter(short | (pl.col("1").str.strip_chars() == ""))
    if odd.height:
        blank = pl.concat_str(pl.col(names), ignore_nulls=True).str.strip_chars() == END
        if odd.filter(short & ~blank).height:
            return None  # a short row: let the csv module report it
        frame = frame.filter(~pl.col(LINE).is_in(odd.filter(blank)[LINE].implode()))
    return frame.drop(names[-1])


def _odd_quoting(body: str, delimiter: str, quote: str) -> bool:
    """Whether a quote may be closed then followed by text, which polars reads leniently."""
    d, q = (f"\\x{{{ord(c):x}}}" for c in (delimiter, quote))
    pattern = rf"(?:^|[{d}])(?:{q}{q})+[^{d}{q}]|[^{d}{q}]{q}(?:{q}{q})*[^{d}{q}]"
    schema = {"text": pl.String}
    lines = pl.read_csv(body.encode(), **POLARS, schema=schema, separator=END, quote_char=None)
    return bool(lines["text"].str.contains(pattern).any())


def _read_slow(body: str, width: int, first: int, opts: Options, file: str) -> pl.DataFrame:
    """Parse with the csv module, which knows the line each record starts on."""
    rows: list[list[str]] = []
    lines: list[int] = []
    for line, row in _records(io.StringIO(body), opts, file, first):
        if len(row) != width:
            hint = " (is the delimiter right?)" if width == 1 else ""
            raise InputError(file, f"expected {width} fields, found {len(row)}{hint}", line=line)
        rows.append(row)
        lines.append(line)
    columns = list(zip(*rows, strict=True)) if rows else [()] * width
    data = {str(i): pl.Series(col, dtype=pl.String) for i, col in enumerate(columns, 1)}
    return pl.DataFrame({**data, LINE: pl.Series(lines, dtype=pl.Int64)})
