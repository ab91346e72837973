"""Faults of the world that used to print a traceback: each is one located `error:` line.

The environment cases run the CLI in a subprocess under the real condition: a store on a
full tmpfs or a read-only bind mount (in a user and mount namespace: `unshare -rm`), a
store or source another user cannot write or read (`setpriv` to `nobody` when the tests
run as root, who may write anything). Where the system cannot set the condition up, the
case is skipped, never faked.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import (
    HCPCS,
    REPO,
    WATCHLIST,
    Project,
    assert_clean_error,
    tree,
)

HCPCS_2018 = HCPCS / "2018-Alpha-Numeric-HCPCS-File.zip"


def _namespaces_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /tmp"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


NAMESPACES = _namespaces_work()
needs_namespaces = pytest.mark.skipif(
    not NAMESPACES, reason="needs user and mount namespaces (unshare -rm) for a real mount"
)


def _in_namespace(
    project: Project, setup: str, store: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], str, str]:
    """Run `codeset ARGS` after `setup` (shell, inside a private mount namespace, in the
    project directory); returns the result and listings of `store` before and after."""
    listing = f"find {store}/ -type f -exec sha256sum {{}} + | sort"
    command = " ".join([sys.executable, "-m", "pipeline", *args])
    (project.root / "in").mkdir(exist_ok=True)
    script = (
        f"set -e; {setup}; {listing} > in/before.txt; set +e; {command} 2> in/stderr.txt "
        f"> in/stdout.txt; echo $? > in/rc.txt; {listing} > in/after.txt"
    )
    done = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert done.returncode == 0, done.stderr

    def read(name: str) -> str:
        return (project.root / "in" / name).read_text()

    rc = int(read("rc.txt"))
    result = subprocess.CompletedProcess(list(args), rc, read("stdout.txt"), read("stderr.txt"))
    return result, read("before.txt"), read("after.txt")


@needs_namespaces
def test_disk_full_during_ingest(project: Project) -> None:
    """The store's file system fills while the snapshot is written: ENOSPC, one line, and no
    temporary or damaged file left for a later command to trip over."""
    used = sum(p.stat().st_size for p in project.store.rglob("*") if p.is_file())
    setup = (
        f"mkdir -p mnt && mount -t tmpfs -o size={used + 96 * 1024} tmpfs mnt && "
        "cp -a snapshots mnt/"
    )
    args = ("--store", "mnt/snapshots", "ingest", "hcpcs", str(HCPCS_2018), "--version", "2018")
    result, before, after = _in_namespace(project, setup, "mnt/snapshots", *args)
    assert_clean_error(result, "mnt/snapshots/hcpcs/2018", "no space left on device")
    assert before == after


@needs_namespaces
def test_read_only_store(project: Project) -> None:
    setup = "mount -o bind,ro snapshots snapshots"
    args = ("--store", "snapshots", "ingest", "hcpcs", str(HCPCS_2018), "--version", "2018")
    result, before, after = _in_namespace(project, setup, "snapshots", *args)
    assert_clean_error(result, "snapshots/", "read-only file system")
    assert before == after


@needs_namespaces
def test_read_only_reports_directory(project: Project) -> None:
    """`report` cannot write its files: the line names the file, the store is untouched."""
    project.out.mkdir()
    setup = "mount -o bind,ro reports reports"
    args = ("--store", "snapshots", "--out", "reports", "report", "hcpcs")
    result, before, after = _in_namespace(project, setup, "snapshots", *args)
    assert_clean_error(result, "reports/hcpcs/2019_to_2020", "read-only file system")
    assert before == after


# --- another user's files ------------------------------------------------------------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory every user may enter (pytest's own temporary directory is private)."""
    path = Path(tempfile.mkdtemp(prefix="codeset-faults-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _as_other_user() -> list[str]:
    """The command prefix that runs as a user without the test's rights: `nobody` for root,
    nothing otherwise (file modes already bind an ordinary user)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root, and setpriv is missing to run as another user")
    return ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]


def _shared_project(project: Project, shared: Path) -> Project:
    shutil.copytree(project.store, shared / "snapshots", symlinks=True)
    for path in [shared, *shared.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return Project(shared)


def test_store_not_writable_by_the_user(project: Project, shared_dir: Path) -> None:
    other = _shared_project(project, shared_dir)
    shared_dir.chmod(0o1777)  # the lock beside the store can be taken; the store is not writable
    for path in [other.store, *other.store.rglob("*")]:
        if path.is_dir():
            path.chmod(0o555)
    before = tree(other.store)
    args = ("--store", str(other.store), "ingest", "hcpcs", str(HCPCS_2018), "--version", "2018")
    result = other.run(*args, prefix=_as_other_user())
    assert_clean_error(result, f"{other.store}/", "permission denied")
    assert tree(other.store) == before


def test_source_not_readable_by_the_user(project: Project, shared_dir: Path) -> None:
    other = _shared_project(project, shared_dir)
    shared_dir.chmod(0o1777)
    source = shared_dir / "2018-Alpha-Numeric-HCPCS-File.zip"
    shutil.copy(HCPCS_2018, source)
    source.chmod(0o000)
    store = Path(tempfile.mkdtemp(dir=shared_dir))
    store.chmod(0o777)
    args = ("--store", str(store / "s"), "ingest", "hcpcs", str(source), "--version", "2018")
    result = other.run(*args, prefix=_as_other_user())
    assert_clean_error(result, str(source), "not readable")
    assert not (store / "s").exists()


def test_configuration_not_readable_by_the_user(project: Project, shared_dir: Path) -> None:
    other = _shared_project(project, shared_dir)
    config = shared_dir / "codesets.toml"
    config.write_text("[severity]\npayment_threshold = 0.02\n", encoding="utf-8")
    config.chmod(0o000)
    before = tree(other.store)
    result = other.run(
        "--config",
        str(config),
        "--store",
        str(other.store),
        "diff",
        "hcpcs",
        prefix=_as_other_user(),
    )
    assert_clean_error(result, str(config), "not readable")
    assert tree(other.store) == before


# --- the store itself ------------------------------------------------------------------------


def test_store_path_is_a_file(project: Project) -> None:
    store = project.write("snapshots.txt", "not a directory\n")
    result = project.invoke(
        "--store", str(store), "ingest", "hcpcs", str(HCPCS_2018), "--version", "2018"
    )
    assert_clean_error(result, str(store), "is a file, not a snapshot store")
    assert store.read_text() == "not a directory\n"


def test_store_path_is_a_file_for_list_and_run(project: Project) -> None:
    store = project.write("store", "x")
    for args in (["list"], ["diff", "hcpcs"], ["verify"]):
        assert_clean_error(project.invoke("--store", str(store), *args), str(store), "is a file")


def test_unreachable_remote_store(project: Project, unreachable_s3: dict[str, str]) -> None:
    for args in (["list"], ["diff", "hcpcs"]):
        result = project.invoke("--store", "s3://releases/codesets", *args)
        assert_clean_error(result, "s3://releases/codesets", "cannot reach the store")


def _damage(project: Project, version: str, keep: float = 0.5) -> Path:
    data = project.store / "hcpcs" / version / "data.parquet"
    data.chmod(0o644)
    blob = data.read_bytes()
    data.write_bytes(blob[: int(len(blob) * keep)])
    data.chmod(0o444)
    return data


@pytest.mark.parametrize(
    "args",
    [
        ["diff", "hcpcs"],
        ["diff", "hcpcs", "--format", "json"],
        ["history", "G8978"],
        ["report", "hcpcs"],
    ],
    ids=["diff", "diff-json", "history", "report"],
)
def test_truncated_snapshot_parquet(project: Project, args: list[str]) -> None:
    """A snapshot's data file cut in half (the disk filled under an older version): a
    command that reads it names the file and says how to repair it."""
    data = _damage(project, "2020")
    before = tree(project.store)
    result = project.invoke(*args)
    assert_clean_error(result, str(data), "cannot be read", "codeset verify")
    assert tree(project.store) == before
    assert not project.out.exists() or not list(project.out.rglob("*.html"))


# --- reports, labels, numbers ----------------------------------------------------------------


@pytest.mark.parametrize("content", ["{}", "[]", '{"codeset": "hcpcs", "from": {}}'])
def test_verify_meets_an_empty_report(project: Project, content: str) -> None:
    assert project.invoke("report", "hcpcs").exit_code == 0
    report = project.out / "hcpcs" / "2019_to_2020.json"
    report.write_text(content, encoding="utf-8")
    before = tree(project.store)
    result = project.invoke("verify")
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    problems = result.stderr.splitlines()
    assert len(problems) == 1, result.stderr
    assert problems[0].startswith(f"problem: {report}: not a complete cycle report")
    assert tree(project.store) == before


@pytest.mark.parametrize(
    ("codeset", "label"),
    [("hcpcs", "0000"), ("icd10cm", "FY0000"), ("hcpcs", "0000Q1"), ("hcpcs", "9999")],
)
def test_version_label_implying_no_date(project: Project, codeset: str, label: str) -> None:
    before = tree(project.store)
    result = project.invoke("ingest", codeset, str(HCPCS_2018), "--version", label)
    assert_clean_error(result, f"version label {label!r}", "--effective")
    assert tree(project.store) == before


@pytest.mark.parametrize("column", ["units_per_day", "annual_units"])
@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e5000", "-inf", "sNaN"])
def test_watchlist_number_that_is_not_a_count(project: Project, column: str, number: str) -> None:
    watchlist = project.write("watch.csv", f"code,label,{column}\n97110,Exercise,{number}\n")
    before = tree(project.store)
    result = project.invoke("audit", "--watchlist", str(watchlist))
    assert_clean_error(result, "watch.csv, line 2, column " + column, repr(number))
    assert tree(project.store) == before


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-0.5"])
def test_payment_threshold_that_is_not_a_fraction(project: Project, value: str) -> None:
    config = project.write("codesets.toml", f"[severity]\npayment_threshold = {value}\n")
    before = tree(project.store)
    result = project.invoke("--config", str(config), "diff", "hcpcs")
    assert_clean_error(result, str(config), "payment_threshold", "a fraction such as 0.02")
    assert tree(project.store) == before


# --- an interrupt ------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigint_during_run_prints_one_line(tmp_path: Path) -> None:
    """Ctrl-C in the middle of a run: one line (click's own handler printed a blank line
    first), exit 130, and nothing half-written: verify passes and a rerun completes."""
    config = tmp_path / "codesets.toml"
    editions = "".join(
        f'[[codesets.hcpcs.editions]]\nversion = "{y}"\neffective = {y}-01-01\n'
        f'source = "{HCPCS / f"{y}-Alpha-Numeric-HCPCS-File.zip"}"\n'
        for y in (2017, 2018, 2019, 2020)
    )
    config.write_text(
        '[codesets.hcpcs]\nreader = { format = "hcpcs-anweb", member = "*ANWEB*.txt" }\n'
        + editions
        + f'[watchlist]\npath = "{tmp_path / "watch.csv"}"\n',
        encoding="utf-8",
    )
    (tmp_path / "watch.csv").write_text(WATCHLIST, encoding="utf-8")
    project = Project(tmp_path)
    command = [sys.executable, "-m", "pipeline", "--config", str(config), "run"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    holder = tmp_path / ".snapshots.lock.holder"
    deadline = time.monotonic() + 120
    while not holder.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert "Traceback" not in err
    if process.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert process.returncode == 130, err
    assert err.splitlines() == ["error: interrupted; nothing was half-written"], err
    verify = project.run("--config", str(config), "verify")
    assert "Traceback" not in verify.stderr
    assert not [line for line in verify.stderr.splitlines() if "damaged" in line], verify.stderr
    rerun = project.run("--config", str(config), "run")
    assert rerun.returncode == 0, rerun.stderr
