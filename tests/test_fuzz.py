"""The mutation fuzzer (tests/fuzzing.py), bounded for `make test`: a fixed seed range
under a time budget of about 20 s, which must yield no finding and print nothing.

A long campaign is `python -m tests.fuzzing --seconds 300` (`make fuzz`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys

import pytest

from tests import fuzzing

pytestmark = pytest.mark.slow

#: A fixed set of seeds, so the tier asserts the same cases on a quiet or a loaded machine
#: (speed is for `make fuzz` and `make bench`); the budget only guards against a hang.
SEEDS = range(0, 600)
BUDGET = 1200.0


def test_bounded_fuzz_prints_nothing_and_finds_nothing() -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        report = fuzzing.run_fuzz(SEEDS, BUDGET)
    assert printed.getvalue() == ""
    assert report.cases == len(SEEDS), report.summary()
    assert report.outcomes["stored"] and report.outcomes["error"], report.summary()
    assert not report.findings, report.summary()


def test_same_seed_same_mutation() -> None:
    first = fuzzing.mutant(1234)
    fuzzing.sources.cache_clear()  # re-read the real files: nothing may depend on state
    again = fuzzing.mutant(1234)
    assert (first.source.name, first.steps, first.filename) == (
        again.source.name,
        again.steps,
        again.filename,
    )
    assert first.data == again.data
    assert 1 <= len(first.steps) <= 3


def test_seeds_differ_and_cover_every_source() -> None:
    mutants = [fuzzing.mutant(seed) for seed in range(200)]
    assert len({(m.source.name, tuple(m.steps)) for m in mutants}) > 190
    assert {m.source.name for m in mutants} == {s.name for s in fuzzing.sources()}


def test_same_seeds_same_bytes_in_another_process() -> None:
    """Nothing depends on the process: not the clock (zips get a fixed timestamp), not
    string hashing. Among the seeds, some wrap their file in a zip."""
    seeds = range(40)
    assert any("zip(" in step for seed in seeds for step in fuzzing.mutant(seed).steps)
    code = (
        "import hashlib, json, sys\n"
        "from tests import fuzzing\n"
        "json.dump([[m.steps, hashlib.sha256(m.data).hexdigest()]"
        f" for m in map(fuzzing.mutant, range({seeds.start}, {seeds.stop}))], sys.stdout)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=fuzzing.REPO, env=env, check=True, capture_output=True
    ).stdout
    here = [[m.steps, hashlib.sha256(m.data).hexdigest()] for m in map(fuzzing.mutant, seeds)]
    assert json.loads(out) == here


def test_bounded_parser_fuzz_finds_nothing() -> None:
    """Watchlists, configurations and names from the data (member names, column names,
    version labels) with hostile values: a value or a clean error, never markup, a link,
    a formula or a control character in an output."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        report = fuzzing.run_parser_fuzz(range(0, 5_000), 15.0)
    assert printed.getvalue() == ""
    assert report.cases >= 100, report.summary()
    assert set(report.per_source) == {"watchlist", "config", "names"}, report.summary()
    assert report.outcomes["stored"] and report.outcomes["error"], report.summary()
    assert not report.findings, report.summary()
