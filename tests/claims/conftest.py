"""A store for claims tests: the bundled snapshots plus the NCCI and MUE test tables."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from pipeline.codesets import builtin
from pipeline.project.ingest import ingest
from pipeline.store import Store
from tests.claims.fixtures import DATA, MUE_EDITIONS, PTP_EDITIONS

REPO = Path(__file__).resolve().parent.parent.parent


def build_store(root: Path) -> Store:
    """Copy the bundled snapshots to `root` and ingest the test NCCI PTP and MUE editions."""
    shutil.copytree(REPO / "snapshots", root)
    store = Store(root)
    for label, effective in PTP_EDITIONS:
        when = date(int(effective[:4]), int(effective[4:6]), int(effective[6:]))
        ingest(store, builtin()["ncci-ptp"], DATA / f"ptp-{label}.TESTDATA.txt", label, when)
    for label, effective in MUE_EDITIONS:
        month, day, year = (int(p) for p in effective.split("-"))
        name = f"MCR_MUE_PractitionerServices_Eff_{effective}.TESTDATA.csv"
        ingest(store, builtin()["mue"], DATA / name, label, date(year, month, day))
    return store


@pytest.fixture(scope="session")
def claims_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_store(tmp_path_factory.mktemp("claims") / "snapshots")
