"""Test data for `codeset check`, generated with a fixed seed: run `python -m tests.claims.fixtures`
to rewrite `tests/claims/data/` (a test checks that the committed files are what this writes).

- NCCI PTP and MUE tables in CMS's exact published layouts (the PTP header lines and the
  MUE notice and header as in CMS's files), holding made-up therapy rows: TEST DATA, not
  CMS's edits or limits, and never part of the bundled default.
- Claims generated from the clinic's watchlist (`watchlists/pt-ot-clinic.csv`): visits of
  an evaluation (sometimes) plus 2-4 timed codes, GP or GO on every line, occasional CQ/CO,
  59 or XU on 97140 billed with 97530 (not always), the watchlist's own mistakes (97014,
  97633) as the clinic bills them, units around the watchlist's `units_per_day`.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
WATCHLIST = HERE.parent.parent / "watchlists" / "pt-ot-clinic.csv"
SEED = 20191001

#: Lines 1-6 of CMS's `ccipra-v322r0-f1.txt`, verbatim.
PTP_HEADER = (
    "CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t",
    "Column1/Column2 Edits\t\t\t\t\t\t",
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    "\t\t\t\t*=no data\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
)
#: TEST DATA: made-up edits between therapy codes (column 1, column 2, effective,
#: deletion, modifier indicator, rationale), plus real-looking rows of other codes.
PTP_ROWS = (
    ("0001A", "0591T", "20220101", "20231231", "1", "CPT Manual or CMS manual coding instruction"),
    ("0001A", "36591", "20220101", "20231231", "0", "CPT Manual or CMS manual coding instruction"),
    ("97012", "97140", "20190101", "*", "1", "Mutually exclusive procedures"),
    ("97140", "97124", "19960101", "*", "1", "Mutually exclusive procedures"),
    ("97161", "97140", "20200101", "*", "1", "Standards of medical/surgical practice"),
    ("97161", "97164", "20170101", "*", "0", "CPT Manual or CMS manual coding instruction"),
    ("97161", "97530", "20200101", "20200331", "1", "Standards of medical/surgical practice"),
    ("97162", "97164", "20170101", "*", "0", "CPT Manual or CMS manual coding instruction"),
    ("97165", "97168", "20170101", "*", "0", "CPT Manual or CMS manual coding instruction"),
    ("97530", "97116", "20190101", "*", "1", "Mutually exclusive procedures"),
    ("97530", "97140", "20190101", "*", "1", "Mutually exclusive procedures"),
    ("97530", "97150", "20190101", "*", "1", "Misuse of Column Two code with Column One code"),
    ("97530", "97535", "20190101", "*", "1", "Mutually exclusive procedures"),
    ("G0283", "97014", "20030101", "*", "9", "CPT Manual or CMS manual coding instruction"),
    ("G0283", "97032", "20030101", "*", "0", "Mutually exclusive procedures"),
)
#: Editions: label and effective date.
PTP_EDITIONS = (("2019Q4", "20191001"), ("2020Q1", "20200101"), ("2025Q1", "20250101"))

MUE_NOTICE = (
    '"Current Procedural Terminology (CPT) codes, descriptions and other data only are '
    "copyright 2025 American Medical Association. All rights reserved. \n\nCPT\u00ae is a "
    "registered trademark of the American Medical Association.\n\nApplicable FARS/DFARS "
    "Restrictions Apply to Government Use. \n\nFee schedules, relative value units, "
    "conversion factors and/or related components are not assigned by the AMA, are not part "
    "of CPT, and the AMA is not recommending their use.  The AMA does not directly or "
    "indirectly practice medicine or dispense medical services.  The AMA assumes no "
    'liability for the data contained or not contained herein.",,,\r\n'
)
MUE_HEADER = (
    '"HCPCS/\nCPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,'
    "MUE Rationale\r\n"
)
POLICY, CLINICAL, LINE_EDIT = (
    "2 Date of Service Edit: Policy",
    "3 Date of Service Edit: Clinical",
    "1 Line Edit",
)
#: TEST DATA: made-up MUE values for therapy codes.
MUE_ROWS = (
    ("97010", "1", POLICY, "Code Descriptor / CPT Instruction"),
    ("97012", "1", CLINICAL, "Clinical: Data"),
    ("97014", "1", CLINICAL, "Clinical: Data"),
    ("97016", "1", CLINICAL, "Clinical: Data"),
    ("97032", "4", CLINICAL, "Clinical: Data"),
    ("97035", "2", LINE_EDIT, "Clinical: Data"),
    ("97110", "6", CLINICAL, "Clinical: Data"),
    ("97112", "4", CLINICAL, "Clinical: Data"),
    ("97113", "4", CLINICAL, "Clinical: Data"),
    ("97116", "4", CLINICAL, "Clinical: Data"),
    ("97140", "4", CLINICAL, "Clinical: Data"),
    ("97150", "2", CLINICAL, "Clinical: Data"),
    ("97161", "1", POLICY, "Code Descriptor / CPT Instruction"),
    ("97162", "1", POLICY, "Code Descriptor / CPT Instruction"),
    ("97530", "6", CLINICAL, "Clinical: Data"),
    ("97535", "6", CLINICAL, "Clinical: Data"),
    ("G0283", "1", CLINICAL, "Clinical: Data"),
    ("G8978", "1", POLICY, "CMS Policy"),
    ("G8979", "1", POLICY, "CMS Policy"),
    ("G8980", "1", POLICY, "CMS Policy"),
)
MUE_EDITIONS = (("2019Q4", "10-01-2019"), ("2020Q1", "01-01-2020"), ("2025Q1", "01-01-2025"))

CLAIM_COLUMNS = (
    "claim_id",
    "date_of_service",
    "code",
    "modifiers",
    "units",
    "diagnosis_codes",
    "place_of_service",
    "charge",
)
PT_TIMED = ("97110", "97530", "97140", "97112", "97116", "97535")
PT_UNTIMED = ("97010", "97012", "97035", "97016", "97032", "97014")
OT_TIMED = ("97530", "97535", "97112", "97110", "97140", "97113", "97633")
FEES = {"97161": 180, "97162": 200, "97150": 35, "G0283": 25}
#: Diagnoses billed in each period: the low-back code was split after FY2021 (M54.5 became
#: M54.50-M54.59), so a 2025 line with M54.5 is the clinic's stale habit.
DIAGNOSES = {
    2019: ("M54.5", "M25.561", "M62.81", "R26.89", "M17.11"),
    2025: ("M54.50", "M25.561", "M62.81", "R26.89", "M17.11"),
}


def ptp_text(label: str, effective: str) -> bytes:
    rows = [r for r in PTP_ROWS if r[2] <= effective]  # an edition lists the edits made by then
    lines = [
        *PTP_HEADER,
        *("\t".join((a, b, "", eff, dele, mod, why)) for a, b, eff, dele, mod, why in rows),
    ]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def mue_text() -> bytes:
    body = "".join(",".join(r) + "\r\n" for r in MUE_ROWS)
    return (MUE_NOTICE + MUE_HEADER + body).encode("latin-1")


def watchlist_units() -> dict[str, int]:
    with WATCHLIST.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    units: dict[str, int] = {}
    for row in rows:
        if row["units_per_day"]:
            units[row["code"]] = max(units.get(row["code"], 0), int(row["units_per_day"]))
    return units


def claims(start: date, end: date, visits: int, seed: int, prefix: str) -> str:
    """`visits` claims between `start` and `end` (weekdays), one CSV."""
    rng = random.Random(seed)
    per_day = watchlist_units()
    days = [start + timedelta(n) for n in range((end - start).days + 1)]
    days = [d for d in days if d.weekday() < 5]
    rows: list[tuple[str, ...]] = []
    for number in range(1, visits + 1):
        claim = f"{prefix}{number:05d}"
        day = rng.choice(days)
        ot = rng.random() < 0.3
        discipline = "GO" if ot else "GP"
        assistant = "CO" if ot else "CQ"
        dx = rng.sample(DIAGNOSES[day.year], rng.choice((1, 1, 2)))
        if day.year > 2021 and rng.random() < 0.04:
            dx = ["M54.5"]  # the old habit
        lines: list[tuple[str, list[str], int]] = []
        if not ot and rng.random() < 0.2:
            lines.append((rng.choice(("97161", "97162")), [discipline], 1))
            if day.year == 2019:  # functional limitation reporting, billed until 2019
                lines.append(("G8978", [discipline], 1))
                lines.append(("G8979", [discipline], 1))
        timed = rng.sample(OT_TIMED if ot else PT_TIMED, rng.randint(2, 4))
        for code in timed:
            units = rng.randint(1, per_day.get(code, 2))
            if rng.random() < 0.03:
                units += 3  # above the MUE now and then
            mods = [discipline]
            if rng.random() < 0.12:
                mods.append(assistant)
            lines.append((code, mods, units))
        if not ot and rng.random() < 0.25:
            lines.append((rng.choice(PT_UNTIMED), [discipline], 1))
        if rng.random() < 0.05:
            lines.append(("97150", [discipline], 1))
        billed = {c for c, _, _ in lines}
        for code, mods, units in lines:
            if code == "97140" and "97530" in billed and rng.random() < 0.8:
                mods.append(rng.choice(("59", "XU")))
            if rng.random() < 0.01:
                mods.remove(discipline)  # a line sent without its discipline modifier
            fee = FEES.get(code, 40 if code.startswith("97") else 0)
            rows.append(
                (
                    claim,
                    day.isoformat(),
                    code,
                    " ".join(mods),
                    str(units),
                    ";".join(dx),
                    "11",
                    f"{fee * units:.2f}",
                )
            )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CLAIM_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def files() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for label, effective in PTP_EDITIONS:
        out[f"ptp-{label}.TESTDATA.txt"] = ptp_text(label, effective)
    for _label, effective in MUE_EDITIONS:
        out[f"MCR_MUE_PractitionerServices_Eff_{effective}.TESTDATA.csv"] = mue_text()
    out["claims-2019Q4.csv"] = claims(
        date(2019, 10, 1), date(2019, 12, 31), 300, SEED, "C19"
    ).encode()
    out["claims-2025Q1.csv"] = claims(
        date(2025, 1, 1), date(2025, 3, 31), 300, SEED + 1, "C25"
    ).encode()
    return out


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for name, data in files().items():
        (DATA / name).write_bytes(data)
        print(f"wrote {DATA / name}")


if __name__ == "__main__":
    main()
