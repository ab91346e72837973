"""One run at a time: a second writer waits a bounded time, then names the holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.errors import StoreError
from pipeline.store.lock import store_lock

HOLD = """
import sys, time
from pathlib import Path
from pipeline.store.lock import store_lock
with store_lock(Path(sys.argv[1]), 5):
    print("locked", flush=True)
    time.sleep(60)
"""


def hold_lock_in_child(root: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    return child


def test_second_writer_times_out_naming_the_holder(tmp_path: Path) -> None:
    child = hold_lock_in_child(tmp_path)
    try:
        started = time.monotonic()
        holder = rf"in use by pid {child.pid} on .*gave up after"
        with pytest.raises(StoreError, match=holder), store_lock(tmp_path, timeout=0.5):
            pass
        assert time.monotonic() - started < 5
    finally:
        child.kill()
        child.wait()


def test_a_killed_holder_does_not_block(tmp_path: Path) -> None:
    child = hold_lock_in_child(tmp_path / "snapshots")
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with store_lock(tmp_path / "snapshots", timeout=2):
        assert (tmp_path / ".snapshots.lock.holder").is_file()
        assert not (tmp_path / "snapshots").exists()  # nothing is created in the store
    assert not (tmp_path / ".snapshots.lock.holder").exists()


def test_lock_is_released_after_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), store_lock(tmp_path, timeout=1):
        raise RuntimeError("boom")
    with store_lock(tmp_path, timeout=0.1):
        pass
