"""Find new editions without a person: read each feed's listing page, fetch what is new.

For every code set with a `[codesets.X.feed]` table, `discover` reads the publisher's
listing page(s), keeps the links the kind's feed recognises as release files, and
compares each edition with the release lock and the store:

- an edition never seen is *new*: downloaded (conditional GET, sha256 pin if
  configured, refused if it is a web page or not the zip it claims to be);
- an edition in the lock whose file changed (a new URL or new content at the same
  URL) is a *re-issue*, stored under its own label (`2025Q1-r2`) so that the next
  cycle diffs it against the issue it replaces; a re-issue whose records are those
  already stored is a *re-post*, recorded and reported, with nothing to store;
- an edition configured by hand, or already stored, is left alone.

A listing page on which no link matches is an error (`FeedError`), never "nothing
new": the publisher has changed the page and the feed must be looked at. Every
download happens before anything is stored, so a 404, an HTML page instead of a zip
or a server too slow for the deadline stores nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pipeline.codesets import kinds
from pipeline.codesets.reading import read_source
from pipeline.config import Config
from pipeline.errors import ConfigError, FeedError
from pipeline.project.download import FetchResult, fetch, fetch_page
from pipeline.sources.feed import Candidate, FeedKind, Link, Release, page_links, releases, unwrap
from pipeline.spec import CodeSetSpec, Edition, FeedSettings
from pipeline.store import Store, content_digest
from pipeline.store.releases import LOCK_NAME, Issue, ReleaseLock, load_lock, save_lock

DOWNLOADS = ".downloads"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

Status = Literal["new", "reissue", "repost", "known", "configured", "stored", "skipped", "parts"]
#: The statuses that are news: something the publisher posted since the last run.
NEWS = ("new", "reissue", "repost")


@dataclass(frozen=True)
class Found:
    """One edition listed on a feed's page, and what the feed made of it."""

    codeset: str
    release: Release
    status: Status
    #: new / reissue: the snapshot label to store it under.
    label: str | None = None
    file: FetchResult | None = None
    #: reissue / repost: the issue it replaces.
    replaces: Issue | None = None

    @property
    def is_news(self) -> bool:
        return self.status in NEWS

    def to_dict(self) -> dict[str, Any]:
        rel = self.release
        return {
            "codeset": self.codeset,
            "version": rel.version,
            "issue": rel.issue,
            "effective": rel.effective.isoformat(),
            "status": self.status,
            "label": self.label,
            "urls": list(rel.urls),
            "page": rel.page,
            "sha256": self.file.sha256 if self.file else None,
            "replaces": self.replaces.to_dict() if self.replaces else None,
        }

    def edition(self) -> Edition:
        """The edition to ingest (new and re-issued files only)."""
        assert self.label is not None and self.file is not None
        return Edition(
            version=self.label,
            effective=self.release.effective,
            source=str(self.file.path),
            note=_provenance(self),
        )


@dataclass(frozen=True)
class FeedCheck:
    """One code set's feed: the pages read and every edition listed there."""

    codeset: str
    pages: tuple[str, ...]
    found: tuple[Found, ...]

    @property
    def latest(self) -> Found | None:
        return self.found[-1] if self.found else None


@dataclass(frozen=True)
class Discovery:
    """What every feed found, and the release lock as it will be once it is stored."""

    checks: tuple[FeedCheck, ...]
    lock: ReleaseLock
    lock_path: Path
    checked_at: str

    @property
    def news(self) -> list[Found]:
        return [f for c in self.checks for f in c.found if f.is_news]

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at,
            "feeds": [
                {
                    "codeset": c.codeset,
                    "pages": list(c.pages),
                    "found": [f.to_dict() for f in c.found],
                }
                for c in self.checks
            ],
        }

    def editions(self, codeset: str) -> list[Edition]:
        """The editions to ingest for `codeset`: new and re-issued files, oldest first."""
        return [
            f.edition()
            for c in self.checks
            if c.codeset == codeset
            for f in c.found
            if f.status in ("new", "reissue")
        ]

    def record(self, codeset: str | None = None) -> bool:
        """Write the release lock (only if it changed): all of it, or only `codeset`'s
        entries once that code set's editions are stored."""
        lock = self.lock
        if codeset is not None:
            lock = load_lock(self.lock_path).with_codeset(
                codeset, self.lock.releases.get(codeset, {})
            )
        return save_lock(self.lock_path, lock)


def has_feeds(config: Config) -> bool:
    return any(spec.feed is not None for spec in config.codesets.values())


def discover(
    config: Config,
    store: Store,
    *,
    only: str | None = None,
    now: datetime | None = None,
) -> Discovery:
    """Read every configured feed (or only `only`'s) and download what is new.

    Writes nothing but the download cache (`<store>/.downloads/`, never committed): no
    snapshot, no lock, no report. Raises `FeedError` / `DownloadError` on the first
    page or file that fails.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    checked_at = moment.isoformat(timespec="seconds").replace("+00:00", "Z")
    lock_path = store.root / LOCK_NAME
    lock = load_lock(lock_path)
    specs = [s for s in config.codesets.values() if s.feed is not None]
    if only is not None:
        specs = [s for s in specs if s.id == only]
        if not specs:
            raise ConfigError(f"code set {only!r} has no [codesets.{only}.feed] table")
    checks = []
    for spec in specs:
        check, lock = _check(spec, store, lock, checked_at)
        checks.append(check)
    return Discovery(tuple(checks), lock, lock_path, checked_at)


def feed_kind(spec: CodeSetSpec) -> FeedKind:
    """The feed of the kind a code set declares (or its feed table names)."""
    kind = (spec.feed and spec.feed.kind) or spec.kind
    found = kinds().get(kind)
    if found is None or found.feed is None:
        known = ", ".join(name for name, k in kinds().items() if k.feed is not None)
        raise ConfigError(
            f"code set {spec.id!r}: no release feed for its kind {kind!r} (feeds exist for "
            f"{known}); list its editions by hand"
        )
    return found.feed


def _check(
    spec: CodeSetSpec, store: Store, lock: ReleaseLock, seen_at: str
) -> tuple[FeedCheck, ReleaseLock]:
    settings = spec.feed or FeedSettings()
    kind = feed_kind(spec)
    pages = settings.pages or kind.pages
    deadline = time.monotonic() + settings.deadline
    listed = releases(
        hit for page in pages for hit in _read_listing(kind, page, settings.timeout, deadline)
    )
    if settings.since is not None:
        listed = [r for r in listed if r.effective >= settings.since]
    configured = {e.version for e in spec.editions}
    found: list[Found] = []
    for rel in listed:
        item, lock = _judge(spec, rel, store, lock, configured, settings, deadline, seen_at, found)
        found.append(item)
    return FeedCheck(spec.id, tuple(pages), tuple(found)), lock


def _read_listing(
    kind: FeedKind, page: str, timeout: float, deadline: float
) -> list[tuple[Link, Candidate, str]]:
    """The release links on one listing page (and on the sub-pages it leads to)."""
    hits: list[tuple[Link, Candidate, str]] = []
    followed = 0
    for link in page_links(fetch_page(page, timeout=timeout, deadline=deadline), page):
        link = replace(link, url=unwrap(link.url))
        if (cand := kind.release(link, None)) is not None:
            hits.append((link, cand, page))
        elif kind.follow is not None and (parent := kind.follow(link)) is not None:
            followed += 1
            sub = fetch_page(link.url, timeout=timeout, deadline=deadline)
            for inner in page_links(sub, link.url):
                inner = replace(inner, url=unwrap(inner.url))
                if (cand := kind.release(inner, parent)) is not None:
                    hits.append((inner, cand, link.url))
    if not hits:
        more = f" ({followed} release page(s) followed, none linking a file)" if followed else ""
        raise FeedError(
            f"{page}: no {kind.kind} release files found{more}: looked for {kind.expect}; "
            "the page has changed its layout or address. Check it in a browser, then update "
            "the feed's `pages` or add the edition by hand"
        )
    return hits


def _judge(
    spec: CodeSetSpec,
    rel: Release,
    store: Store,
    lock: ReleaseLock,
    configured: set[str],
    settings: FeedSettings,
    deadline: float,
    seen_at: str,
    before: list[Found],
) -> tuple[Found, ReleaseLock]:
    """Decide what one listed edition is, downloading it when that takes its content.

    `before` is what this check already found (an earlier issue of the same edition
    may be among them, downloaded but not stored yet)."""
    if rel.version in settings.skip:
        return Found(spec.id, rel, "skipped"), lock
    if rel.version in configured:
        return Found(spec.id, rel, "configured"), lock
    if len(rel.urls) > 1:
        return Found(spec.id, rel, "parts"), lock
    latest = lock.latest(spec.id, rel.version)
    if latest is None and store.has(spec.id, rel.version):
        return Found(spec.id, rel, "stored"), lock
    issues = lock.issues(spec.id, rel.version)
    same_url = [i for i in issues if i.url == rel.url]
    known: dict[str, Any] | None = None
    if same_url:
        known = {
            "etag": same_url[-1].etag,
            "last_modified": same_url[-1].last_modified,
            "sha256": same_url[-1].sha256,
            "bytes": same_url[-1].bytes,
        }
    got = _download(spec, rel, store, settings, deadline, known)
    if any(got.sha256 == i.sha256 for i in issues):
        return Found(spec.id, rel, "known", file=got), lock
    count = len(lock.issues(spec.id, rel.version))
    label: str | None = rel.version if latest is None else f"{rel.version}-r{count + 1}"
    status: Status = "new" if latest is None else "reissue"
    if latest is not None and _same_records(spec, store, lock, rel.version, got, before):
        status, label = "repost", None
    issue = Issue(
        stored_as=label,
        url=rel.url,
        sha256=got.sha256,
        bytes=got.bytes,
        etag=got.etag,
        last_modified=got.last_modified,
        first_seen=seen_at,
        page=rel.page,
        effective=rel.effective.isoformat(),
    )
    found = Found(spec.id, rel, status, label, got, latest)
    return found, lock.with_issue(spec.id, rel.version, issue)


def _download(
    spec: CodeSetSpec,
    rel: Release,
    store: Store,
    settings: FeedSettings,
    deadline: float,
    known: dict[str, Any] | None,
) -> FetchResult:
    cache = store.root / DOWNLOADS
    name = unquote(PurePosixPath(urlsplit(rel.url).path).name) or "release"
    got = fetch(
        rel.url,
        cache / spec.id / "feed" / rel.version / name,
        state=cache / "state.json",
        sha256=settings.sha256.get(rel.version),
        timeout=settings.timeout,
        deadline=deadline,
        known=known,
    )
    if got.status == "downloaded" and name.lower().endswith(".zip"):
        with got.path.open("rb") as handle:
            head = handle.read(4)
        if head not in _ZIP_MAGIC:
            got.path.unlink(missing_ok=True)
            raise FeedError(
                f"{rel.url}: not a zip file (starts with {head!r}): the publisher served "
                "something else under the release file's name; nothing stored"
            )
    return got


def _same_records(
    spec: CodeSetSpec,
    store: Store,
    lock: ReleaseLock,
    edition: str,
    got: FetchResult,
    before: list[Found],
) -> bool:
    """Whether a re-issued file holds exactly the records of the issue it replaces
    (stored, or found earlier in this same check)."""
    labels = [i.stored_as for i in lock.issues(spec.id, edition) if i.stored_as]
    if not labels:
        return False
    if store.has(spec.id, labels[-1]):
        previous = store.get(spec.id, labels[-1]).manifest.content_sha256
    else:
        pending = [f.file for f in before if f.label == labels[-1] and f.file is not None]
        if not pending:
            return False
        previous = _digest(spec, pending[-1].path)
    return _digest(spec, got.path) == previous


def _digest(spec: CodeSetSpec, path: Path) -> str:
    data = read_source(path, spec.reader, spec.key, formats=spec.formats)
    return content_digest(data.frame)


def _provenance(found: Found) -> str:
    rel = found.release
    sha = found.file.sha256 if found.file else "?"
    text = f"Found by the release feed on {rel.page}: {rel.url} (sha256 {sha})."
    if found.replaces is not None:
        text += (
            f" A re-issue of {found.codeset} {rel.version}: it replaces "
            f"{found.replaces.url} (sha256 {found.replaces.sha256}, first seen "
            f"{found.replaces.first_seen})."
        )
    return text
