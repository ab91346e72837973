"""`codeset verify`: is the store intact, and do the reports still describe it?

Re-hashes every snapshot against its manifest, checks the parquet schema and
row count, checks that the release lock names snapshots made from the files it
records, and checks that the report index names cycle reports that exist and
were made from the snapshots now stored. Leftovers of an interrupted run are
mentioned, not counted as damage: the next run removes them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import StoreError
from pipeline.store.releases import LOCK_NAME, lock_problems
from pipeline.store.remote import RemoteStore
from pipeline.store.snapshots import (
    DATA,
    MANIFEST,
    TMP_PREFIX,
    Manifest,
    Store,
    content_digest,
    file_digest,
)


@dataclass(frozen=True)
class VerifyResult:
    """What `verify` found: problems fail it, notices do not."""

    problems: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
    snapshots: int = 0
    reports: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Findings:
    problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    manifests: dict[tuple[str, str], Manifest] = field(default_factory=dict)


def verify(store: Store, out_dir: Path | None = None) -> VerifyResult:
    """Check every snapshot in `store`, and the reports under `out_dir` if given."""
    found = _Findings()
    if isinstance(store, RemoteStore):
        _check_remote(store, found)
    elif store.root.is_dir():
        for set_dir in sorted(p for p in store.root.iterdir() if p.is_dir()):
            if set_dir.name.startswith("."):
                continue
            for version_dir in sorted(set_dir.iterdir()):
                _check_entry(version_dir, found)
    if not isinstance(store, RemoteStore):
        made_from = {key: m.source.sha256 for key, m in found.manifests.items()}
        found.problems.extend(lock_problems(store.root / LOCK_NAME, made_from))
    reports = 0
    if out_dir is not None and out_dir.is_dir():
        reports = _check_reports(out_dir, found)
    return VerifyResult(
        problems=tuple(found.problems),
        notices=tuple(found.notices),
        snapshots=len(found.manifests),
        reports=reports,
    )


def _check_remote(store: RemoteStore, found: _Findings) -> None:
    """The same checks on an object store: every manifest's data re-hashed (fetched into
    the local cache), half-published versions found, temporaries mentioned."""
    for key in store.temporaries():
        found.notices.append(f"{key}: left by an interrupted run; the next run removes it")
    for folder in store.incomplete():
        found.problems.append(f"{folder}: data without a {MANIFEST}: not a complete snapshot")
    for manifest in store.manifests():
        found.manifests[(manifest.codeset, manifest.version)] = manifest
        try:
            data = store.get(manifest.codeset, manifest.version).data_path  # fetched, re-hashed
        except StoreError as exc:
            found.problems.append(str(exc))
            continue
        _check_data(data, manifest, found)


def _check_entry(path: Path, found: _Findings) -> None:
    if path.name.startswith(TMP_PREFIX):
        found.notices.append(f"{path}: left by an interrupted run; the next run removes it")
        return
    if not path.is_dir():
        found.problems.append(f"{path}: unexpected file in the store")
        return
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        found.problems.append(f"{path}: no {MANIFEST}: not a complete snapshot")
        return
    try:
        manifest = Manifest.from_dict(json.loads(manifest_path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        found.problems.append(f"{manifest_path}: unreadable manifest ({exc})")
        return
    if (manifest.codeset, manifest.version) != (path.parent.name, path.name):
        found.problems.append(
            f"{manifest_path}: names {manifest.codeset}/{manifest.version}, "
            f"but is stored as {path.parent.name}/{path.name}"
        )
    found.manifests[(manifest.codeset, manifest.version)] = manifest
    data = path / DATA
    if not data.is_file():
        found.problems.append(f"{data}: missing")
        return
    digest = file_digest(data)
    if digest != manifest.data_sha256:
        found.problems.append(
            f"{data}: sha256 {digest[:12]} does not match the manifest's "
            f"{manifest.data_sha256[:12]}: the file is damaged"
        )
        return
    _check_data(data, manifest, found)


def _check_data(data: Path, manifest: Manifest, found: _Findings) -> None:
    import polars as pl

    try:
        frame = pl.read_parquet(data)
    except (pl.exceptions.PolarsError, OSError) as exc:
        found.problems.append(f"{data}: unreadable parquet ({exc})")
        return
    columns = tuple((n, str(t)) for n, t in frame.schema.items())
    if columns != manifest.columns:
        found.problems.append(f"{data}: columns {columns} differ from the manifest's")
    if frame.height != manifest.rows:
        found.problems.append(f"{data}: {frame.height} rows, the manifest says {manifest.rows}")
    elif content_digest(frame) != manifest.content_sha256:
        found.problems.append(f"{data}: content does not hash to the manifest's content_sha256")


def _check_reports(out_dir: Path, found: _Findings) -> int:
    for leftover in sorted(out_dir.rglob(f"{TMP_PREFIX}*")):
        found.notices.append(f"{leftover}: left by an interrupted run; the next run removes it")
    index = out_dir / "index.json"
    if not index.is_file():
        found.problems.append(f"{index}: missing (run `codeset run` or `codeset report`)")
        return 0
    try:
        cycles = json.loads(index.read_text(encoding="utf-8"))["cycles"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        found.problems.append(f"{index}: unreadable ({exc})")
        return 0
    for cycle in cycles:
        for rel in cycle["reports"].values():
            if not (out_dir / rel).is_file():
                found.problems.append(f"{index}: names {rel}, which does not exist")
        _check_cycle_sources(out_dir / cycle["reports"]["json"], found)
    return len(cycles)


def _check_cycle_sources(report: Path, found: _Findings) -> None:
    """A cycle report must have been made from the snapshots now stored."""
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # reported above as missing, or unreadable JSON is reported here:
    for side in ("from", "to"):
        version = data[side]["version"]
        manifest = found.manifests.get((data["codeset"], version))
        if manifest is None:
            found.problems.append(f"{report}: edition {data['codeset']}/{version} is not stored")
        elif manifest.content_sha256 != data[side]["content_sha256"]:
            found.problems.append(
                f"{report}: made from other content than the stored {data['codeset']}/{version}"
            )
