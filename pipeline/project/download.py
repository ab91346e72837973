"""Fetch a release file by URL for a scheduled run, with the standard library only.

A download either completes and is verified (length, size cap, content type,
optional sha256 pin) and then renamed over `dest`, or fails leaving `dest` as it
was: a half-fetched release must never be ingested as if it were a small edition.
A JSON state file remembers each URL's validators so an unchanged release costs
one conditional request (304) instead of a full download.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import ssl
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from pipeline import __version__
from pipeline.errors import DownloadError
from pipeline.store.snapshots import TMP_PREFIX, file_digest, write_atomically

USER_AGENT = f"codeset-pipeline/{__version__}"
CHUNK = 1 << 16
#: Longest wait between attempts, whatever the backoff or a server's Retry-After says.
MAX_DELAY = 60.0
#: Media types that are a web page, never a release file (a login or error page served as 200).
HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_STARTS = (b"<!doctype html", b"<html")

Progress = Callable[[int, int | None], None]
#: What the state file keeps per URL (named like the `FetchResult` fields they fill).
_STATE_KEYS = ("etag", "last_modified", "sha256", "bytes")


#: A whole download (every attempt) must finish within this many seconds ...
DEADLINE = 1800.0
#: ... and, once `RATE_GRACE` seconds have passed, average at least `MIN_RATE` bytes a
#: second: a server that drips a byte at a time never trips a read timeout.
MIN_RATE = 10_000.0
RATE_GRACE = 60.0


@dataclass(frozen=True)
class FetchResult:
    """What `fetch` did: downloaded a new copy, or confirmed the cached one is current."""

    url: str
    path: Path
    status: Literal["downloaded", "not-modified"]
    sha256: str
    bytes: int
    etag: str | None
    last_modified: str | None


class _Transient(Exception):
    """A failure worth another attempt (5xx, 429, timeout, dropped connection)."""

    def __init__(self, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _SafeRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects only to http(s), and never from https down to http."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        scheme = urlsplit(newurl).scheme.lower()
        if scheme not in ("http", "https") or (req.type == "https" and scheme == "http"):
            fp.close()
            raise DownloadError(f"{req.full_url}: refused redirect (HTTP {code}) to {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(
    url: str,
    dest: Path,
    *,
    state: Path,
    sha256: str | None = None,
    max_bytes: int = 512 * 1024**2,
    timeout: float = 30.0,
    retries: int = 4,
    backoff: float = 1.0,
    progress: Progress | None = None,
    known: dict[str, Any] | None = None,
    deadline: float | None = None,
) -> FetchResult:
    """Download `url` to `dest` atomically, or confirm with a conditional request that
    the copy already there is current. Raises `DownloadError` on any failure.

    `known` (etag, last_modified, sha256, bytes) is what the caller already holds of
    this URL, e.g. from a lock file: its validators are sent even without a copy in
    `dest`, and a 304 returns them. `deadline` (a `time.monotonic()` value) brings the
    whole download's deadline forward, retries included.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"{url}: only http:// and https:// URLs can be downloaded")
    pin = sha256.lower() if sha256 else None
    states = _load_state(state)
    if known is None:
        known = states.get(url) if isinstance(states.get(url), dict) else None
        conditional = _validators(known, dest, pin)
    else:
        conditional = _validators(known, None, pin)
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*", **conditional}
    opener = urllib.request.build_opener(_SafeRedirects)
    attempts = 1 + max(0, retries)
    limit = DEADLINE if deadline is None else max(0.0, deadline - time.monotonic())
    deadline = time.monotonic() + min(DEADLINE, limit)
    for attempt in range(attempts):
        try:
            result = _attempt(
                opener, url, dest, headers, pin, max_bytes, timeout, progress, deadline, limit
            )
        except _Transient as exc:
            if attempt + 1 == attempts:
                tries = f" (gave up after {attempts} attempts)" if attempts > 1 else ""
                raise DownloadError(f"{url}: {exc}{tries}") from None
            delay = min(max(backoff * 2**attempt, exc.retry_after), MAX_DELAY)
            if time.monotonic() + delay > deadline:
                raise DownloadError(
                    f"{url}: {exc} (no time left for another attempt within the "
                    f"{limit:g}-second deadline)"
                ) from None
            time.sleep(delay)
            continue
        if result is None:  # 304: the copy in dest is current; leave it and the state alone
            assert known is not None
            entry: dict[str, Any] = {k: known.get(k) for k in _STATE_KEYS}
            return FetchResult(url=url, path=dest, status="not-modified", **entry)
        states[url] = {k: getattr(result, k) for k in _STATE_KEYS}
        try:
            write_atomically(state, (json.dumps(states, indent=2, sort_keys=True) + "\n").encode())
        except OSError as exc:
            raise DownloadError(f"{url}: downloaded, but could not save {state}: {exc}") from None
        return result
    raise AssertionError("unreachable")


def _attempt(
    opener: urllib.request.OpenerDirector,
    url: str,
    dest: Path,
    headers: dict[str, str],
    pin: str | None,
    max_bytes: int,
    timeout: float,
    progress: Progress | None,
    deadline: float,
    limit: float = DEADLINE,
) -> FetchResult | None:
    """One request; None means 304 Not Modified."""
    try:
        response = opener.open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except HTTPError as exc:
        exc.close()
        if exc.code == 304 and ("If-None-Match" in headers or "If-Modified-Since" in headers):
            return None
        what = f"HTTP {exc.code} {exc.reason}".rstrip()
        if exc.code >= 500 or exc.code == 429:
            raise _Transient(what, _int_header(exc.headers.get("Retry-After")) or 0) from None
        raise DownloadError(f"{url}: {what}") from None
    except (ValueError, http.client.InvalidURL) as exc:  # a bad port, a space in the host...
        raise DownloadError(f"{url}: invalid URL ({exc})") from None
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(getattr(exc, "reason", exc), ssl.SSLCertVerificationError):
            raise DownloadError(f"{url}: {_describe(exc, timeout)}") from None  # no use retrying
        raise _Transient(_describe(exc, timeout)) from None
    with response:
        if response.status != 200:
            raise DownloadError(f"{url}: unexpected HTTP {response.status} {response.reason}")
        ctype = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype in HTML_TYPES:
            raise DownloadError(f"{url}: server sent a web page ({ctype}), not a release file")
        total = _int_header(response.headers.get("Content-Length"))
        if total is not None and total > max_bytes:
            raise DownloadError(f"{url}: Content-Length {total} is over the {max_bytes}-byte cap")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{TMP_PREFIX}{dest.name}-{os.getpid()}")
        try:
            digest, received = _stream(
                response, tmp, url, total, max_bytes, timeout, progress, deadline, limit
            )
            if total is not None and received < total:
                raise _Transient(f"truncated download: received {received} of {total} bytes")
            with tmp.open("rb") as head:
                if head.read(64).lstrip().lower().startswith(_HTML_STARTS):
                    raise DownloadError(f"{url}: server sent a web page (HTML), not a release file")
            if pin is not None and digest != pin:
                raise DownloadError(f"{url}: sha256 mismatch: expected {pin}, got {digest}")
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return FetchResult(
        url,
        dest,
        "downloaded",
        digest,
        received,
        response.headers.get("ETag"),
        response.headers.get("Last-Modified"),
    )


def _stream(
    response: http.client.HTTPResponse,
    tmp: Path,
    url: str,
    total: int | None,
    max_bytes: int,
    timeout: float,
    progress: Progress | None,
    deadline: float,
    limit: float = DEADLINE,
) -> tuple[str, int]:
    """Copy the body to `tmp` (fsynced), hashing as it goes; stop just past the cap, the
    deadline, or when the rate falls under the minimum."""
    digest = hashlib.sha256()
    received = 0
    started = time.monotonic()
    with tmp.open("wb") as out:
        if progress is not None:
            progress(0, total)
        while True:
            try:
                block = response.read1(min(CHUNK, max_bytes + 1 - received))
            except (OSError, http.client.HTTPException) as exc:
                raise _Transient(f"{_describe(exc, timeout)} after {received} bytes") from None
            if not block:
                break
            received += len(block)
            if received > max_bytes:
                raise DownloadError(f"{url}: body is over the {max_bytes}-byte cap")
            out.write(block)
            digest.update(block)
            _check_pace(url, received, started, deadline, limit)
            if progress is not None:
                progress(received, total)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest(), received


def _check_pace(
    url: str, received: int, started: float, deadline: float, limit: float = DEADLINE
) -> None:
    now = time.monotonic()
    if now > deadline:
        raise DownloadError(
            f"{url}: not complete within the {limit:g}-second deadline "
            f"({received:,} bytes received)"
        )
    elapsed = now - started
    if elapsed > RATE_GRACE and received / elapsed < MIN_RATE:
        raise DownloadError(
            f"{url}: {received / elapsed:,.0f} bytes a second after {elapsed:.0f} s, under the "
            f"minimum of {MIN_RATE:,.0f} (a stalled or throttled server?)"
        )


def _validators(known: dict[str, Any] | None, dest: Path | None, pin: str | None) -> dict[str, str]:
    """Conditional headers, only when `dest` is exactly what the state says was downloaded
    (`dest` None: the caller vouches for what `known` describes)."""
    if known is None or not (known.get("etag") or known.get("last_modified")):
        return {}
    if pin is not None and known.get("sha256") != pin:
        return {}
    try:
        if dest is not None and (
            dest.stat().st_size != known.get("bytes") or file_digest(dest) != known.get("sha256")
        ):
            return {}
    except OSError:
        return {}
    headers = {}
    if known.get("etag"):
        headers["If-None-Match"] = str(known["etag"])
    if known.get("last_modified"):
        headers["If-Modified-Since"] = str(known["last_modified"])
    return headers


def _wait(timeout: float, deadline: float | None, url: str) -> float:
    """The socket timeout for the next request: `timeout`, cut short by the deadline."""
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise DownloadError(f"{url}: too slow: deadline passed before the request")
    return min(timeout, left)


def fetch_page(
    url: str,
    *,
    timeout: float = 30.0,
    deadline: float | None = None,
    retries: int = 2,
    backoff: float = 1.0,
    max_bytes: int = 16 * 1024**2,
) -> str:
    """A publisher's web page (a listing of release files) as text.

    Same rules as a release download (safe redirects, retries on 5xx and network
    errors, a size cap, the deadline), without the refusal of HTML.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"{url}: only http:// and https:// pages can be read")
    opener = urllib.request.build_opener(_SafeRedirects)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    attempts = 1 + max(0, retries)
    for attempt in range(attempts):
        try:
            return _read_page(opener, request, url, timeout, deadline, max_bytes)
        except _Transient as exc:
            delay = min(max(backoff * 2**attempt, exc.retry_after), MAX_DELAY)
            late = deadline is not None and time.monotonic() + delay >= deadline
            if attempt + 1 == attempts or late:
                tries = f" (gave up after {attempt + 1} attempts)" if attempt else ""
                raise DownloadError(f"{url}: {exc}{tries}") from None
            time.sleep(delay)
    raise AssertionError("unreachable")


def _read_page(
    opener: urllib.request.OpenerDirector,
    request: urllib.request.Request,
    url: str,
    timeout: float,
    deadline: float | None,
    max_bytes: int,
) -> str:
    try:
        response = opener.open(request, timeout=_wait(timeout, deadline, url))
    except HTTPError as exc:
        exc.close()
        what = f"HTTP {exc.code} {exc.reason}".rstrip()
        if exc.code >= 500 or exc.code == 429:
            raise _Transient(what, _int_header(exc.headers.get("Retry-After")) or 0) from None
        raise DownloadError(f"{url}: {what}") from None
    except (ValueError, http.client.InvalidURL) as exc:
        raise DownloadError(f"{url}: invalid URL ({exc})") from None
    except (OSError, http.client.HTTPException) as exc:
        raise _Transient(_describe(exc, timeout)) from None
    with response:
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                block = response.read1(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise _Transient(f"{_describe(exc, timeout)} after {size} bytes") from None
            if not block:
                break
            if deadline is not None and time.monotonic() > deadline:
                raise DownloadError(f"{url}: too slow: deadline passed after {size} bytes")
            size += len(block)
            if size > max_bytes:
                raise DownloadError(f"{url}: page is over the {max_bytes}-byte cap")
            chunks.append(block)
        charset = response.headers.get_content_charset() or "utf-8"
    try:
        return b"".join(chunks).decode(charset, errors="replace")
    except LookupError:
        return b"".join(chunks).decode("utf-8", errors="replace")


def _load_state(path: Path) -> dict[str, Any]:
    """The state file; a missing or unreadable one only costs an unconditional download."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _int_header(value: str | None) -> int | None:
    """A whole-number header (Content-Length, Retry-After in seconds); None if absent or odd."""
    return int(value) if value is not None and value.strip().isdigit() else None


def _describe(exc: BaseException, timeout: float) -> str:
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, TimeoutError):
        return f"timed out after {timeout:g} s"
    return f"connection failed ({str(reason) or type(reason).__name__})"
