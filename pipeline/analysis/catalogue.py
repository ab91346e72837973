"""The newest edition of every stored code set, reduced to what a watchlist is checked against.

A code exists if some code set's newest edition lists it as active; its label is the
publisher's descriptor, or, for CPT codes and Level I modifiers, the project's own
plain-language label (`pipeline/analysis/data/`), since CPT descriptors are the AMA's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import polars as pl

from pipeline.analysis.reference import Reference, stems
from pipeline.codesets import kind_of, kinds
from pipeline.codesets.kind import Kind
from pipeline.config.load import Config
from pipeline.errors import ConfigError
from pipeline.store.snapshots import Manifest, Store

#: Code shapes; a code is compared only with codes of its own family.
FAMILIES = {
    "modifier": re.compile(r"[A-Z0-9]{2}"),
    "cpt": re.compile(r"\d{4}[0-9FTU]"),
    "hcpcs": re.compile(r"[A-V]\d{4}"),
    "icd10cm": re.compile(r"[A-Z]\d[0-9A-Z]{1,5}"),
}


@dataclass(frozen=True)
class Record:
    code: str
    modifier: str | None
    label: str | None
    short: str | None
    status: str | None
    terminated: date | None
    xref: str | None
    codeset: str
    version: str
    active: bool
    #: The code set's kind (`pipeline.codesets`): its statuses' meanings and sets.
    kind: str


SCHEMA = {
    "code": pl.String,
    "modifier": pl.String,
    "label": pl.String,
    "short": pl.String,
    "status": pl.String,
    "terminated": pl.Date,
    "xref": pl.String,
}


class Catalogue:
    """The newest edition of every stored code set, reduced to the columns the audit reads."""

    def __init__(self, store: Store, config: Config, reference: Reference) -> None:
        self.reference = reference
        self.ours = {**reference.cpt_labels, **reference.modifiers}
        newest = current(store, config)
        self.editions = {cs: m.version for cs, m in sorted(newest.items())}
        self.titles = {cs: _title(config, cs) for cs in self.editions}
        frames = []
        for codeset, m in sorted(newest.items()):
            found = normalised(store, config, codeset, m.version)
            if found is None:
                continue
            frame, kind = found
            ended = pl.col("terminated") <= pl.lit(m.effective_date)
            deleted = pl.col("status").is_in(sorted(kind.deleted))
            active = ~(ended.fill_null(False) | deleted.fill_null(False))
            frames.append(
                frame.with_columns(
                    codeset=pl.lit(codeset),
                    version=pl.lit(m.version),
                    active=active,
                    kind=pl.lit(kind.name),
                )
            )
        empty = {
            **SCHEMA,
            "codeset": pl.String,
            "version": pl.String,
            "active": pl.Boolean,
            "kind": pl.String,
        }
        self.frame = pl.concat(frames) if frames else pl.DataFrame(schema=empty)
        self._memo: dict[str, tuple[Record, ...]] = {}

    def load(self, codes: Iterable[str]) -> None:
        """Look codes up in one pass over the frame; `records` then answers from memory."""
        wanted = sorted(set(codes) - set(self._memo))
        found: dict[str, list[Record]] = {c: [] for c in wanted}
        if wanted:
            for row in self.frame.filter(pl.col("code").is_in(wanted)).iter_rows(named=True):
                found[row["code"]].append(Record(**row))
        self._memo.update((c, tuple(rs)) for c, rs in found.items())

    def records(self, code: str) -> tuple[Record, ...]:
        self.load([code])
        return self._memo[code]

    def exists(self, code: str) -> bool:
        return code in self.reference.modifiers or any(r.active for r in self.records(code))

    def payable(self, code: str) -> bool:
        recs = self.records(code)
        return any(r.active for r in recs) and not any(
            r.status in kinds()[r.kind].not_paid for r in recs
        )

    def label(self, code: str) -> str | None:
        """The code in words: ours for CPT codes and Level I modifiers, else the publisher's."""
        return self.ours.get(code) or next((r.label for r in self.records(code) if r.label), None)

    def text(self, code: str) -> str | None:
        """What a label is compared with: our label, or the descriptor and short descriptor."""
        rec = next((r for r in self.records(code) if r.label), None)
        official = " ".join(filter(None, (rec.label, rec.short))) if rec else None
        return self.ours.get(code) or official

    @cached_property
    def stems(self) -> dict[str, dict[str, frozenset[str]]]:
        """Family -> code -> stems of its text, for every active code a label can match."""
        out: dict[str, dict[str, frozenset[str]]] = {"cpt": {}, "hcpcs": {}, "modifier": {}}
        diagnoses = [name for name, kind in kinds().items() if kind.diagnosis]
        rows = self.frame.filter(pl.col("active") & ~pl.col("kind").is_in(diagnoses))
        for code, label, short in rows.select("code", "label", "short").iter_rows():
            text = self.ours.get(code) or " ".join(filter(None, (label, short)))
            if (kind := family(code)) in out and text:
                out[kind][code] = stems(text)
        out["modifier"].update((c, stems(t)) for c, t in self.reference.modifiers.items())
        return out


def current(store: Store, config: Config) -> dict[str, Manifest]:
    """The newest edition of each code set, and of the code sets of one kind only the one
    whose newest edition is the latest: the annual HCPCS files (`hcpcs`, to 2020) give way
    to the quarterly ones (`hcpcs-quarterly`), which carry the same list on."""
    newest = {m.codeset: m for m in store.manifests()}  # by date: the last one wins
    latest: dict[str, Manifest] = {}
    for codeset, m in newest.items():
        try:
            kind = config.codeset(codeset).kind
        except ConfigError:
            kind = ""
        # One publisher's list per built-in kind; code sets of the generic kind are distinct.
        series = kind if kind in kinds() and kinds()[kind].spec is not None else f"={codeset}"
        held = latest.get(series)
        if held is None or (m.effective_date, m.codeset) > (held.effective_date, held.codeset):
            latest[series] = m
    return {m.codeset: m for m in latest.values()}


def normalised(
    store: Store, config: Config, codeset: str, version: str
) -> tuple[pl.DataFrame, Kind] | None:
    """One edition as `SCHEMA`, with its kind; None for kinds without single codes (NCCI)."""
    try:
        spec = config.codeset(codeset)
    except ConfigError:
        return None
    kind = kind_of(spec)
    roles = kind.catalogue_columns(spec)
    if roles is None:
        return None
    snapshot = store.get(codeset, version)
    have = {name for name, _ in snapshot.manifest.columns}
    wanted = {role: column for role, column in roles.items() if column in have}
    if "code" not in wanted:
        return None
    frame = snapshot.frame(sorted(set(wanted.values())))
    return frame.select(
        pl.col(wanted[n]).cast(t).alias(n) if n in wanted else pl.lit(None, t).alias(n)
        for n, t in SCHEMA.items()
    ), kind


def _title(config: Config, codeset: str) -> str:
    try:
        return config.codeset(codeset).title
    except ConfigError:
        return codeset


def family(code: str) -> str | None:
    return next((name for name, shape in FAMILIES.items() if shape.fullmatch(code)), None)


def families(code: str) -> set[str]:
    return {name for name, shape in FAMILIES.items() if shape.fullmatch(code)}
