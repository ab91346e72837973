"""Crash safety: `codeset run` killed with SIGKILL at random moments never corrupts the store.

Each trial copies the bundled configuration, starts `run` in a subprocess, kills
it at a seeded random moment within the time a whole run takes, then checks that
`verify` finds no damage and that a rerun produces exactly the reports (and
snapshots) of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.config.load import load_config
from pipeline.project.project import Project
from pipeline.project.run import run
from pipeline.project.verify import verify
from pipeline.store.snapshots import Store
from tests.conftest import REPO

pytestmark = pytest.mark.slow

TRIALS = 20
SEED = 20261126


def workspace(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy(REPO / "codesets.toml", root / "codesets.toml")
    for name in ("sources", "watchlists"):
        (root / name).symlink_to(REPO / name, target_is_directory=True)
    return root


def start_run(root: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def digest_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".lock")
    }


@dataclass(frozen=True)
class Reference:
    reports: dict[str, str]
    snapshots: dict[str, str]
    seconds: float


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """One uninterrupted run in a subprocess: its output, and how long a run takes."""
    root = workspace(tmp_path_factory.mktemp("crash") / "reference")
    started = time.monotonic()
    proc = start_run(root)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    return Reference(
        digest_tree(root / "reports"), digest_tree(root / "snapshots"), time.monotonic() - started
    )


def test_sigkill_at_random_moments_leaves_a_consistent_store(
    reference: Reference, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    killed_mid_run = 0
    for trial in range(TRIALS):
        root = workspace(tmp_path / f"trial-{trial}")
        proc = start_run(root)
        time.sleep(rng.uniform(0.0, reference.seconds))
        proc.kill()
        proc.wait()
        killed_mid_run += proc.returncode != 0
        store, out = Store(root / "snapshots"), root / "reports"
        checked = verify(store, out if (out / "index.json").exists() else None)
        assert checked.ok, f"trial {trial}: {checked.problems}"
        rerun = run(Project.of(load_config(root / "codesets.toml"), store, out))
        assert not list(store.root.rglob(".tmp-*")) and not list(out.rglob(".tmp-*"))
        assert digest_tree(out) == reference.reports, f"trial {trial}: reports differ"
        assert digest_tree(store.root) == reference.snapshots, f"trial {trial}: store differs"
        assert verify(store, out).ok
        assert len(rerun.cycles) == 25  # 3 + 14 HCPCS, 5 fee-schedule, 3 ICD-10-CM
    # The window covers the whole run, so most trials really interrupt it.
    assert killed_mid_run >= TRIALS // 2
