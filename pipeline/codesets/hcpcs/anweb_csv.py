"""CMS's quarterly HCPCS Level II file as an ANWEB column subset in CSV (`hcpcs-anweb-csv`).

The layout of the tables sourcelock 0.2.0 derives from each quarter's ANWEB file
(`sources/hcpcs-quarterly/README.md`): a header row, then one row per ANWEB record,
in CMS's order, with the fields of ANWEB columns 1-119 and 269-293, stripped:

    code,seq,record_id,long_description,short_description,code_added,action_effective,termination,action_code

The publisher's semantics are kept as the ANWEB reader keeps them: a code's first
record (id 3, or 7 for a modifier) carries the detail; its continuation records
(4 or 8) carry on the long description only, in the order of their sequence
numbers; a discontinued code stays listed with its termination date; the action
code is kept for the verification against CMS's own account. The frame has the
ANWEB reader's columns (names and types) minus those the subset leaves out, so the
same content gives the same snapshot digest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import polars as pl

from pipeline.codesets.hcpcs.anweb import (
    ACTION_CODES,
    assemble,
    check_code_shapes,
    check_continuations,
)
from pipeline.errors import InputError
from pipeline.sources import delimited
from pipeline.sources.base import RawSource, decode_text
from pipeline.sources.coerce import refuse_first

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec

#: The file's header, exactly: the columns in their order.
HEADER = (
    "code",
    "seq",
    "record_id",
    "long_description",
    "short_description",
    "code_added",
    "action_effective",
    "termination",
    "action_code",
)
#: This layout's column -> the ANWEB reader's name for the same field (first records only).
DETAIL = {
    "short_description": "short_description",
    "code_added": "add_date",
    "action_effective": "action_effective_date",
    "termination": "termination_date",
    "action_code": "action_code",
}


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read the table into one row per code, long description joined by sequence number."""
    from pipeline.spec import ReaderSpec

    text = decode_text(raw, reader.encoding)
    if text and not text.endswith("\n"):
        raise InputError(
            raw.name,
            "the last record does not end with a line break (truncated file?)",
            line=text.count("\n") + 1,
        )
    header = text.split("\n", 1)[0].lstrip("\ufeff")
    if header != ",".join(HEADER):
        raise InputError(
            raw.name, f"expected the header {','.join(HEADER)}, found {header[:120]!r}", line=1
        )
    rows = delimited.read(
        RawSource(text.encode(), raw.path, raw.member, raw.sha256, raw.size),
        ReaderSpec(format="delimited", encoding="utf-8"),
    )
    if rows.height == 0:
        raise InputError(raw.name, "no HCPCS records (header only)", line=2)
    records = rows.with_columns(pl.col(c).str.strip_chars() for c in HEADER).with_columns(
        rid=pl.col("record_id")
    )
    _check_records(records, raw.name)
    records = records.with_columns(
        group=pl.col("rid").is_in(["3", "7"]).cum_sum(), long=pl.col("long_description")
    )
    check_continuations(records, raw.name)
    _check_sequence(records, raw.name)
    records = records.sort("group", "seq", maintain_order=True)
    fields = {name: pl.col(column) for column, name in DETAIL.items()}
    return assemble(records, fields, raw.name)


def _check_records(records: pl.DataFrame, file: str) -> None:
    checks: list[tuple[pl.Expr, str, str]] = [
        (
            pl.col("rid").is_in(["3", "4", "7", "8"]),
            "record_id",
            "record id {record_id!r} is not 3, 4, 7 or 8",
        ),
        (pl.col("seq").str.contains(r"^[0-9]{5}$"), "seq", "sequence {seq!r} is not 5 digits"),
        *(
            (pl.col(c).str.contains(r"^([0-9]{8})?$"), c, f"{{{c}!r}} is not a date (YYYYMMDD)")
            for c in ("code_added", "action_effective", "termination")
        ),
    ]
    for ok, column, template in checks:
        refuse_first(records.filter(~ok), file, _says(template), column=column)
    heads = pl.col("rid").is_in(["3", "7"])
    refuse_first(
        records.filter(heads & ~pl.col("action_code").is_in(list(ACTION_CODES))),
        file,
        _says(f"action code {{action_code!r}} is not one of {', '.join(ACTION_CODES)}"),
        column="action_code",
    )
    for column in DETAIL:
        refuse_first(
            records.filter(~heads & (pl.col(column) != "")),
            file,
            _says(
                f"continuation record for {{code!r}} has a {column} ({{{column}!r}}); "
                "only the long description continues"
            ),
            column=column,
        )
    check_code_shapes(records, file, column="code")


def _check_sequence(records: pl.DataFrame, file: str) -> None:
    """Within a code, sequence numbers are unique and its first record's is the lowest."""
    first = pl.col("seq").first().over("group")
    refuse_first(
        records.filter(
            (~pl.col("rid").is_in(["3", "7"]) & (pl.col("seq") <= first))
            | ~pl.col("seq").is_first_distinct().over("group")
        ),
        file,
        _says("sequence {seq} of {code!r} repeats or precedes its first record's"),
        column="seq",
    )


def _says(template: str) -> Callable[[dict[str, Any]], str]:
    """The message for a bad row: `template` with the row's fields filled in."""
    return lambda row: template.format(**row)


def sniff(raw: RawSource) -> bool:
    """The table starts with its header row (a UTF-8 byte-order mark allowed)."""
    head = raw.data[:512].decode("utf-8", errors="replace").lstrip("\ufeff")
    first = head.split("\n", 1)[0].rstrip("\r")
    return first == ",".join(HEADER)
