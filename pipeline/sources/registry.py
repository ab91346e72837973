"""The reader formats and the options each accepts.

Kept free of heavy imports: the configuration validates against it, and the
CLI must start fast.
"""

from __future__ import annotations

#: Options every format shares (besides `format`, `member`, `encoding`).
COMMON_OPTIONS = frozenset({"columns", "types", "date_format"})

#: format name -> option names accepted under `[codesets.X.reader]`.
READER_OPTIONS: dict[str, frozenset[str]] = {
    "delimited": COMMON_OPTIONS | {"delimiter", "skip_lines", "header", "names", "quote"},
    "xlsx": COMMON_OPTIONS | {"sheet", "skip_rows"},
    "fixed-width": COMMON_OPTIONS | {"fields", "skip_lines"},
    "hcpcs-anweb": frozenset(),
}

#: format name -> "module:function" that reads it, imported only when used.
READER_FUNCTIONS: dict[str, str] = {
    "delimited": "pipeline.sources.delimited:read",
    "xlsx": "pipeline.sources.xlsx:read",
    "fixed-width": "pipeline.sources.fixedwidth:read",
    "hcpcs-anweb": "pipeline.sources.hcpcs:read",
}
