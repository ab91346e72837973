"""The reader formats, the options each accepts, and how to recognise each from content.

Kept free of heavy imports: the configuration validates against it, and the
CLI must start fast.
"""

from __future__ import annotations

#: Options every format shares (besides `format`, `member`, `encoding`).
COMMON_OPTIONS = frozenset({"columns", "types", "date_format"})

#: format name -> option names accepted under `[codesets.X.reader]`.
READER_OPTIONS: dict[str, frozenset[str]] = {
    # Detect the format from the file's content (see pipeline.sources.detect).
    "auto": frozenset({"headers"}),
    "delimited": COMMON_OPTIONS | {"delimiter", "skip_lines", "header", "names", "quote"},
    "xlsx": COMMON_OPTIONS | {"sheet", "skip_rows"},
    "fixed-width": COMMON_OPTIONS | {"fields", "skip_lines"},
    "hcpcs-anweb": frozenset(),
    "hcpcs-xlsx": frozenset(),
    "icd10cm-order": frozenset({"headers"}),
    "icd10cm-xml": frozenset({"headers"}),
    "pprrvu-csv": frozenset(),
    "pprrvu-txt": frozenset(),
    "ncci-ptp": frozenset(),
    "mue": frozenset(),
}

#: format name -> "module:function" that reads it, imported only when used.
READER_FUNCTIONS: dict[str, str] = {
    "delimited": "pipeline.sources.delimited:read",
    "xlsx": "pipeline.sources.xlsx:read",
    "fixed-width": "pipeline.sources.fixedwidth:read",
    "hcpcs-anweb": "pipeline.codesets.hcpcs.anweb:read",
    "hcpcs-xlsx": "pipeline.codesets.hcpcs.xlsx:read",
    "icd10cm-order": "pipeline.codesets.icd10cm.order:read_order",
    "icd10cm-xml": "pipeline.codesets.icd10cm.xml:read",
    "pprrvu-csv": "pipeline.codesets.pfs.pprrvu:read_csv",
    "pprrvu-txt": "pipeline.codesets.pfs.pprrvu:read_txt",
    "ncci-ptp": "pipeline.codesets.ncci.ptp:read_ptp",
    "mue": "pipeline.codesets.mue.table:read",
}

#: format name -> "module:function" answering "is this file in my format?" from its
#: first bytes (`sniff(raw: RawSource) -> bool`). Generic formats cannot be detected.
READER_SNIFFERS: dict[str, str] = {
    "hcpcs-anweb": "pipeline.codesets.hcpcs.anweb:sniff",
    "hcpcs-xlsx": "pipeline.codesets.hcpcs.xlsx:sniff",
    "icd10cm-order": "pipeline.codesets.icd10cm.order:sniff_order",
    "icd10cm-xml": "pipeline.codesets.icd10cm.xml:sniff",
    "pprrvu-csv": "pipeline.codesets.pfs.pprrvu:sniff_csv",
    "pprrvu-txt": "pipeline.codesets.pfs.pprrvu:sniff_txt",
    "ncci-ptp": "pipeline.codesets.ncci.ptp:sniff_ptp",
    "mue": "pipeline.codesets.mue.table:sniff",
}
