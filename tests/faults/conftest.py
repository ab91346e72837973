"""What the fault tests share: a store holding real editions, and the error contract.

Every case runs the CLI (click's CliRunner, or a subprocess where a signal, a FIFO, a
full disk or another user is needed) and checks README.md's contract: exit code 2, one
`error:` line on stderr naming the path, no traceback, and the store as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli

REPO = Path(__file__).resolve().parent.parent.parent
HCPCS = REPO / "sources" / "hcpcs"
HCPCS_2019 = HCPCS / "2019-Alpha-Numeric-HCPCS-File.zip"
HCPCS_2020 = HCPCS / "2020-Alpha-Numeric-HCPCS-File.zip"
#: The clinic's watchlist lines every gate case uses: G8978 is discontinued in 2020.
WATCHLIST = "code,label,annual_units\nG8978,Mobility current status,40\n97110,Exercise,900\n"


def tree(root: Path) -> dict[str, str]:
    """Every path under `root` with a digest of its content (`dir` for a directory)."""
    found: dict[str, str] = {}
    if not root.exists():
        return found
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[rel] = f"link {os.readlink(path)}"
        elif path.is_dir():
            found[rel] = "dir"
        else:
            found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def assert_clean_error(
    result: Result | subprocess.CompletedProcess[str], *fragments: str, stdout: bool = False
) -> str:
    """Exit 2, exactly one `error:` line on stderr holding `fragments`, no traceback.

    `stdout`: whether the command may have printed on stdout before failing (a run that
    reported some cycles before a later one failed)."""
    if isinstance(result, Result):
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            trace = "".join(traceback.format_exception(result.exception))
            pytest.fail(f"crashed instead of a clean error:\n{trace}")
        code, out, err = result.exit_code, result.stdout, result.stderr
    else:
        code, out, err = result.returncode, result.stdout, result.stderr
    assert "Traceback" not in out + err, err
    assert code == 2, (code, out, err)
    if not stdout:
        assert out == "", out
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


@dataclass(frozen=True)
class Project:
    """A working directory with a store holding HCPCS 2019 and 2020 (real CMS files)."""

    root: Path

    @property
    def store(self) -> Path:
        return self.root / "snapshots"

    @property
    def out(self) -> Path:
        return self.root / "reports"

    def write(self, name: str, data: bytes | str) -> Path:
        path = self.root / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        path.write_bytes(data)
        return path

    def invoke(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """`codeset --store S --out O ARGS` in-process."""
        base = ["--store", str(self.store), "--out", str(self.out)]
        return CliRunner().invoke(cli, [*base, *args], env=env)

    def run(
        self, *args: str, timeout: float = 120, prefix: Sequence[str] = (), **kw: object
    ) -> subprocess.CompletedProcess[str]:
        """`codeset ARGS` in a subprocess (for signals, FIFOs, other users, mounts)."""
        command = [*prefix, sys.executable, "-m", "pipeline", *args]
        return subprocess.run(  # type: ignore[call-overload, no-any-return]
            command,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            **kw,
        )


#: An `s3://` store whose endpoint nothing listens at (the discard port).
UNREACHABLE_S3 = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_MAX_ATTEMPTS": "1",
}


@pytest.fixture
def unreachable_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment of an unreachable object store. fsspec keeps one filesystem per set
    of arguments, endpoint included: it is dropped before and after, so that neither this
    test nor a later one (the object-store tests' server) talks to the wrong endpoint."""
    s3fs = pytest.importorskip("s3fs", reason="an s3:// store needs s3fs")
    for name, value in UNREACHABLE_S3.items():
        monkeypatch.setenv(name, value)
    s3fs.S3FileSystem.clear_instance_cache()
    yield UNREACHABLE_S3
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(scope="session")
def hcpcs_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding HCPCS 2019 and 2020, ingested once from the bundled CMS zips."""
    root = tmp_path_factory.mktemp("faults-template")
    store = root / "snapshots"
    for version, source in (("2019", HCPCS_2019), ("2020", HCPCS_2020)):
        args = ["--config", str(root / "none.toml"), "--store", str(store)]
        (root / "none.toml").write_text("", encoding="utf-8")
        result = CliRunner().invoke(
            cli, [*args, "ingest", "hcpcs", str(source), "--version", version]
        )
        assert result.exit_code == 0, result.output
    return store


@pytest.fixture
def project(hcpcs_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A copy of the HCPCS store in a fresh directory, which is the working directory (so
    no `codesets.toml` applies: the built-in code sets do)."""
    shutil.copytree(hcpcs_store, tmp_path / "snapshots", symlinks=True)
    monkeypatch.chdir(tmp_path)
    return Project(tmp_path)
