"""The snapshot store: round trips, content addressing, conflicts, atomicity; and `ingest`."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import pipeline.project.ingest
from pipeline.errors import ConfigError, EnvironmentFault, InputError, StoreError
from pipeline.project.ingest import ingest
from pipeline.spec import CodeSetSpec, ReaderSpec
from pipeline.store.snapshots import (
    DATA,
    MANIFEST,
    Manifest,
    SourceInfo,
    Store,
    content_digest,
    manifest_json,
    write_atomically,
)
from tests.helpers import hcpcs_2019, hcpcs_2020, write_anweb

EFFECTIVE = date(2020, 1, 1)
KEY = ("code",)


def edition_2020() -> pl.DataFrame:
    """Three HCPCS rows with a string, a date (one null) and an integer column."""
    return pl.DataFrame(
        {
            "code": ["G0283", "G8978", "GP"],
            "long_description": [
                "Electrical stimulation (unattended), to one or more areas for indication(s) "
                "other than wound care, as part of a therapy plan of care",
                "Mobility: walking & moving around functional limitation, current status, at "
                "therapy episode outset and at reporting intervals",
                "Services delivered under an outpatient physical therapy plan of care",
            ],
            "termination_date": [None, date(2019, 12, 31), None],
            "anesthesia_base_units": [None, None, 0],
        },
        schema_overrides={"termination_date": pl.Date, "anesthesia_base_units": pl.Int64},
    )


def edition_2020_revised() -> pl.DataFrame:
    """As `edition_2020`, but GP's long description reads 'occupational' (one value differs)."""
    return edition_2020().with_columns(
        pl.when(pl.col("code") == "GP")
        .then(pl.lit("Services delivered under an outpatient occupational therapy plan of care"))
        .otherwise(pl.col("long_description"))
        .alias("long_description")
    )


def source(name: str = "HCPC2020_ANWEB.txt", sha: str = "a" * 64) -> SourceInfo:
    return SourceInfo(name=name, sha256=sha, bytes=1234, member=None, reader="hcpcs-anweb")


def put(store: Store, version: str = "2020", frame: pl.DataFrame | None = None, **kw):
    return store.put(
        kw.pop("codeset", "hcpcs"),
        version,
        kw.pop("effective", EFFECTIVE),
        edition_2020() if frame is None else frame,
        KEY,
        kw.pop("source", source()),
    )


def tree_state(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under `root`: its bytes, mtime (ns) and mode."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out[str(path.relative_to(root))] = (path.read_bytes(), st.st_mtime_ns, st.st_mode)
    return out


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


# --- put / get --------------------------------------------------------------------------------


def test_put_then_get_round_trips_frame_and_manifest(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    result = put(store)
    assert result.status == "stored"
    assert result.snapshot.path == tmp_path / "store" / "hcpcs" / "2020"

    snap = store.get("hcpcs", "2020")
    assert_frame_equal(snap.frame(), edition_2020())
    assert_frame_equal(snap.frame(["code", "termination_date"]), edition_2020()[:, [0, 2]])
    m = snap.manifest
    assert m == result.snapshot.manifest
    assert m.codeset == "hcpcs"
    assert m.version == "2020"
    assert m.effective_date == EFFECTIVE
    assert m.rows == 3
    assert m.key == ("code",)
    assert m.columns == (
        ("code", "String"),
        ("long_description", "String"),
        ("termination_date", "Date"),
        ("anesthesia_base_units", "Int64"),
    )
    assert m.source == source()
    assert m.content_sha256 == content_digest(edition_2020())
    data = (snap.path / DATA).read_bytes()
    assert m.data_sha256 == hashlib.sha256(data).hexdigest()
    assert store.has("hcpcs", "2020")
    assert not store.has("hcpcs", "2019")


def test_manifest_json_on_disk(tmp_path: Path) -> None:
    store = Store(tmp_path)
    snap = put(store).snapshot
    raw = json.loads((snap.path / MANIFEST).read_text(encoding="utf-8"))
    assert raw["schema_version"] == 1
    assert raw["effective_date"] == "2020-01-01"
    assert raw["key"] == ["code"]
    assert raw["columns"][2] == {"name": "termination_date", "dtype": "Date"}
    assert raw["source"]["name"] == "HCPC2020_ANWEB.txt"
    assert Manifest.from_dict(raw) == snap.manifest
    assert (snap.path / MANIFEST).read_text(encoding="utf-8") == manifest_json(snap.manifest)


def test_stored_files_are_read_only(tmp_path: Path) -> None:
    snap = put(Store(tmp_path)).snapshot
    assert sorted(p.name for p in snap.path.iterdir()) == [DATA, MANIFEST]
    for name in (DATA, MANIFEST):
        assert stat.S_IMODE((snap.path / name).stat().st_mode) == 0o444


def test_reput_identical_content_is_unchanged_and_touches_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first = put(store)
    before = tree_state(tmp_path)
    again = put(store, frame=edition_2020().clone())
    assert again.status == "unchanged"
    assert again.snapshot.manifest == first.snapshot.manifest
    assert tree_state(tmp_path) == before
    assert leftovers(tmp_path) == []


def test_reput_identical_content_from_another_source_file_is_unchanged(tmp_path: Path) -> None:
    store = Store(tmp_path)
    put(store)
    before = tree_state(tmp_path)
    again = put(store, source=source("HCPC2020_ANWEB_v2.txt", "b" * 64))
    assert again.status == "unchanged"
    assert again.snapshot.manifest.source.name == "HCPC2020_ANWEB.txt"
    assert tree_state(tmp_path) == before


def test_different_content_under_same_label_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path)
    stored = put(store).snapshot.manifest
    before = tree_state(tmp_path)
    with pytest.raises(StoreError) as info:
        put(store, frame=edition_2020_revised(), source=source(sha="b" * 64))
    message = str(info.value)
    assert "hcpcs/2020 already exists with different content" in message
    assert stored.content_sha256[:12] in message
    assert content_digest(edition_2020_revised())[:12] in message
    assert "reader has changed" not in message
    assert tree_state(tmp_path) == before
    assert leftovers(tmp_path) == []
    assert_frame_equal(store.get("hcpcs", "2020").frame(), edition_2020())


def test_different_content_from_the_same_source_file_blames_the_reader(tmp_path: Path) -> None:
    store = Store(tmp_path)
    put(store)
    with pytest.raises(StoreError, match="same source file, so the reader has changed"):
        put(store, frame=edition_2020_revised())


def test_identical_content_under_a_new_label_is_a_new_edition(tmp_path: Path) -> None:
    store = Store(tmp_path)
    put(store, "2020")
    result = put(store, "2020-reissue", effective=date(2020, 3, 1))
    assert result.status == "stored"
    assert [m.version for m in store.manifests("hcpcs")] == ["2020", "2020-reissue"]
    a, b = (store.get("hcpcs", v).manifest for v in ("2020", "2020-reissue"))
    assert a.content_sha256 == b.content_sha256
    assert b.effective_date == date(2020, 3, 1)


def test_version_dir_without_manifest_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hcpcs" / "2020").mkdir(parents=True)
    with pytest.raises(StoreError, match=r"holds no manifest\.json"):
        put(Store(tmp_path))


def test_unsafe_names_are_refused_before_touching_disk(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    for codeset, version in (("hcpcs", "../evil"), ("../hcpcs", "2020"), ("hcpcs", "a/b")):
        with pytest.raises(ConfigError):
            put(store, version, codeset=codeset)
    assert not (tmp_path / "store").exists()
    assert not (tmp_path / "evil").exists()


# --- listing ----------------------------------------------------------------------------------


def test_manifests_ordered_by_codeset_then_effective_date(tmp_path: Path) -> None:
    """Labels whose alphabetical order differs from their date order, stored out of order."""
    store = Store(tmp_path)
    put(store, "mid", effective=date(2020, 1, 1))
    put(store, "late", effective=date(2021, 1, 1))
    put(store, "early", effective=date(2019, 1, 1))
    put(store, "2018", effective=date(2018, 1, 1), codeset="mods")
    assert [m.version for m in store.manifests("hcpcs")] == ["early", "mid", "late"]
    assert [(m.codeset, m.version) for m in store.manifests()] == [
        ("hcpcs", "early"),
        ("hcpcs", "mid"),
        ("hcpcs", "late"),
        ("mods", "2018"),
    ]
    assert [s.manifest.version for s in store.snapshots("hcpcs")] == ["early", "mid", "late"]


def test_manifests_of_a_missing_store_or_codeset_is_empty(tmp_path: Path) -> None:
    assert Store(tmp_path / "absent").manifests() == []
    assert Store(tmp_path).manifests("hcpcs") == []


def test_manifests_skip_temporaries(tmp_path: Path) -> None:
    store = Store(tmp_path)
    put(store)
    stale = tmp_path / "hcpcs" / ".tmp-2021-999"
    stale.mkdir()
    (stale / MANIFEST).write_text((tmp_path / "hcpcs" / "2020" / MANIFEST).read_text())
    assert [m.version for m in store.manifests()] == ["2020"]


def test_get_missing_version_lists_stored_versions(tmp_path: Path) -> None:
    store = Store(tmp_path)
    put(store, "2019", effective=date(2019, 1, 1))
    put(store, "2020")
    with pytest.raises(StoreError) as info:
        store.get("hcpcs", "2021")
    assert "no snapshot hcpcs/2021" in str(info.value)
    assert "stored: 2019, 2020" in str(info.value)
    with pytest.raises(StoreError, match=r"stored: none"):
        store.get("icd10cm", "2021")


def test_unreadable_manifest_is_a_store_error(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path = put(store).snapshot.path / MANIFEST
    path.chmod(0o644)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(StoreError, match="unreadable manifest"):
        store.get("hcpcs", "2020")


# --- content digest ---------------------------------------------------------------------------


def test_content_digest_ignores_chunking() -> None:
    whole = edition_2020()
    chunked = pl.concat([whole[:1], whole[1:2], whole[2:]], rechunk=False)
    assert chunked.n_chunks() == 3
    assert whole.rechunk().n_chunks() == 1
    assert content_digest(chunked) == content_digest(whole.rechunk())


def test_content_digest_ignores_chunking_across_slice_boundary() -> None:
    """More rows than one serialisation slice (200,000), split at a different place."""
    n = 200_003
    frame = pl.DataFrame({"code": pl.int_range(n, eager=True).cast(pl.String)})
    chunked = pl.concat([frame[:7], frame[7:]], rechunk=False)
    assert content_digest(chunked) == content_digest(frame)


def test_content_digest_changes_with_one_value() -> None:
    assert content_digest(edition_2020()) != content_digest(edition_2020_revised())
    swapped = edition_2020().with_columns(pl.col("anesthesia_base_units").fill_null(0))
    assert content_digest(swapped) != content_digest(edition_2020())


def test_content_digest_distinguishes_null_from_empty_string() -> None:
    null = pl.DataFrame(
        {"code": ["GP"], "note": [None]}, schema={"code": pl.String, "note": pl.String}
    )
    empty = pl.DataFrame({"code": ["GP"], "note": [""]})
    assert content_digest(null) != content_digest(empty)


def test_content_digest_depends_on_types_and_column_names() -> None:
    frame = edition_2020()
    as_text = frame.with_columns(pl.col("anesthesia_base_units").cast(pl.String))
    renamed = frame.rename({"long_description": "description"})
    digests = {content_digest(frame), content_digest(as_text), content_digest(renamed)}
    assert len(digests) == 3


def test_content_digest_distinguishes_row_boundaries() -> None:
    """A tab or newline inside a value must not make two different frames serialise alike."""
    a = pl.DataFrame({"x": ["a\tb"], "y": ["c"]})
    b = pl.DataFrame({"x": ["a"], "y": ["b\tc"]})
    c = pl.DataFrame({"x": ["a\nb", "c"], "y": ["d", "e"]})
    d = pl.DataFrame({"x": ["a", "b\nc"], "y": ["d", "e"]})
    assert content_digest(a) != content_digest(b)
    assert content_digest(c) != content_digest(d)


# --- atomicity --------------------------------------------------------------------------------


def _assert_nothing_left(root: Path) -> None:
    assert not (root / "hcpcs" / "2020").exists()
    assert leftovers(root) == []


def test_failure_writing_parquet_leaves_no_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = pl.DataFrame.write_parquet

    def half_written(self: pl.DataFrame, file: Path, *args: object, **kwargs: object) -> None:
        Path(file).write_bytes(b"PAR1 truncated")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_parquet", half_written)
    store = Store(tmp_path)
    with pytest.raises(EnvironmentFault, match="no space left on device") as info:
        put(store)
    assert str(info.value).startswith(str(tmp_path / "hcpcs" / "2020"))
    _assert_nothing_left(tmp_path)
    assert store.manifests() == []

    monkeypatch.setattr(pl.DataFrame, "write_parquet", original)
    assert put(store).status == "stored"  # a retry succeeds


def test_failure_writing_manifest_leaves_no_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_written(path: Path, text: str) -> None:
        path.write_text(text[:10], encoding="utf-8")
        raise KeyboardInterrupt

    monkeypatch.setattr("pipeline.store.snapshots.write_text_durably", half_written)
    with pytest.raises(KeyboardInterrupt):
        put(Store(tmp_path))
    _assert_nothing_left(tmp_path)


def test_failure_at_rename_leaves_no_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: object, dst: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("pipeline.store.snapshots.os.rename", refuse)
    with pytest.raises(EnvironmentFault, match="cannot store the snapshot: permission denied"):
        put(Store(tmp_path))
    _assert_nothing_left(tmp_path)


def test_remove_stale_temporaries(tmp_path: Path) -> None:
    store = Store(tmp_path)
    put(store)
    stale = tmp_path / "hcpcs" / ".tmp-2021-4242"
    stale.mkdir()
    (stale / DATA).write_bytes(b"PAR1 half")
    (stale / DATA).chmod(0o444)
    removed = store.remove_stale_temporaries()
    assert removed == [stale]
    assert not stale.exists()
    assert store.has("hcpcs", "2020")
    assert store.remove_stale_temporaries() == []
    assert Store(tmp_path / "absent").remove_stale_temporaries() == []


def test_stale_temporary_of_this_process_does_not_block_put(tmp_path: Path) -> None:
    stale = tmp_path / "hcpcs" / f".tmp-2020-{os.getpid()}"
    stale.mkdir(parents=True)
    (stale / "junk").write_text("x")
    assert put(Store(tmp_path)).status == "stored"
    assert leftovers(tmp_path) == []


# --- write_atomically -------------------------------------------------------------------------


def test_write_atomically_creates_skips_identical_and_replaces_different(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "hcpcs" / "2019_to_2020.md"
    assert write_atomically(path, b"# HCPCS 2019 -> 2020\n") is True
    assert path.read_bytes() == b"# HCPCS 2019 -> 2020\n"

    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    inode = path.stat().st_ino
    assert write_atomically(path, b"# HCPCS 2019 -> 2020\n") is False
    assert path.stat().st_mtime_ns == 1_000_000_000
    assert path.stat().st_ino == inode

    assert write_atomically(path, b"# HCPCS 2019 -> 2020 (revised)\n") is True
    assert path.read_bytes() == b"# HCPCS 2019 -> 2020 (revised)\n"
    assert path.stat().st_mtime_ns != 1_000_000_000
    assert sorted(p.name for p in path.parent.iterdir()) == ["2019_to_2020.md"]


def test_write_atomically_failure_keeps_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "index.md"
    path.write_bytes(b"old")

    def refuse(src: object, dst: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("pipeline.store.snapshots.os.replace", refuse)
    with pytest.raises(EnvironmentFault, match=f"^{path}: cannot write: input/output error$"):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.md"]


# --- ingest -----------------------------------------------------------------------------------


def hcpcs_spec() -> CodeSetSpec:
    return CodeSetSpec(
        id="hcpcs",
        title="HCPCS Level II",
        publisher="CMS",
        key=("code",),
        reader=ReaderSpec(format="hcpcs-anweb"),
        descriptors=("long_description", "short_description"),
        ignore=("action_code", "action_effective_date"),
        termination="termination_date",
    )


def test_ingest_stores_an_anweb_file(tmp_path: Path) -> None:
    src = write_anweb(tmp_path / "HCPC2020_ANWEB.txt", hcpcs_2020())
    store = Store(tmp_path / "store")
    result = ingest(store, hcpcs_spec(), src, "2020", EFFECTIVE, note="January file")
    assert result.status == "stored"
    assert result.reader == "hcpcs-anweb"
    m = store.get("hcpcs", "2020").manifest
    assert m.rows == 6
    assert m.source.name == "HCPC2020_ANWEB.txt"
    assert m.source.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert m.source.bytes == src.stat().st_size
    assert m.source.reader == "hcpcs-anweb"
    assert m.source.note == "January file"
    frame = store.get("hcpcs", "2020").frame()
    assert frame["code"].to_list() == ["CO", "CQ", "G0283", "G8978", "GO", "GP"]
    g8978 = frame.filter(pl.col("code") == "G8978").row(0, named=True)
    assert g8978["termination_date"] == date(2019, 12, 31)
    assert g8978["action_code"] == "D"
    assert "stored 6 rows from HCPC2020_ANWEB.txt" in result.message


def test_ingest_same_file_again_is_unchanged_without_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = write_anweb(tmp_path / "HCPC2020_ANWEB.txt", hcpcs_2020())
    store = Store(tmp_path / "store")
    ingest(store, hcpcs_spec(), src, "2020", EFFECTIVE)
    before = tree_state(tmp_path / "store")

    def must_not_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("read_source called for an already-stored file")

    monkeypatch.setattr(pipeline.project.ingest, "read_source", must_not_read)
    result = ingest(store, hcpcs_spec(), src, "2020", EFFECTIVE)
    assert result.status == "unchanged"
    assert result.reader == "hcpcs-anweb"
    assert "already stored, identical content (6 rows)" in result.message
    assert tree_state(tmp_path / "store") == before


def test_ingest_other_file_under_stored_label_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    ingest(store, hcpcs_spec(), write_anweb(tmp_path / "a.txt", hcpcs_2019()), "2020", EFFECTIVE)
    other = write_anweb(tmp_path / "b.txt", hcpcs_2020())
    with pytest.raises(StoreError, match=r"described differently \(source a.txt -> b.txt\)"):
        ingest(store, hcpcs_spec(), other, "2020", EFFECTIVE)
    assert store.get("hcpcs", "2020").manifest.source.name == "a.txt"


def test_ingest_missing_or_non_file_source(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    with pytest.raises(InputError, match="file not found"):
        ingest(store, hcpcs_spec(), tmp_path / "missing.txt", "2020", EFFECTIVE)
    with pytest.raises(InputError, match=r"not a file|is a directory"):
        ingest(store, hcpcs_spec(), tmp_path, "2020", EFFECTIVE)
    assert not (tmp_path / "store").exists()


def test_temporaries_of_a_running_process_are_kept(tmp_path: Path) -> None:
    """Another live process (here: pid 1) may be writing its snapshot: leave it alone."""
    live = tmp_path / "hcpcs" / ".tmp-2021-1"
    dead = tmp_path / "hcpcs" / f".tmp-2021-{2**22 + 7}"
    live.mkdir(parents=True)
    dead.mkdir()
    assert Store(tmp_path).remove_stale_temporaries() == [dead]
    assert live.is_dir() and not dead.exists()
