"""Where a bench run keeps its files: generated editions, prepared stores, found keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench import icd_data, ncci_data


@dataclass(frozen=True)
class Workdir:
    root: Path

    @property
    def ncci_old(self) -> Path:
        return self.root / ncci_data.OLD_NAME

    @property
    def ncci_new(self) -> Path:
        return self.root / ncci_data.NEW_NAME

    @property
    def icd_old(self) -> Path:
        return self.root / icd_data.OLD_NAME

    @property
    def icd_new(self) -> Path:
        return self.root / icd_data.NEW_NAME

    def store(self, name: str) -> Path:
        """A store: `ncci`, `icd` (both editions), `ncci-old`, `icd-old` (the older one; all
        prepared once, then only read or copied) or `scratch` (rebuilt)."""
        return self.root / f"store-{name}"

    def found(self, approach: str) -> Path:
        """The keys an approach found: added, deleted and changed, one frame."""
        return self.root / f"found-{approach}.parquet"
