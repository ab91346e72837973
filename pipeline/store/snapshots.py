"""The snapshot store: `<root>/<codeset>/<version>/{data.parquet, manifest.json}`.

A snapshot is immutable and content-addressed: its manifest records the sha256
of the normalised data, so re-ingesting the same content is a no-op and
different content under an existing label is refused. A snapshot is written
into a temporary directory beside its final place and renamed into it, so an
interrupted run never leaves half a snapshot.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipeline import __version__
from pipeline.errors import StoreError, environment_faults
from pipeline.spec import check_name

if TYPE_CHECKING:
    import polars as pl

    from pipeline.store.keys import KeyPacking, PackedKeys

MANIFEST = "manifest.json"
DATA = "data.parquet"
TMP_PREFIX = ".tmp-"
#: Inside the store: editions stored whose cycles no completed run has reported.
UNREPORTED = ".unreported.json"
SCHEMA_VERSION = 1
#: The layout whose data.parquet also holds the index columns (see `IndexInfo`).
INDEXED_SCHEMA_VERSION = 2
#: The index columns: the packed key (`pipeline.keys`) and a hash of the other columns.
KEY_COLUMN, HASH_COLUMN = "__key", "__hash"
INDEX_COLUMNS = (KEY_COLUMN, HASH_COLUMN)
#: Editions at least this large are stored with an index; a smaller one is diffed in
#: milliseconds without it, and its snapshot keeps the plain layout.
INDEX_MIN_ROWS = 200_000
#: Marks a null in the canonical serialisation; text never contains NUL (readers reject it).
_NULL = "\x00"
#: Rows serialised at a time by `content_digest`.
_SLICE = 200_000


@dataclass(frozen=True)
class SourceInfo:
    """Where a snapshot's data came from."""

    name: str
    sha256: str
    bytes: int
    member: str | None = None
    reader: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class IndexInfo:
    """How a snapshot's index columns were made, so that a diff knows when it may use them.

    The packed key is plain arithmetic; a row hash (and a hashed key) is polars' own and
    changes between polars versions, so a diff recomputes both sides' hashes unless they
    were made by the same polars over the columns it compares.
    """

    key: str
    row_hash: str
    hashed: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "row_hash": self.row_hash, "hashed": list(self.hashed)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> IndexInfo:
        return cls(key=raw["key"], row_hash=raw["row_hash"], hashed=tuple(raw["hashed"]))


def row_hash_version() -> str:
    """What produced a row hash: hashes agree only between the same polars versions."""
    import polars as pl

    return f"polars {pl.__version__}"


@dataclass(frozen=True)
class Manifest:
    """What a snapshot is: enough to verify it and to head a report without reading its data."""

    codeset: str
    version: str
    effective_date: date
    source: SourceInfo
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    rows: int
    content_sha256: str
    data_sha256: str
    tool_version: str = __version__
    schema_version: int = SCHEMA_VERSION
    #: Present when data.parquet also holds the index columns, which `columns` then lists.
    index: IndexInfo | None = None

    @property
    def data_columns(self) -> tuple[tuple[str, str], ...]:
        """The edition's own columns: `columns` less the index."""
        if self.index is None:
            return self.columns
        return tuple((n, t) for n, t in self.columns if n not in INDEX_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["effective_date"] = self.effective_date.isoformat()
        out["key"] = list(self.key)
        out["columns"] = [{"name": n, "dtype": t} for n, t in self.columns]
        del out["index"]
        if self.index is not None:
            out["index"] = self.index.to_dict()
        return {"schema_version": out.pop("schema_version"), **out}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Manifest:
        return cls(
            codeset=raw["codeset"],
            version=raw["version"],
            effective_date=date.fromisoformat(raw["effective_date"]),
            source=SourceInfo(**raw["source"]),
            key=tuple(raw["key"]),
            columns=tuple((c["name"], c["dtype"]) for c in raw["columns"]),
            rows=raw["rows"],
            content_sha256=raw["content_sha256"],
            data_sha256=raw["data_sha256"],
            tool_version=raw["tool_version"],
            schema_version=raw["schema_version"],
            index=IndexInfo.from_dict(raw["index"]) if raw.get("index") else None,
        )


@dataclass(frozen=True)
class Snapshot:
    """A stored edition: its manifest, and its data read on demand."""

    manifest: Manifest
    path: Path

    @property
    def data_path(self) -> Path:
        return self.path / DATA

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Reads of the data file inside the block fail as one `StoreError` naming it: a
        truncated or damaged Parquet file (a full disk, a bad copy) is the store's fault."""
        import polars as pl

        try:
            yield
        except (OSError, pl.exceptions.PolarsError) as exc:
            detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
            raise StoreError(
                f"{self.data_path}: the snapshot's data cannot be read ({detail}); "
                "`codeset verify` lists the damage: restore the file, or delete "
                f"{self.path} and ingest the edition again"
            ) from None

    def frame(self, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The edition's data (all its columns, or those named), never the index."""
        import polars as pl

        with self.reading():
            scan = pl.scan_parquet(self.data_path)
            if columns is None and self.manifest.index is not None:
                columns = [n for n, _ in self.manifest.data_columns]
            if columns is not None:
                scan = scan.select(columns)
            return scan.collect()

    def packed_keys(self, packing: KeyPacking) -> pl.Series | None:
        """The stored packed keys, sorted, if this snapshot has them packed as `packing`."""
        import polars as pl

        index = self.manifest.index
        if index is None or not packing.ordered or index.key != packing.describe():
            return None
        with self.reading():
            keys = pl.read_parquet(self.data_path, columns=[KEY_COLUMN])[KEY_COLUMN]
        return keys.set_sorted() if keys.is_sorted() else keys.sort()

    def read(self) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """The data and, if the snapshot has one, its index: one read of the file."""
        import polars as pl

        with self.reading():
            whole = pl.read_parquet(self.data_path)
        if self.manifest.index is None:
            return whole, None
        return whole.drop(INDEX_COLUMNS), whole.select(INDEX_COLUMNS)


@dataclass(frozen=True)
class PutResult:
    status: Literal["stored", "unchanged"]
    snapshot: Snapshot
    notes: tuple[str, ...] = field(default_factory=tuple)


def content_digest(frame: pl.DataFrame) -> str:
    """sha256 of a canonical text serialisation: same data, same digest, across file formats.

    The index columns, derived from the data, are not part of it. Polars writes each
    slice's text into a buffer that is hashed as it is: no text object, no re-encoding.
    """
    frame = frame.drop([c for c in INDEX_COLUMNS if c in frame.columns])
    digest = hashlib.sha256()
    header = "\t".join(f"{name}:{dtype}" for name, dtype in frame.schema.items())
    digest.update(header.encode() + b"\n")
    for chunk in frame.iter_slices(_SLICE):
        text = io.BytesIO()
        chunk.write_csv(text, include_header=False, null_value=_NULL, separator="\t")
        digest.update(text.getbuffer())
    return digest.hexdigest()


def build_index(
    frame: pl.DataFrame, key: Sequence[str], keys: PackedKeys | None = None
) -> tuple[pl.DataFrame, IndexInfo]:
    """The index columns of an edition: its packed key (`keys`, if the caller packed them
    already) and a hash of its other columns."""
    from pipeline.store.keys import pack, row_hash

    keys = keys or pack(frame, key)
    hashed = tuple(c for c in frame.columns if c not in key)
    index = frame.select(keys.values.alias(KEY_COLUMN), row_hash(list(hashed)).alias(HASH_COLUMN))
    info = IndexInfo(key=keys.packing.describe(), row_hash=row_hash_version(), hashed=hashed)
    return index, info


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Store:
    """A directory of snapshots, one subdirectory per code set and per version."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        #: Parsed manifests by path, kept while the file's size and mtime stay the same: a
        #: published snapshot never changes, so a run parses each manifest once.
        self._parsed: dict[Path, tuple[tuple[int, int], Manifest]] = {}
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: is a file, not a snapshot store (a directory)")

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    def __str__(self) -> str:
        return str(self.root)

    def _dir(self, codeset: str, version: str) -> Path:
        return self.root / check_name(codeset, "code-set id") / check_name(version, "version")

    def has(self, codeset: str, version: str) -> bool:
        return (self._dir(codeset, version) / MANIFEST).is_file()

    def get(self, codeset: str, version: str) -> Snapshot:
        path = self._dir(codeset, version)
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            known = ", ".join(m.version for m in self.manifests(codeset)) or "none"
            raise StoreError(f"no snapshot {codeset}/{version} in {self.root} (stored: {known})")
        return Snapshot(manifest=self._parsed_manifest(manifest_path), path=path)

    def manifests(self, codeset: str | None = None) -> list[Manifest]:
        """Every stored snapshot's manifest, by code set then effective date."""
        found = [self._parsed_manifest(p) for p in self._manifest_paths(codeset)]
        return sorted(found, key=lambda m: (m.codeset, m.effective_date, m.version))

    def snapshots(self, codeset: str) -> list[Snapshot]:
        return [self.get(m.codeset, m.version) for m in self.manifests(codeset)]

    def _parsed_manifest(self, path: Path) -> Manifest:
        try:
            st = path.stat()
        except OSError:
            return _read_manifest(path)
        stamp = (st.st_size, st.st_mtime_ns)
        known = self._parsed.get(path)
        if known is None or known[0] != stamp:
            known = self._parsed[path] = (stamp, _read_manifest(path))
        return known[1]

    def _manifest_paths(self, codeset: str | None) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        sets = [self.root / codeset] if codeset else sorted(self.root.iterdir())
        for set_dir in sets:
            if not set_dir.is_dir() or set_dir.name.startswith("."):
                continue
            for version_dir in sorted(set_dir.iterdir()):
                if version_dir.name.startswith(TMP_PREFIX):
                    continue
                manifest = version_dir / MANIFEST
                if manifest.is_file():
                    yield manifest

    def put(
        self,
        codeset: str,
        version: str,
        effective: date,
        frame: pl.DataFrame,
        key: Sequence[str],
        source: SourceInfo,
        *,
        keys: PackedKeys | None = None,
    ) -> PutResult:
        """Store `frame` as `codeset/version`, unless that exact content is already there.

        An edition of at least `INDEX_MIN_ROWS` rows is stored with its index columns
        beside the data, so that diffing it later reads two integers per row.
        """
        reserved = [c for c in INDEX_COLUMNS if c in frame.columns]
        if reserved:
            raise StoreError(
                f"{codeset} {version}: column name(s) {', '.join(reserved)} are reserved "
                "for the snapshot index; rename them in the reader's `columns`"
            )
        if self.has(codeset, version):
            digest = content_digest(frame)
            existing = self.get(codeset, version)
            if existing.manifest.content_sha256 == digest:
                return PutResult("unchanged", existing)
            same_file = existing.manifest.source.sha256 == source.sha256
            raise StoreError(
                f"snapshot {codeset}/{version} already exists with different content "
                f"(stored {existing.manifest.content_sha256[:12]}, new {digest[:12]}"
                + ("; same source file, so the reader has changed" if same_file else "")
                + "): ingest it under a new version label, or delete "
                f"{self.location(codeset, version)} to replace it"
            )
        self._check_free(codeset, version)
        # Recorded first, so that a run failing at any later point still leaves the
        # edition's cycles new for the gate; taken back if nothing gets stored.
        before = self.unreported()
        self.mark_unreported(codeset, version)
        try:
            return self._put(codeset, version, effective, frame, key, source, keys)
        except BaseException:
            self.restore_unreported(before)
            raise

    def _put(
        self,
        codeset: str,
        version: str,
        effective: date,
        frame: pl.DataFrame,
        key: Sequence[str],
        source: SourceInfo,
        keys: PackedKeys | None,
    ) -> PutResult:
        with environment_faults(self._dir(codeset, version), "store the snapshot"):
            staging = self._staging(codeset, version)
            try:
                manifest = _write_snapshot(
                    staging, codeset, version, effective, frame, key, source, keys
                )
                path = self._publish(staging, codeset, version)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return PutResult("stored", Snapshot(manifest=manifest, path=path))

    def location(self, codeset: str, version: str) -> str:
        """Where a snapshot lives, for messages."""
        return str(self._dir(codeset, version))

    # --- editions stored whose cycles no run has reported yet ------------------------------
    # A run that stores an edition and then fails (another code set's file is bad) has
    # produced cycles nobody saw, and that `--fail-on` never gated. They stay "new" for the
    # gate, in this file inside the store, until a run completes.

    def unreported(self) -> dict[str, set[str]]:
        """Versions per code set stored since the last complete run."""
        raw = self._read_state(UNREPORTED)
        if raw is None:
            return {}
        try:
            data = json.loads(raw)
            return {str(c): {str(v) for v in vs} for c, vs in data["unreported"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(
                f"{self.location_of(UNREPORTED)}: unreadable ({exc}); delete it to treat "
                "every stored edition as reported"
            ) from None

    def mark_unreported(self, codeset: str, version: str) -> None:
        """Record, before storing it, that `codeset/version`'s cycles are not reported yet."""
        state = self.unreported()
        if version in state.get(codeset, set()):
            return
        state.setdefault(codeset, set()).add(version)
        payload = {"unreported": {c: sorted(vs) for c, vs in sorted(state.items())}}
        self._write_state(UNREPORTED, (json.dumps(payload, indent=2) + "\n").encode())

    def restore_unreported(self, state: dict[str, set[str]]) -> None:
        """Put back an earlier state (an ingest that stored nothing), as best it can."""
        payload = {"unreported": {c: sorted(vs) for c, vs in sorted(state.items()) if vs}}
        with suppress(Exception):
            self._write_state(
                UNREPORTED,
                (json.dumps(payload, indent=2) + "\n").encode() if payload["unreported"] else None,
            )

    def reported(self) -> None:
        """A run completed: every stored edition's cycles are reported."""
        self._write_state(UNREPORTED, None)

    def location_of(self, name: str) -> str:
        return str(self.root / name)

    def _read_state(self, name: str) -> bytes | None:
        path = self.root / name
        with environment_faults(path, "read"):
            return path.read_bytes() if path.is_file() else None

    def _write_state(self, name: str, data: bytes | None) -> None:
        path = self.root / name
        if data is not None:
            write_atomically(path, data)
            return
        with environment_faults(path, "remove"):
            if path.exists():
                path.unlink()
                _fsync_dir(path.parent)

    def _check_free(self, codeset: str, version: str) -> None:
        final = self._dir(codeset, version)
        if final.exists():
            raise StoreError(f"{final} exists but holds no {MANIFEST}: remove it and re-run")

    def _staging(self, codeset: str, version: str) -> Path:
        """A fresh temporary directory beside the snapshot's final place."""
        final = self._dir(codeset, version)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f"{TMP_PREFIX}{version}-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        return tmp

    def _publish(self, staging: Path, codeset: str, version: str) -> Path:
        """Make a complete staged snapshot visible, in one rename."""
        final = self._dir(codeset, version)
        _fsync_file(staging / DATA)
        for child in staging.iterdir():
            child.chmod(0o444)
        os.rename(staging, final)
        _fsync_dir(final.parent)
        return final

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete temporary directories left by an interrupted run; return what was removed."""
        removed: list[Path] = []
        if not self.root.is_dir():
            return removed
        for child in self.root.rglob(f"{TMP_PREFIX}*"):
            if _owner_alive(child.name) or not child.exists():
                continue
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
            removed.append(child)
        return sorted(removed)


def _write_snapshot(
    folder: Path,
    codeset: str,
    version: str,
    effective: date,
    frame: pl.DataFrame,
    key: Sequence[str],
    source: SourceInfo,
    keys: PackedKeys | None,
) -> Manifest:
    """Write data.parquet (with its index, for a large edition) and manifest.json into
    `folder`; the manifest goes last and names the data file's sha256."""
    digest = content_digest(frame)
    index_info = None
    stored = frame
    if frame.height >= INDEX_MIN_ROWS:
        index, index_info = build_index(frame, key, keys)
        stored = frame.hstack(index)
    stored.write_parquet(folder / DATA, compression="zstd", statistics=True)
    manifest = Manifest(
        codeset=codeset,
        version=version,
        effective_date=effective,
        source=source,
        key=tuple(key),
        columns=tuple((n, str(t)) for n, t in stored.schema.items()),
        rows=frame.height,
        content_sha256=digest,
        data_sha256=file_digest(folder / DATA),
        schema_version=SCHEMA_VERSION if index_info is None else INDEXED_SCHEMA_VERSION,
        index=index_info,
    )
    write_text_durably(folder / MANIFEST, manifest_json(manifest))
    return manifest


def _owner_alive(name: str) -> bool:
    """Whether the process that named a temporary `.tmp-<version>-<pid>` is still running."""
    pid_text = name.rsplit("-", 1)[-1]
    if not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def manifest_json(manifest: Manifest) -> str:
    return json.dumps(manifest.to_dict(), indent=2, ensure_ascii=False) + "\n"


def _read_manifest(path: Path) -> Manifest:
    try:
        return Manifest.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"{path}: unreadable manifest ({exc})") from None


def write_text_durably(path: Path, text: str) -> None:
    """Write a file so that it is complete on disk before anything refers to it."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomically(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` via a temporary file and rename; skip if unchanged.

    Returns whether the file was written.
    """
    with environment_faults(path, "write"):
        if path.is_file() and path.read_bytes() == data:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{os.getpid()}")
        try:
            with tmp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
    return True


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
