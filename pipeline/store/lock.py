"""One run at a time: an exclusive lock on the snapshot store.

The lock is an OS-level file lock (`filelock`), so a process killed while
holding it releases it with its death: a stale lock never blocks. Beside it
we record who holds it, so a second run that gives up can say whom it waited for.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from pipeline.errors import StoreError, environment_faults

DEFAULT_TIMEOUT = 60.0


def lock_path(root: Path) -> Path:
    """`snapshots/` is locked by `.snapshots.lock` beside it: taking the lock creates
    nothing inside the store, which may not even exist yet. The lock is keyed on the
    store's real path, so a second run that reaches it through a symlink (or `..`)
    waits for the same lock."""
    real = _real(root)
    return real.parent / f".{real.name}.lock"


def holder_path(root: Path) -> Path:
    real = _real(root)
    return real.parent / f".{real.name}.lock.holder"


def _real(root: Path) -> Path:
    return Path(os.path.realpath(root))


@contextmanager
def store_lock(root: Path, timeout: float = DEFAULT_TIMEOUT) -> Iterator[None]:
    """Hold the store's lock for the duration of the block; wait at most `timeout` seconds."""
    path = lock_path(root)
    with environment_faults(path, "lock the store"):
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path, timeout=timeout)
        try:
            lock.acquire()
        except Timeout:
            raise StoreError(
                f"{root} is in use by {describe_holder(root)}; gave up after waiting "
                f"{timeout:g} s (only one run may write the store at a time)"
            ) from None
    holder = holder_path(root)
    try:
        with environment_faults(holder, "lock the store"):
            holder.write_text(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "command": " ".join(os.path.basename(a) for a in sys.argv[:3]),
                        "since": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                    }
                ),
                encoding="utf-8",
            )
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def describe_holder(root: Path) -> str:
    """`pid 123 on host (codeset run, since ...)`, or a plain phrase if unknown."""
    try:
        info = json.loads(holder_path(root).read_text(encoding="utf-8"))
        return f"pid {info['pid']} on {info['host']} ({info['command']}, since {info['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"
