"""Shared fixtures: code-set specs, edition info, and the bundled HCPCS run (done once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import settings

from pipeline.config.load import CodeSetSpec, Config, ReaderSpec, load_config
from pipeline.diff.changeset import EditionInfo
from pipeline.project.project import Project
from pipeline.project.run import RunResult, run
from pipeline.store.snapshots import Store

REPO = Path(__file__).resolve().parent.parent

# Speed is measured by `make bench`, never by a test: no deadline on a property example,
# which a loaded machine would otherwise turn into a failure.
settings.register_profile("project", deadline=None)
settings.load_profile("project")


def make_spec(**overrides: object) -> CodeSetSpec:
    """A small HCPCS-like spec: key `code`, descriptor `description`, `terminated` ends a code."""
    fields: dict[str, object] = {
        "id": "demo",
        "title": "Demo codes",
        "publisher": "Test publisher",
        "key": ("code",),
        "reader": ReaderSpec(format="delimited"),
        "descriptors": ("description",),
        "termination": "terminated",
    }
    fields.update(overrides)
    return CodeSetSpec(**fields)  # type: ignore[arg-type]


def edition(version: str, effective: date, rows: int = 0) -> EditionInfo:
    return EditionInfo(
        version=version,
        effective_date=effective,
        source_name=f"demo-{version}.csv",
        source_member=None,
        source_sha256="0" * 64,
        source_note=None,
        rows=rows,
        content_sha256="1" * 64,
    )


def frame(rows: list[dict[str, object]], **schema: pl.DataType) -> pl.DataFrame:
    """A demo edition: code, description, terminated (a date), plus any extra columns."""
    base: dict[str, pl.DataType] = {
        "code": pl.String(),
        "description": pl.String(),
        "terminated": pl.Date(),
    }
    base.update(schema)
    return pl.DataFrame(rows, schema=base)


def therapy_2024() -> pl.DataFrame:
    """Four therapy codes, all active."""
    return frame(
        [
            {"code": "97110", "description": "Therapeutic exercise", "terminated": None},
            {"code": "97140", "description": "Manual therapy techniques", "terminated": None},
            {"code": "G0283", "description": "Electrical stimulation unattended"},
            {"code": "G8978", "description": "Mobility current status", "terminated": None},
        ]
    )


def therapy_2025() -> pl.DataFrame:
    """Against 2024: 97140 descriptor reworded; 97530 added; G0283 removed from the file;
    G8978 still listed but terminated 2024-12-31 (discontinued); 97110 unchanged."""
    return frame(
        [
            {"code": "97110", "description": "Therapeutic exercise", "terminated": None},
            {"code": "97140", "description": "Manual therapy techniques, each 15 minutes"},
            {"code": "97530", "description": "Therapeutic activities", "terminated": None},
            {
                "code": "G8978",
                "description": "Mobility current status",
                "terminated": date(2024, 12, 31),
            },
        ]
    )


@pytest.fixture
def spec() -> CodeSetSpec:
    return make_spec()


@dataclass(frozen=True)
class Bundled:
    config: Config
    store: Store
    out: Path
    result: RunResult


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Bundled:
    """The bundled configuration (four real HCPCS editions) run once into a temporary store."""
    root = tmp_path_factory.mktemp("bundled")
    config = load_config(REPO / "codesets.toml")
    store = Store(root / "snapshots")
    out = root / "reports"
    return Bundled(config, store, out, run(Project.of(config, store, out)))
