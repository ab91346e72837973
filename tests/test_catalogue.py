"""Which editions the watchlist audit reads: the newest of each code set, and of the code
sets of one built-in kind only the one that carries the list furthest."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from pipeline.analysis.catalogue import current
from pipeline.config.load import load_config
from pipeline.store.snapshots import SourceInfo, Store

CONFIG = """
[codesets.hcpcs]
kind = "hcpcs"

[codesets.hcpcs-quarterly]
kind = "hcpcs"
reader = { format = "hcpcs-anweb-csv" }

[codesets.fees-a]
title = "Payer A fees"
publisher = "A"
key = ["code"]
reader = { format = "delimited" }

[codesets.fees-b]
title = "Payer B fees"
publisher = "B"
key = ["code"]
reader = { format = "delimited" }
"""


def test_newest_series_of_a_kind_and_every_generic_code_set(tmp_path: Path) -> None:
    config_path = tmp_path / "codesets.toml"
    config_path.write_text(CONFIG, encoding="utf-8")
    config = load_config(config_path)
    store = Store(tmp_path / "snapshots")
    frame = pl.DataFrame({"code": ["G0283"], "long_description": ["Electrical stimulation"]})
    source = SourceInfo(name="f.csv", sha256="a" * 64, bytes=1, member=None, reader="delimited")
    for codeset, version, effective in (
        ("hcpcs", "2019", date(2019, 1, 1)),
        ("hcpcs", "2020", date(2020, 1, 1)),
        ("hcpcs-quarterly", "2026Q3", date(2026, 7, 1)),
        ("fees-a", "2024", date(2024, 1, 1)),
        ("fees-b", "2025", date(2025, 1, 1)),
    ):
        store.put(codeset, version, effective, frame, ["code"], source)
    chosen = {codeset: m.version for codeset, m in current(store, config).items()}
    assert chosen == {"hcpcs-quarterly": "2026Q3", "fees-a": "2024", "fees-b": "2025"}
