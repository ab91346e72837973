"""The generic kind: a code set of your own, read from a delimited, spreadsheet or
fixed-width file, with only the rules every code set shares."""

from __future__ import annotations

from pipeline.codesets.kind import Format, Kind

COMMON = frozenset({"columns", "types", "date_format"})

KIND = Kind(
    formats=(
        Format(
            "delimited",
            "pipeline.sources.delimited:read",
            options=COMMON | {"delimiter", "skip_lines", "header", "names", "quote"},
        ),
        Format("xlsx", "pipeline.sources.xlsx:read", options=COMMON | {"sheet", "skip_rows"}),
        Format(
            "fixed-width",
            "pipeline.sources.fixedwidth:read",
            options=COMMON | {"fields", "skip_lines"},
        ),
    )
)
