"""CMS's own change report for an annual HCPCS file: the publisher's statement of what changed.

Each annual zip carries a "Changes by Action Code" report (`*Changes*by*Action*.prn`,
fixed-width text; the `*Trans*` workbook holds the same table). It lists every
code of the annual file once with a "type of change" in words, which is the
file's ACTION CD spelled out. Layouts differ by year:

- 2017, 2018: code, then the type of change; a blank line may follow the header;
- 2019, 2020: code, type (centred in its column and cut to its width: "Long
  Description Chang"), then short and long description (both cut); 2020 starts
  with a prose disclaimer before the header.

The report is read back to action letters so that it can be compared with the
file's ACTION CD and with a computed diff.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pipeline.errors import InputError
from pipeline.sources.base import RawSource, decode_text, open_source
from pipeline.sources.coerce import LINE

#: The report member inside an annual zip (matched case-insensitively).
MEMBER = "*changes*by*action*.prn"
ACTION_CODES = "ABCDFNPRST"
#: Every spelling of each type of change seen in the reports and their "Action Code Key"
#: sheets, normalised (lower case, "&" as "and", single spaces). A report may cut a label
#: short: a label matches the letters of which it is a prefix, and must match only one.
LABELS: dict[str, tuple[str, ...]] = {
    "A": ("add",),
    "B": (
        "coverage and long desc change",
        "coverage and long description change",
        "change in both coverage and long description",
    ),
    "C": ("long description change", "change in long description"),
    "D": ("discontinued",),
    "F": ("coverage change", "change in coverage"),
    "N": ("no change",),
    "P": ("payment change", "change in payment"),
    "R": ("re-activated", "reactivated"),
    "S": ("short description change", "change in short description"),
    "T": ("misc change (tos, betos)", "miscellaneous change (betos or type of service)"),
}
#: Shortest cut label accepted (CMS cuts at 21+ characters; "add" is the shortest label).
_MIN_LABEL = 3
_HEADER = re.compile(r"HCPC.*(TYPE OF CHANGE|ACTION CD)", re.IGNORECASE)
_CODE = r"^(?:[A-Z0-9]{2}|[A-Z0-9]{5})$"


def read_change_report(path: Path, member: str = MEMBER) -> pl.DataFrame:
    """One row per code of the report: `code`, `action` (letter), `label` (as written), `_line`.

    `path` is an annual zip (the member is found by `member`) or the report itself.
    """
    return parse_change_report(open_source(path, member))


def parse_change_report(raw: RawSource) -> pl.DataFrame:
    """Parse a "Changes by Action Code" report already read into memory."""
    lines = decode_text(raw).split("\n")
    header = next((i for i, line in enumerate(lines[:100]) if _HEADER.search(line)), None)
    if header is None:
        raise InputError(raw.name, "no 'HCPCS ... TYPE OF CHANGE / ACTION CD' header line found")
    short_at = lines[header].upper().find("SHORT DESCRIPTION")
    # The type of change ends where the short description starts, if the report has one.
    body = (
        pl.DataFrame({"text": lines[header + 1 :]})
        .with_row_index(LINE, offset=header + 2)
        .filter(pl.col("text").str.strip_chars() != "")
    )
    head = pl.col("text").str.slice(0, short_at) if short_at > 0 else pl.col("text")
    parts = head.str.extract_groups(r"^\s*(?<code>\S+)\s*(?<label>.*?)\s*$")
    rows = body.select(LINE, parts.struct.unnest())
    bad = rows.filter(~pl.col("code").str.contains(_CODE))
    if bad.height:
        row = bad.row(0, named=True)
        raise InputError(
            raw.name, f"{row['code']!r} is not a HCPCS code or modifier", line=row[LINE]
        )
    dup = rows.filter(pl.col("code").is_duplicated())
    if dup.height:
        row = dup.row(0, named=True)
        raise InputError(raw.name, f"code {row['code']!r} is listed twice", line=row[LINE])
    if not rows.height:
        raise InputError(raw.name, "the report lists no codes")
    letters: dict[str, str] = {}
    for label, line in rows.group_by("label").agg(pl.col(LINE).min()).iter_rows():
        letters[label] = _letter(label, raw.name, line)
    return rows.select(
        "code", pl.col("label").replace_strict(letters).alias("action"), "label", LINE
    )


def _letter(label: str, file: str, line: int) -> str:
    text = " ".join(label.lower().replace("&", "and").split())
    matches = {
        letter
        for letter, spellings in LABELS.items()
        for spelling in spellings
        if len(text) >= _MIN_LABEL and spelling.startswith(text)
    }
    if len(matches) != 1:
        why = "matches no action" if not matches else f"is ambiguous ({', '.join(sorted(matches))})"
        raise InputError(file, f"type of change {label!r} {why}", line=line)
    return matches.pop()


def action_counts(report: pl.DataFrame) -> dict[str, int]:
    """Codes per action letter, every letter present (zero when unused), in key order."""
    counts = dict(report.group_by("action").len().iter_rows())
    return {letter: int(counts.get(letter, 0)) for letter in ACTION_CODES}


def compare_actions(report: pl.DataFrame, actions: pl.DataFrame) -> pl.DataFrame:
    """Codes whose report action differs from the file's ACTION CD (or that only one lists).

    `actions` has `code` and `action_code` (an annual snapshot). Returns `code`,
    `report_action`, `file_action`; empty when the report and the file agree.
    """
    return (
        report.select("code", pl.col("action").alias("report_action"))
        .join(
            actions.select("code", pl.col("action_code").alias("file_action")),
            on="code",
            how="full",
            coalesce=True,
        )
        .filter(pl.col("report_action").ne_missing(pl.col("file_action")))
        .sort("code")
    )
