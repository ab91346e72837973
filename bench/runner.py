"""The bench: generate, run every step in rounds, check the answers, report, save."""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench import claims, icd_data, ncci_data
from bench.check import check
from bench.measure import Measurement, help_time, loadavg, run_rounds, run_step
from bench.workdir import Workdir

RESULTS = Path(__file__).with_name("results.json")
NCCI_ROUNDS, ICD_ROUNDS = 3, 5
NCCI_STEPS = [
    "ncci-full",
    "duckdb",
    "polars_lazy",
    "pandas",
    "ncci-read",
    "ncci-ingest",
    "ncci-diff",
    "ncci-render",
    "ncci-cycle",
]
ICD_STEPS = ["icd-cycle", "icd-ingest", "icd-diff", "icd-render"]


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    at_least: bool = False

    @property
    def ok(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def line(self) -> str:
        op = ">=" if self.at_least else "<="
        mark = "ok  " if self.ok else "MISS"
        return f"  [{mark}] {self.name}: {self.value:.2f} {op} {self.limit:g}"


def main() -> None:
    started, load_before = time.perf_counter(), loadavg()
    with tempfile.TemporaryDirectory(prefix="codeset-bench-") as tmp:
        work = Workdir(Path(tmp))
        print(f"generating editions in {tmp} (load {load_before}) ...", flush=True)
        ncci = ncci_data.generate(work.root)
        icd_data.generate(work.root)
        run_step("prepare", work.root)
        print(f"measuring NCCI steps, {NCCI_ROUNDS} rounds ...", flush=True)
        found = run_rounds(NCCI_STEPS, NCCI_ROUNDS, work.root)
        check(work, ncci.truth, ["ours", "duckdb", "polars_lazy", "pandas"])
        print("every approach found the same added, deleted and changed pairs", flush=True)
        print(f"measuring ICD-10-CM steps, {ICD_ROUNDS} rounds ...", flush=True)
        found.update(run_rounds(ICD_STEPS, ICD_ROUNDS, work.root))
        found_claims = claims.measure(work.root, work.ncci_new)  # bench/claims.py
    found["help"] = help_time(5)
    load_after = loadavg()
    targets = _targets(found) + claims.targets(found_claims)
    print(_table(found, load_before, load_after))
    print(claims.table(found_claims))
    print("targets:")
    for target in targets:
        print(target.line())
    results = _results(found, targets, load_before, load_after)
    results["claims"] = claims.results(found_claims)
    results["bench_s"] = round(time.perf_counter() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS} ({results['bench_s']} s)")


def _targets(m: dict[str, Measurement]) -> list[Target]:
    ours = m["ncci-full"].median_s
    fastest = min(m["duckdb"].median_s, m["polars_lazy"].median_s)
    return [
        Target(
            "NCCI diff / read both snapshots", m["ncci-diff"].median_s / m["ncci-read"].median_s, 2
        ),
        Target("NCCI full path: fastest baseline / ours", fastest / ours, 2, at_least=True),
        Target("NCCI full path: pandas / ours", m["pandas"].median_s / ours, 8, at_least=True),
        Target("NCCI full path peak RSS, GB", m["ncci-full"].peak_mb / 1000, 1.2),
        Target("ICD-10-CM full cycle, s", m["icd-cycle"].median_s, 1.0),
        Target("codeset --help, s", m["help"].median_s, 0.3),
    ]


_LABELS = {
    "ncci-full": "ours: ingest both + diff",
    "duckdb": "DuckDB SQL",
    "polars_lazy": "polars lazy (streaming)",
    "pandas": "pandas merge",
    "ncci-read": "ours: read both snapshots",
    "ncci-ingest": "ours: ingest both raw editions",
    "ncci-diff": "ours: diff two snapshots",
    "ncci-render": "ours: render three reports",
    "ncci-cycle": "ours: ingest + diff + render",
    "icd-cycle": "ours: ingest + diff + render",
    "icd-ingest": "ours: ingest both raw editions",
    "icd-diff": "ours: diff two snapshots",
    "icd-render": "ours: render three reports",
    "help": "codeset --help (whole process)",
}


def _table(m: dict[str, Measurement], load_before: str, load_after: str) -> str:
    ours = m["ncci-full"].median_s
    lines = [
        f"load average before {load_before}, after {load_after}; {os.cpu_count()} CPUs",
        f"{'approach':40} {'median s':>9} {'wall s':>8} {'peak MB':>8} {'x ours':>7}",
    ]
    for title, steps in (
        (f"NCCI PTP, {ncci_data.ROWS:,} pairs per edition", NCCI_STEPS),
        (f"ICD-10-CM, {icd_data.CODES:,} codes per edition", ICD_STEPS),
        ("CLI", ["help"]),
    ):
        lines.append(title)
        for step in steps:
            s = m[step]
            ratio = f"{s.median_s / ours:7.2f}" if step in NCCI_STEPS[:4] else ""
            lines.append(
                f"  {_LABELS[step]:38} {s.median_s:9.3f} {s.median_wall_s:8.3f} "
                f"{s.peak_mb:8.0f} {ratio:>7}"
            )
    return "\n".join(lines)


def _results(
    m: dict[str, Measurement], targets: list[Target], load_before: str, load_after: str
) -> dict[str, Any]:
    return {
        "about": (
            "Seconds are medians of runs in fresh interpreters, timing the work after "
            "imports; wall_s includes interpreter start and imports. Peak RSS is the "
            "largest of the runs. Generated by `make bench`."
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": load_after,
            "python": platform.python_version(),
            **{name: _version(name) for name in ("polars", "duckdb", "pandas", "pyarrow")},
        },
        "ncci": {
            "rows": ncci_data.ROWS,
            "read_snapshots_s": m["ncci-read"].median_s,
            "ingest_s": m["ncci-ingest"].median_s,
            "diff_snapshots_s": m["ncci-diff"].median_s,
            "render_s": m["ncci-render"].median_s,
            "full_path_s": m["ncci-full"].median_s,
            "full_cycle_s": m["ncci-cycle"].median_s,
            "duckdb_s": m["duckdb"].median_s,
            "polars_lazy_s": m["polars_lazy"].median_s,
            "pandas_s": m["pandas"].median_s,
            "peak_rss_mb": m["ncci-full"].peak_mb,
            "steps": {step: m[step].to_dict() for step in NCCI_STEPS},
        },
        "icd": {
            "codes": icd_data.CODES,
            "full_cycle_s": m["icd-cycle"].median_s,
            "ingest_s": m["icd-ingest"].median_s,
            "diff_s": m["icd-diff"].median_s,
            "render_s": m["icd-render"].median_s,
            "peak_rss_mb": m["icd-cycle"].peak_mb,
            "steps": {step: m[step].to_dict() for step in ICD_STEPS},
        },
        "help_s": m["help"].median_s,
        "targets": [
            {"name": t.name, "value": round(t.value, 3), "limit": t.limit, "ok": t.ok}
            for t in targets
        ],
    }


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None
