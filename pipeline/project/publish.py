"""Publishing: the reports rendered as text, written under the reports directory.

Rendering (`pipeline.report`) returns text; this is the one place that writes it,
each file atomically and only when its bytes change, so a quiet run touches nothing.
The index is rebuilt from the cycle reports present, read back from their JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pipeline.analysis.audit import Audit
from pipeline.analysis.cycle import Analysis
from pipeline.claims import Replay
from pipeline.errors import LimitError
from pipeline.impact.items import Item
from pipeline.report import render
from pipeline.report.render import (
    HTML_ROWS,
    MARKDOWN_LIMIT,
    AuditSummary,
    CycleEntry,
    cycle_stem,
    index_json,
    render_audit,
    render_cycle,
    render_glossary,
    render_histories,
    render_index,
)
from pipeline.report.sections import Section, build_sections, full_lists
from pipeline.store.snapshots import TMP_PREFIX, write_atomically


def write_files(folder: Path, files: Mapping[str, str | bytes]) -> list[Path]:
    """Write each file under `folder` atomically; return those whose bytes changed."""
    written = []
    for name, data in files.items():
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if write_atomically(folder / name, raw):
            written.append(folder / name)
    return written


def write_cycle(
    analysis: Analysis,
    out_dir: Path,
    markdown_limit: int = MARKDOWN_LIMIT,
    claims: Replay | None = None,
) -> list[Path]:
    """A cycle's reports under `out_dir/<codeset>/`, with the full lists of capped sections
    beside them; returns the files that changed. `claims`: the configured claims file
    replayed under this cycle's edition (a section of the report)."""
    cs = analysis.changes
    stem = cycle_stem(cs.old.version, cs.new.version)
    sections = build_sections(cs, analysis.watched, HTML_ROWS, stem)
    shown: dict[str, Section] = {}
    reports = render_cycle(analysis, markdown_limit, sections=sections, shown=shown, claims=claims)
    files: dict[str, str | bytes] = {f"{stem}.{ext}": text for ext, text in reports.items()}
    # Every full list either report links to: the Markdown may show fewer rows than the HTML.
    linked = {k: v if v.files or k not in shown else shown[k] for k, v in sections.items()}
    files |= full_lists(cs, linked)
    folder = out_dir / cs.codeset
    for name, data in files.items():
        size = len(data.encode("utf-8") if isinstance(data, str) else data)
        if size > render.MAX_REPORT_BYTES:
            raise LimitError(
                f"{folder / name}: would be {size:,} bytes, over the "
                f"{render.MAX_REPORT_BYTES:,}-byte limit for one report file; this cycle's "
                "reports were not written"
            )
    return write_files(folder, files)


def write_index(out_dir: Path) -> list[Path]:
    """Rebuild the index (HTML, Markdown, JSON) and `feed.xml` from the cycle reports present."""
    entries = read_cycle_entries(out_dir)
    histories = sorted(p.stem for p in (out_dir / "history").glob("*.html"))
    audit = _audit_counts(out_dir / "audit.json")
    rendered = {**render_index(entries, histories, audit), "json": index_json(entries)}
    files = {("feed.xml" if ext == "xml" else f"index.{ext}"): t for ext, t in rendered.items()}
    glossary = render_glossary(audit is not None)
    files |= {f"glossary.{ext}": text for ext, text in glossary.items()}
    return write_files(out_dir, files)


def write_histories(
    timelines: Mapping[str, Sequence[Any]], labels: Mapping[str, str], out_dir: Path
) -> list[Path]:
    return write_files(out_dir / "history", render_histories(timelines, labels))


def write_audit(audit: Audit, out_dir: Path) -> list[Path]:
    return write_files(out_dir, {f"audit.{ext}": t for ext, t in render_audit(audit).items()})


def remove_stale_report_temporaries(out_dir: Path) -> list[Path]:
    """Delete half-written report files left by an interrupted run."""
    if not out_dir.is_dir():
        return []
    stale = [p for p in out_dir.rglob(f"{TMP_PREFIX}*") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def read_cycle_entries(out_dir: Path) -> list[CycleEntry]:
    """Every cycle report under `out_dir`, newest first (by the new edition's date)."""
    entries = []
    for path in sorted(out_dir.glob("*/*_to_*.json")):
        try:
            raw = _report_summary(path.read_text(encoding="utf-8"))
            entries.append(
                CycleEntry(
                    codeset=raw["codeset"],
                    title=raw["title"],
                    old_version=raw["from"]["version"],
                    new_version=raw["to"]["version"],
                    old_date=date.fromisoformat(raw["from"]["effective_date"]),
                    new_date=date.fromisoformat(raw["to"]["effective_date"]),
                    counts=raw["counts"],
                    severity=_action_counts(raw.get("impact", {})),
                    items=tuple(
                        _item(i)
                        for i in raw.get("impact", {}).get("items", ())
                        if i.get("severity") in ("critical", "warning")
                    ),
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a cycle report of ours
    return sorted(
        entries, key=lambda e: (e.new_date, e.old_date, e.codeset, e.new_version), reverse=True
    )


def _item(raw: Mapping[str, Any]) -> Item:
    """An impact item read back from a JSON report (its facts as JSON keeps them)."""
    return Item(
        severity=raw["severity"],
        rule=raw["rule"],
        codeset=raw["codeset"],
        old_version=raw["from"],
        new_version=raw["to"],
        code=raw["code"],
        label=raw.get("label"),
        facts=raw.get("facts", {}),
        advice=raw.get("advice"),
        kind=raw.get("kind", "generic"),
        title=raw.get("title", ""),
    )


def _action_counts(impact: Mapping[str, Any]) -> dict[str, int]:
    """The Action required counts of a JSON report (its own counts, for older reports)."""
    if "action_required" in impact:
        return dict(impact["action_required"])
    counts = impact.get("counts", {})
    return {s: counts[s] for s in ("critical", "warning") if s in counts}


#: The members of a cycle report that the index lists (`impact` comes last).
_SUMMARY = ("codeset", "title", "from", "to", "counts", "impact")


def _report_summary(text: str) -> dict[str, Any]:
    """The `_SUMMARY` members of a cycle report, decoded without its record lists.

    A report written by `cycle_json` has each top-level member on a line of its own
    indented by two spaces (no value holds a raw line break), so each wanted member is
    found and decoded where it starts; anything else is decoded whole."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] = {}
    for name in _SUMMARY:
        marker = f'\n  "{name}": '
        at = text.rfind(marker) if name == "impact" else text.find(marker)
        if at < 0:
            if name == "impact":
                continue
            whole: dict[str, Any] = json.loads(text)
            return whole
        found[name], _ = decoder.raw_decode(text, at + len(marker))
    return found


def _audit_counts(path: Path) -> AuditSummary | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        counts: dict[str, int] = raw["counts"]
    except (OSError, ValueError, KeyError):
        return None
    fallback = sum(n for kind, n in counts.items() if kind != "note")
    return AuditSummary(counts=counts, to_correct=int(raw.get("to_correct", fallback)))
