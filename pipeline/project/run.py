"""The scheduled job: ingest every configured edition, report every cycle, rebuild the index.

`run` is what `codeset run` and `make run` call; it returns what it did (the
editions stored, the cycles this run produced, the files written) so that the CLI
can print it, write the job summary and choose an exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from pipeline.analysis.audit import Audit
from pipeline.analysis.cycle import Analysis
from pipeline.claims.cycle import cycle_replays
from pipeline.diff.changeset import ChangeSet
from pipeline.project.discover import Discovery, discover, has_feeds
from pipeline.project.download import FetchResult, fetch
from pipeline.project.ingest import IngestResult, ingest
from pipeline.project.project import Project, Status, consecutive
from pipeline.project.publish import (
    remove_stale_report_temporaries,
    write_audit,
    write_cycle,
    write_histories,
    write_index,
)
from pipeline.report.render import MARKDOWN_LIMIT, cycle_stem
from pipeline.spec import CodeSetSpec, Edition
from pipeline.store.lock import DEFAULT_TIMEOUT, store_lock
from pipeline.store.snapshots import Store

#: Called as a download proceeds: (what, bytes received, total bytes if known).
Progress = Callable[[str, int, int | None], None]
DOWNLOADS = ".downloads"


@dataclass
class RunResult:
    """What one run did: ingests, cycles reported, files written."""

    ingested: list[IngestResult] = field(default_factory=list)
    analyses: list[Analysis] = field(default_factory=list)
    #: The cycles that involve an edition this run stored (what `--fail-on` looks at).
    new_analyses: list[Analysis] = field(default_factory=list)
    #: Older cycles whose reports this run rewrote: their inputs changed (the watchlist,
    #: the reviewed reference data, or the report format), not their editions.
    rerendered: list[Analysis] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    cleaned: list[Path] = field(default_factory=list)
    fetched: list[FetchResult] = field(default_factory=list)
    audit: Audit | None = None
    #: What the release feeds found (None when no code set has a feed, or feeds were off).
    discovery: Discovery | None = None

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
    project: Project,
    *,
    allow_mass_change: bool = False,
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    status: Status | None = None,
    markdown_limit: int = MARKDOWN_LIMIT,
    feeds: bool = True,
    now: datetime | None = None,
) -> RunResult:
    """Bring the store and the reports up to date with the project's configuration.

    Holds the store's lock throughout, so two scheduled runs never interleave. With
    `feeds`, code sets with a `[codesets.X.feed]` table first look for new editions on
    the publisher's page (`now` stamps what is first seen); see `project.discover`.
    """
    say = status or _silent
    result = RunResult()
    out_dir = project.out_dir
    with store_lock(project.store.root, lock_timeout):
        result.cleaned = project.store.remove_stale_temporaries()
        result.cleaned += remove_stale_report_temporaries(out_dir)
        # Editions a failed run (or `codeset ingest`) stored: their cycles are new to the gate
        # until a run completes for them.
        new_versions = {c: set(vs) for c, vs in project.store.unreported().items()}
        if feeds and has_feeds(project.config):
            say("reading the release feeds …")
            result.discovery = discover(project.config, project.store, now=now)
        for spec in project.config.codesets.values():
            for edition in editions_to_ingest(spec, result.discovery):
                say(f"{spec.id} {edition.version}: checking {Path(edition.source).name} …")
                source = Path(edition.source)
                if edition.is_url:
                    fetched = download(project.store, spec.id, edition, progress)
                    result.fetched.append(fetched)
                    source = fetched.path
                outcome = ingest(
                    project.store,
                    spec,
                    source,
                    edition.version,
                    edition.effective,
                    edition.note,
                    allow_mass_change=allow_mass_change,
                )
                result.ingested.append(outcome)
                if outcome.status == "stored":
                    new_versions.setdefault(spec.id, set()).add(edition.version)
            if result.discovery is not None:
                result.discovery.record(spec.id)
        configured = [cid for cid in project.config.codesets if cid in project.stored_codesets()]
        pairs = {cid: consecutive(project.store.snapshots(cid)) for cid in configured}
        # The claims check's hook: a configured claims file (`[claims] path = ...`) replayed
        # under each code set's newest edition, a section of that cycle's report.
        replays = cycle_replays(
            project.config,
            project.store,
            [(cid, new.manifest.version) for cid in configured for _, new in pairs[cid]],
        )
        for cid in configured:
            for old, new in pairs[cid]:
                say(f"{cid}: comparing {old.manifest.version} and {new.manifest.version} …")
                analysis = project.cycle(cid, old.manifest.version, new.manifest.version)
                result.analyses.append(analysis)
                stem = cycle_stem(old.manifest.version, new.manifest.version)
                existed = (out_dir / cid / f"{stem}.json").exists()
                claims = replays.get((cid, new.manifest.version))
                written = write_cycle(analysis, out_dir, markdown_limit, claims)
                result.written += written
                if {old.manifest.version, new.manifest.version} & new_versions.get(cid, set()):
                    result.new_analyses.append(analysis)
                elif written and existed:
                    result.rerendered.append(analysis)
        result.audit = project.audit()
        if result.audit is not None:
            result.written += write_audit(result.audit, out_dir)
            watchlist = project.watchlist
            labels = {code: watchlist.label(code) or "" for code in watchlist.watched_codes()}
            timelines = project.histories(labels)
            result.written += write_histories(timelines, labels, out_dir)
        result.written += write_index(out_dir)
        project.store.reported()
    return result


def editions_to_ingest(spec: CodeSetSpec, discovery: Discovery | None) -> list[Edition]:
    """The configured editions, and those the release feed found, by effective date."""
    found = discovery.editions(spec.id) if discovery is not None else []
    return sorted([*spec.editions, *found], key=lambda e: (e.effective, e.version))


def _silent(text: str) -> None:
    """No status output (the library default; the CLI draws it on a terminal)."""


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
