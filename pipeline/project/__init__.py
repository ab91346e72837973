"""Orchestration: the one path through the core (`Project`), ingest, publishing, the run."""

from __future__ import annotations

from pipeline.project.project import Project as Project
