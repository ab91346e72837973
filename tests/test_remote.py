"""The store in object storage, against an S3-compatible server (moto) on 127.0.0.1.

`codeset --store s3://... run` must produce exactly the reports a local store gives,
publish the manifest last, and be verifiable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config.load import load_config
from pipeline.project.ingest import ingest
from pipeline.project.verify import verify
from pipeline.store.remote import RemoteStore
from tests.conftest import REPO, Bundled

pytestmark = pytest.mark.slow

pytest.importorskip("s3fs", reason="the object-storage tests need s3fs")
moto_server = pytest.importorskip("moto.server", reason="the object-storage tests need moto")

BUCKET = "codesets"


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 with an empty bucket; the environment points at it."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    patch = pytest.MonkeyPatch()
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "AWS_PROFILE"):
        patch.delenv(name, raising=False)
    patch.setenv("AWS_ACCESS_KEY_ID", "test")
    patch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    patch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    import boto3

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    yield f"s3://{BUCKET}"
    patch.undo()
    server.stop()


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.output


def test_run_on_s3_gives_the_same_reports_as_a_local_store(
    s3: str, bundled: Bundled, tmp_path: Path
) -> None:
    url = f"{s3}/run"
    out = tmp_path / "reports"
    first = run("--config", str(REPO / "codesets.toml"), "--store", url, "--out", str(out), "run")
    assert "29 new edition(s), 25 cycle(s)" in first
    assert tree(out) == tree(bundled.out)
    again = run("--config", str(REPO / "codesets.toml"), "--store", url, "--out", str(out), "run")
    assert "nothing new" in again
    store = RemoteStore(url)
    assert [m.version for m in store.manifests("hcpcs")] == ["2017", "2018", "2019", "2020"]
    assert verify(store, out).ok
    listing = run("--store", url, "list", "hcpcs")
    assert "hcpcs\t2020\t2020-01-01\t7,079" in listing


def test_verify_finds_a_damaged_object_and_a_half_published_snapshot(
    s3: str, tmp_path: Path
) -> None:
    url = f"{s3}/damage"
    run(
        "--config",
        str(REPO / "codesets.toml"),
        "--store",
        url,
        "--out",
        str(tmp_path / "r"),
        "ingest",
        "hcpcs",
        str(REPO / "sources/hcpcs/2019-Alpha-Numeric-HCPCS-File.zip"),
        "--version",
        "2019",
    )
    store = RemoteStore(url)
    key = f"{store.base}/hcpcs/2019/data.parquet"
    blob = bytearray(store.fs.cat_file(key))
    blob[len(blob) // 2] ^= 0xFF
    store.fs.pipe(key, bytes(blob))
    store.fs.pipe(f"{store.base}/hcpcs/2021/data.parquet", b"half")  # no manifest
    store.fs.pipe(f"{store.base}/hcpcs/.tmp-2022-999/data.parquet", b"tmp")
    fresh = RemoteStore(url, cache=tmp_path / "other-cache")
    result = verify(fresh)
    assert any("hcpcs/2019/data.parquet: does not match" in p for p in result.problems)
    assert any("hcpcs/2021: data without a manifest.json" in p for p in result.problems)
    assert any(".tmp-2022-999" in n for n in result.notices)
    assert [m.version for m in fresh.manifests("hcpcs")] == ["2019"]  # 2021 does not exist
    cli_result = CliRunner().invoke(cli, ["--store", url, "verify"])
    assert cli_result.exit_code == 2


def test_an_unknown_scheme_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--store", "nosuch://bucket/x", "list"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: nosuch://bucket/x: cannot open this store")


def test_listing_and_an_unchanged_ingest_download_no_data(s3: str, tmp_path: Path) -> None:
    url = f"{s3}/lazy"
    source = str(REPO / "sources/hcpcs/2019-Alpha-Numeric-HCPCS-File.zip")
    args = ["--config", str(REPO / "codesets.toml"), "--store", url]
    run(*args, "ingest", "hcpcs", source, "--version", "2019")
    cold = RemoteStore(url, cache=tmp_path / "cold")
    assert [m.version for m in cold.manifests()] == ["2019"]
    spec = load_config(REPO / "codesets.toml").codeset("hcpcs")
    result = ingest(cold, spec, Path(source), "2019", date(2019, 1, 1))
    assert result.status == "unchanged"
    assert not list((tmp_path / "cold").rglob("data.parquet"))
    assert result.snapshot.frame().height == 6800  # reading it fetches it
    assert list((tmp_path / "cold").rglob("data.parquet"))
