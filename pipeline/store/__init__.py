"""The snapshot store: one immutable, content-addressed Parquet snapshot per edition."""

from __future__ import annotations

from pipeline.store.snapshots import (
    DATA as DATA,
)
from pipeline.store.snapshots import (
    INDEX_COLUMNS as INDEX_COLUMNS,
)
from pipeline.store.snapshots import (
    INDEX_MIN_ROWS as INDEX_MIN_ROWS,
)
from pipeline.store.snapshots import (
    INDEXED_SCHEMA_VERSION as INDEXED_SCHEMA_VERSION,
)
from pipeline.store.snapshots import (
    MANIFEST as MANIFEST,
)
from pipeline.store.snapshots import (
    SCHEMA_VERSION as SCHEMA_VERSION,
)
from pipeline.store.snapshots import (
    TMP_PREFIX as TMP_PREFIX,
)
from pipeline.store.snapshots import (
    IndexInfo as IndexInfo,
)
from pipeline.store.snapshots import (
    Manifest as Manifest,
)
from pipeline.store.snapshots import (
    PutResult as PutResult,
)
from pipeline.store.snapshots import (
    Snapshot as Snapshot,
)
from pipeline.store.snapshots import (
    SourceInfo as SourceInfo,
)
from pipeline.store.snapshots import (
    Store as Store,
)
from pipeline.store.snapshots import (
    build_index as build_index,
)
from pipeline.store.snapshots import (
    content_digest as content_digest,
)
from pipeline.store.snapshots import (
    file_digest as file_digest,
)
from pipeline.store.snapshots import (
    manifest_json as manifest_json,
)
from pipeline.store.snapshots import (
    row_hash_version as row_hash_version,
)
from pipeline.store.snapshots import (
    write_atomically as write_atomically,
)
from pipeline.store.snapshots import (
    write_text_durably as write_text_durably,
)
