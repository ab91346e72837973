"""The claims check at scale: one million claim lines against an NCCI-scale PTP edition.

`python -m bench.claims STEP WORKDIR` runs one measured step in a fresh interpreter (the
same protocol as `bench.steps`); `measure(workdir, ptp_file)` is the runner's hook: it
prepares a store (the generated 2.5M-pair PTP edition, a generated MUE table in CMS's
layout, and the bundled HCPCS, ICD-10-CM and fee-schedule snapshots), generates the
claims, times our check and the same checks in DuckDB SQL, and fails loudly unless both
find the same findings (line, rule, outcome).

The claims are dated in 2025's second quarter and their codes come from the generated PTP
edition's pool, so the bench stores, as bench data only, an HCPCS edition `2025` (the
bundled 2020 rows plus the pool's Level II codes) and a fee-schedule edition `RVU25B` (the
bundled PT/OT rows plus every other pool code, mostly payable): every kind then has an
edition in force, most lines pass, and every rule does its full work.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench.measure import Measurement

#: Claim lines (`CLAIMS_BENCH_LINES` overrides, for a quick try).
LINES = int(os.environ.get("CLAIMS_BENCH_LINES", 1_000_000))
SEED = 20250402
ROUNDS = 3
DATES = (date(2025, 4, 1), date(2025, 6, 30))
MUE_NAME = "MCR_MUE_PractitionerServices_Eff_04-01-2025.csv"
CLAIMS_NAME = "claims-1M.csv"
STEPS = ("claims-ours", "claims-duckdb")
REPO = Path(__file__).resolve().parent.parent
#: Modifiers drawn for claim lines (with their weights).
MODIFIERS = (
    ("GP", 40),
    ("GO", 15),
    ("59", 6),
    ("XU", 4),
    ("CQ", 3),
    ("25", 3),
    ("RT", 2),
    ("", 27),
)
THERAPY = ("97110", "97530", "97140", "97112", "97116", "97535", "97161", "97014", "97035")


def _paths(root: Path) -> dict[str, Path]:
    return {
        "store": root / "store-claims",
        "claims": root / CLAIMS_NAME,
        "mue": root / MUE_NAME,
        "ours": root / "claims-found-ours.parquet",
        "duckdb": root / "claims-found-duckdb.parquet",
    }


# --- Generation ---------------------------------------------------------------------------


def prepare(root: Path, ptp_file: Path) -> None:
    """The store and the claims file (not timed)."""
    from pipeline.codesets import builtin
    from pipeline.project.ingest import ingest
    from pipeline.store import SourceInfo, Store

    paths = _paths(root)
    shutil.rmtree(paths["store"], ignore_errors=True)
    store = Store(paths["store"])
    ingest(store, builtin()["ncci-ptp"], ptp_file, "2025Q2", DATES[0])
    ptp = store.get("ncci-ptp", "2025Q2").frame(["column1", "column2", "modifier_indicator"])
    codes = pl.concat([ptp["column1"], ptp["column2"]]).unique().sort()
    paths["mue"].write_bytes(_mue_table(codes))
    ingest(store, builtin()["mue"], paths["mue"], "2025Q2", DATES[0])
    bundled = Store(REPO / "snapshots")
    icd = bundled.get("icd10cm", "FY2025")
    shutil.copytree(icd.path, store.root / "icd10cm" / "FY2025")
    info = SourceInfo(name="bench data", sha256="0" * 64, bytes=0)
    hcpcs = bundled.get("hcpcs", "2020").frame()
    store.put("hcpcs", "2025", date(2025, 1, 1), _hcpcs(hcpcs, codes), ("code",), info)
    pfs = bundled.get("pfs-rvu", "RVU25A").frame()
    store.put("pfs-rvu", "RVU25B", DATES[0], _fee_schedule(pfs, codes), ("hcpcs", "modifier"), info)
    level2 = hcpcs.filter(
        (pl.col("record_type") == "procedure") & pl.col("termination_date").is_null()
    )["code"]
    _claims(ptp, codes, icd.frame(["code"])["code"], level2).write_csv(paths["claims"])


def _hcpcs(real: pl.DataFrame, codes: pl.Series) -> pl.DataFrame:
    """The bundled 2020 rows relabelled 2025, plus the pool's Level II codes (bench data)."""
    level2 = codes.filter(codes.str.contains(r"^[A-V][0-9]{4}$") & ~codes.is_in(real["code"]))
    extra = pl.DataFrame({"code": level2}).with_columns(
        pl.lit("procedure").alias("record_type"), pl.lit(date(2000, 1, 1)).alias("add_date")
    )
    return pl.concat([real, extra], how="diagonal_relaxed").sort("code")


def _fee_schedule(real: pl.DataFrame, codes: pl.Series) -> pl.DataFrame:
    """The bundled PT/OT rows plus every other pool code, mostly payable (bench data)."""
    rng = np.random.default_rng(SEED + 1)
    others = codes.filter(~codes.is_in(real["hcpcs"]))
    n = others.len()
    rvu = pl.Series(np.round(rng.gamma(2.0, 1.5, n), 2)).cast(pl.String).str.to_decimal(scale=2)
    extra = pl.DataFrame(
        {
            "hcpcs": others,
            "status_code": rng.choice(
                ["A", "N", "I", "B", "C"], n, p=[0.9, 0.03, 0.02, 0.03, 0.02]
            ),
            "non_facility_total": rvu,
            "facility_total": rvu,
        }
    ).with_columns(pl.lit("32.3465").str.to_decimal(scale=4).alias("conversion_factor"))
    table = pl.concat([real, extra], how="diagonal_relaxed")
    return table.with_columns(
        pl.col("non_facility_total", "facility_total").cast(pl.Decimal(38, 2)),
        pl.col("conversion_factor").cast(pl.Decimal(38, 4)),
    ).sort("hcpcs")


def _mue_table(codes: pl.Series) -> bytes:
    """An MUE table in CMS's layout (notice, header, one row per code): bench data."""
    rng = np.random.default_rng(SEED)
    n = codes.len()
    indicator = rng.choice(
        ["1 Line Edit", "2 Date of Service Edit: Policy", "3 Date of Service Edit: Clinical"],
        n,
        p=[0.2, 0.3, 0.5],
    )
    values = rng.choice([1, 2, 3, 4, 6, 8, 12], n, p=[0.1, 0.15, 0.15, 0.2, 0.2, 0.1, 0.1])
    frame = pl.DataFrame(
        {"code": codes, "value": values, "indicator": indicator, "rationale": "Clinical: Data"}
    )
    notice = '"Current Procedural Terminology (CPT) codes ... (bench data)",,,\r\n'
    header = (
        '"HCPCS/\nCPT Code",Practitioner Services MUE Values,MUE Adjudication Indicator,'
        "MUE Rationale\r\n"
    )
    body = frame.write_csv(include_header=False, line_terminator="\r\n")
    return (notice + header + body).encode("latin-1")


def _claims(ptp: pl.DataFrame, codes: pl.Series, icd: pl.Series, level2: pl.Series) -> pl.DataFrame:
    """One million lines: claims of 2-6 lines on one date, codes drawn so that many pairs on a
    claim are NCCI edits (half the lines come in edited pairs), modifiers, units 1-4, one or
    two diagnoses; a few codes are Level II and therapy codes, a few diagnoses are invalid."""
    rng = np.random.default_rng(SEED)
    sizes = rng.integers(2, 7, LINES // 2)
    sizes = sizes[: np.searchsorted(np.cumsum(sizes), LINES) + 1]
    sizes[-1] -= int(sizes.sum()) - LINES
    claims = np.repeat(np.arange(sizes.size), sizes)
    days = (DATES[1] - DATES[0]).days + 1
    claim_day = rng.integers(0, days, sizes.size)
    # Half the lines: pairs of an edit, both codes on the same claim.
    pick = rng.integers(0, ptp.height, LINES // 2 + 1)
    pairs = np.empty(LINES + 2, dtype=object)
    pairs[0::2][: pick.size] = ptp["column1"].to_numpy()[pick]
    pairs[1::2][: pick.size] = ptp["column2"].to_numpy()[pick]
    code = pairs[:LINES]
    other = rng.random(LINES)
    code = np.where(other < 0.4, rng.choice(codes.to_numpy(), LINES), code)
    code = np.where(other < 0.1, rng.choice(np.array(THERAPY, dtype=object), LINES), code)
    code = np.where(other < 0.02, rng.choice(level2.to_numpy(), LINES), code)
    names, weights = zip(*MODIFIERS, strict=True)
    p = np.array(weights, dtype=float) / sum(weights)
    first = rng.choice(np.array(names, dtype=object), LINES, p=p)
    second = np.where(
        rng.random(LINES) < 0.15, rng.choice(np.array(names, dtype=object), LINES, p=p), ""
    )
    mods = pl.Series(first) + pl.Series(np.where(second != "", " " + second.astype(str), ""))
    dx_pool = icd.sample(2000, seed=SEED).to_numpy()
    dx = rng.choice(dx_pool, LINES)
    dx = np.where(rng.random(LINES) < 0.01, "M545", dx)
    day = np.datetime64(DATES[0].isoformat()) + claim_day[claims].astype("timedelta64[D]")
    return pl.DataFrame(
        {
            "claim_id": pl.Series(claims).cast(pl.String).str.pad_start(7, "0"),
            "date_of_service": pl.Series(day).cast(pl.Date),
            "code": pl.Series(code, dtype=pl.String),
            "modifiers": mods.str.strip_chars(),
            "units": rng.choice([1, 2, 3, 4], LINES, p=[0.6, 0.25, 0.1, 0.05]),
            "diagnosis_codes": pl.Series(dx, dtype=pl.String),
            "place_of_service": "11",
        }
    )


# --- The two approaches -------------------------------------------------------------------


def ours(root: Path) -> pl.DataFrame:
    """Read and validate the claims, find the editions, run every rule."""
    from pipeline.claims import check_lines, in_force, read_claims
    from pipeline.config import Config
    from pipeline.store import Store

    paths = _paths(root)
    editions = in_force(Store(paths["store"]), Config(path=None, codesets={}))
    return check_lines(read_claims(paths["claims"]), editions)


def duckdb_sql(root: Path) -> Any:
    """The same rules in DuckDB SQL: range joins on the windows, a self-join for pairs."""
    import duckdb

    from pipeline.analysis.reference import load_reference
    from pipeline.claims import in_force
    from pipeline.claims.check import DISCIPLINES, PAYABLE, PTP_MODIFIERS, therapy_codes
    from pipeline.config import Config
    from pipeline.store import Store

    paths = _paths(root)
    editions = in_force(Store(paths["store"]), Config(path=None, codesets={}))
    con = duckdb.connect()

    def q(items: Any) -> str:
        return ", ".join(f"'{i}'" for i in items)

    windows = []
    sources: dict[str, list[str]] = {}
    for kind, rows in editions.editions.items():
        for e in rows:
            windows.append(f"('{kind}', '{e.label}', DATE '{e.start}', DATE '{e.end}')")
            sources.setdefault(kind, []).append(
                f"SELECT *, '{e.label}' AS edition FROM read_parquet('{e.snapshot.data_path}')"
            )
    for kind, selects in sources.items():
        con.execute(f"CREATE VIEW t_{kind} AS {' UNION ALL '.join(selects)}")
    con.execute(
        f"CREATE TABLE windows AS SELECT * FROM (VALUES {', '.join(windows)}) "
        "w(kind, edition, s, e)"
    )
    con.execute(
        f"""
        CREATE TABLE raw AS SELECT row_number() OVER () + 1 AS line, * FROM
          read_csv('{paths["claims"]}', all_varchar = true, header = true);
        CREATE TABLE lines AS SELECT line, claim_id, CAST(date_of_service AS DATE) AS dos, code,
          list_filter(string_split(coalesce(modifiers, ''), ' '), lambda x: x <> '') AS mods,
          CAST(units AS BIGINT) AS units,
          list_filter(string_split(replace(coalesce(diagnosis_codes, ''), '.', ''), ';'),
            lambda x: x <> '') AS dx
          FROM raw;
        CREATE TABLE dates AS SELECT DISTINCT dos FROM lines;
        CREATE TABLE de AS SELECT d.dos,
          max(CASE WHEN w.kind = 'hcpcs' THEN w.edition END) AS ed_hcpcs,
          max(CASE WHEN w.kind = 'icd10cm' THEN w.edition END) AS ed_icd,
          max(CASE WHEN w.kind = 'pfs' THEN w.edition END) AS ed_pfs,
          max(CASE WHEN w.kind = 'ptp' THEN w.edition END) AS ed_ptp,
          max(CASE WHEN w.kind = 'mue' THEN w.edition END) AS ed_mue
          FROM dates d LEFT JOIN windows w ON d.dos >= w.s AND d.dos < w.e GROUP BY d.dos;
        CREATE TABLE j AS SELECT l.*, de.ed_hcpcs, de.ed_icd, de.ed_pfs, de.ed_ptp, de.ed_mue,
          p.status_code AS status
          FROM lines l JOIN de USING (dos)
          LEFT JOIN t_pfs p ON p.edition = de.ed_pfs AND p.hcpcs = l.code AND p.modifier IS NULL;
        """
    )
    cpt_mods = q(load_reference().modifiers)
    findings = f"""
    SELECT line, 'hcpcs-code' AS rule,
        CASE WHEN ed_hcpcs IS NULL THEN 'no_data' ELSE 'fail' END AS outcome
      FROM j LEFT JOIN (SELECT * FROM t_hcpcs WHERE record_type = 'procedure') h
        ON h.edition = j.ed_hcpcs AND h.code = j.code
      WHERE regexp_full_match(j.code, '[A-V][0-9]{{4}}')
        AND (ed_hcpcs IS NULL OR h.code IS NULL OR h.termination_date < dos OR h.add_date > dos)
    UNION ALL
    SELECT line, 'cpt-code', CASE WHEN ed_pfs IS NULL THEN 'no_data' ELSE 'fail' END FROM j
      WHERE regexp_full_match(code, '[0-9]{{4}}[0-9A-Z]') AND (ed_pfs IS NULL OR status IS NULL)
    UNION ALL
    SELECT DISTINCT line, 'modifier', 'no_data'
      FROM (SELECT line, ed_hcpcs, unnest(mods) AS m FROM j)
      WHERE m NOT IN ({cpt_mods}) AND ed_hcpcs IS NULL
    UNION ALL
    SELECT line, 'modifier', 'fail' FROM (SELECT line, dos, ed_hcpcs, unnest(mods) AS m FROM j) x
      LEFT JOIN (SELECT * FROM t_hcpcs WHERE record_type = 'modifier') h
        ON h.edition = x.ed_hcpcs AND h.code = x.m
      WHERE x.m NOT IN ({cpt_mods}) AND x.ed_hcpcs IS NOT NULL
        AND (h.code IS NULL OR h.termination_date < x.dos OR h.add_date > x.dos)
    UNION ALL
    SELECT DISTINCT line, 'diagnosis', 'no_data' FROM j WHERE len(dx) > 0 AND ed_icd IS NULL
    UNION ALL
    SELECT line, 'diagnosis', 'fail' FROM (SELECT line, ed_icd, unnest(dx) AS d FROM j) x
      LEFT JOIN t_icd10cm i ON i.edition = x.ed_icd AND i.code = x.d
      WHERE x.ed_icd IS NOT NULL AND NOT coalesce(i.billable, false)
    UNION ALL
    SELECT line, 'payable', 'fail' FROM j WHERE status IS NOT NULL AND status NOT IN ({q(PAYABLE)})
    UNION ALL
    SELECT line, 'ncci-ptp', 'no_data' FROM shared WHERE ed_ptp IS NULL
    UNION ALL
    SELECT p.line, 'ncci-ptp',
        CASE WHEN t.modifier_indicator = '1'
               AND len(list_intersect(p.mods, [{q(PTP_MODIFIERS)}])) > 0
             THEN 'bypassed' ELSE 'fail' END
      FROM pairs p
      JOIN t_ptp t ON t.edition = p.ed_ptp AND t.column1 = p.code1 AND t.column2 = p.code
      WHERE t.modifier_indicator <> '9' AND t.effective_date <= p.dos
        AND (t.deletion_date IS NULL OR p.dos <= t.deletion_date)
    UNION ALL
    SELECT line, 'mue', 'no_data' FROM j WHERE ed_mue IS NULL
    UNION ALL
    SELECT line, 'mue', 'fail' FROM (
      SELECT j.line, j.units, m.mue_value, m.adjudication_indicator,
        sum(j.units) OVER (PARTITION BY j.claim_id, j.dos, j.code) AS day_units
      FROM j JOIN t_mue m ON m.edition = j.ed_mue AND m.code = j.code)
      WHERE CASE WHEN adjudication_indicator = '1' THEN units ELSE day_units END > mue_value
    UNION ALL
    SELECT line, 'therapy-modifier', 'fail' FROM j
      WHERE (code IN ({q(therapy_codes())}) AND len(list_intersect(mods, [{q(DISCIPLINES)}])) = 0)
         OR (list_contains(mods, 'CQ') AND NOT list_contains(mods, 'GP'))
         OR (list_contains(mods, 'CO') AND NOT list_contains(mods, 'GO'))
    """
    con.execute(
        """CREATE TABLE shared AS SELECT j.* FROM j JOIN (SELECT claim_id, dos FROM j
             GROUP BY claim_id, dos HAVING count(DISTINCT code) > 1) USING (claim_id, dos);
           CREATE TABLE pairs AS SELECT a.line AS line1, a.code AS code1, b.*
             FROM shared a JOIN shared b ON a.claim_id = b.claim_id AND a.dos = b.dos
             WHERE a.line <> b.line AND a.code <> b.code AND b.ed_ptp IS NOT NULL"""
    )
    return pl.from_arrow(con.sql(f"SELECT * FROM ({findings})").to_arrow_table())


# --- Steps and measurement ----------------------------------------------------------------


def _counts(frame: pl.DataFrame) -> pl.DataFrame:
    line = "_line" if "_line" in frame.columns else "line"
    return (
        frame.rename({line: "line"})
        .group_by("rule", "outcome")
        .agg(pl.len().alias("n"), pl.col("line").cast(pl.Int64).sum().alias("line_sum"))
        .sort("rule", "outcome")
    )


def step(name: str, root: Path) -> None:
    """One timed run in this interpreter; prints one JSON line like `bench.steps`."""
    from bench.steps import peak_rss_mb

    paths = _paths(root)
    if name == "claims-duckdb":
        import duckdb  # noqa: F401  (the import is paid before the clock)

        work = duckdb_sql
    elif name == "claims-ours":
        import pipeline.claims  # noqa: F401

        work = ours
    else:
        raise SystemExit(f"unknown step {name!r}")
    start = time.perf_counter()
    found = work(root)
    seconds = time.perf_counter() - start
    _counts(found).write_parquet(paths["ours" if name == "claims-ours" else "duckdb"])
    print(json.dumps({"step": name, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


def _run(name: str, root: Path, into: Measurement) -> None:
    import subprocess

    begun = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.claims", name, str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bench step {name} failed:\n{done.stdout}{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    into.seconds.append(report["seconds"])
    into.peak_rss_mb.append(report["peak_rss_mb"])
    into.wall.append(time.perf_counter() - begun)


def measure(root: Path, ptp_file: Path, rounds: int = ROUNDS) -> dict[str, Measurement]:
    """The runner's hook: prepare, time both approaches in rounds, check they agree."""
    print(f"claims: preparing {LINES:,} claim lines and the store ...", flush=True)
    prepare(root, ptp_file)
    found = {s: Measurement(s) for s in STEPS}
    print(f"claims: measuring our check and DuckDB SQL, {rounds} rounds ...", flush=True)
    for _ in range(rounds):
        for s in STEPS:
            _run(s, root, found[s])
    paths = _paths(root)
    mine, theirs = pl.read_parquet(paths["ours"]), pl.read_parquet(paths["duckdb"])
    if not mine.equals(theirs):
        raise AssertionError(f"the claims check and DuckDB disagree:\n{mine}\n{theirs}")
    print(f"claims: both found the same findings\n{mine}", flush=True)
    return found


def results(found: dict[str, Measurement]) -> dict[str, Any]:
    """The `claims.` keys of bench/results.json."""
    ours_m, duck = found["claims-ours"], found["claims-duckdb"]
    return {
        "lines": LINES,
        "ours_s": round(ours_m.median_s, 3),
        "duckdb_s": round(duck.median_s, 3),
        "ours_lines_per_s": round(LINES / ours_m.median_s),
        "duckdb_lines_per_s": round(LINES / duck.median_s),
        "ours_vs_duckdb": round(ours_m.median_s / duck.median_s, 3),
        "peak_rss_mb": round(ours_m.peak_mb, 1),
        "duckdb_peak_rss_mb": round(duck.peak_mb, 1),
        "steps": {s: m.to_dict() for s, m in found.items()},
    }


def targets(found: dict[str, Measurement]) -> list[Any]:
    """The targets: ours at most 1.0x DuckDB in the same run, peak RSS <= 1.5 GB."""
    from bench.runner import Target

    r = results(found)
    return [
        Target("Claims check: ours / DuckDB SQL", r["ours_vs_duckdb"], 1.0),
        Target("Claims check peak RSS, GB", r["peak_rss_mb"] / 1000, 1.5),
    ]


def table(found: dict[str, Measurement]) -> str:
    r = results(found)
    return "\n".join(
        [
            f"Claims check: {LINES:,} claim lines against a PTP edition, an MUE table and the "
            "HCPCS, ICD-10-CM and fee-schedule editions",
            f"  {'ours: read + check':38} {r['ours_s']:9.3f} s "
            f"{r['ours_lines_per_s']:>10,} lines/s "
            f"{r['peak_rss_mb']:8.0f} MB",
            f"  {'DuckDB SQL, same rules':38} {r['duckdb_s']:9.3f} s "
            f"{r['duckdb_lines_per_s']:>10,} lines/s "
            f"{r['duckdb_peak_rss_mb']:8.0f} MB",
            f"  ours / DuckDB: {r['ours_vs_duckdb']:.2f}x",
        ]
    )


if __name__ == "__main__":
    step(sys.argv[1], Path(sys.argv[2]))
