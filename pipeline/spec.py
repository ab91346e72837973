"""What the pipeline knows about a code set and its editions, shared by every layer.

Plain frozen dataclasses: the configuration file produces them, each code-set
kind declares its built-in defaults with them, and the readers, store and diff
take them as input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipeline.errors import ConfigError

#: Code-set ids and version labels become directory and file names: keep them tame.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def check_name(value: str, what: str) -> str:
    """Refuse names that could escape the store (`../`, separators) or confuse a shell."""
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value) or ".." in value:
        raise ConfigError(
            f"invalid {what} {value!r}: use letters, digits, '.', '_' and '-' "
            "(at most 64, starting with a letter or digit)"
        )
    return value


@dataclass(frozen=True)
class ReaderSpec:
    """How to read one code set's release files."""

    format: str
    member: str | None = None
    encoding: str = "auto"
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardLimits:
    """How much an edition may shrink, or delete, before ingest refuses it as a likely
    truncated download (override with --allow-mass-change)."""

    max_shrink: float = 0.20
    max_deleted: float = 0.10


@dataclass(frozen=True)
class Edition:
    """One published edition: a label, the date it takes effect, and its release file."""

    version: str
    effective: date
    source: str
    note: str | None = None
    #: For a URL source: the expected sha256 of the download (a pin).
    sha256: str | None = None

    @property
    def is_url(self) -> bool:
        return self.source.startswith(("https://", "http://"))


@dataclass(frozen=True)
class FeedSettings:
    """`[codesets.X.feed]`: find new editions on the publisher's listing page.

    `kind` names whose listing page and file names to follow (default: the code set's
    own kind: `hcpcs`, `icd10cm`, `pfs`, `ncci`, `mue`). Empty `pages`
    means the kind's own (the publisher's page). Editions effective before `since`, or
    listed in `skip`, are left alone; `sha256` pins an edition's file. `timeout` bounds
    each request, `deadline` the whole check of this code set.
    """

    kind: str | None = None
    pages: tuple[str, ...] = ()
    since: date | None = None
    skip: tuple[str, ...] = ()
    sha256: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 30.0
    deadline: float = 900.0


@dataclass(frozen=True)
class CodeSetSpec:
    """Everything the pipeline needs to know about one code set."""

    id: str
    title: str
    publisher: str
    key: tuple[str, ...]
    reader: ReaderSpec
    descriptors: tuple[str, ...] = ()
    compare: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    termination: str | None = None
    editions: tuple[Edition, ...] = ()
    #: Reader formats to try when `reader.format` is `auto` (empty: every detectable one).
    formats: tuple[str, ...] = ()
    guard: GuardLimits = field(default_factory=GuardLimits)
    #: Columns shown beside the key in report tables (default: the descriptors).
    display: tuple[str, ...] = ()
    #: The code-set kind (`pipeline.codesets.<kind>`) whose readers, vocabulary and rules
    #: apply: `hcpcs`, `icd10cm`, `pfs`, `ncci`, `mue`, or `generic`.
    kind: str = "generic"
    #: The release feed, when the configuration asks for one (`[codesets.X.feed]`).
    feed: FeedSettings | None = None

    def compared_columns(self, columns: Sequence[str]) -> list[str]:
        """Columns whose differences count as changes: `compare`, or all non-key minus `ignore`."""
        if self.compare is not None:
            return [c for c in self.compare if c in columns]
        return [c for c in columns if c not in self.key and c not in self.ignore]

    def edition(self, version: str) -> Edition:
        for ed in self.editions:
            if ed.version == version:
                return ed
        known = ", ".join(e.version for e in self.editions) or "none"
        raise ConfigError(f"code set {self.id!r} has no edition {version!r} (configured: {known})")
