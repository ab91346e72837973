"""Ingest's shortcut past the mass-change guard: counted on packed keys, same verdicts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import pipeline.project.ingest
import pipeline.store.snapshots
from pipeline.codesets import builtin
from pipeline.errors import MassChangeError
from pipeline.project.ingest import ingest
from pipeline.store.snapshots import Store
from tests.sources.test_ncci import RECORDS, ptp_bytes

SPEC = builtin()["ncci-ptp"]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A store that indexes every snapshot, so that the shortcut applies to small files."""
    monkeypatch.setattr(pipeline.store.snapshots, "INDEX_MIN_ROWS", 1)
    store = Store(tmp_path / "store")
    ingest(store, SPEC, write(tmp_path, "v311.txt", RECORDS), "v311", date(2025, 1, 1))
    return store


def write(tmp_path: Path, name: str, records: list[str]) -> Path:
    path = tmp_path / name
    path.write_bytes(ptp_bytes(records))
    return path


def test_an_edition_within_the_limits_skips_the_text_join(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same eight edits and one more: nothing deleted, nothing shrunk."""

    def must_not_run(*args: object) -> None:
        raise AssertionError("the guard's text join ran for an edition well within limits")

    monkeypatch.setattr(pipeline.project.ingest, "check_mass_change", must_not_run)
    extra = "0001U\t81167\t\t20190101\t*\t1\tMisuse of Column Two code with Column One code"
    source = write(tmp_path, "v312.txt", [*RECORDS, extra])
    assert ingest(store, SPEC, source, "v312", date(2025, 4, 1)).status == "stored"


def test_a_mass_deletion_is_still_refused(store: Store, tmp_path: Path) -> None:
    """Half the edits gone: the guard itself decides and explains."""
    source = write(tmp_path, "v312.txt", RECORDS[:4])
    with pytest.raises(MassChangeError, match="4 of 8 codes in v311 are gone"):
        ingest(store, SPEC, source, "v312", date(2025, 4, 1))
