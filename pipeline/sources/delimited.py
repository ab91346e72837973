"""Delimited text (CSV, tab, pipe): the format most publishers release.

polars parses the usual file fast. Python's csv module re-reads it only when
polars fails or its result looks wrong (a short row, a record spanning lines,
odd quoting): it is slow but knows the line each record starts on, so errors
can name it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.errors import ConfigError, InputError
from pipeline.sources.base import RawSource, decode_text
from pipeline.sources.coerce import LINE

if TYPE_CHECKING:
    from pipeline.config import ReaderSpec

#: Appended to every line before polars parses it, so that a short row shows.
END = "\x01"
ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "pipe": "|"}


@dataclass(frozen=True)
class Options:
    delimiter: str
    quote: str  # "" turns quoting off
    skip_lines: int
    names: tuple[str, ...] | None  # None: the first record is the header


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read a delimited file into text columns named by its header, plus `_line`."""
    opts = parse_options(reader.options)
    text = decode_text(raw, reader.encoding)
    pos, line = skip_lines(text, opts.skip_lines, raw.name)
    header_line = None
    if opts.names is None:
        header, pos, line, header_line = _header(text, pos, line, opts, raw.name)
    else:
        header = list(opts.names)
    body = text[pos:]
    if body and not body.endswith("\n"):
        body += "\n"
    frame = _read_fast(body, len(header), line, opts)
    if frame is None:
        frame = _read_slow(body, len(header), line, opts, raw.name)
    return name_columns(frame, header, raw.name, line=header_line)


def parse_options(options: Mapping[str, Any]) -> Options:
    where = "delimited reader"
    delimiter = options.get("delimiter", ",")
    delimiter = ALIASES.get(delimiter, delimiter) if isinstance(delimiter, str) else delimiter
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n" + END:
        raise ConfigError(f"{where}: delimiter must be one character or 'tab', got {delimiter!r}")
    quote = options.get("quote", '"')
    if not isinstance(quote, str) or len(quote) > 1 or (quote and quote in "\r\n" + delimiter):
        raise ConfigError(f"{where}: quote must be one character or '' (none), got {quote!r}")
    skip = options.get("skip_lines", 0)
    if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
        raise ConfigError(f"{where}: skip_lines must be a whole number >= 0, got {skip!r}")
    header = options.get("header", True)
    if not isinstance(header, bool):
        raise ConfigError(f"{where}: header must be true or false, got {header!r}")
    names = options.get("names")
    if header:
        if names is not None:
            raise ConfigError(f"{where}: names is for header = false (rename with columns)")
        return Options(delimiter, quote, skip, None)
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{where}: header = false needs names = [column names], got {names!r}")
    if len(set(names)) != len(names) or LINE in names:
        raise ConfigError(f"{where}: names must be unique and not {LINE!r}: {names!r}")
    return Options(delimiter, quote, skip, tuple(names))


def skip_lines(text: str, count: int, file: str) -> tuple[int, int]:
    """Offset just past the first `count` lines (a title or copyright preamble), and `count`."""
    pos = 0
    for seen in range(count):
        end = text.find("\n", pos)
        if end == -1:
            raise InputError(file, f"skip_lines is {count}, but the file has only {seen} line(s)")
        pos = end + 1
    return pos, count


def name_columns(
    frame: pl.DataFrame,
    header: Sequence[str | None],
    file: str,
    *,
    line: int | None = None,
    labels: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Name data columns after the header; a column without a name must hold nothing."""
    data = [c for c in frame.columns if c != LINE]
    seen: dict[str, str] = {}
    keep = []
    for i, (column, title) in enumerate(zip(data, header, strict=True)):
        where = labels[i] if labels else str(i + 1)
        name = (title or "").strip()
        if not name:
            if (frame[column].str.strip_chars() != "").any():
                raise InputError(file, "column has values but no header", line=line, column=where)
            continue
        if name in seen or name == LINE:
            first = f" (also column {seen[name]})" if name in seen else ""
            raise InputError(file, f"header {name!r} is not unique{first}", line=line, column=where)
        seen[name] = where
        keep.append(pl.col(column).alias(name))
    return frame.select(*keep, pl.col(LINE).cast(pl.Int64))


def _dialect(opts: Options) -> dict[str, Any]:
    quoting = csv.QUOTE_MINIMAL if opts.quote else csv.QUOTE_NONE
    return {"delimiter": opts.delimiter, "quotechar": opts.quote or None, "quoting": quoting,
            "strict": True}  # fmt: skip


def _lines_from(text: str, pos: int) -> Iterator[str]:
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end == -1 else end + 1
        yield text[pos:end]
        pos = end


def _header(
    text: str, pos: int, line: int, opts: Options, file: str
) -> tuple[list[str], int, int, int]:
    """The first non-blank record; the offset and line count after it; the line it is on."""
    records = csv.reader(_lines_from(text, pos), **_dialect(opts))
    done = 0
    try:
        for row in records:
            start, done = done + 1, records.line_num
            if any(field.strip() for field in row):
                for _ in range(done):
                    end = text.find("\n", pos)
                    pos = len(text) if end == -1 else end + 1
                return row, pos, line + done, line + start
    except csv.Error as exc:
        raise _csv_error(exc, file, line + done + 1, line + records.line_num) from None
    raise InputError(file, "no header line (nothing after the skipped lines)", line=line + 1)


def _read_fast(body: str, width: int, first: int, opts: Options) -> pl.DataFrame | None:
    """polars' parse, or None when it cannot be trusted to match the csv module's."""
    if END in body or not opts.delimiter.isascii() or not opts.quote.isascii():
        return None
    quote = opts.quote if opts.quote and opts.quote in body else None
    if quote and _odd_quoting(body, opts.delimiter, quote):
        return None
    names = [f"f{i}" for i in range(width + 1)]
    try:
        frame = pl.read_csv(
            body.replace("\n", opts.delimiter + END + "\n").encode(),
            has_header=False,
            schema=dict.fromkeys(names, pl.String),
            separator=opts.delimiter,
            quote_char=quote,
            empty_string_is_null=False,
            truncate_ragged_lines=False,
            raise_if_empty=False,
            missing_columns="insert",
        )
    except pl.exceptions.PolarsError:
        return None
    if frame.height != body.count("\n"):
        return None  # a record spans lines: line numbers need the csv module
    frame = frame.with_row_index(LINE, offset=first + 1)
    end = pl.col(names[-1])
    short = (end != END) | end.is_null()
    odd = frame.filter(short | (pl.col("f0").str.strip_chars() == ""))
    if odd.height:
        blank = pl.concat_str(pl.col(names), ignore_nulls=True).str.strip_chars() == END
        if odd.filter(short & ~blank).height:
            return None  # a short row: let the csv module report it
        frame = frame.filter(~pl.col(LINE).is_in(odd.filter(blank)[LINE].implode()))
    return frame.drop(names[-1])


def _odd_quoting(body: str, delimiter: str, quote: str) -> bool:
    """Whether a quote is closed and followed by text: polars and csv read that differently."""
    d, q = (f"\\x{{{ord(c):x}}}" for c in (delimiter, quote))
    pattern = rf"(?:^|[{d}])(?:{q}{q})+[^{d}{q}]|[^{d}{q}]{q}(?:{q}{q})*[^{d}{q}]"
    lines = pl.read_csv(
        body.encode(),
        has_header=False,
        schema={"text": pl.String},
        separator=END,
        quote_char=None,
        empty_string_is_null=False,
        raise_if_empty=False,
    )
    return bool(lines["text"].str.contains(pattern).any())


def _read_slow(body: str, width: int, first: int, opts: Options, file: str) -> pl.DataFrame:
    """Parse with the csv module, which knows the line each record starts on."""
    records = csv.reader(io.StringIO(body), **_dialect(opts))
    rows: list[list[str]] = []
    lines: list[int] = []
    done = 0
    try:
        for row in records:
            start, done = done + 1, records.line_num
            if not any(field.strip() for field in row):
                continue
            if len(row) != width:
                hint = " (is the delimiter right?)" if width == 1 or len(row) == 1 else ""
                message = f"expected {width} fields, found {len(row)}{hint}"
                raise InputError(file, message, line=first + start)
            rows.append(row)
            lines.append(first + start)
    except csv.Error as exc:
        raise _csv_error(exc, file, first + done + 1, first + records.line_num) from None
    columns = list(zip(*rows, strict=True)) if rows else [()] * width
    data = {f"f{i}": pl.Series(values, dtype=pl.String) for i, values in enumerate(columns)}
    return pl.DataFrame({**data, LINE: pl.Series(lines, dtype=pl.Int64)})


def _csv_error(exc: csv.Error, file: str, start: int, current: int) -> InputError:
    text = str(exc)
    if "end of data" in text or "field limit" in text:
        message = "quoted field never closes (the file ends, or the field is far too long)"
        return InputError(file, message, line=start)
    if "expected after" in text:
        return InputError(file, f"text after a closing quote ({text})", line=current)
    return InputError(file, f"malformed record ({text})", line=current)
