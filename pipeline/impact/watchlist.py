"""A clinic's watchlist: the codes it bills, in its own words, and code ranges it watches.

The CSV is the clinic's, errors included (a mistyped code, a code listed twice):
reading it never corrects it. The audit says what is wrong; the impact uses it to
pick, out of thousands of changes, the few that matter to this clinic.

Columns: `code` (a code, or a range `97010-97799`), optional `modifier`, `label`,
optional `annual_units`, optional `units_per_day`, optional `notes`, and for the fee
schedule's adjustments optional `later_share` (the share of the code's units that are
second or later units in a visit, `0.75` or `75%`) and `assistant_share` (the share
billed by an assistant with CQ/CO).

ICD-10-CM codes may be written as the publisher prints them, with the dot (`M54.50`),
or without (`M5450`): the entry keys on the code without the dot, as the files do,
and keeps the clinic's spelling for display.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl

from pipeline.errors import InputError
from pipeline.sources.base import read_file

COLUMNS = (
    "code",
    "modifier",
    "label",
    "annual_units",
    "units_per_day",
    "notes",
    "later_share",
    "assistant_share",
)
REQUIRED = ("code", "label")
_CODE = re.compile(r"[A-Z0-9]{2,7}")
#: An ICD-10-CM code as printed: category, dot, up to four more characters.
_DOTTED = re.compile(r"([A-Z][0-9][0-9A-Z])\.([0-9A-Z]{0,4})")


def normalize_code(text: str) -> str:
    """A code as the files key it: trimmed, upper case, an ICD-10-CM dot removed."""
    code = text.strip().upper()
    if match := _DOTTED.fullmatch(code):
        return match[1] + match[2]
    return code


def dotted(code: str) -> str:
    """An ICD-10-CM code as the publisher prints it: `M5450` -> `M54.50`."""
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code


_RANGE = re.compile(r"([A-Z0-9]{5})\s*-\s*([A-Z0-9]{5})")
#: A count as people write it: digits (thousands separated by commas), an optional fraction.
#: No exponent, no NaN or Infinity: `1e9999999` would be a number too large to compute with.
_NUMBER = re.compile(r"\d{1,15}(?:\.\d{1,6})?|\d{1,3}(?:,\d{3}){1,4}(?:\.\d{1,6})?")
#: More units than any clinic bills in a year (or a day): surely a typing error.
MAX_UNITS = Decimal(10) ** 9


@dataclass(frozen=True)
class Entry:
    """One line of the watchlist: a code (or range) the clinic bills, as it wrote it."""

    code: str
    label: str
    line: int
    modifier: str | None = None
    annual_units: Decimal | None = None
    units_per_day: int | None = None
    notes: str | None = None
    range_end: str | None = None
    later_share: Decimal | None = None
    assistant_share: Decimal | None = None
    #: The code as the clinic wrote it, when that differs (an ICD-10-CM code with its dot).
    written: str | None = None

    @property
    def is_range(self) -> bool:
        return self.range_end is not None

    def covers(self, code: str) -> bool:
        """Whether `code` is this entry's code, or inside its range (same shape, in order)."""
        if self.range_end is None:
            return code == self.code
        return (
            len(code) == len(self.code)
            and code[:1].isdigit() == self.code[:1].isdigit()
            and self.code <= code <= self.range_end
        )

    @property
    def shown(self) -> str:
        code = f"{self.code}-{self.range_end}" if self.range_end else self.written or self.code
        return f"{code} {self.modifier}" if self.modifier else code


@dataclass(frozen=True)
class Watchlist:
    """The entries of one watchlist file, in file order."""

    entries: tuple[Entry, ...]
    source: str = ""

    @property
    def codes(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if not e.is_range)

    @property
    def ranges(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.is_range)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def watched(self, code: str | None) -> list[Entry]:
        """The entries naming `code` itself (not via a range)."""
        return [e for e in self.codes if e.code == code] if code else []

    def in_range(self, code: str | None) -> list[Entry]:
        return [e for e in self.ranges if e.covers(code)] if code else []

    def is_watched(self, code: str | None) -> bool:
        return bool(self.watched(code))

    def watched_codes(self) -> set[str]:
        return {e.code for e in self.codes}

    def matches(self, code: pl.Expr) -> pl.Expr:
        """A polars condition: `code` is a watched code or inside a watched range, so that
        a change set is cut down to the clinic's rows before any row becomes a dict."""
        condition = code.is_in(sorted(self.watched_codes()))
        for entry in self.ranges:
            condition = condition | (
                (code.str.len_chars() == len(entry.code))
                & (code.str.slice(0, 1).str.contains("^[0-9]") == entry.code[:1].isdigit())
                & code.is_between(pl.lit(entry.code), pl.lit(entry.range_end))
            )
        return condition

    def label(self, code: str) -> str | None:
        """The clinic's first label for `code`."""
        entries = self.watched(code)
        return entries[0].label if entries else None

    def annual_units(self, code: str) -> Decimal | None:
        """Units a year billed under `code`, summed over its entries (several disciplines)."""
        units = [e.annual_units for e in self.watched(code) if e.annual_units is not None]
        return sum(units, Decimal(0)) if units else None

    def written(self, code: str) -> str:
        """The code as the clinic wrote it (with an ICD-10-CM dot, if it used one)."""
        return next((e.written for e in self.watched(code) if e.written), code)

    def shares(self, code: str) -> tuple[Decimal | None, Decimal | None]:
        """The code's share of later units and of assistant units, where the list gives them."""
        entries = self.watched(code)
        later = next((e.later_share for e in entries if e.later_share is not None), None)
        helped = next((e.assistant_share for e in entries if e.assistant_share is not None), None)
        return later, helped

    def units_per_day(self, code: str) -> int | None:
        units = [e.units_per_day for e in self.watched(code) if e.units_per_day is not None]
        return max(units) if units else None


EMPTY = Watchlist(entries=())


def load_watchlist(path: Path) -> Watchlist:
    """Read a watchlist CSV (UTF-8, header row); errors name the line and column."""
    try:
        text = read_file(path, "watchlist file").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), "not UTF-8 text", offset=exc.start) from None
    return parse_watchlist(text, path.name)


def parse_watchlist(text: str, name: str = "watchlist") -> Watchlist:
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InputError(name, f"malformed CSV ({exc})", line=reader.line_num) from None
    if not rows:
        return Watchlist(entries=(), source=name)
    header = [h.strip().lower() for h in rows[0]]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise InputError(
            name,
            f"unknown column(s) {', '.join(map(repr, unknown))}; use {', '.join(COLUMNS)}",
            line=1,
        )
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(name, f"missing column(s) {', '.join(map(repr, missing))}", line=1)
    entries = [
        _entry(dict(zip(header, row, strict=False)), name, number)
        for number, row in enumerate(rows[1:], start=2)
        if any(cell.strip() for cell in row)
    ]
    return Watchlist(entries=tuple(entries), source=name)


def _entry(row: dict[str, str], name: str, line: int) -> Entry:
    def cell(column: str) -> str | None:
        value = (row.get(column) or "").strip()
        return value or None

    raw = (cell("code") or "").upper()
    code = normalize_code(raw)
    label = cell("label")
    if not raw:
        raise InputError(name, "empty code", line=line, column="code")
    if not label:
        raise InputError(name, f"{raw}: empty label", line=line, column="label")
    start, end = code, None
    if match := _RANGE.fullmatch(raw):
        start, end = match[1], match[2]
        if start > end:
            raise InputError(name, f"range {raw} runs backwards", line=line, column="code")
    elif not _CODE.fullmatch(code):
        raise InputError(
            name,
            f"{raw!r} is neither a code nor a range like 97010-97799",
            line=line,
            column="code",
        )
    return Entry(
        code=start,
        range_end=end,
        label=label,
        line=line,
        modifier=(cell("modifier") or "").upper() or None,
        annual_units=_decimal(cell("annual_units"), name, line, "annual_units"),
        units_per_day=_whole(cell("units_per_day"), name, line),
        notes=cell("notes"),
        later_share=_share(cell("later_share"), name, line, "later_share"),
        assistant_share=_share(cell("assistant_share"), name, line, "assistant_share"),
        written=raw if raw != code else None,
    )


def _share(value: str | None, name: str, line: int, column: str) -> Decimal | None:
    """A fraction from `0.75` or `75%`, between 0 and 1."""
    if value is None:
        return None
    percent = value.endswith("%")
    number = _decimal(value.rstrip("%").strip(), name, line, column)
    if number is None:
        return None
    if percent:
        number = number / 100
    if number > 1:
        raise InputError(name, f"{value!r} is more than 100%", line=line, column=column)
    return number


def _decimal(value: str | None, name: str, line: int, column: str) -> Decimal | None:
    if value is None:
        return None
    if value.lstrip().startswith("-") and _NUMBER.fullmatch(value.strip()[1:]):
        raise InputError(name, f"{value!r} is negative", line=line, column=column)
    if not _NUMBER.fullmatch(value):
        raise InputError(
            name,
            f"{value[:40]!r} is not a number of units (digits, e.g. 1200 or 1,200.5)",
            line=line,
            column=column,
        )
    try:
        number = Decimal(value.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
        raise InputError(name, f"{value!r} is not a number", line=line, column=column) from None
    if number > MAX_UNITS:
        raise InputError(
            name,
            f"{value!r} is over {MAX_UNITS:,} units: a typing error?",
            line=line,
            column=column,
        )
    return number


def _whole(value: str | None, name: str, line: int) -> int | None:
    number = _decimal(value, name, line, "units_per_day")
    if number is None:
        return None
    if number != number.to_integral_value():
        raise InputError(
            name, f"{value!r} is not a whole number", line=line, column="units_per_day"
        )
    return int(number)
