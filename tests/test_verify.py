"""`verify`: damage is found and named; leftovers of an interrupted run are only mentioned."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.project.verify import verify
from pipeline.store.snapshots import Store
from tests.conftest import Bundled


@pytest.fixture
def copy(bundled: Bundled, tmp_path: Path) -> tuple[Store, Path]:
    """A private copy of the bundled store and reports, free to damage."""
    shutil.copytree(bundled.store.root, tmp_path / "snapshots")
    shutil.copytree(bundled.out, tmp_path / "reports")
    for path in (tmp_path / "snapshots").rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return Store(tmp_path / "snapshots"), tmp_path / "reports"


def test_intact_store_and_reports(copy: tuple[Store, Path]) -> None:
    result = verify(*copy)
    assert result.ok, result.problems
    assert (result.snapshots, result.reports) == (29, 25)


def test_a_flipped_byte_in_a_parquet_file_is_found(copy: tuple[Store, Path]) -> None:
    store, out = copy
    data = store.root / "hcpcs" / "2019" / "data.parquet"
    blob = bytearray(data.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    data.write_bytes(bytes(blob))
    (problem,) = verify(store, out).problems
    assert "hcpcs/2019/data.parquet" in problem and "damaged" in problem


def test_a_missing_manifest_and_the_reports_that_need_it(copy: tuple[Store, Path]) -> None:
    store, out = copy
    (store.root / "hcpcs" / "2018" / "manifest.json").unlink()
    problems = verify(store, out).problems
    assert any("hcpcs/2018: no manifest.json" in p for p in problems)
    assert sum("edition hcpcs/2018 is not stored" in p for p in problems) == 2


def test_an_index_naming_a_missing_cycle(copy: tuple[Store, Path]) -> None:
    store, out = copy
    (out / "hcpcs" / "2017_to_2018.html").unlink()
    (problem,) = verify(store, out).problems
    assert "names hcpcs/2017_to_2018.html, which does not exist" in problem


def test_a_manifest_edited_to_lie_about_rows(copy: tuple[Store, Path]) -> None:
    store, out = copy
    manifest = store.root / "hcpcs" / "2020" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"rows": 7079', '"rows": 7000'))
    (problem,) = verify(store, out).problems
    assert "7079 rows, the manifest says 7000" in problem


def test_leftover_temporaries_are_notices_not_problems(copy: tuple[Store, Path]) -> None:
    store, out = copy
    (store.root / "hcpcs" / ".tmp-2021-4242").mkdir()
    (out / "hcpcs" / ".tmp-2019_to_2020.md-4242").write_text("half")
    result = verify(store, out)
    assert result.ok
    assert len(result.notices) == 2
