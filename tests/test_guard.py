"""The mass-change guard: a truncated download is refused, a real change is allowed."""

from __future__ import annotations

import dataclasses
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest

from pipeline.errors import MassChangeError
from pipeline.project.ingest import ingest
from pipeline.spec import CodeSetSpec, GuardLimits
from pipeline.store.snapshots import Store
from tests.conftest import REPO, Bundled

SOURCES = REPO / "sources" / "hcpcs"


def truncated_2020(tmp_path: Path) -> Path:
    """The 2020 ANWEB text cut after its first 2,000 lines, as a failed download would."""
    with zipfile.ZipFile(SOURCES / "2020-Alpha-Numeric-HCPCS-File.zip") as archive:
        text = archive.read("HCPC2020_ANWEB_w_disclaimer.txt")
    cut = b"\r\n".join(text.split(b"\r\n")[:2000]) + b"\r\n"
    path = tmp_path / "HCPC2021_ANWEB.txt"
    path.write_bytes(cut)
    return path


def hcpcs(bundled: Bundled, **changes: object) -> CodeSetSpec:
    """The bundled hcpcs spec, reading a plain file (no zip member pattern)."""
    base = bundled.config.codeset("hcpcs")
    return dataclasses.replace(
        base, reader=dataclasses.replace(base.reader, member=None), **changes
    )


@pytest.fixture
def store(bundled: Bundled, tmp_path: Path) -> Store:
    shutil.copytree(bundled.store.root, tmp_path / "snapshots")
    return Store(tmp_path / "snapshots")


def test_truncated_edition_is_refused_with_the_numbers(
    bundled: Bundled, store: Store, tmp_path: Path
) -> None:
    spec = dataclasses.replace(
        bundled.config.codeset("hcpcs"),
        reader=dataclasses.replace(bundled.config.codeset("hcpcs").reader, member=None),
    )
    with pytest.raises(MassChangeError) as info:
        ingest(
            store, spec, truncated_2020(tmp_path), "2021", __import__("datetime").date(2021, 1, 1)
        )
    message = str(info.value)
    assert "against 7,079 in 2020" in message and "fewer; the limit is 20%" in message
    assert "--allow-mass-change" in message
    assert not (store.root / "hcpcs" / "2021").exists()


def test_allow_mass_change_stores_it(bundled: Bundled, store: Store, tmp_path: Path) -> None:
    spec = dataclasses.replace(
        bundled.config.codeset("hcpcs"),
        reader=dataclasses.replace(bundled.config.codeset("hcpcs").reader, member=None),
    )
    from datetime import date

    result = ingest(
        store, spec, truncated_2020(tmp_path), "2021", date(2021, 1, 1), allow_mass_change=True
    )
    assert result.status == "stored"


def test_thresholds_are_per_code_set(bundled: Bundled, store: Store, tmp_path: Path) -> None:
    lenient = hcpcs(bundled, guard=GuardLimits(max_shrink=0.9, max_deleted=0.9))
    assert ingest(store, lenient, truncated_2020(tmp_path), "2021", date(2021, 1, 1)).status == (
        "stored"
    )


def test_normal_annual_change_passes(bundled: Bundled) -> None:
    """The real editions were all stored by the bundled run: none tripped it."""
    assert {r.status for r in bundled.result.ingested} == {"stored"}
