"""Judge claim lines by the editions in force on their date of service.

The check is a chain of relational steps, so that the same plan can run on any engine
that joins: every distinct date of service is matched to the edition of each kind whose
window contains it (an as-of join on the windows' start, then `date < end`); lines take
their editions from their date; each rule is then a join of the lines with the rows of
their editions (codes, payment status, MUE limits), or, for NCCI, a join of the lines
with each other within a claim and date, then with the edits. No step loops over rows.

Each rule yields findings: `fail`, `bypassed` (an NCCI edit a PTP-accepted modifier
bypasses) or `no_data` (no edition of the kind covers the date: never a pass).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from importlib import resources

import polars as pl

from pipeline.analysis.reference import Reference, load_reference
from pipeline.claims.editions import FOREVER, KINDS, EditionSet, Kind
from pipeline.claims.input import CPT, LEVEL2
from pipeline.codesets.pfs.vocabulary import PAYABLE, STATUS_CODES
from pipeline.sources.coerce import LINE
from pipeline.store import Snapshot
from pipeline.store.keys import KeyPacking
from pipeline.store.snapshots import KEY_COLUMN

#: The rules, in the order reports list them, and what each checks.
RULES: dict[str, str] = {
    "hcpcs-code": "HCPCS Level II code active on the date of service (HCPCS edition)",
    "cpt-code": "CPT code listed in the fee-schedule edition (a proxy: CPT is not bundled)",
    "modifier": "modifier valid on the date of service (HCPCS edition; CPT modifiers: "
    "reference list)",
    "diagnosis": "ICD-10-CM code billable in the fiscal year's edition",
    "payable": "Medicare pays the code under the fee schedule (status A, R or T)",
    "ncci-ptp": "NCCI procedure-to-procedure edit between two lines of one claim and date",
    "mue": "units within the Medically Unlikely Edit (per line or per date of service)",
    "therapy-modifier": "always-therapy code with GP, GO or GN; CQ with GP, CO with GO",
}
OUTCOMES = ("fail", "bypassed", "no_data")
#: Modifiers CMS accepts on an NCCI PTP edit with modifier indicator 1 (NCCI Policy Manual,
#: chapter I: anatomic, global surgery and other modifiers).
PTP_MODIFIERS = (
    *("E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9"),
    *("TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9"),
    *("LT", "RT", "LC", "LD", "RC", "LM", "RI"),
    *("24", "25", "57", "58", "78", "79"),
    *("27", "59", "91", "XE", "XS", "XP", "XU"),
)
DISCIPLINES = ("GP", "GO", "GN")
#: Places of service paid at the facility rate (hospitals, skilled nursing, ASC ...).
FACILITY_POS = ("19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53")
THERAPY_LIST = "CMS always-therapy code list (pipeline/claims/data/therapy_codes.csv)"

#: The columns of a findings frame, in order.
FINDING_SCHEMA: dict[str, pl.DataType] = {
    LINE: pl.Int64(),
    "claim_id": pl.String(),
    "date_of_service": pl.Date(),
    "code": pl.String(),
    "modifiers": pl.String(),
    "units": pl.Int64(),
    "rule": pl.String(),
    "outcome": pl.String(),
    "edition": pl.String(),
    "other_code": pl.String(),
    "other_line": pl.Int64(),
    "limit": pl.Int64(),
    "payment": pl.Decimal(18, 2),
    "message": pl.String(),
}

Status = Callable[[str], None]
#: A claim and date as one integer (the claim id's dense rank, then the day).
GROUP = "_group"
#: Up to this many distinct codes, the NCCI edits are filtered by code while being read.
FEW_CODES = 2000
#: A line's code as an integer (base 36), for integer joins and groupings.
CODE36 = "_code36"


@functools.cache
def therapy_codes() -> frozenset[str]:
    text = (resources.files("pipeline.claims") / "data" / "therapy_codes.csv").read_text("utf-8")
    rows = [r.strip() for r in text.splitlines() if r.strip() and not r.startswith("#")]
    return frozenset(rows[1:])


def check_lines(
    lines: pl.DataFrame,
    editions: EditionSet,
    status: Status | None = None,
    reference: Reference | None = None,
) -> pl.DataFrame:
    """Every finding for `lines` (as `read_claims` gives them), sorted by line and rule."""
    say = status or (lambda _text: None)
    reference = reference or load_reference()
    say("matching dates of service to editions ...")
    judged = _with_editions(lines, editions)
    codes = judged["code"].unique().to_list()
    say("reading the fee schedule ...")
    judged = _with_payment(judged, editions, codes)
    parts: list[pl.DataFrame] = []
    steps: tuple[tuple[str, Callable[[], pl.DataFrame]], ...] = (
        ("code validity", lambda: _codes(judged, editions, codes)),
        ("modifiers", lambda: _modifiers(judged, editions, reference)),
        ("diagnoses", lambda: _diagnoses(judged, editions)),
        ("payment status", lambda: _payable(judged, reference)),
        ("NCCI pairs", lambda: _ptp(judged, editions, codes)),
        ("MUE limits", lambda: _mue(judged, editions, codes)),
        ("therapy modifiers", lambda: _therapy(judged)),
    )
    for label, step in steps:
        say(f"checking {label} ...")
        parts.append(step())
    findings = pl.concat(
        [p.select(pl.col(c).cast(t) for c, t in FINDING_SCHEMA.items()) for p in parts if p.height]
    )
    if not findings.height:
        return pl.DataFrame(schema=FINDING_SCHEMA)
    order = pl.col("rule").replace_strict(list(RULES), range(len(RULES)), return_dtype=pl.Int32)
    return findings.sort(LINE, order, "other_line", nulls_last=True, maintain_order=True)


def _edition_column(kind: Kind) -> str:
    return f"_ed_{kind}"


def _index_column(kind: Kind) -> str:
    """The line's edition of `kind` as its position in `EditionSet.of(kind)`: joins with
    the editions' rows are then on two integers (this and the packed code)."""
    return f"_ei_{kind}"


def _on(kind: Kind) -> pl.Expr:
    """The date a line is judged on by its edition of `kind`: its date of service, or in
    a replay, the first day of the replayed edition if the service was earlier (as if the
    same service were billed once that edition is in force)."""
    return pl.col(f"_on_{kind}")


def _with_editions(lines: pl.DataFrame, editions: EditionSet) -> pl.DataFrame:
    """Each line with the label of the edition of each kind in force on its date (null: none)."""
    dates = lines.select(pl.col("date_of_service").unique().sort())
    dos = pl.col("date_of_service")
    for kind in KINDS:
        windows = editions.windows(kind).with_row_index("_ei").sort("start")
        windows = windows.with_columns(pl.col("_ei").cast(pl.Int32))
        column = _edition_column(kind)
        if pin := editions.pins.get(kind):
            dates = dates.with_columns(
                pl.lit(pin.label, pl.String).alias(column),
                pl.lit(editions.of(kind).index(pin), pl.Int32).alias(_index_column(kind)),
                pl.max_horizontal(dos, pl.lit(pin.start, pl.Date)).alias(f"_on_{kind}"),
            )
            continue
        dates = (
            dates.join_asof(
                windows, left_on="date_of_service", right_on="start", strategy="backward"
            )
            .with_columns(
                pl.when(dos < pl.col("end")).then(pl.col("edition")).alias(column),
                pl.when(dos < pl.col("end")).then(pl.col("_ei")).alias(_index_column(kind)),
                dos.alias(f"_on_{kind}"),
            )
            .drop("edition", "_ei", "start", "end")
        )
    out = lines.join(dates, on="date_of_service", how="left", maintain_order="left")
    claim = pl.col("claim_id").rank("dense").cast(pl.Int64)
    day = pl.col("date_of_service").to_physical().cast(pl.Int64) + 2**31
    return out.with_columns(
        (claim * 2**32 + day).alias(GROUP),
        _packed(pl.col("code")).alias(CODE36),
        (" " + pl.col("modifiers").list.join(" ") + " ").alias("_modtext"),
    )


def _table(
    editions: EditionSet,
    kind: Kind,
    columns: Sequence[str],
    where: pl.Expr | None = None,
    key: str = "code",
) -> pl.DataFrame:
    """The rows of every edition of `kind` (those `where` keeps), with `_ei` (the edition's
    position, as `_index_column` gives it for a line) and `_k` (the `key` code packed into
    an integer, as `CODE36` is for a line's code).

    Read straight from each snapshot's Parquet file, so that the filter is applied while
    reading."""
    frames = []
    pin = editions.pins.get(kind)
    for index, edition in enumerate(editions.of(kind)):
        if pin is not None and edition != pin:
            continue
        scan = pl.scan_parquet(edition.snapshot.data_path)
        if where is not None:
            scan = scan.filter(where)
        frames.append(
            scan.select(
                *columns,
                pl.lit(index, pl.Int32).alias("_ei"),
                _packed(pl.col(key)).alias("_k"),
            )
        )
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames).collect()


def _packed(code: pl.Expr) -> pl.Expr:
    """A code of up to 12 letters and digits as an integer: base 36 (with a leading 1, so
    that `0001` and `1` differ)."""
    return ("1" + code).str.to_integer(base=36, dtype=pl.Int64)


def _finding_inputs(kind: Kind) -> list[str]:
    """The columns `_finding` reads (and the edition columns of `kind`): what a rule that
    explodes lines (one row per modifier, per diagnosis) needs to carry."""
    return [
        LINE, "claim_id", "date_of_service", "code", "modifiers", "units", "_payment",
        _edition_column(kind), _index_column(kind), f"_on_{kind}",
    ]  # fmt: skip


def _finding(
    rule: str,
    outcome: str | pl.Expr,
    edition: pl.Expr,
    message: pl.Expr,
    **extra: pl.Expr,
) -> list[pl.Expr]:
    """The expressions that turn a frame of lines into findings of `rule`."""
    base = {
        "other_code": pl.lit(None, pl.String),
        "other_line": pl.lit(None, pl.Int64),
        "limit": pl.lit(None, pl.Int64),
        "payment": pl.col("_payment"),
    } | extra
    return [
        pl.col(LINE),
        pl.col("claim_id"),
        pl.col("date_of_service"),
        pl.col("code"),
        pl.col("modifiers").list.join(" ").alias("modifiers"),
        pl.col("units"),
        pl.lit(rule).alias("rule"),
        (outcome if isinstance(outcome, pl.Expr) else pl.lit(outcome)).alias("outcome"),
        edition.alias("edition"),
        *(expr.alias(name) for name, expr in base.items()),
        message.alias("message"),
    ]


def _no_data(kind: Kind, editions: EditionSet, what: str) -> pl.Expr:
    """Why a date has no edition of `kind`, in words."""
    rows = editions.of(kind)
    if not rows:
        stored = f"no {what} edition is stored"
    else:
        last = rows[-1]
        until = "" if last.end == FOREVER else f", the newest in force until {last.last_day}"
        versions = ", ".join(e.version for e in rows)
        stored = f"stored {what} editions: {versions}, from {rows[0].start}{until}"
    return pl.format(
        "no {} edition covers {}: not checked ({})",
        pl.lit(what),
        pl.col("date_of_service"),
        pl.lit(stored),
    )


def _with_payment(judged: pl.DataFrame, editions: EditionSet, codes: list[str]) -> pl.DataFrame:
    """The fee-schedule row of each line's code and the line's national payment."""
    pfs = _table(
        editions,
        "pfs",
        [
            "hcpcs",
            "modifier",
            "status_code",
            "non_facility_total",
            "facility_total",
            "conversion_factor",
        ],
        pl.col("hcpcs").is_in(codes) & pl.col("modifier").is_null(),
        key="hcpcs",
    )
    if not pfs.height:
        return judged.with_columns(
            pl.lit(None, pl.String).alias("_status"),
            pl.lit(None, pl.Decimal(18, 2)).alias("_payment"),
        )
    facility = pl.col("place_of_service").is_in(FACILITY_POS).fill_null(False)
    rvu = pl.when(facility).then(pl.col("facility_total")).otherwise(pl.col("non_facility_total"))
    per_unit = (rvu * pl.col("conversion_factor")).round(2).cast(pl.Decimal(18, 2))
    priced = pfs.select(
        pl.col("_ei").alias(_index_column("pfs")),
        pl.col("_k").alias(CODE36),
        pl.col("status_code").alias("_status"),
        "non_facility_total",
        "facility_total",
        "conversion_factor",
    )
    on = [_index_column("pfs"), CODE36]
    out = judged.join(priced, on=on, how="left", maintain_order="left")
    return out.with_columns(
        (per_unit * pl.col("units")).cast(pl.Decimal(18, 2)).alias("_payment")
    ).drop("non_facility_total", "facility_total", "conversion_factor")


def _codes(judged: pl.DataFrame, editions: EditionSet, codes: list[str]) -> pl.DataFrame:
    """HCPCS Level II codes by the HCPCS edition; CPT codes by the fee-schedule edition."""
    hcpcs_ed, pfs_ed = pl.col(_edition_column("hcpcs")), pl.col(_edition_column("pfs"))
    hcpcs = _table(
        editions,
        "hcpcs",
        ["code", "add_date", "termination_date"],
        pl.col("code").is_in(codes) & (pl.col("record_type") == "procedure"),
    )
    level2 = judged.filter(pl.col("code").str.contains(LEVEL2))
    if hcpcs.height:
        level2 = level2.join(
            hcpcs.select(
                pl.col("_ei").alias(_index_column("hcpcs")),
                pl.col("_k").alias(CODE36),
                "add_date",
                "termination_date",
                pl.lit(True).alias("_listed"),
            ),
            on=[_index_column("hcpcs"), CODE36],
            how="left",
            maintain_order="left",
        )
    else:
        level2 = level2.with_columns(
            pl.lit(None, pl.Boolean).alias("_listed"),
            pl.lit(None, pl.Date).alias("add_date"),
            pl.lit(None, pl.Date).alias("termination_date"),
        )
    dos = _on("hcpcs")
    why = (
        pl.when(pl.col("_listed").is_null())
        .then(pl.format("{} is not in HCPCS edition {}", pl.col("code"), hcpcs_ed))
        .when(pl.col("termination_date") < dos)
        .then(
            pl.format(
                "{} was discontinued: terminated {} in HCPCS edition {}, before {}",
                pl.col("code"),
                pl.col("termination_date"),
                hcpcs_ed,
                dos,
            )
        )
        .when(pl.col("add_date") > dos)
        .then(
            pl.format(
                "{} was not yet valid: added {} in HCPCS edition {}, after {}",
                pl.col("code"),
                pl.col("add_date"),
                hcpcs_ed,
                dos,
            )
        )
    )
    level2_out = pl.concat(
        [
            level2.filter(hcpcs_ed.is_null()).select(
                _finding("hcpcs-code", "no_data", hcpcs_ed, _no_data("hcpcs", editions, "HCPCS"))
            ),
            level2.filter(hcpcs_ed.is_not_null())
            .with_columns(why.alias("_why"))
            .filter(pl.col("_why").is_not_null())
            .select(_finding("hcpcs-code", "fail", hcpcs_ed, pl.col("_why"))),
        ]
    )
    cpt = judged.filter(pl.col("code").str.contains(CPT))
    cpt_out = pl.concat(
        [
            cpt.filter(pfs_ed.is_null()).select(
                _finding("cpt-code", "no_data", pfs_ed, _no_data("pfs", editions, "fee-schedule"))
            ),
            cpt.filter(pfs_ed.is_not_null() & pl.col("_status").is_null()).select(
                _finding(
                    "cpt-code",
                    "fail",
                    pfs_ed,
                    pl.format(
                        "{} is not in fee-schedule edition {}: CPT itself is not bundled, so "
                        "absence from the fee schedule is the proxy for an invalid code (check "
                        "the code, and that the edition covers it)",
                        pl.col("code"),
                        pfs_ed,
                    ),
                )
            ),
        ]
    )
    return pl.concat([level2_out, cpt_out])


def _modifiers(judged: pl.DataFrame, editions: EditionSet, reference: Reference) -> pl.DataFrame:
    """Level II modifiers (GP, CQ, XU ...) by the HCPCS edition; CPT modifiers (59, 25 ...)
    by the reference list, which has no dates."""
    hcpcs_ed = pl.col(_edition_column("hcpcs"))
    exploded = (
        judged.filter(pl.col("modifiers").list.len() > 0)
        .select(*_finding_inputs("hcpcs"), pl.col("modifiers").alias("_modifier"))
        .explode("_modifier")
    )
    cpt_mods = list(reference.modifiers)
    level2 = exploded.filter(~pl.col("_modifier").is_in(cpt_mods))
    mods = level2["_modifier"].unique().to_list()
    table = _table(
        editions,
        "hcpcs",
        ["code", "add_date", "termination_date"],
        pl.col("code").is_in(mods) & (pl.col("record_type") == "modifier"),
    )
    if table.height:
        level2 = level2.with_columns(_packed(pl.col("_modifier")).alias("_k")).join(
            table.select(
                pl.col("_ei").alias(_index_column("hcpcs")),
                "_k",
                pl.col("add_date").alias("_mod_added"),
                pl.col("termination_date").alias("_mod_ended"),
                pl.lit(True).alias("_listed"),
            ),
            on=[_index_column("hcpcs"), "_k"],
            how="left",
            maintain_order="left",
        )
    else:
        level2 = level2.with_columns(
            pl.lit(None, pl.Boolean).alias("_listed"),
            pl.lit(None, pl.Date).alias("_mod_added"),
            pl.lit(None, pl.Date).alias("_mod_ended"),
        )
    dos = _on("hcpcs")
    why = (
        pl.when(pl.col("_listed").is_null())
        .then(
            pl.format(
                "modifier {} is not in HCPCS edition {} (nor a CPT modifier)",
                pl.col("_modifier"),
                hcpcs_ed,
            )
        )
        .when(pl.col("_mod_ended") < dos)
        .then(pl.format("modifier {} was terminated {}", pl.col("_modifier"), pl.col("_mod_ended")))
        .when(pl.col("_mod_added") > dos)
        .then(
            pl.format(
                "modifier {} was not yet valid on {}: added {} (HCPCS edition {})",
                pl.col("_modifier"),
                dos,
                pl.col("_mod_added"),
                hcpcs_ed,
            )
        )
    )
    no_data = (
        level2.filter(hcpcs_ed.is_null())
        .unique(LINE, keep="first", maintain_order=True)
        .select(_finding("modifier", "no_data", hcpcs_ed, _no_data("hcpcs", editions, "HCPCS")))
    )
    failed = (
        level2.filter(hcpcs_ed.is_not_null())
        .with_columns(why.alias("_why"))
        .filter(pl.col("_why").is_not_null())
        .select(_finding("modifier", "fail", hcpcs_ed, pl.col("_why")))
    )
    return pl.concat([no_data, failed])


def _diagnoses(judged: pl.DataFrame, editions: EditionSet) -> pl.DataFrame:
    icd_ed = pl.col(_edition_column("icd10cm"))
    exploded = (
        judged.filter(pl.col("diagnosis_codes").list.len() > 0)
        .select(*_finding_inputs("icd10cm"), pl.col("diagnosis_codes").alias("_dx"))
        .explode("_dx")
    )
    table = _table(editions, "icd10cm", ["billable"])
    if table.height:
        exploded = exploded.with_columns(_packed(pl.col("_dx")).alias("_k")).join(
            table.select(
                pl.col("_ei").alias(_index_column("icd10cm")),
                "_k",
                pl.col("billable").alias("_billable"),
            ),
            on=[_index_column("icd10cm"), "_k"],
            how="left",
            maintain_order="left",
        )
    else:
        exploded = exploded.with_columns(pl.lit(None, pl.Boolean).alias("_billable"))
    no_data = (
        exploded.filter(icd_ed.is_null())
        .unique(LINE, keep="first", maintain_order=True)
        .select(
            _finding("diagnosis", "no_data", icd_ed, _no_data("icd10cm", editions, "ICD-10-CM"))
        )
    )
    failed = exploded.filter(icd_ed.is_not_null() & ~pl.col("_billable").fill_null(False)).select(
        _finding(
            "diagnosis",
            "fail",
            icd_ed,
            pl.when(pl.col("_billable").is_null())
            .then(
                pl.format(
                    "diagnosis {} is not a billable code in ICD-10-CM edition {} (not listed, "
                    "or a category that needs more characters)",
                    pl.col("_dx"),
                    icd_ed,
                )
            )
            .otherwise(
                pl.format(
                    "diagnosis {} is a header code in ICD-10-CM edition {}: bill a more "
                    "specific code",
                    pl.col("_dx"),
                    icd_ed,
                )
            ),
            other_code=pl.col("_dx"),
        )
    )
    return pl.concat([no_data, failed])


def _payable(judged: pl.DataFrame, reference: Reference) -> pl.DataFrame:
    """Codes the fee-schedule edition of the date lists with a status Medicare does not pay."""
    pfs_ed = pl.col(_edition_column("pfs"))
    unpaid = judged.filter(
        pl.col("_status").is_not_null() & ~pl.col("_status").is_in(sorted(PAYABLE))
    )
    if not unpaid.height:
        return unpaid
    codes = unpaid["code"].unique().to_list()
    advice = {c: reference.advice(c) or "" for c in codes}
    meaning = pl.col("_status").replace_strict(STATUS_CODES, default="unknown status")
    return unpaid.select(
        _finding(
            "payable",
            "fail",
            pfs_ed,
            pl.format(
                "{} has fee-schedule status {} ({}) in {}: Medicare does not pay it under the "
                "fee schedule. {}",
                pl.col("code"),
                pl.col("_status"),
                meaning,
                pfs_ed,
                pl.col("code").replace_strict(advice, default=""),
            ).str.strip_chars(),
        )
    )


def _ptp(judged: pl.DataFrame, editions: EditionSet, codes: list[str]) -> pl.DataFrame:
    """Pairs of lines on one claim and date that form an active NCCI PTP edit.

    The finding is on the column-2 line (the one the edit denies); indicator 0 fails
    whatever the modifiers, indicator 1 is bypassed by a PTP-accepted modifier on the
    column-2 line, indicator 9 does not apply."""
    ptp_ed = pl.col(_edition_column("ptp"))
    shared = judged.filter(ptp_ed.is_null())
    shared = shared.filter(pl.col("code").n_unique().over(GROUP) > 1)
    no_data = shared.select(
        _finding("ncci-ptp", "no_data", ptp_ed, _no_data("ptp", editions, "NCCI PTP"))
    )
    # Pairs of lines within a claim and date first (a claim has a handful of lines), then
    # the edits those pairs form: a popular column-1 code heads thousands of edits, so
    # joining the edits first would multiply every one of its lines by them. Both joins
    # are on integers (claim and date; the two codes packed into one); the lines' details
    # are joined back to the few pairs that are edits.
    found: list[pl.DataFrame] = []
    for index, edition in enumerate(editions.of("ptp")):
        lines = judged.filter(pl.col(_index_column("ptp")) == index)
        if not lines.height:
            continue
        packing, stored = _pair_packing(edition.snapshot)
        # A pair's key is packing(code 1, null) + packing(null, code 2): the packed key is
        # (column 1's value) * (column 2's range) + (column 2's value), a null packing to 0.
        lines = lines.with_columns(pl.lit(None, pl.String).alias("_none")).select(
            GROUP,
            LINE,
            packing.expr(["code", "_none"]).alias("_as1"),
            packing.expr(["_none", "code"]).alias("_as2"),
        )
        pairs = (
            lines.select(GROUP, pl.col(LINE).alias("_line1"), "_as1")
            .join(lines.select(GROUP, LINE, "_as2"), on=GROUP)
            .filter(pl.col("_line1") != pl.col(LINE))
            .select(LINE, "_line1", (pl.col("_as1") + pl.col("_as2")).alias(KEY_COLUMN))
        )
        wanted = pl.col("modifier_indicator") != "9"
        if len(codes) <= FEW_CODES:  # a clinic's file: read only the edits between its codes
            wanted = wanted & pl.col("column1").is_in(codes) & pl.col("column2").is_in(codes)
        key = pl.col(KEY_COLUMN) if stored else packing.expr(["column1", "column2"])
        edits = (
            pl.scan_parquet(edition.snapshot.data_path)
            .filter(wanted)
            .select(key.alias(KEY_COLUMN), "effective_date", "deletion_date", "modifier_indicator")
            .collect()
        )
        found.append(pairs.join(edits, on=KEY_COLUMN))
    if not found:
        return no_data
    details = judged.select(
        LINE, "claim_id", "date_of_service", "code", "modifiers", "_modtext", "units",
        "_payment", "_on_ptp", _edition_column("ptp"),
    )  # fmt: skip
    pairs = (
        pl.concat(found)
        .join(details, on=LINE)
        .join(
            judged.select(pl.col(LINE).alias("_line1"), pl.col("code").alias("_code1")), on="_line1"
        )
    )
    dos = _on("ptp")
    active = (pl.col("effective_date") <= dos) & (
        pl.col("deletion_date").is_null() | (dos <= pl.col("deletion_date"))
    )
    pairs = pairs.filter(active)
    accepted = pl.col("modifiers").list.set_intersection(list(PTP_MODIFIERS))
    bypass = (pl.col("modifier_indicator") == "1") & pl.col("_modtext").str.contains(
        " (?:" + "|".join(PTP_MODIFIERS) + ") "
    )
    outcome = pl.when(bypass).then(pl.lit("bypassed")).otherwise(pl.lit("fail"))
    message = (
        pl.when(pl.col("modifier_indicator") == "0")
        .then(
            pl.format(
                "{} with {} on one claim and date: NCCI PTP edit (column 1 {}, column 2 {}, "
                "in force since {}) in {}, modifier indicator 0: no modifier bypasses it",
                pl.col("code"),
                pl.col("_code1"),
                pl.col("_code1"),
                pl.col("code"),
                pl.col("effective_date"),
                ptp_ed,
            )
        )
        .when(bypass)
        .then(
            pl.format(
                "{} with {} on one claim and date: NCCI PTP edit (column 1 {}, column 2 {}, "
                "in force since {}) in {}, modifier indicator 1: bypassed by modifier {} on {}",
                pl.col("code"),
                pl.col("_code1"),
                pl.col("_code1"),
                pl.col("code"),
                pl.col("effective_date"),
                ptp_ed,
                accepted.list.join(" "),
                pl.col("code"),
            )
        )
        .otherwise(
            pl.format(
                "{} with {} on one claim and date: NCCI PTP edit (column 1 {}, column 2 {}, "
                "in force since {}) in {}, modifier indicator 1, and no PTP-accepted modifier "
                "(59, XE, XS, XP, XU, anatomic or global-surgery) on {}",
                pl.col("code"),
                pl.col("_code1"),
                pl.col("_code1"),
                pl.col("code"),
                pl.col("effective_date"),
                ptp_ed,
                pl.col("code"),
            )
        )
    )
    return pl.concat(
        [
            no_data,
            pairs.select(
                _finding(
                    "ncci-ptp",
                    outcome,
                    ptp_ed,
                    message,
                    other_code=pl.col("_code1"),
                    other_line=pl.col("_line1"),
                )
            ),
        ]
    )


def _pair_packing(snapshot: Snapshot) -> tuple[KeyPacking, bool]:
    """How to pack (column 1, column 2) into one integer: as the snapshot's stored key was
    packed, if it has one (an NCCI-scale edition: its key column is then read as it is),
    else at five characters each."""
    index = snapshot.manifest.index
    packing = KeyPacking.parse(index.key) if index is not None else None
    if packing is not None and packing.ordered:
        return packing, True
    return KeyPacking((5, 5)), False


def _mue(judged: pl.DataFrame, editions: EditionSet, codes: list[str]) -> pl.DataFrame:
    """Units above the MUE: per line (indicator 1) or per claim and date (2 and 3; the
    claim stands in for the beneficiary, whom a claims file without identifiers cannot name)."""
    mue_ed = pl.col(_edition_column("mue"))
    no_data = judged.filter(mue_ed.is_null()).select(
        _finding("mue", "no_data", mue_ed, _no_data("mue", editions, "MUE"))
    )
    table = _table(
        editions,
        "mue",
        ["code", "mue_value", "adjudication_indicator", "rationale"],
        pl.col("code").is_in(codes),
    )
    if not table.height:
        return no_data
    joined = judged.filter(mue_ed.is_not_null()).join(
        table.drop("code").rename({"_ei": _index_column("mue"), "_k": CODE36}),
        on=[_index_column("mue"), CODE36],
    )
    per_day = pl.col("units").sum().over(GROUP, CODE36)
    counted = (
        pl.when(pl.col("adjudication_indicator") == "1").then(pl.col("units")).otherwise(per_day)
    )
    joined = joined.with_columns(counted.alias("_counted"))
    failed = joined.filter(pl.col("_counted") > pl.col("mue_value")).select(
        _finding(
            "mue",
            "fail",
            mue_ed,
            pl.format(
                "{} units of {} {} exceed the MUE of {} in {} (adjudication indicator {}: {}; "
                "rationale: {})",
                pl.col("_counted"),
                pl.col("code"),
                pl.when(pl.col("adjudication_indicator") == "1")
                .then(pl.lit("on this line"))
                .otherwise(pl.lit("on this claim and date")),
                pl.col("mue_value"),
                mue_ed,
                pl.col("adjudication_indicator"),
                pl.col("adjudication_indicator").replace_strict(
                    {
                        "1": "claim line edit",
                        "2": "date of service edit: policy",
                        "3": "date of service edit: clinical",
                    },
                    default="",
                ),
                pl.col("rationale"),
            ),
            limit=pl.col("mue_value").cast(pl.Int64),
        )
    )
    return pl.concat([no_data, failed])


def _therapy(judged: pl.DataFrame) -> pl.DataFrame:
    """An always-therapy code without its discipline; CQ without GP, CO without GO."""
    mods = pl.col("_modtext")
    discipline = mods.str.contains(" (?:GP|GO|GN) ")
    always = pl.col("code").is_in(list(therapy_codes()))
    why = (
        pl.when(always & ~discipline)
        .then(
            pl.format(
                "{} is an always-therapy code: Medicare needs GP, GO or GN on the line",
                pl.col("code"),
            )
        )
        .when(mods.str.contains(" CQ ", literal=True) & ~mods.str.contains(" GP ", literal=True))
        .then(pl.lit("CQ (physical therapist assistant) without GP on the line"))
        .when(mods.str.contains(" CO ", literal=True) & ~mods.str.contains(" GO ", literal=True))
        .then(pl.lit("CO (occupational therapy assistant) without GO on the line"))
    )
    return (
        judged.with_columns(why.alias("_why"))
        .filter(pl.col("_why").is_not_null())
        .select(_finding("therapy-modifier", "fail", pl.lit(THERAPY_LIST), pl.col("_why")))
    )
