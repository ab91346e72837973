"""Values are accepted only as the publishers' layouts allow them.

The fee schedule's pictures (999.99, .99, 999.9999) have no sign; an NCCI edit cannot be
deleted before it takes effect; a date in a file name is a month-day-year date, checked
even when `--effective` (which wins) is given.
"""

from __future__ import annotations

import json

import pytest

from tests.faults.conftest import REPO, Project, assert_clean_error, tree
from tests.sources.test_mue import MUE_BYTES
from tests.sources.test_ncci import FIRST, RECORDS, ptp_bytes

PFS = REPO / "sources" / "pfs-rvu"
CSV = PFS / "RVU25D-PPRRVU2025_Oct-ptot.csv"
TXT = PFS / "RVU25D-PPRRVU2025_Oct-ptot.txt"


def _csv_with(column: int, value: bytes) -> tuple[bytes, int]:
    """The fee-schedule CSV with the `column`-th (0-based) cell of its 5th record replaced;
    returns the bytes and that record's line number."""
    lines = CSV.read_bytes().split(b"\r\n")
    header = next(i for i, line in enumerate(lines) if line.startswith(b"HCPCS,MOD,"))
    target = header + 5
    cells = lines[target].split(b",")
    cells[column] = value
    lines[target] = b",".join(cells)
    return b"\r\n".join(lines), target + 1


@pytest.mark.parametrize(
    ("column", "name", "value"),
    [
        (5, "work_rvu", b"-0.50"),
        (11, "non_facility_total", b"-1.25"),
        (24, "conversion_factor", b"-32.3465"),
    ],
)
def test_negative_value_in_the_fee_schedule_csv(
    project: Project, column: int, name: str, value: bytes
) -> None:
    data, line = _csv_with(column, value)
    source = project.write("RVU26A-PPRRVU26_JAN.csv", data)
    before = tree(project.store)
    result = project.invoke("ingest", "pfs-rvu", str(source), "--version", "RVU26A")
    assert_clean_error(
        result,
        f"RVU26A-PPRRVU26_JAN.csv, line {line}, column {name}",
        "unsigned number",
        repr(value.decode()),
    )
    assert tree(project.store) == before


def test_negative_rvu_in_the_fixed_width_file(project: Project) -> None:
    lines = TXT.read_bytes().split(b"\r\n")
    target = next(i for i, line in enumerate(lines) if line[59:65].strip() not in (b"", b"0.00"))
    lines[target] = (
        lines[target][:59] + b"-" + lines[target][59:65].strip().rjust(5) + lines[target][65:]
    )
    source = project.write("RVU26A-PPRRVU26_JAN.txt", b"\r\n".join(lines))
    before = tree(project.store)
    result = project.invoke("ingest", "pfs-rvu", str(source), "--version", "RVU26A")
    # The fixed-width record's own pattern has no room for a sign: the line is no record.
    assert_clean_error(result, f"RVU26A-PPRRVU26_JAN.txt, line {target + 1}", "a data record")
    assert tree(project.store) == before


@pytest.mark.parametrize(
    ("index", "deletion"),
    [(0, "20211231"), (5, "20020930"), (7, "19991231")],
)
def test_ncci_deletion_before_effective_date(project: Project, index: int, deletion: str) -> None:
    records = list(RECORDS)
    fields = records[index].split("\t")
    fields[4] = deletion
    records[index] = "\t".join(fields)
    source = project.write("ccipra-v322r0-f1.txt", ptp_bytes(records))
    before = tree(project.store)
    result = project.invoke(
        "ingest", "ncci-ptp", str(source), "--version", "v322r0", "--effective", "2025-07-01"
    )
    assert_clean_error(
        result,
        f"ccipra-v322r0-f1.txt, line {FIRST + index}, column deletion_date",
        "is before the edit's effective date",
    )
    assert tree(project.store) == before


@pytest.mark.parametrize(
    ("name", "effective"),
    [
        ("MCR_MUE_PractitionerServices_Eff_31-12-2026.csv", "2026-12-31"),
        ("MCR_MUE_PractitionerServices_Eff_13-01-2026.csv", None),
        ("MCR_MUE_PractitionerServices_Eff_02-30-2026.csv", "2026-02-28"),
        ("MCR_MUE_PractitionerServices_Eff_10-01-0000.csv", "2026-10-01"),
    ],
)
def test_file_name_date_is_checked(project: Project, name: str, effective: str | None) -> None:
    """Explicit or not, a file name's date that is no month-day-year date is an error."""
    source = project.write(name, MUE_BYTES)
    before = tree(project.store)
    args = ["ingest", "mue", str(source), "--version", "mue-2026"]
    if effective:
        args += ["--effective", effective]
    result = project.invoke(*args)
    assert_clean_error(result, name, "is not a month-day-year date")
    assert tree(project.store) == before


def test_explicit_effective_date_wins_over_the_file_name(project: Project) -> None:
    source = project.write("MCR_MUE_PractitionerServices_Eff_10-01-2026.csv", MUE_BYTES)
    args = ["ingest", "mue", str(source), "--version", "mue-2026", "--effective", "2026-07-01"]
    result = project.invoke(*args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((project.store / "mue" / "mue-2026" / "manifest.json").read_text())
    assert manifest["effective_date"] == "2026-07-01"
