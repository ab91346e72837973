"""The one path through the core: a project is a configuration, a store, a watchlist and
the reviewed reference data, loaded once; every command asks it for what it shows.

`run`, `report`, `diff`, `audit`, `history`, the benchmarks and the library example
all reach a cycle through `Project.cycle` (or `Project.cycles`), so no two commands
can disagree about what a cycle says: the same analysis, with the same reference
advice and the same items of other code sets that took effect within it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

from pipeline.analysis.audit import Audit, audit
from pipeline.analysis.cycle import Analysis, analyse, in_period, with_companions
from pipeline.analysis.history import Timeline, histories
from pipeline.analysis.reference import Reference, load_reference
from pipeline.codesets import kind_of
from pipeline.codesets.kind import effective_in_name
from pipeline.config.load import Config, load_config
from pipeline.errors import ConfigError
from pipeline.impact.watchlist import EMPTY, Watchlist, load_watchlist, normalize_code
from pipeline.project.ingest import IngestResult, ingest
from pipeline.project.publish import write_audit, write_cycle, write_index
from pipeline.report.render import MARKDOWN_LIMIT
from pipeline.spec import CodeSetSpec, check_name
from pipeline.store.lock import DEFAULT_TIMEOUT, store_lock
from pipeline.store.remote import open_store
from pipeline.store.snapshots import Snapshot, Store

#: Called with a line of status as the work proceeds (the CLI draws it on a terminal).
Status = Callable[[str], None]


@dataclass
class Project:
    """Configuration, store, watchlist and reference data, each loaded once."""

    config: Config
    store: Store
    out_dir: Path = Path("reports")
    watchlist: Watchlist = EMPTY
    _analyses: dict[tuple[str, str, str], Analysis] = field(default_factory=dict, repr=False)

    @classmethod
    def open(
        cls,
        config_path: Path | None = None,
        store: str | None = None,
        out_dir: Path = Path("reports"),
        watchlist: Path | None = None,
    ) -> Project:
        """The project of `config_path` (default `./codesets.toml`, optional when not given).

        `store` overrides the configuration's store (default `./snapshots`); `watchlist`
        overrides its `[watchlist]`.
        """
        path = config_path or Path("codesets.toml")
        if config_path is None and not path.exists():
            config = Config(path=None, codesets={})
        else:
            config = load_config(path)
        return cls.of(config, open_store(store or config.store or "snapshots"), out_dir, watchlist)

    @classmethod
    def of(
        cls,
        config: Config,
        store: Store,
        out_dir: Path = Path("reports"),
        watchlist: Path | Watchlist | None = None,
    ) -> Project:
        """A project of loaded parts; the watchlist defaults to the configured one."""
        if not isinstance(watchlist, Watchlist):
            wanted = watchlist or config.watchlist
            watchlist = load_watchlist(wanted) if wanted else EMPTY
        return cls(config=config, store=store, out_dir=out_dir, watchlist=watchlist)

    @cached_property
    def reference(self) -> Reference:
        return load_reference()

    def spec(self, codeset: str) -> CodeSetSpec:
        return self.config.codeset(codeset)

    def effective_date(
        self, codeset: str, version: str, source_name: str = "", given: date | None = None
    ) -> date:
        """When an edition takes effect: as given, else as configured, else as the kind's
        naming implies (`2020`, `FY2025`, `RVU25D`, `..._Eff_10-01-2026...`)."""
        spec = self.spec(codeset)
        effective_in_name(source_name)  # a file name's date is checked even when given wins
        if given is not None:
            return given
        configured = {e.version: e for e in spec.editions}
        if version in configured:
            return configured[version].effective
        inferred = kind_of(spec).infer_effective(version, source_name)
        if inferred is None:
            raise ConfigError(
                f"{codeset} {version}: give --effective YYYY-MM-DD "
                "(the label does not imply a date)"
            )
        return inferred

    def ingest(
        self,
        codeset: str,
        source: Path,
        version: str,
        effective: date | None = None,
        *,
        allow_mass_change: bool = False,
        lock_timeout: float = DEFAULT_TIMEOUT,
    ) -> IngestResult:
        """Store one release file as an edition (a no-op if that content is stored)."""
        spec = self.spec(codeset)
        check_name(version, "version label")
        when = self.effective_date(codeset, version, source.name, effective)
        note = next((e.note for e in spec.editions if e.version == version), None)
        with store_lock(self.store.root, lock_timeout):
            return ingest(
                self.store, spec, source, version, when, note, allow_mass_change=allow_mass_change
            )

    def stored_codesets(self) -> list[str]:
        """Code sets with a stored edition that the project knows how to read."""
        known = []
        for codeset in sorted({m.codeset for m in self.store.manifests()}):
            try:
                self.spec(codeset)
            except ConfigError:
                continue
            known.append(codeset)
        return known

    def pick(
        self, codeset: str, old: str | None = None, new: str | None = None
    ) -> tuple[Snapshot, Snapshot]:
        """The two editions of a cycle: as given, else the newest and the one before it."""
        self.spec(codeset)
        snapshots = self.store.snapshots(codeset)
        if new is None:
            if not snapshots:
                raise ConfigError(f"no stored editions of {codeset!r} in {self.store}")
            new_snap = snapshots[-1]
        else:
            new_snap = self.store.get(codeset, new)
        if old is None:
            earlier = [
                s for s in snapshots if s.manifest.effective_date < new_snap.manifest.effective_date
            ]
            if not earlier:
                raise ConfigError(
                    f"{codeset} {new_snap.manifest.version} has no earlier stored edition "
                    "to compare"
                )
            old_snap = earlier[-1]
        else:
            old_snap = self.store.get(codeset, old)
        if old_snap.manifest.effective_date > new_snap.manifest.effective_date:
            raise ConfigError(
                f"{codeset}: --from {old_snap.manifest.version} "
                f"({old_snap.manifest.effective_date}) is newer than --to "
                f"{new_snap.manifest.version} ({new_snap.manifest.effective_date}): swap them"
            )
        return old_snap, new_snap

    def is_consecutive(self, old: Snapshot, new: Snapshot) -> bool:
        """Whether no stored edition lies between `old` and `new` (a cycle of the index)."""
        versions = [s.manifest.version for s in self.store.snapshots(old.manifest.codeset)]
        return versions.index(new.manifest.version) - versions.index(old.manifest.version) == 1

    def cycle(self, codeset: str, old: str | None = None, new: str | None = None) -> Analysis:
        """One cycle, analysed for the clinic, with the items of other code sets that took
        effect within it: exactly what `run` reports for it."""
        old_snap, new_snap = self.pick(codeset, old, new)
        this = self._analyse(codeset, old_snap, new_snap)
        others = [
            a
            for other in self.stored_codesets()
            if other != codeset
            for a in self._consecutive(other)
            if in_period(this, a)
        ]
        return with_companions(this, others)

    def cycles(self, codeset: str | None = None, status: Status | None = None) -> list[Analysis]:
        """Every cycle of consecutive stored editions (of one code set, or all)."""
        say = status or _silent
        sets = [codeset] if codeset else self.stored_codesets()
        out = []
        for cid in sets:
            for old, new in consecutive(self.store.snapshots(cid)):
                say(f"{cid}: comparing {old.manifest.version} and {new.manifest.version} …")
                out.append(self.cycle(cid, old.manifest.version, new.manifest.version))
        return out

    def _consecutive(self, codeset: str) -> Iterator[Analysis]:
        for old, new in consecutive(self.store.snapshots(codeset)):
            yield self._analyse(codeset, old, new)

    def _analyse(self, codeset: str, old: Snapshot, new: Snapshot) -> Analysis:
        """A cycle without its companions, computed once per project."""
        key = (codeset, old.manifest.version, new.manifest.version)
        if key not in self._analyses:
            self._analyses[key] = analyse(
                self.spec(codeset),
                old,
                new,
                self.watchlist,
                self.config.severity,
                self.reference.advice,
            )
        return self._analyses[key]

    def audit(self) -> Audit | None:
        """The watchlist checked against the newest editions (None without a watchlist)."""
        if not self.watchlist:
            return None
        return audit(self.watchlist, self.store, self.config, self.reference)

    def history(self, code: str, codeset: str | None = None) -> list[Timeline]:
        """`code`'s timeline in every stored edition (of one code set, or all); the code
        is trimmed, and an ICD-10-CM code may carry its dot (`M54.50` finds `M5450`)."""
        code = normalize_code(code)
        return self.histories([code], codeset).get(code, [])

    def histories(
        self, codes: Iterable[str], codeset: str | None = None
    ) -> dict[str, list[Timeline]]:
        """Timelines of many codes, each snapshot scanned once."""
        if codeset is not None:
            self.spec(codeset)
        sets = [codeset] if codeset else self.stored_codesets()
        return histories(self.store, self.config, codes, sets)

    def report(
        self,
        codeset: str,
        old: str | None = None,
        new: str | None = None,
        markdown_limit: int = MARKDOWN_LIMIT,
        lock_timeout: float = DEFAULT_TIMEOUT,
    ) -> tuple[Analysis, list[Path]]:
        """Write one cycle's reports and the index; return the cycle and the files written."""
        with store_lock(self.store.root, lock_timeout):
            analysis = self.cycle(codeset, old, new)
            written = write_cycle(analysis, self.out_dir, markdown_limit)
            audit = self.audit()
            if audit is not None:  # the reports link it
                written += write_audit(audit, self.out_dir)
            written += write_index(self.out_dir)
        return analysis, written


def consecutive(snapshots: list[Snapshot]) -> list[tuple[Snapshot, Snapshot]]:
    """Pairs of editions next to each other in effective-date order."""
    return list(itertools.pairwise(snapshots))


def _silent(text: str) -> None:
    """No status output (the library default)."""
