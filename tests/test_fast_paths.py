"""The fast paths of a scheduled cycle give exactly what the slow, obvious ones give.

The JSON report's record lists are written by polars and must read byte for byte as
`json.dumps(indent=2)`; the NCCI reader's fast validation must convert as its row-by-row
validation does and leave every bad value to it; the index reads a report's summary
without decoding its records; content digests keep their definitions.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline.analysis.cycle import Analysis
from pipeline.codesets.ncci import ptp
from pipeline.diff.changeset import jsonable
from pipeline.diff.engine import diff
from pipeline.project.publish import _report_summary, read_cycle_entries, write_cycle
from pipeline.project.verify import verify
from pipeline.report.render import cycle_json
from pipeline.sources.coerce import LINE
from pipeline.store.snapshots import (
    DIGEST_VERSION,
    MANIFEST,
    Manifest,
    SourceInfo,
    Store,
    content_digest,
    manifest_json,
)
from tests.conftest import edition, frame, make_spec

#: Text that JSON escapes: quotes, backslashes, control characters, non-ASCII, U+2028.
AWKWARD = 'say "hi"\\ \t tab\nline \x01\x1f \x7f é 中 \u2028 😀 </script>'


def _changes(rows_old: list[dict[str, object]], rows_new: list[dict[str, object]], **schema):
    return diff(
        frame(rows_old, **schema),
        frame(rows_new, **schema),
        make_spec(),
        old_info=edition("2024", date(2024, 1, 1), rows=len(rows_old)),
        new_info=edition("2025", date(2025, 1, 1), rows=len(rows_new)),
    )


def _slow_json(analysis: Analysis) -> str:
    return json.dumps(analysis.to_dict(), indent=2, ensure_ascii=False, default=jsonable) + "\n"


def test_json_records_are_what_json_dumps_writes() -> None:
    """Added, deleted (removed and discontinued), reworded records with word diffs, nulls,
    dates, booleans, integers and awkward text."""
    old = [
        {"code": "97110", "description": "Therapeutic exercise", "units": 1, "ok": True},
        {"code": "97140", "description": "Manual therapy techniques", "units": None},
        {"code": "G0283", "description": AWKWARD, "units": 3, "ok": False},
        {"code": "G8978", "description": "Mobility", "units": 2, "ok": None},
    ]
    new = [
        {"code": "97110", "description": "Therapeutic exercise", "units": 4, "ok": False},
        {"code": "97140", "description": "Manual therapy techniques, each 15 minutes"},
        {"code": "97530", "description": AWKWARD, "units": 0, "ok": True},
        {"code": "G8978", "description": "Mobility", "terminated": date(2024, 12, 31)},
    ]
    cs = _changes(old, new, units=pl.Int64(), ok=pl.Boolean())
    assert cs.added.height and cs.deleted.height and cs.changed.height and cs.fields
    analysis = Analysis(cs)
    assert cycle_json(analysis) == _slow_json(analysis)


def test_json_records_fall_back_to_json_dumps_for_decimals() -> None:
    old = [{"code": "97110", "description": "Exercise", "rvu": Decimal("0.45")}]
    new = [{"code": "97110", "description": "Exercise", "rvu": Decimal("0.50")}]
    analysis = Analysis(_changes(old, new, rvu=pl.Decimal(10, 2)))
    assert cycle_json(analysis) == _slow_json(analysis)


def test_json_report_of_an_empty_cycle() -> None:
    rows = [{"code": "97110", "description": "Exercise"}]
    analysis = Analysis(_changes(rows, rows))
    assert cycle_json(analysis) == _slow_json(analysis)


def test_index_reads_the_summary_of_a_report(tmp_path: Path) -> None:
    old = [{"code": "97110", "description": "Exercise"}]
    new = [{"code": "97110", "description": AWKWARD}, {"code": "97530", "description": "x"}]
    analysis = Analysis(_changes(old, new))
    text = cycle_json(analysis)
    whole = json.loads(text)
    summary = _report_summary(text)
    assert summary == {k: whole[k] for k in ("codeset", "title", "from", "to", "counts", "impact")}
    # A report written some other way (one line) is decoded whole.
    assert _report_summary(json.dumps(whole))["counts"] == whole["counts"]
    write_cycle(analysis, tmp_path)
    (entry,) = read_cycle_entries(tmp_path)
    assert entry.counts == whole["counts"]


# --- NCCI validation ------------------------------------------------------------------------


def _ptp_text(rows: list[tuple[str, ...]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema=dict.fromkeys(ptp.COLUMNS, pl.String), orient="row"
    ).with_row_index(LINE, offset=7)


GOOD = [
    ("0001A", "0591T", "*", "19960101", "*", "1", "Misuse of Column Two code"),
    ("0001A", "G0283", "", "20240229", "20250331", "0", "Mutually exclusive procedures"),
    ("99499", "J1100", "", "19000101", "29991231", "9", ""),
]


def test_fast_validation_converts_as_the_checked_one() -> None:
    text = _ptp_text(GOOD)
    fast = ptp._typed_fast(text)
    assert fast is not None
    assert_frame_equal(fast, ptp._typed_checked(text, "f.txt"))
    assert fast["deletion_date"].to_list() == [None, date(2025, 3, 31), date(2999, 12, 31)]


@pytest.mark.parametrize(
    ("column", "bad"),
    [
        ("column1", "0001a"),
        ("column2", "G028"),
        ("prior_1996", "x"),
        ("effective_date", "20230229"),
        ("effective_date", "2024 101"),
        ("effective_date", "18991231"),
        ("deletion_date", "+2025033"),
        ("deletion_date", "20240228"),
        ("modifier_indicator", "2"),
        ("rationale", "cut\r"),
    ],
)
def test_fast_validation_leaves_bad_values_to_the_checked_one(column: str, bad: str) -> None:
    rows = [list(r) for r in GOOD]
    rows[1][ptp.COLUMNS.index(column)] = bad
    text = _ptp_text([tuple(r) for r in rows])
    assert ptp._typed_fast(text) is None
    with pytest.raises(Exception, match="line 8") as raised:
        ptp._typed(text, "f.txt")
    assert column in str(raised.value)


# --- content digest definitions -------------------------------------------------------------


def test_digest_definitions_differ_and_both_ignore_chunking() -> None:
    n = (1 << 20) + 5  # past one block of definition 2
    data = pl.DataFrame(
        {
            "code": pl.int_range(n, eager=True).cast(pl.String),
            "flag": pl.int_range(n, eager=True) % 3 == 0,
            "day": pl.date_range(date(2000, 1, 1), date(2000, 1, 1), eager=True)
            .repeat_by(n)
            .explode(),
        }
    )
    chunked = pl.concat([data[:11], data[11:]], rechunk=False)
    assert content_digest(chunked) == content_digest(data)
    assert content_digest(chunked, 1) == content_digest(data, 1)
    assert content_digest(data) != content_digest(data, 1)


def test_a_definition_1_snapshot_verifies_and_reingests_unchanged(tmp_path: Path) -> None:
    """A snapshot stored before definition 2 (no `digest_version` in its manifest) still
    verifies, and storing the same content again under its label is a no-op."""
    store = Store(tmp_path / "store")
    data = frame([{"code": "97110", "description": "Exercise"}])
    info = SourceInfo(name="a.csv", sha256="a" * 64, bytes=1)
    snap = store.put("demo", "2024", date(2024, 1, 1), data, ("code",), info).snapshot
    assert snap.manifest.digest_version == DIGEST_VERSION
    raw = json.loads((snap.path / MANIFEST).read_text())
    assert raw["digest_version"] == DIGEST_VERSION
    # Rewrite it as an older tool wrote it.
    del raw["digest_version"]
    raw["content_sha256"] = content_digest(data, 1)
    old = Manifest.from_dict(raw)
    assert old.digest_version == 1 and "digest_version" not in old.to_dict()
    path = snap.path / MANIFEST
    path.chmod(0o644)
    path.write_text(manifest_json(old), encoding="utf-8")
    found = verify(store)
    assert found.snapshots == 1 and not found.problems
    again = store.put("demo", "2024", date(2024, 1, 1), data, ("code",), info)
    assert again.status == "unchanged"


def test_digest_definition_2_is_the_documented_bytes() -> None:
    """Definition 2 spelt out by hand, so that no polars upgrade can change it unseen."""
    import hashlib
    import struct

    data = pl.DataFrame(
        {
            "code": ["A1", None, "", "é\n"],
            "flag": [True, None, False, True],
            "n": [1, None, -2, 3],
            "day": [date(1970, 1, 2), None, date(1969, 12, 31), date(2000, 1, 1)],
        }
    )
    want = hashlib.sha256()
    want.update(b"content digest 2\ncode:String\tflag:Boolean\tn:Int64\tday:Date\n")
    want.update(struct.pack("<4I", 2, 0xFFFFFFFF, 0, 3) + "A1\n\n\né\n\n".encode())
    want.update(bytes([1, 2, 0, 1]))
    want.update(bytes([1, 0, 1, 1]) + struct.pack("<4q", 1, 0, -2, 3))
    want.update(bytes([1, 0, 1, 1]) + struct.pack("<4i", 1, 0, -1, 10957))
    assert content_digest(data) == want.hexdigest()
