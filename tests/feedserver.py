"""A publisher stand-in on 127.0.0.1: listing pages and release files, as CMS serves them.

Routes map a path to a `Reply` and can change between two runs (a quarter appears, a
file is re-posted). Files carry an ETag and answer a matching `If-None-Match` with 304.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

PAGES = Path(__file__).parent / "feeds"
HCPCS_PAGE_PATH = "/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update"


@dataclass
class Reply:
    body: bytes
    content_type: str = "application/zip"
    status: int = 200
    #: Seconds to wait before answering (a slow server).
    delay: float = 0.0
    #: Seconds to wait between 64 KiB blocks of the body (a server that trickles).
    trickle: float = 0.0


class Publisher(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Reply]
    hits: Counter[tuple[str, int]]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def page(self, path: str, html: str) -> None:
        self.routes[path] = Reply(html.encode(), "text/html; charset=utf-8")

    def file(self, path: str, body: bytes, content_type: str = "application/zip") -> None:
        self.routes[path] = Reply(body, content_type)


class Handler(BaseHTTPRequestHandler):
    server: Publisher

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        reply = self.server.routes.get(self.path)
        if reply is None:
            self.server.hits[(self.path, 404)] += 1
            self.send_error(404, "Not Found")
            return
        if reply.delay:
            time.sleep(reply.delay)
        etag = f'"{hashlib.sha256(reply.body).hexdigest()[:16]}"'
        code = 304 if self.headers.get("If-None-Match") == etag else reply.status
        self.server.hits[(self.path, code)] += 1
        try:
            self.send_response(code)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", "Wed, 17 Jun 2026 15:59:47 GMT")
            if code != 304:
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if code != 304:
                step = 1 << 16 if reply.trickle else len(reply.body) or 1
                for start in range(0, len(reply.body), step):
                    self.wfile.write(reply.body[start : start + step])
                    self.wfile.flush()
                    time.sleep(reply.trickle)
        except (BrokenPipeError, ConnectionResetError):
            pass


@contextmanager
def serving(monkeypatch: pytest.MonkeyPatch) -> Iterator[Publisher]:
    """A running publisher stand-in; proxies are turned off so requests stay local."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    httpd = Publisher(("127.0.0.1", 0), Handler)
    httpd.routes = {}
    httpd.hits = Counter()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@pytest.fixture
def publisher(monkeypatch: pytest.MonkeyPatch) -> Iterator[Publisher]:
    with serving(monkeypatch) as httpd:
        yield httpd


_BLOCK = re.compile(r"(<!-- releases:start -->\n).*?(\s*<!-- releases:end -->)", re.DOTALL)


def hcpcs_page(names: list[str], template: str = "cms-hcpcs-quarterly-update.html") -> str:
    """The quarterly update page listing exactly `names` (zip names), newest first, in the
    markup of the fixture page."""
    items = []
    for name in names:
        words = name.removesuffix(".zip").split("-")
        when = words[0] if words[0].isdigit() else f"{words[0].capitalize()} {words[1]}"
        title = f"{when} Alpha-Numeric HCPCS File"
        items.append(
            '          <li><a data-entity-substitution="media_download" data-entity-type="media" '
            f'href="/files/zip/{name}" title="{title}">{title} (ZIP)</a></li>'
        )
    html = (PAGES / template).read_text()
    return _BLOCK.sub(lambda m: m[1] + "\n".join(items) + m[2], html)


def rezip(
    source: Path, member: str, rename: str | None = None, edit: Any = None, level: int = 6
) -> bytes:
    """A zip holding one member of `source`, renamed, its bytes passed through `edit`,
    compressed at `level` (another level: the same records in a file of another hash)."""
    with zipfile.ZipFile(source) as archive:
        data = archive.read(member)
    if edit is not None:
        data = edit(data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        info = zipfile.ZipInfo(rename or member, date_time=(2026, 6, 17, 15, 59, 47))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data, compresslevel=level)
    return out.getvalue()
