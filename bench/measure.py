"""Running steps in fresh interpreters and summarising their runs."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Measurement:
    """All runs of one step: seconds of work (after imports), process wall, peak RSS."""

    step: str
    seconds: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    peak_rss_mb: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_wall_s(self) -> float:
        return statistics.median(self.wall)

    @property
    def peak_mb(self) -> float:
        return max(self.peak_rss_mb, default=0.0)

    def to_dict(self) -> dict[str, object]:
        return {
            "median_s": round(self.median_s, 4),
            "median_wall_s": round(self.median_wall_s, 4),
            "peak_rss_mb": round(self.peak_mb, 1),
            "runs_s": [round(s, 4) for s in self.seconds],
        }


def run_step(step: str, workdir: Path, into: Measurement | None = None) -> Measurement:
    """Run `step` once in a new interpreter and add the run to `into`."""
    into = into or Measurement(step)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.steps", step, str(workdir)],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"bench step {step} failed:\n{done.stdout}{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    into.seconds.append(report["seconds"])
    into.peak_rss_mb.append(report["peak_rss_mb"])
    into.wall.append(wall)
    return into


def run_rounds(steps: list[str], rounds: int, workdir: Path) -> dict[str, Measurement]:
    """Each step `rounds` times, interleaved, so that a burst of load hits all alike."""
    found = {step: Measurement(step) for step in steps}
    for _ in range(rounds):
        for step in steps:
            run_step(step, workdir, found[step])
    return found


def help_time(rounds: int = 5) -> Measurement:
    """`codeset --help` as a user runs it: the whole process, start to exit."""
    codeset = Path(sys.executable).parent / "codeset"
    command = [str(codeset)] if codeset.exists() else [sys.executable, "-m", "pipeline"]
    found = Measurement("codeset --help")
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([*command, "--help"], capture_output=True, check=True)
        wall = time.perf_counter() - start
        found.seconds.append(wall)
        found.wall.append(wall)
    return found


def loadavg() -> str:
    """The machine's 1, 5 and 15-minute load averages: how noisy the numbers are."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"
