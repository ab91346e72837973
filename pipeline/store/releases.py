"""The release lock: which publisher file each edition found by a feed came from.

`releases.lock.json` sits beside the snapshots and is committed with them. Per code set
and edition it lists every issue of the file the feed found (the first post, then each
corrected re-post): its URL, sha256, size, the server's validators (ETag,
Last-Modified) and when it was first seen. A pull request that adds an edition shows
the new entry; a run that finds nothing new leaves the file byte for byte as it was
(it is written only when an issue is added, and nothing in it records "last checked").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import StoreError
from pipeline.store.snapshots import write_atomically

LOCK_NAME = "releases.lock.json"
FORMAT = 1


@dataclass(frozen=True)
class Issue:
    """One downloaded file of an edition, and the snapshot it was stored as."""

    #: The snapshot label it was stored under (`2025Q1`, a re-issue `2025Q1-r2`), or None
    #: for a re-post whose records were those already stored (nothing new to store).
    stored_as: str | None
    url: str
    sha256: str
    bytes: int
    etag: str | None
    last_modified: str | None
    #: UTC, to the second: when this issue was first seen on the listing page.
    first_seen: str
    page: str
    effective: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Issue:
        for name in ("url", "sha256", "first_seen", "page", "effective"):
            if not isinstance(raw.get(name), str):
                raise ValueError(f"an issue without {name!r}")
        if not isinstance(raw.get("bytes"), int):
            raise ValueError("an issue without its size in 'bytes'")
        fields: dict[str, Any] = {name: raw.get(name) for name in cls.__dataclass_fields__}
        return cls(**fields)


@dataclass(frozen=True)
class ReleaseLock:
    """code set -> edition -> its issues, oldest first."""

    releases: Mapping[str, Mapping[str, tuple[Issue, ...]]] = field(default_factory=dict)

    def issues(self, codeset: str, edition: str) -> tuple[Issue, ...]:
        return self.releases.get(codeset, {}).get(edition, ())

    def latest(self, codeset: str, edition: str) -> Issue | None:
        found = self.issues(codeset, edition)
        return found[-1] if found else None

    def with_issue(self, codeset: str, edition: str, issue: Issue) -> ReleaseLock:
        editions = dict(self.releases.get(codeset, {}))
        editions[edition] = (*editions.get(edition, ()), issue)
        return ReleaseLock({**self.releases, codeset: editions})

    def with_codeset(self, codeset: str, editions: Mapping[str, tuple[Issue, ...]]) -> ReleaseLock:
        if not editions:
            return self
        return ReleaseLock({**self.releases, codeset: dict(editions)})

    def to_json(self) -> str:
        body = {
            "format": FORMAT,
            "releases": {
                cs: {ed: [i.to_dict() for i in issues] for ed, issues in sorted(eds.items())}
                for cs, eds in sorted(self.releases.items())
            },
        }
        return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_lock(path: Path) -> ReleaseLock:
    """The lock file; a missing one is an empty lock, a damaged one an error naming it."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ReleaseLock()
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: unreadable release lock ({exc})") from None
    try:
        if raw.get("format") != FORMAT:
            raise ValueError(f"unknown format {raw.get('format')!r}")
        return ReleaseLock(_parse(raw["releases"]))
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"{path}: damaged release lock ({exc})") from None


def _parse(raw: Mapping[str, Any]) -> dict[str, dict[str, tuple[Issue, ...]]]:
    return {
        str(cs): {str(ed): tuple(Issue.from_dict(i) for i in issues) for ed, issues in eds.items()}
        for cs, eds in raw.items()
    }


def save_lock(path: Path, lock: ReleaseLock) -> bool:
    """Write the lock if its content changed; True if the file was written. An empty lock
    is not written where there is none: a feed that stored nothing leaves no file."""
    if not lock.releases and not path.exists():
        return False
    return write_atomically(path, lock.to_json().encode("utf-8"))


def lock_problems(path: Path, stored: Mapping[tuple[str, str], str]) -> list[str]:
    """Where the lock and the store disagree: an issue recorded as stored under a label
    that is not stored, or stored from another file. `stored` maps (code set, label) to
    the sha256 of the file the snapshot was made from."""
    try:
        lock = load_lock(path)
    except StoreError as exc:
        return [str(exc)]
    problems = []
    for codeset, editions in sorted(lock.releases.items()):
        for edition, issues in sorted(editions.items()):
            for issue in issues:
                if issue.stored_as is None:
                    continue
                made_from = stored.get((codeset, issue.stored_as))
                if made_from is None:
                    problems.append(
                        f"{path}: {codeset} {edition} from {issue.url} is recorded as stored "
                        f"as {issue.stored_as}, which is not in the store"
                    )
                elif made_from != issue.sha256:
                    problems.append(
                        f"{path}: {codeset} {issue.stored_as} is recorded with sha256 "
                        f"{issue.sha256}, but its snapshot was made from a file with sha256 "
                        f"{made_from}"
                    )
    return problems
