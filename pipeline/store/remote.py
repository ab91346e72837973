"""A snapshot store in object storage (`s3://bucket/prefix`, or any fsspec URL).

CI runners are ephemeral and years of NCCI-scale editions do not belong in git.
The layout is the local store's: `<prefix>/<codeset>/<version>/{data.parquet,
manifest.json}`. Object storage has no atomic rename, so a snapshot is published
in order: the data goes to a temporary key, is copied to its final key, and the
manifest is written last; a version without its manifest does not exist.
Snapshots are read through a local cache checked against the manifest's sha256,
so everything that reads a snapshot (diff, history, verify) works unchanged.

Credentials and endpoints come from the usual environment (`AWS_PROFILE`,
`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL` for an S3-compatible server, ...).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import StoreError
from pipeline.spec import check_name
from pipeline.store.snapshots import (
    DATA,
    MANIFEST,
    TMP_PREFIX,
    Manifest,
    Snapshot,
    Store,
    file_digest,
)

#: The object-storage client libraries: an exception of theirs is the store's (unreachable,
#: refused, misconfigured), never a bug of ours.
_CLIENT_LIBRARIES = {"botocore", "aiobotocore", "aiohttp", "s3fs", "fsspec", "gcsfs", "adlfs"}


def is_url(location: str | Path) -> bool:
    return "://" in str(location)


def open_store(location: str | Path) -> Store:
    """A local store for a path, a remote one for a URL."""
    return RemoteStore(str(location)) if is_url(location) else Store(Path(location))


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "codeset-pipeline"


@dataclass(frozen=True)
class RemoteSnapshot(Snapshot):
    """A snapshot whose data is fetched into the local cache the first time it is read:
    listing editions, or finding an edition already stored, downloads no data."""

    store: RemoteStore | None = None

    @property
    def data_path(self) -> Path:
        if self.store is not None:
            self.store._cached(self.manifest)
        return self.path / DATA


class RemoteStore(Store):
    """A store in object storage, with a local read cache (also the lock's place)."""

    def __init__(self, url: str, cache: Path | None = None) -> None:
        try:
            import fsspec
        except ImportError:  # pragma: no cover - fsspec comes with s3fs
            raise StoreError("object-storage stores need fsspec: pip install 's3fs'") from None
        self.url = url.rstrip("/")
        try:
            self.fs, self.base = fsspec.core.url_to_fs(self.url)
        except (ImportError, ValueError) as exc:
            raise StoreError(
                f"{self.url}: cannot open this store ({exc}); for s3:// install s3fs "
                "(pip install 'codeset-pipeline[s3]')"
            ) from None
        # The cache, and the lock beside it, are keyed on the bucket and prefix, not on
        # how the URL was spelt: `s3://b/p/` and `s3://b//p` are one store, one lock.
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        where = "/".join(p for p in str(self.base).split("/") if p)
        digest = hashlib.sha256(f"{protocol}://{where}".encode()).hexdigest()[:16]
        super().__init__((cache or default_cache()) / digest)

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    def __str__(self) -> str:
        return self.url

    def _key(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def location(self, codeset: str, version: str) -> str:
        return f"{self.url}/{codeset}/{version}"

    def has(self, codeset: str, version: str) -> bool:
        check_name(codeset, "code-set id")
        check_name(version, "version")
        return bool(self._call(self.fs.exists, self._key(codeset, version, MANIFEST)))

    def get(self, codeset: str, version: str) -> Snapshot:
        if not self.has(codeset, version):
            known = ", ".join(m.version for m in self.manifests(codeset)) or "none"
            raise StoreError(f"no snapshot {codeset}/{version} in {self.url} (stored: {known})")
        manifest = self._manifest(self._key(codeset, version, MANIFEST))
        return RemoteSnapshot(manifest=manifest, path=self.root / codeset / version, store=self)

    def manifests(self, codeset: str | None = None) -> list[Manifest]:
        found = [self._manifest(key) for key in self._manifest_keys(codeset)]
        return sorted(found, key=lambda m: (m.codeset, m.effective_date, m.version))

    def _manifest_keys(self, codeset: str | None) -> Iterator[str]:
        pattern = self._key(codeset or "*", "*", MANIFEST)
        for key in sorted(self._call(self.fs.glob, pattern)):
            parts = key.split("/")
            if not parts[-3].startswith(".") and not parts[-2].startswith(TMP_PREFIX):
                yield key

    def _manifest(self, key: str) -> Manifest:
        try:
            return Manifest.from_dict(json.loads(self._call(self.fs.cat_file, key)))
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{key}: unreadable manifest ({exc})") from None

    def _cached(self, manifest: Manifest) -> Path:
        """The snapshot's folder in the local cache, fetched if missing or not the same."""
        folder = self.root / manifest.codeset / manifest.version
        data = folder / DATA
        if data.is_file() and file_digest(data) == manifest.data_sha256:
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{TMP_PREFIX}{DATA}-{os.getpid()}"
        try:
            self._call(
                self.fs.get_file, self._key(manifest.codeset, manifest.version, DATA), str(partial)
            )
            if file_digest(partial) != manifest.data_sha256:
                raise StoreError(
                    f"{self.location(manifest.codeset, manifest.version)}/{DATA}: does not "
                    "match its manifest's sha256: the stored file is damaged"
                )
            os.replace(partial, data)
        finally:
            partial.unlink(missing_ok=True)
        (folder / MANIFEST).write_text(json.dumps(manifest.to_dict(), indent=2) + "\n")
        return folder

    def location_of(self, name: str) -> str:
        return f"{self.url}/{name}"

    def _read_state(self, name: str) -> bytes | None:
        key = self._key(name)
        if not self._call(self.fs.exists, key):
            return None
        data: bytes = self._call(self.fs.cat_file, key)
        return data

    def _write_state(self, name: str, data: bytes | None) -> None:
        key = self._key(name)
        if data is not None:
            self._call(self.fs.pipe_file, key, data)  # one PUT: whole or not at all
        elif self._call(self.fs.exists, key):
            self._call(self.fs.rm, key)

    def _check_free(self, codeset: str, version: str) -> None:
        """A data object without its manifest is a half-published snapshot: it does not
        exist, and is overwritten."""

    def _staging(self, codeset: str, version: str) -> Path:
        staging = self.root / ".staging" / f"{codeset}-{version}-{os.getpid()}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        return staging

    def _publish(self, staging: Path, codeset: str, version: str) -> Path:
        """Data under a temporary key, copied to its final key; the manifest last."""
        temporary = self._key(codeset, f"{TMP_PREFIX}{version}-{os.getpid()}", DATA)
        final = self._key(codeset, version, DATA)
        self._call(self.fs.put_file, str(staging / DATA), temporary)
        try:
            self._call(self.fs.copy, temporary, final)
            self._call(
                self.fs.put_file, str(staging / MANIFEST), self._key(codeset, version, MANIFEST)
            )
        finally:
            self._call(self.fs.rm, temporary)
        folder = self.root / codeset / version
        if folder.exists():
            shutil.rmtree(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, folder)
        return folder

    def remove_stale_temporaries(self) -> list[Path]:
        """Delete temporary keys left by an interrupted run (and stale local staging)."""
        removed = [Path(key) for key in self.temporaries()]
        for key in removed:
            self._call(self.fs.rm, str(key), recursive=True)
        shutil.rmtree(self.root / ".staging", ignore_errors=True)
        return removed

    def temporaries(self) -> list[str]:
        return sorted(self._call(self.fs.glob, self._key("*", f"{TMP_PREFIX}*")))

    def incomplete(self) -> list[str]:
        """Version folders holding data but no manifest: publishing was interrupted."""
        data = set(self._call(self.fs.glob, self._key("*", "*", DATA)))
        done = {
            k.rsplit("/", 1)[0] for k in self._call(self.fs.glob, self._key("*", "*", MANIFEST))
        }
        return sorted(
            k.rsplit("/", 1)[0]
            for k in data
            if k.rsplit("/", 1)[0] not in done and TMP_PREFIX not in k
        )

    def _call(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """Object-storage errors become one clear line."""
        try:
            return method(*args, **kwargs)
        except FileNotFoundError as exc:
            raise StoreError(f"{self.url}: not found ({exc})") from None
        except PermissionError as exc:
            raise StoreError(f"{self.url}: access denied ({exc})") from None
        except OSError as exc:
            raise StoreError(f"{self.url}: {exc}") from None
        except Exception as exc:
            if type(exc).__module__.split(".")[0] not in _CLIENT_LIBRARIES:
                raise
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise StoreError(f"{self.url}: cannot reach the store ({first})") from None
