"""The diff engine: two snapshots in, a `ChangeSet` out."""

from __future__ import annotations

from pipeline.diff.changeset import (
    ChangeSet as ChangeSet,
)
from pipeline.diff.engine import (
    diff as diff,
)
from pipeline.diff.engine import (
    diff_snapshots as diff_snapshots,
)
