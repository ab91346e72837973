"""The scheduled job: ingest every configured edition, diff consecutive editions, report.

`run` is what `codeset run` and `make run` call; it returns what it did so the
CLI can print it and choose an exit code.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from pipeline.analysis.audit import Audit, audit
from pipeline.analysis.cycle import Analysis, analyse, with_companions
from pipeline.analysis.history import histories
from pipeline.analysis.reference import load_reference
from pipeline.config.load import Config, Edition
from pipeline.diff.changeset import ChangeSet
from pipeline.errors import ConfigError
from pipeline.impact.watchlist import EMPTY, Watchlist, load_watchlist
from pipeline.project.download import FetchResult, fetch
from pipeline.project.ingest import IngestResult, ingest
from pipeline.report.render import (
    MARKDOWN_LIMIT,
    remove_stale_report_temporaries,
    write_audit,
    write_cycle,
    write_histories,
    write_index,
)
from pipeline.store.lock import DEFAULT_TIMEOUT, store_lock
from pipeline.store.snapshots import Snapshot, Store


@dataclass
class RunResult:
    """What one run did: ingests, cycles reported, files written."""

    ingested: list[IngestResult] = field(default_factory=list)
    analyses: list[Analysis] = field(default_factory=list)
    #: The cycles that involve an edition this run stored (what `--fail-on` looks at).
    new_analyses: list[Analysis] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    cleaned: list[Path] = field(default_factory=list)
    fetched: list[FetchResult] = field(default_factory=list)
    audit: Audit | None = None

    @property
    def stored(self) -> list[IngestResult]:
        return [r for r in self.ingested if r.status == "stored"]

    @property
    def cycles(self) -> list[ChangeSet]:
        return [a.changes for a in self.analyses]

    @property
    def new_cycles(self) -> list[ChangeSet]:
        return [a.changes for a in self.new_analyses]


def run(
    config: Config,
    store: Store,
    out_dir: Path,
    *,
    allow_mass_change: bool = False,
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    watchlist: Watchlist | None = None,
    status: Callable[[str], None] | None = None,
    markdown_limit: int = MARKDOWN_LIMIT,
) -> RunResult:
    """Bring the store and the reports up to date with the configuration.

    Holds the store's lock throughout, so two scheduled runs never interleave.
    `watchlist` overrides the configured one (`EMPTY` for none).
    """
    if watchlist is None:
        watchlist = load_watchlist(config.watchlist) if config.watchlist else EMPTY
    with store_lock(store.root, lock_timeout):
        return _run(
            config,
            store,
            out_dir,
            allow_mass_change,
            progress,
            watchlist,
            status or _silent,
            markdown_limit,
        )


def _run(
    config: Config,
    store: Store,
    out_dir: Path,
    allow_mass_change: bool,
    progress: Progress | None,
    watchlist: Watchlist,
    status: Callable[[str], None],
    markdown_limit: int,
) -> RunResult:
    result = RunResult()
    result.cleaned = store.remove_stale_temporaries() + remove_stale_report_temporaries(out_dir)
    analyses: list[Analysis] = []
    fresh: list[bool] = []
    reference = load_reference()
    for spec in config.codesets.values():
        new_versions = set()
        for edition in spec.editions:
            status(f"{spec.id} {edition.version}: checking {Path(edition.source).name} …")
            source = Path(edition.source)
            if edition.is_url:
                fetched = download(store, spec.id, edition, progress)
                result.fetched.append(fetched)
                source = fetched.path
            outcome = ingest(
                store,
                spec,
                source,
                edition.version,
                edition.effective,
                edition.note,
                allow_mass_change=allow_mass_change,
            )
            result.ingested.append(outcome)
            if outcome.status == "stored":
                new_versions.add(edition.version)
        for old, new in consecutive(store.snapshots(spec.id)):
            status(f"{spec.id}: comparing {old.manifest.version} and {new.manifest.version} …")
            analyses.append(analyse(spec, old, new, watchlist, config.severity, reference.advice))
            fresh.append(bool({old.manifest.version, new.manifest.version} & new_versions))
    if watchlist:
        result.audit = audit(watchlist, store, config, reference)
        result.written.extend(write_audit(result.audit, out_dir))
    for analysis, is_new in zip(with_companions(analyses), fresh, strict=True):
        result.analyses.append(analysis)
        result.written.extend(write_cycle(analysis, out_dir, markdown_limit, result.audit))
        if is_new:
            result.new_analyses.append(analysis)
    if watchlist:
        codes = {code: watchlist.label(code) or "" for code in watchlist.watched_codes()}
        found = histories(store, config, codes)
        result.written.extend(write_histories(found, codes, out_dir))
    result.written.extend(write_index(out_dir))
    return result


def _silent(text: str) -> None:
    """No status output (the library default; the CLI draws it on a terminal)."""


#: Called as a download proceeds: (what, bytes received, total bytes if known).
Progress = Callable[[str, int, int | None], None]
DOWNLOADS = ".downloads"


def download(
    store: Store, codeset: str, edition: Edition, progress: Progress | None = None
) -> FetchResult:
    """Fetch an edition's release file into the store's download cache.

    Conditional requests make a scheduled run that finds nothing new cheap: the
    publisher answers 304 and the cached file is ingested (a no-op if stored).
    """
    cache = store.root / DOWNLOADS
    name = PurePosixPath(urlsplit(edition.source).path).name or "release"
    label = f"{codeset} {edition.version}"
    return fetch(
        edition.source,
        cache / codeset / edition.version / name,
        state=cache / "state.json",
        sha256=edition.sha256,
        progress=(lambda got, total: progress(label, got, total)) if progress else None,
    )


def consecutive(snapshots: list[Snapshot]) -> list[tuple[Snapshot, Snapshot]]:
    """Pairs of editions next to each other in effective-date order."""
    return list(itertools.pairwise(snapshots))


def pick_cycle(
    store: Store, codeset: str, old: str | None, new: str | None
) -> tuple[Snapshot, Snapshot]:
    """The two editions to compare: as given, or defaulting to the two newest."""
    snapshots = store.snapshots(codeset)
    if new is None:
        if not snapshots:
            raise ConfigError(f"no stored editions of {codeset!r} in {store}")
        new_snap = snapshots[-1]
    else:
        new_snap = store.get(codeset, new)
    if old is None:
        earlier = [
            s for s in snapshots if s.manifest.effective_date < new_snap.manifest.effective_date
        ]
        if not earlier:
            raise ConfigError(
                f"{codeset} {new_snap.manifest.version} has no earlier stored edition to compare"
            )
        old_snap = earlier[-1]
    else:
        old_snap = store.get(codeset, old)
    return old_snap, new_snap
