"""`run` with editions given by URL, against a publisher stand-in on 127.0.0.1.

The first run downloads and stores; the next finds nothing new (the server
answers 304) and changes nothing.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.config.load import load_config
from pipeline.errors import DownloadError
from pipeline.project.project import Project
from pipeline.project.run import run
from pipeline.store.snapshots import Store
from tests.conftest import REPO

FILES = {
    f"/hcpcs/{year}-Alpha-Numeric-HCPCS-File.zip": (
        REPO / "sources" / "hcpcs" / f"{year}-Alpha-Numeric-HCPCS-File.zip"
    ).read_bytes()
    for year in (2019, 2020)
}


class Publisher(ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[tuple[str, int]]


class Handler(BaseHTTPRequestHandler):
    server: Publisher

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = FILES.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            self.server.hits[(self.path, 404)] += 1
            return
        etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        code = 304 if self.headers.get("If-None-Match") == etag else 200
        self.server.hits[(self.path, code)] += 1
        self.send_response(code)
        self.send_header("ETag", etag)
        if code == 200:
            self.send_header("Content-Type", "application/zip")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if code == 200:
            self.wfile.write(body)


@pytest.fixture
def publisher(monkeypatch: pytest.MonkeyPatch) -> Iterator[Publisher]:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    httpd = Publisher(("127.0.0.1", 0), Handler)
    httpd.hits = Counter()
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def config_for(tmp_path: Path, base: str, years: tuple[int, ...] = (2019, 2020)) -> Path:
    editions = "".join(
        f'\n[[codesets.hcpcs.editions]]\nversion = "{y}"\neffective = {y}-01-01\n'
        f'source = "{base}/hcpcs/{y}-Alpha-Numeric-HCPCS-File.zip"\n'
        for y in years
    )
    path = tmp_path / "codesets.toml"
    path.write_text(
        '[codesets.hcpcs]\nreader = { format = "hcpcs-anweb", member = "*ANWEB*.txt" }\n' + editions
    )
    return path


def test_url_editions_download_once_then_answer_not_modified(
    publisher: Publisher, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{publisher.server_address[1]}"
    config = load_config(config_for(tmp_path, base))
    store, out = Store(tmp_path / "snapshots"), tmp_path / "reports"
    first = run(Project.of(config, store, out))
    assert [f.status for f in first.fetched] == ["downloaded", "downloaded"]
    assert [r.status for r in first.ingested] == ["stored", "stored"]
    assert store.get("hcpcs", "2020").manifest.source.name == "2020-Alpha-Numeric-HCPCS-File.zip"
    report = (out / "hcpcs" / "2019_to_2020.json").read_bytes()
    second = run(Project.of(config, store, out))
    assert [f.status for f in second.fetched] == ["not-modified", "not-modified"]
    assert [r.status for r in second.ingested] == ["unchanged", "unchanged"]
    assert second.written == [] and second.new_cycles == []
    assert (out / "hcpcs" / "2019_to_2020.json").read_bytes() == report
    assert sum(n for (_, code), n in publisher.hits.items() if code == 304) == 2


def test_a_missing_release_fails_cleanly(publisher: Publisher, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{publisher.server_address[1]}"
    config = load_config(config_for(tmp_path, base, years=(2019, 2021)))
    store = Store(tmp_path / "snapshots")
    with pytest.raises(DownloadError, match=r"2021-Alpha-Numeric-HCPCS-File\.zip: HTTP 404"):
        run(Project.of(config, store, tmp_path / "reports"))
    assert [m.version for m in store.manifests("hcpcs")] == ["2019"]
    assert not list(store.root.rglob(".tmp-*"))
