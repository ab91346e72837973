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
    elif content_digest(frame, manifest.digest_version) != manifest.content_sha256:
        found.problems.append(f"{data}: content does not hash to the manifest's content_sha256")


def _check_reports(out_dir: Path, found: _Findings) -> int:
    """Every cycle report parses and matches the snapshots it names; the index names
    reports that exist."""
    for leftover in sorted(out_dir.rglob(f"{TMP_PREFIX}*")):
        found.notices.append(f"{leftover}: left by an interrupted run; the next run removes it")
    index = out_dir / "index.json"
    listed: set[Path] = set()
    if not index.is_file():
        found.problems.append(f"{index}: missing (run `codeset run` or `codeset report`)")
    else:
        try:
            cycles = json.loads(index.read_text(encoding="utf-8"))["cycles"]
            for cycle in cycles:
                for rel in cycle["reports"].values():
                    if not (out_dir / rel).is_file():
                        found.problems.append(f"{index}: names {rel}, which does not exist")
                    listed.add(out_dir / rel)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            found.problems.append(f"{index}: not a complete report index ({_short(exc)})")
    stems = sorted(
        {p.with_suffix("") for p in out_dir.glob("*/*_to_*.*") if p.suffix[1:] in _KINDS}
    )
    for stem in stems:
        _check_cycle(stem, found, listed)
    return len(stems)


#: The files of one cycle's reports, and how each one must end to be complete.
_KINDS = {"json": "}", "html": "</html>", "md": ""}


def _check_cycle(stem: Path, found: _Findings, listed: set[Path]) -> None:
    """One cycle's three reports: each complete, and made from the snapshots now stored."""
    report = stem.with_suffix(".json")
    texts: dict[str, str] = {}
    for ext in _KINDS:
        path = stem.with_suffix(f".{ext}")
        try:
            texts[ext] = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if path not in listed:  # else the index check said so already
                found.problems.append(f"{path}: missing (the other reports of the cycle exist)")
        except (OSError, ValueError) as exc:
            found.problems.append(f"{path}: unreadable ({_short(exc)})")
    if "json" not in texts:
        return
    try:
        data = json.loads(texts["json"])
        codeset = data["codeset"]
        sides = {
            side: (data[side]["version"], data[side]["content_sha256"]) for side in ("from", "to")
        }
        sources = [data[side]["source"]["sha256"] for side in ("from", "to")]
        if not isinstance(codeset, str) or not all(isinstance(s, str) for s in sources):
            raise TypeError("codeset and source digests must be text")
    except ValueError as exc:
        found.problems.append(f"{report}: not valid JSON ({_short(exc)}): truncated or damaged")
        return
    except (KeyError, TypeError, AttributeError) as exc:
        found.problems.append(f"{report}: not a complete cycle report (no {_short(exc)})")
        return
    for version, content in sides.values():
        manifest = found.manifests.get((codeset, version))
        if manifest is None:
            found.problems.append(f"{report}: edition {codeset}/{version} is not stored")
        elif manifest.content_sha256 != content:
            found.problems.append(
                f"{report}: made from other content than the stored {codeset}/{version}"
            )
    html, md = texts.get("html"), texts.get("md")
    if html is not None:
        if not html.rstrip().endswith("</html>"):
            found.problems.append(f"{stem.with_suffix('.html')}: truncated or empty (no </html>)")
        elif not all(sha in html for sha in sources):
            found.problems.append(
                f"{stem.with_suffix('.html')}: does not name the source files of {report.name}"
            )
    if md is not None:
        path = stem.with_suffix(".md")
        if not md.startswith("# ") or not md.endswith("\n"):
            found.problems.append(f"{path}: truncated or empty")
        elif "_Cut at " not in md and not all(sha[:16] in md for sha in sources):
            found.problems.append(f"{path}: does not name the source files of {report.name}")


def _short(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:120]
