"""Release feeds: a publisher's listing page read as a list of editions.

Publishers announce a new edition by adding a link to a web page (CMS's quarterly
HCPCS page, its fee-schedule and NCCI pages, CDC's directory listing). A feed reads
that page's links and keeps those that are release files, each with the edition's
label and effective date derived from the link, the way the publisher names them.
How one publisher names its files lives with that code-set kind
(`pipeline.codesets.<kind>.feed`); this module is the part they share: the link
extraction, the shapes of what a feed finds, and the choice among a page's links.
Nothing here touches the network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit


@dataclass(frozen=True)
class Link:
    """One `<a href>` on a page: the absolute URL, its text and title, whitespace folded."""

    url: str
    text: str = ""
    title: str = ""

    @property
    def name(self) -> str:
        """The last path segment, lower-cased (`january-2026-alpha-numeric-hcpcs-file.zip`)."""
        return urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1].lower()


@dataclass(frozen=True)
class Candidate:
    """What a kind's feed reads from one link: which edition, and which issue of it.

    `issue` orders the posts of one edition (CMS's `-v2`, NCCI's `r1`, an April update).
    `part` numbers the files of an edition published in several (NCCI's `-f1` .. `-f4`).
    """

    version: str
    effective: date
    issue: int = 0
    part: int | None = None


@dataclass(frozen=True)
class Release:
    """One edition found on a listing page: the file(s) to download and where it was seen."""

    version: str
    effective: date
    urls: tuple[str, ...]
    page: str
    title: str = ""
    #: Which post of the edition this is (0 the first; see `Candidate.issue`).
    issue: int = 0

    @property
    def url(self) -> str:
        return self.urls[0]


@dataclass(frozen=True)
class FeedKind:
    """How one publisher lists one kind of code set.

    `pages` are the listing pages a feed reads by default. `release` turns a link into
    the edition it is a file of (None: not a release file); when `follow` is given, a
    link it accepts leads to a sub-page (one more hop, e.g. the fee schedule's
    `rvu26a` page) whose links are read with the candidate `follow` returned as context.
    `expect` says in words what the links look like, for the error when none match.
    """

    kind: str
    pages: tuple[str, ...]
    release: Callable[[Link, Candidate | None], Candidate | None]
    expect: str
    follow: Callable[[Link], Candidate | None] | None = None


class _Anchors(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[Link] = []
        self._open: tuple[str, str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base":
            href = dict(attrs).get("href")
            if href:
                self.base = urljoin(self.base, href.strip())
        if tag != "a":
            return
        self._close()
        values = dict(attrs)
        href = (values.get("href") or "").strip()
        if href and not href.startswith(("#", "mailto:", "javascript:")):
            self._open = (urljoin(self.base, href), values.get("title") or "", [])

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[2].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._close()

    def _close(self) -> None:
        if self._open is not None:
            url, title, text = self._open
            self.links.append(Link(url, _fold("".join(text)), _fold(title)))
            self._open = None


def _fold(text: str) -> str:
    return " ".join(text.split())


def page_links(html: str, base: str) -> list[Link]:
    """Every link on a page, absolute, in page order, each URL once (its first text kept).

    Tolerant of what real pages do: upper-case tags (IIS directory listings), single
    quotes, entities in URLs, a `<base href>`, unclosed anchors.
    """
    parser = _Anchors(base)
    parser.feed(html)
    parser.close()
    parser._close()
    seen: set[str] = set()
    unique = []
    for link in parser.links:
        if link.url not in seen:
            seen.add(link.url)
            unique.append(link)
    return unique


def unwrap(url: str, parameter: str = "file") -> str:
    """The file behind a click-through link (`/license/ama?file=/files/zip/x.zip`)."""
    parts = urlsplit(url)
    target = parse_qs(parts.query).get(parameter)
    if not target:
        return url
    return urljoin(url, "/" + target[0].lstrip("/"))


def releases(found: Iterable[tuple[Link, Candidate, str]]) -> list[Release]:
    """Group candidates into editions: one release per edition and issue, its parts in order.

    `found` holds (link, candidate, page it was on). An edition listed under several
    issues (a first post and its correction, an ICD-10-CM fiscal year and its April
    update) gives one release per issue, the earliest issue first, so that each later
    one is judged against the one before it.
    """
    groups: dict[tuple[str, int], tuple[date, dict[int | None, Link], str]] = {}
    for link, cand, page in found:
        key = (cand.version, cand.issue)
        if key not in groups:
            groups[key] = (cand.effective, {}, page)
        groups[key][1].setdefault(cand.part, link)
    out = []
    for (version, issue), (effective, parts, page) in groups.items():
        ordered = [parts[p] for p in sorted(parts, key=lambda p: -1 if p is None else p)]
        title = ordered[0].title or ordered[0].text
        out.append(Release(version, effective, tuple(x.url for x in ordered), page, title, issue))
    return sorted(out, key=lambda r: (r.effective, r.version, r.issue))
