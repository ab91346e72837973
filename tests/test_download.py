"""Downloads against a local server: every failure leaves `dest` and the state file as they were.

The server listens on 127.0.0.1 only and is started and stopped by a fixture;
proxy variables are cleared so no request can leave the machine.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline import __version__
from pipeline.errors import DownloadError, PipelineError
from pipeline.project.download import FetchResult, fetch

BODY = b"code\tdescription\nA0001\tAmbulance service\n" * 50
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
SHA = hashlib.sha256(BODY).hexdigest()


class Server(ThreadingHTTPServer):
    """Counts requests per path and remembers the request headers it saw."""

    daemon_threads = True
    hits: Counter[str]
    seen: list[dict[str, str]]
    release: threading.Event

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout, cap) breaks the pipe: expected, not noise."""


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send(
        self, code: int, body: bytes = b"", ctype: str = "application/zip", **extra: str
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        if "Content-Length" not in extra and code != 304:
            self.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path
        self.server.hits[path] += 1
        self.server.seen.append(dict(self.headers.items()))
        count = self.server.hits[path]
        if path in ("/file.zip", "/lm-only.zip"):
            validators = {"Last-Modified": LAST_MODIFIED}
            if path == "/file.zip":
                validators["ETag"] = ETAG
            if self.headers.get("If-None-Match") == validators.get("ETag", "-") or (
                "If-None-Match" not in self.headers
                and self.headers.get("If-Modified-Since") == LAST_MODIFIED
            ):
                self.send(304, b"", **validators)
            else:
                self.send(200, BODY, **validators)
        elif path == "/missing.zip":
            self.send(404, b"not found", "text/plain")
        elif path == "/flaky.zip":
            self.send(500 if count == 1 else 200, BODY)
        elif path == "/busy.zip":
            self.send(429 if count == 1 else 200, BODY, **{"Retry-After": "0"})
        elif path == "/down.zip":
            self.send(500, b"oops", "text/plain")
        elif path == "/slow.zip":
            self.server.release.wait(5)
            self.send(200, BODY)
        elif path == "/stall.zip":  # headers and a first part, then nothing
            self.send(200, BODY[:100], **{"Content-Length": "1000"})
            self.wfile.flush()
            self.server.release.wait(5)
        elif path == "/truncated.zip":
            self.send(200, BODY[:100], **{"Content-Length": "1000"})
        elif path == "/login.zip":
            self.send(200, b"<html><body>Please sign in</body></html>", "text/html; charset=utf-8")
        elif path == "/disguised.zip":
            self.send(200, b"\n<!DOCTYPE html><html>Error</html>", "application/octet-stream")
        elif path == "/codes.csv":
            self.send(200, BODY, "text/csv; charset=utf-8")
        elif path == "/big.zip":
            self.send(200, b"x" * 5000)
        elif path == "/big-stream.zip":  # no Content-Length: the body ends when the connection does
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"x" * 5000)
        elif path == "/moved.zip":
            self.send(302, Location="/file.zip")
        elif path == "/to-ftp.zip":
            self.send(302, Location="ftp://127.0.0.1/file.zip")
        else:
            self.send(404)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy from the environment would carry test requests off the machine."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def server() -> Iterator[Server]:
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.hits, httpd.seen, httpd.release = Counter(), [], threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def url(server: Server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def get(server: Server, path: str, tmp: Path, **kwargs: Any) -> FetchResult:
    options: dict[str, Any] = {"retries": 0, "backoff": 0, "timeout": 5}
    options.update(kwargs)
    return fetch(url(server, path), tmp / "dl" / "release.zip", state=tmp / "state.json", **options)


def leftovers(tmp: Path) -> list[Path]:
    return sorted(tmp.rglob(".tmp-*"))


def state_of(tmp: Path) -> Any:
    return json.loads((tmp / "state.json").read_text())


def assert_failed_cleanly(tmp: Path, dest_content: bytes | None = None) -> None:
    """Nothing half-written: dest as before (or absent), no temporaries, state untouched."""
    dest = tmp / "dl" / "release.zip"
    if dest_content is None:
        assert not dest.exists()
        assert not (tmp / "state.json").exists()
    else:
        assert dest.read_bytes() == dest_content
    assert leftovers(tmp) == []


def test_download_writes_dest_and_state(server: Server, tmp_path: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    result = get(server, "/file.zip", tmp_path, progress=lambda r, t: calls.append((r, t)))
    dest = tmp_path / "dl" / "release.zip"
    assert result == FetchResult(
        url(server, "/file.zip"), dest, "downloaded", SHA, len(BODY), ETAG, LAST_MODIFIED
    )
    assert dest.read_bytes() == BODY
    assert leftovers(tmp_path) == []
    assert state_of(tmp_path) == {
        url(server, "/file.zip"): {
            "etag": ETAG,
            "last_modified": LAST_MODIFIED,
            "sha256": SHA,
            "bytes": len(BODY),
        }
    }
    assert calls[0] == (0, len(BODY)) and calls[-1] == (len(BODY), len(BODY))
    assert server.seen[0]["User-Agent"] == f"codeset-pipeline/{__version__}"
    assert "If-None-Match" not in server.seen[0]


@pytest.mark.parametrize("path", ["/file.zip", "/lm-only.zip"])
def test_unchanged_release_is_not_modified(server: Server, tmp_path: Path, path: str) -> None:
    first = get(server, path, tmp_path)
    state_before = (tmp_path / "state.json").read_bytes()
    mtime = first.path.stat().st_mtime_ns
    second = get(server, path, tmp_path)
    assert second.status == "not-modified"
    assert (second.sha256, second.bytes, second.path) == (SHA, len(BODY), first.path)
    assert second.etag == first.etag and second.last_modified == LAST_MODIFIED
    assert server.seen[1]["If-Modified-Since"] == LAST_MODIFIED
    assert server.seen[1].get("If-None-Match") == (ETAG if path == "/file.zip" else None)
    assert first.path.stat().st_mtime_ns == mtime and first.path.read_bytes() == BODY
    assert (tmp_path / "state.json").read_bytes() == state_before
    assert leftovers(tmp_path) == []


def test_no_conditional_request_when_dest_was_changed_or_removed(
    server: Server, tmp_path: Path
) -> None:
    dest = get(server, "/file.zip", tmp_path).path
    dest.write_bytes(b"edited by hand")
    assert get(server, "/file.zip", tmp_path).status == "downloaded"
    assert "If-None-Match" not in server.seen[1] and dest.read_bytes() == BODY
    dest.unlink()
    assert get(server, "/file.zip", tmp_path).status == "downloaded"
    assert "If-None-Match" not in server.seen[2] and dest.read_bytes() == BODY


def test_404_fails_at_once(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"/missing\.zip: HTTP 404 Not Found$") as info:
        get(server, "/missing.zip", tmp_path, retries=3)
    assert isinstance(info.value, PipelineError)
    assert server.hits["/missing.zip"] == 1
    assert_failed_cleanly(tmp_path)


@pytest.mark.parametrize("path", ["/flaky.zip", "/busy.zip"])
def test_5xx_and_429_are_retried(server: Server, tmp_path: Path, path: str) -> None:
    result = get(server, path, tmp_path, retries=2)
    assert result.status == "downloaded" and result.path.read_bytes() == BODY
    assert server.hits[path] == 2
    assert state_of(tmp_path)[url(server, path)]["sha256"] == SHA
    assert leftovers(tmp_path) == []


def test_persistent_5xx_gives_up_after_all_attempts(server: Server, tmp_path: Path) -> None:
    message = r"/down\.zip: HTTP 500 Internal Server Error \(gave up after 4 attempts\)"
    with pytest.raises(DownloadError, match=message):
        get(server, "/down.zip", tmp_path, retries=3)
    assert server.hits["/down.zip"] == 4
    assert_failed_cleanly(tmp_path)


def test_backoff_doubles_between_attempts(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr("pipeline.project.download.time.sleep", sleeps.append)
    with pytest.raises(DownloadError):
        get(server, "/down.zip", tmp_path, retries=3, backoff=1.5)
    assert sleeps == [1.5, 3.0, 6.0]


def test_timeout_fails_in_bounded_time(server: Server, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(
        DownloadError, match=r"/slow\.zip: timed out after 0\.3 s \(gave up after 2"
    ):
        get(server, "/slow.zip", tmp_path, timeout=0.3, retries=1)
    assert time.monotonic() - started < 3
    assert server.hits["/slow.zip"] == 2
    assert_failed_cleanly(tmp_path)


def test_stalled_body_times_out_and_removes_the_partial_file(
    server: Server, tmp_path: Path
) -> None:
    started = time.monotonic()
    with pytest.raises(
        DownloadError, match=r"/stall\.zip: timed out after 0\.3 s after 100 bytes$"
    ):
        get(server, "/stall.zip", tmp_path, timeout=0.3)
    assert time.monotonic() - started < 3
    assert_failed_cleanly(tmp_path)


def test_truncated_body_fails_and_leaves_previous_dest(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "dl" / "release.zip"
    dest.parent.mkdir()
    dest.write_bytes(b"previous release")
    with pytest.raises(DownloadError, match=r"truncated download: received 100 of 1000 bytes"):
        get(server, "/truncated.zip", tmp_path, retries=1)
    assert server.hits["/truncated.zip"] == 2
    assert_failed_cleanly(tmp_path, b"previous release")
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize("path", ["/login.zip", "/disguised.zip"])
def test_web_page_is_refused(server: Server, tmp_path: Path, path: str) -> None:
    with pytest.raises(DownloadError, match=r"server sent a web page .*not a release file"):
        get(server, path, tmp_path, retries=2)
    assert server.hits[path] == 1
    assert_failed_cleanly(tmp_path)


def test_csv_content_type_is_accepted(server: Server, tmp_path: Path) -> None:
    result = get(server, "/codes.csv", tmp_path)
    assert result.path.read_bytes() == BODY
    assert (result.etag, result.last_modified) == (None, None)
    assert state_of(tmp_path)[url(server, "/codes.csv")] == {
        "etag": None,
        "last_modified": None,
        "sha256": SHA,
        "bytes": len(BODY),
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/big.zip", r"Content-Length 5000 is over the 1000-byte cap"),
        ("/big-stream.zip", r"body is over the 1000-byte cap"),
    ],
)
def test_size_cap(server: Server, tmp_path: Path, path: str, message: str) -> None:
    with pytest.raises(DownloadError, match=message):
        get(server, path, tmp_path, max_bytes=1000, retries=2)
    assert server.hits[path] == 1
    assert_failed_cleanly(tmp_path)


def test_sha256_pin(server: Server, tmp_path: Path) -> None:
    assert get(server, "/file.zip", tmp_path, sha256=SHA.upper()).sha256 == SHA
    state_before = (tmp_path / "state.json").read_bytes()
    dest = tmp_path / "dl" / "release.zip"
    dest.write_bytes(b"previous release")
    wrong = "0" * 64
    with pytest.raises(DownloadError, match=f"sha256 mismatch: expected {wrong}, got {SHA}"):
        get(server, "/file.zip", tmp_path, sha256=wrong)
    assert_failed_cleanly(tmp_path, b"previous release")
    assert (tmp_path / "state.json").read_bytes() == state_before


def test_pin_differing_from_cached_copy_forces_a_download(server: Server, tmp_path: Path) -> None:
    get(server, "/file.zip", tmp_path)
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        get(server, "/file.zip", tmp_path, sha256="f" * 64)
    assert "If-None-Match" not in server.seen[1]
    assert_failed_cleanly(tmp_path, BODY)


def test_redirects(server: Server, tmp_path: Path) -> None:
    assert get(server, "/moved.zip", tmp_path).path.read_bytes() == BODY
    with pytest.raises(DownloadError, match=r"refused redirect \(HTTP 302\) to ftp://"):
        get(server, "/to-ftp.zip", tmp_path / "other")
    assert_failed_cleanly(tmp_path / "other")


@pytest.mark.parametrize(
    "source", ["file:///etc/hostname", "ftp://127.0.0.1/file.zip", "https://", "release.zip"]
)
def test_only_http_urls(tmp_path: Path, source: str) -> None:
    with pytest.raises(DownloadError, match="only http:// and https:// URLs can be downloaded"):
        fetch(source, tmp_path / "release.zip", state=tmp_path / "state.json")
    assert list(tmp_path.iterdir()) == []


def test_connection_refused_is_retried_then_reported(tmp_path: Path) -> None:
    closed = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = closed.server_address[1]
    closed.server_close()
    with pytest.raises(DownloadError, match=r"connection failed .*\(gave up after 2 attempts\)"):
        fetch(
            f"http://127.0.0.1:{port}/file.zip",
            tmp_path / "release.zip",
            state=tmp_path / "state.json",
            retries=1,
            backoff=0,
        )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("source", ["http://127.0.0.1:x/file.zip", "http://127.0.0.1/a b.zip"])
def test_invalid_url_fails_at_once(tmp_path: Path, source: str) -> None:
    with pytest.raises(DownloadError, match=r"invalid URL \("):
        fetch(source, tmp_path / "release.zip", state=tmp_path / "s.json", backoff=60)
    assert list(tmp_path.iterdir()) == []
