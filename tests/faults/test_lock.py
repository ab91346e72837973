"""One run at a time, however the store is named: the lock is keyed on the store itself.

A second run that reaches a held store through a symlink, a `..` path, or another
spelling of the same bucket and prefix waits, gives up, and names the holder.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pipeline.store.lock import store_lock
from tests.faults.conftest import HCPCS, Project, assert_clean_error, tree

HCPCS_2018 = HCPCS / "2018-Alpha-Numeric-HCPCS-File.zip"


@contextmanager
def held(root: Path) -> Iterator[None]:
    """Hold the store's lock from another thread, as a running `codeset run` would."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store_lock(root, timeout=5):
            taken.set()
            release.wait(30)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert taken.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(10)


def _ingest(project: Project, store: str | Path) -> list[str]:
    return [
        "--store",
        str(store),
        "ingest",
        "hcpcs",
        str(HCPCS_2018),
        "--version",
        "2018",
        "--lock-timeout",
        "0.3",
    ]


def test_symlinked_store_is_locked_out(project: Project) -> None:
    link = project.root / "also-snapshots"
    link.symlink_to(project.store, target_is_directory=True)
    before = tree(project.store)
    with held(project.store):
        result = project.invoke(*_ingest(project, link))
    assert_clean_error(result, str(link), "is in use by pid", "gave up after waiting 0.3 s")
    assert tree(project.store) == before


def test_symlinked_parent_directory_is_locked_out(project: Project) -> None:
    """The link is one level up: `elsewhere/snapshots` is the same store."""
    elsewhere = project.root / "elsewhere"
    elsewhere.symlink_to(project.root, target_is_directory=True)
    before = tree(project.store)
    with held(elsewhere / "snapshots"):
        result = project.invoke(*_ingest(project, project.store))
    assert_clean_error(result, "is in use by pid")
    assert tree(project.store) == before


def test_dotdot_path_is_locked_out(project: Project) -> None:
    (project.root / "sub").mkdir()
    roundabout = project.root / "sub" / ".." / "snapshots"
    before = tree(project.store)
    with held(project.store):
        result = project.invoke(*_ingest(project, roundabout))
    assert_clean_error(result, "is in use by pid")
    assert tree(project.store) == before


def test_relative_and_absolute_paths_share_the_lock(project: Project) -> None:
    os.chdir(project.root)
    before = tree(project.store)
    with held(Path("snapshots")):
        result = project.invoke(*_ingest(project, project.store))
    assert_clean_error(result, "is in use by pid")
    assert tree(project.store) == before


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("s3://releases/codesets", "s3://releases/codesets/"),
        ("s3://releases/codesets", "s3://releases//codesets"),
        ("s3://releases/a/b", "s3://releases/a//b/"),
    ],
)
def test_remote_store_spellings_share_the_lock(
    project: Project,
    monkeypatch: pytest.MonkeyPatch,
    unreachable_s3: dict[str, str],
    first: str,
    second: str,
) -> None:
    """Keyed on the bucket and prefix, not the URL's spelling: the second run is locked out
    before it contacts the store at all (nothing listens at the endpoint)."""
    from pipeline.store.remote import RemoteStore

    monkeypatch.setenv("XDG_CACHE_HOME", str(project.root / "cache"))
    config = project.write(
        "codesets.toml",
        '[codesets.hcpcs]\nreader = { format = "hcpcs-anweb", member = "*ANWEB*.txt" }\n'
        '[[codesets.hcpcs.editions]]\nversion = "2018"\neffective = 2018-01-01\n'
        f'source = "{HCPCS_2018}"\n',
    )
    with held(RemoteStore(first).root):
        result = project.invoke(
            "--config", str(config), "--store", second, "run", "--lock-timeout", "0.3"
        )
    assert_clean_error(result, "is in use by pid")
