"""CMS's annual HCPCS Level II file, ANWEB fixed-width layout (320 columns).

What the layout means (record layout of 2017-2020):
- a code is 5 characters; a modifier is 2, in columns 4-5 with 1-3 blank;
- record id 3 (procedure) or 7 (modifier) carries the detail; the following
  records with id 4 or 8 continue its long description only;
- dates are YYYYMMDD; a discontinued code stays in the file with its
  termination date for four years.

Lines before the first record (CMS adds a prose disclaimer in some years) are
a preamble and skipped; any other non-record line is an error, so that a
misaligned or truncated file is rejected rather than half-read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from pipeline.errors import InputError
from pipeline.sources.base import RawSource, check_complete, decode_text
from pipeline.sources.coerce import LINE, parse_date, refuse_first

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec

WIDTH = 320
#: A record starts with a code (or blanks + modifier), a 5-digit sequence and a record id.
RECORD = r"^[A-Z0-9 ]{5}[0-9]{5}[3478]"
ACTION_CODES = "ABCDFNPRST"

# (name, first column, last column, occurrences): 1-based, as in CMS's record layout.
# Fields that occur several times are stored as their non-blank values joined by spaces.
DETAIL: tuple[tuple[str, int, int, int], ...] = (
    ("short_description", 92, 119, 1),
    ("pricing_indicator", 120, 121, 4),
    ("multiple_pricing_indicator", 128, 128, 1),
    ("cim_reference", 129, 134, 3),
    ("mcm_reference", 147, 154, 3),
    ("statute", 171, 180, 1),
    ("lab_certification", 181, 183, 8),
    ("cross_reference", 205, 209, 5),
    ("coverage_code", 230, 230, 1),
    ("asc_group", 231, 232, 1),
    ("asc_effective_date", 233, 240, 1),
    ("mog_group", 241, 243, 1),
    ("mog_indicator", 244, 244, 1),
    ("mog_effective_date", 245, 252, 1),
    ("processing_note", 253, 256, 1),
    ("betos", 257, 259, 1),
    ("type_of_service", 261, 261, 5),
    ("anesthesia_base_units", 266, 268, 1),
    ("add_date", 269, 276, 1),
    ("action_effective_date", 277, 284, 1),
    ("termination_date", 285, 292, 1),
    ("action_code", 293, 293, 1),
)
DATES = (
    "asc_effective_date",
    "mog_effective_date",
    "add_date",
    "action_effective_date",
    "termination_date",
)

#: The snapshot's columns, in order.
COLUMNS = ("code", "record_type", "long_description", *(f[0] for f in DETAIL))


def _field(start: int, end: int, occurs: int) -> pl.Expr:
    width = end - start + 1
    parts = [
        pl.col("text").str.slice(start - 1 + i * width, width).str.strip_chars()
        for i in range(occurs)
    ]
    if occurs == 1:
        return parts[0]
    return pl.concat_str(parts, separator=" ").str.replace_all(r"\s+", " ").str.strip_chars()


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read an ANWEB file into one row per code, long description joined from its records."""
    text = decode_text(raw, reader.encoding)
    lines = pl.DataFrame({"text": text.split("\n")}).with_row_index(LINE, offset=1)
    is_record = pl.col("text").str.contains(RECORD)
    first = lines.filter(is_record).select(pl.col(LINE).min()).item()
    if first is None:
        raise InputError(raw.name, "no HCPCS records found (not an ANWEB file, or empty)")
    body = lines.filter(pl.col(LINE) >= first)
    refuse_first(
        body.filter(~is_record & (pl.col("text").str.strip_chars() != "")),
        raw.name,
        lambda row: (
            "expected an ANWEB record (code, 5-digit sequence, record id 3/4/7/8), "
            f"found {row['text'][:40]!r}"
        ),
    )
    records = body.filter(is_record).with_columns(
        rid=pl.col("text").str.slice(10, 1),
        code=pl.col("text").str.slice(0, 5).str.strip_chars(),
    )
    _check_records(records, raw.name)
    records = records.with_columns(
        group=pl.col("rid").is_in(["3", "7"]).cum_sum(),
        long=pl.col("text").str.slice(11, 80).str.strip_chars(),
    )
    check_continuations(records, raw.name)
    check_complete(raw)  # every record fits its layout, and yet the last may be cut
    heads = pl.col("text").str.pad_end(WIDTH)
    return assemble(
        records.with_columns(heads),
        {name: _field(s, e, n) for name, s, e, n in DETAIL},
        raw.name,
    )


def assemble(records: pl.DataFrame, fields: dict[str, pl.Expr], file: str) -> pl.DataFrame:
    """One row per code from checked records (`rid`, `code`, `group`, `long` and whatever
    `fields` reads): the long description joined, fields normalised, dates parsed.

    Shared by the text and the spreadsheet readers, so both give the same snapshot, and by
    the readers of column subsets (`fields` names some of `DETAIL`), which then give the
    same columns minus those they lack.
    """
    long = records.group_by("group", maintain_order=True).agg(
        pl.col("long").str.join(" ").str.replace_all(r"\s+", " ").alias("long_description")
    )
    frame = records.filter(pl.col("rid").is_in(["3", "7"])).select(
        LINE,
        "group",
        "code",
        pl.when(pl.col("rid") == "7")
        .then(pl.lit("modifier"))
        .otherwise(pl.lit("procedure"))
        .alias("record_type"),
        *(expr.alias(name) for name, expr in fields.items()),
    )
    frame = frame.join(long, on="group", how="left", validate="1:1").drop("group")
    if {"asc_group", "asc_effective_date"} <= set(fields):
        frame = _realign_asc_date(frame)
    frame = frame.with_columns(pl.col("short_description").str.replace_all(r"\s+", " "))
    if "anesthesia_base_units" in fields:
        frame = _whole_units(frame, file)
    frame = _parse_dates(frame, file)
    return frame.select(LINE, *(c for c in COLUMNS if c in frame.columns))


def _whole_units(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    units = pl.col("anesthesia_base_units")
    refuse_first(
        frame.filter(units.is_not_null() & (units != "") & ~units.str.contains(r"^[0-9]+$")),
        file,
        lambda row: f"anesthesia base units {row['anesthesia_base_units']!r} is not a whole number",
        column="anesthesia_base_units",
    )
    return frame.with_columns(units.replace("", None).cast(pl.Int64))


def _check_records(records: pl.DataFrame, file: str) -> None:
    heads = records.filter(pl.col("rid").is_in(["3", "7"]))
    refuse_first(
        heads.filter(pl.col("text").str.len_chars() < 293),
        file,
        lambda row: (
            f"record is {len(row['text'])} characters long, expected {WIDTH} (truncated file?)"
        ),
    )
    action = pl.col("text").str.slice(292, 1)
    refuse_first(
        heads.filter(~action.is_in(list(ACTION_CODES))),
        file,
        lambda row: f"action code {row['text'][292]!r} is not one of {', '.join(ACTION_CODES)}",
        column=293,
    )
    check_code_shapes(records, file, column=1)


def check_code_shapes(records: pl.DataFrame, file: str, column: str | int) -> None:
    """Modifier records (ids 7, 8) carry a 2-character code, the others a 5-character one."""
    modifier = pl.col("rid").is_in(["7", "8"])
    shape_ok = (
        pl.when(modifier)
        .then(pl.col("code").str.contains(r"^[A-Z0-9]{2}$"))
        .otherwise(pl.col("code").str.contains(r"^[A-Z0-9]{5}$"))
    )
    refuse_first(
        records.filter(~shape_ok),
        file,
        lambda row: (
            f"{row['code']!r} is not "
            + ("a 2-character modifier" if row["rid"] in "78" else "a 5-character code")
        ),
        column=column,
    )


def check_continuations(records: pl.DataFrame, file: str) -> None:
    """A continuation must follow a first record of the same code and kind."""
    head = records.group_by("group", maintain_order=True).agg(
        pl.col("code").first().alias("head_code"), pl.col("rid").first().alias("head_rid")
    )
    joined = records.join(head, on="group", how="left")
    expected_rid = pl.when(pl.col("head_rid") == "3").then(pl.lit("4")).otherwise(pl.lit("8"))
    bad = joined.filter(
        ~pl.col("rid").is_in(["3", "7"])
        & (
            pl.col("head_rid").is_null()
            | ~pl.col("head_rid").is_in(["3", "7"])
            | (pl.col("code") != pl.col("head_code"))
            | (pl.col("rid") != expected_rid)
        )
    )
    refuse_first(
        bad,
        file,
        lambda row: (
            f"continuation record for {row['code']!r} does not follow its code's first record"
        ),
    )


def _realign_asc_date(frame: pl.DataFrame) -> pl.DataFrame:
    """Undo a known publisher slip: in five 2018 records (C9488, C9745 ...) the ASC
    effective date starts two columns early, in the blank ASC group field."""
    shifted = (
        pl.col("asc_group").str.contains(r"^[0-9]{2}$")
        & pl.col("asc_effective_date").str.contains(r"^[0-9]{6}$")
        & pl.concat_str("asc_group", "asc_effective_date").str.contains(r"^(19|20)[0-9]{6}$")
    )
    return frame.with_columns(
        pl.when(shifted)
        .then(pl.concat_str("asc_group", "asc_effective_date"))
        .otherwise(pl.col("asc_effective_date"))
        .alias("asc_effective_date"),
        pl.when(shifted).then(pl.lit("")).otherwise(pl.col("asc_group")).alias("asc_group"),
    )


def _parse_dates(frame: pl.DataFrame, file: str) -> pl.DataFrame:
    for name in (d for d in DATES if d in frame.columns):
        value = pl.col(name).replace("", None)
        parsed = frame.select(value.alias("raw"), parse_date(value, "%Y%m%d").alias(name), LINE)
        refuse_first(
            parsed.filter(pl.col("raw").is_not_null() & pl.col(name).is_null()),
            file,
            lambda row: f"{row['raw']!r} is not a date (YYYYMMDD)",
            column=name,
        )
        frame = frame.with_columns(parsed[name])
    return frame


def sniff(raw: RawSource) -> bool:
    """An ANWEB file has, within its first lines, a 320-column record with an action code."""
    import re

    head = raw.data[:65536].decode("latin-1").splitlines()
    pattern = re.compile(RECORD)
    return any(
        pattern.match(line) and len(line) >= 293 and line[292] in ACTION_CODES for line in head
    )
