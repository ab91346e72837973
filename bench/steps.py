"""One measured step in a fresh interpreter: `python -m bench.steps STEP WORKDIR`.

Imports and setup happen before the clock starts, so every approach is timed on its
work alone; the process's peak RSS covers everything it did. Prints one JSON line.
Steps that diff also write the keys they found, for the runner to compare.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl

from bench import icd_data, ncci_data
from bench.baselines import BASELINES, COLUMNS, Found
from bench.workdir import Workdir
from pipeline.analysis.cycle import Analysis
from pipeline.codesets import builtin
from pipeline.config import Config
from pipeline.diff.changeset import ChangeSet
from pipeline.diff.engine import diff_snapshots
from pipeline.project.ingest import ingest
from pipeline.project.project import Project
from pipeline.project.run import RunResult, run
from pipeline.report.render import render_cycle
from pipeline.spec import CodeSetSpec, Edition
from pipeline.store.snapshots import Snapshot, Store

#: A step's setup returns the work to time and, optionally, what to do after it.
Timed = tuple[Callable[[], Any], Callable[[Any], None] | None]
NCCI = builtin()["ncci-ptp"]
ICD = builtin()["icd10cm"]
NCCI_VERSIONS, ICD_VERSIONS = ("v311", "v312"), ("FY2024", "FY2025")


def _fresh_store(path: Path) -> Store:
    shutil.rmtree(path, ignore_errors=True)
    return Store(path)


def _ingest_ncci(w: Workdir, store: Store) -> tuple[Snapshot, Snapshot]:
    old = ingest(store, NCCI, w.ncci_old, NCCI_VERSIONS[0], ncci_data.OLD_DATE)
    new = ingest(store, NCCI, w.ncci_new, NCCI_VERSIONS[1], ncci_data.NEW_DATE)
    return old.snapshot, new.snapshot


def _ingest_icd(w: Workdir, store: Store) -> tuple[Snapshot, Snapshot]:
    old = ingest(store, ICD, w.icd_old, ICD_VERSIONS[0], icd_data.OLD_DATE)
    new = ingest(store, ICD, w.icd_new, ICD_VERSIONS[1], icd_data.NEW_DATE)
    return old.snapshot, new.snapshot


def _scheduled(w: Workdir, spec: CodeSetSpec, name: str) -> Callable[[], RunResult]:
    """The scheduled run, through the project's one orchestration path: a store holding the
    older edition (copied before the clock), both editions configured, reports written."""
    scratch = _fresh_store(w.store("scratch"))
    shutil.copytree(w.store(name), scratch.root)
    reports = w.root / "reports-scratch"
    shutil.rmtree(reports, ignore_errors=True)
    if spec is NCCI:
        sources, versions = (w.ncci_old, w.ncci_new), NCCI_VERSIONS
        dates = (ncci_data.OLD_DATE, ncci_data.NEW_DATE)
    else:
        sources, versions = (w.icd_old, w.icd_new), ICD_VERSIONS
        dates = (icd_data.OLD_DATE, icd_data.NEW_DATE)
    editions = tuple(
        Edition(version=v, effective=d, source=str(s))
        for v, d, s in zip(versions, dates, sources, strict=True)
    )
    config = Config(path=None, codesets={spec.id: replace(spec, editions=editions)})
    project = Project.of(config, scratch, reports)
    return lambda: run(project)


def _ingest_one(w: Workdir) -> Callable[[], Snapshot]:
    """Ingest the newer NCCI edition into a store that holds the older one."""
    scratch = _fresh_store(w.store("scratch"))
    shutil.copytree(w.store("ncci-old"), scratch.root)
    return lambda: ingest(scratch, NCCI, w.ncci_new, NCCI_VERSIONS[1], ncci_data.NEW_DATE).snapshot


def _read_raw(path: Path) -> pl.DataFrame:
    """Polars' plain read of a PTP file, every column as text: the floor of any ingest."""
    return pl.read_csv(
        path,
        separator="\t",
        has_header=False,
        skip_rows=len(ncci_data.HEADER),
        quote_char=None,
        schema=dict.fromkeys(COLUMNS, pl.String),
    )


def _read_diff_columns(pair: tuple[Snapshot, Snapshot]) -> list[pl.DataFrame]:
    """What a diff of two stored snapshots reads: every column of both, the index columns
    to align the editions and the data columns to report the records that changed."""
    return [pl.read_parquet(s.data_path) for s in pair]


def _stored(w: Workdir, name: str, spec: CodeSetSpec) -> tuple[Snapshot, Snapshot]:
    store = Store(w.store(name))
    versions = NCCI_VERSIONS if spec is NCCI else ICD_VERSIONS
    return store.get(spec.id, versions[0]), store.get(spec.id, versions[1])


def _render(cs: ChangeSet) -> dict[str, str]:
    return render_cycle(Analysis(cs))


def _diff(pair: tuple[Snapshot, Snapshot], spec: CodeSetSpec) -> ChangeSet:
    return diff_snapshots(pair[0], pair[1], spec)


def _save_ours(w: Workdir) -> Callable[[ChangeSet], None]:
    return lambda cs: _save(w, "ours", _ours(cs))


def _ours(cs: ChangeSet) -> dict[str, pl.DataFrame]:
    """Our kinds in the baselines' raw terms, plus the kinds themselves."""
    key = list(ncci_data.KEY)
    reason = pl.col("reason")
    frames = {
        "added": cs.added,
        "deleted": cs.deleted.filter(reason == "removed"),
        "changed": pl.concat(
            [cs.changed.select(key), cs.deleted.filter(reason == "discontinued").select(key)]
        ),
        "changed_only": cs.changed,
        "discontinued": cs.deleted.filter(reason == "discontinued"),
        "interim": cs.interim,
        "purged": cs.purged,
        "reactivated": cs.reactivated,
    }
    return {k: f.select(key) for k, f in frames.items()}


def _save_run(w: Workdir, approach: str) -> Callable[[RunResult], None]:
    def save(result: RunResult) -> None:
        (changes,) = result.cycles
        _save(w, approach, _ours(changes))

    return save


def _save_found(w: Workdir, approach: str) -> Callable[[Found], None]:
    def save(found: Found) -> None:
        _save(w, approach, dict(zip(("added", "deleted", "changed"), found, strict=True)))

    return save


def _save(w: Workdir, approach: str, frames: dict[str, pl.DataFrame]) -> None:
    pl.concat(
        [f.select(pl.lit(kind).alias("kind"), *ncci_data.KEY) for kind, f in frames.items()]
    ).write_parquet(w.found(approach))


def _setup(step: str, w: Workdir) -> Timed:
    """Everything before the clock: the prepared snapshots, a clean scratch store."""
    if step == "prepare":
        stores = [_fresh_store(w.store(n)) for n in ("ncci", "icd", "ncci-old", "icd-old")]

        def prepare() -> None:
            _ingest_ncci(w, stores[0])
            _ingest_icd(w, stores[1])
            ingest(stores[2], NCCI, w.ncci_old, NCCI_VERSIONS[0], ncci_data.OLD_DATE)
            ingest(stores[3], ICD, w.icd_old, ICD_VERSIONS[0], icd_data.OLD_DATE)

        return (prepare, None)
    if step == "ncci-scheduled":
        return (_scheduled(w, NCCI, "ncci-old"), _save_run(w, "scheduled"))
    if step == "icd-scheduled":
        return (_scheduled(w, ICD, "icd-old"), None)
    if step == "ncci-ingest-one":
        return (_ingest_one(w), None)
    if step == "ncci-read-one":
        return (lambda: _read_raw(w.ncci_new), None)
    if step in BASELINES:
        if step == "duckdb":
            import duckdb  # noqa: F401  (each baseline pays its import before the clock)
        if step == "pandas":
            import pandas  # noqa: F401
        baseline = BASELINES[step]
        return (lambda: baseline(w.ncci_old, w.ncci_new), _save_found(w, step))
    if step in ("ncci-read", "ncci-read-columns", "ncci-diff", "ncci-render"):
        pair = _stored(w, "ncci", NCCI)
        if step == "ncci-read":
            return (lambda: [s.frame() for s in pair], None)
        if step == "ncci-read-columns":
            return (lambda: _read_diff_columns(pair), None)
        if step == "ncci-diff":
            return (lambda: _diff(pair, NCCI), _save_ours(w))
        cs = _diff(pair, NCCI)
        return (lambda: _render(cs), None)
    if step in ("icd-diff", "icd-render"):
        pair = _stored(w, "icd", ICD)
        if step == "icd-diff":
            return (lambda: _diff(pair, ICD), None)
        cs = _diff(pair, ICD)
        return (lambda: _render(cs), None)
    scratch = _fresh_store(w.store("scratch"))
    fresh: dict[str, Callable[[], Any]] = {
        "ncci-ingest": lambda: _ingest_ncci(w, scratch),
        "ncci-full": lambda: _diff(_ingest_ncci(w, scratch), NCCI),
        "ncci-cycle": lambda: _render(_diff(_ingest_ncci(w, scratch), NCCI)),
        "icd-ingest": lambda: _ingest_icd(w, scratch),
        "icd-cycle": lambda: _render(_diff(_ingest_icd(w, scratch), ICD)),
    }
    if step not in fresh:
        raise SystemExit(f"unknown step {step!r}")
    return (fresh[step], _save_ours(w) if step == "ncci-full" else None)


def main(step: str, workdir: str) -> None:
    work, after = _setup(step, Workdir(Path(workdir)))
    start = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - start
    if after is not None:
        after(result)
    print(json.dumps({"step": step, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not `ru_maxrss`: Linux carries
    `ru_maxrss` over from the parent across fork and exec, so a child started by a big
    runner would report the runner's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main(*sys.argv[1:])
