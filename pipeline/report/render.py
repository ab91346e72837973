"""Reports: one `ChangeSet` in, HTML / Markdown / JSON text out; plus the cycle index.

One Jinja environment, autoescaped for HTML; formatting lives in filters.
Output is deterministic: the same snapshots give byte-identical reports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pipeline.analysis.audit import KINDS, Audit
from pipeline.analysis.cycle import Analysis
from pipeline.codesets.hcpcs.reconcile import AGREEING, REASONS
from pipeline.codesets.pfs.pprrvu import STATUS_CODES
from pipeline.diff.changeset import ChangeSet, jsonable
from pipeline.report.sections import Section, build_sections, full_lists
from pipeline.store.snapshots import TMP_PREFIX, write_atomically

FORMATS = ("html", "md", "json")
#: Characters that make inline Markdown (emphasis, code, links, tables, strike-through).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
#: HTML-significant characters become entities, so no raw HTML reaches the page.
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9]):/|www\.|@(?=[a-z0-9])")


@dataclass(frozen=True)
class CycleEntry:
    """One cycle as the index lists it, read back from its JSON report."""

    codeset: str
    title: str
    old_version: str
    new_version: str
    old_date: date
    new_date: date
    counts: Mapping[str, int]
    #: Items for the clinic by severity (empty when the cycle had no watchlist).
    severity: Mapping[str, int] = field(default_factory=dict)

    @property
    def stem(self) -> str:
        return cycle_stem(self.old_version, self.new_version)


def cycle_stem(old_version: str, new_version: str) -> str:
    return f"{old_version}_to_{new_version}"


def value(v: Any) -> str:
    """How a field value reads in a report: blanks shown as an em dash."""
    if v is None or v == "":
        return "—"
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return str(v)


def number(n: int) -> str:
    return f"{n:,}"


def money(amount: Decimal | None) -> str:
    return "—" if amount is None else f"${amount:,.2f}"


def signed_money(amount: Decimal | None) -> str:
    if amount is None:
        return "—"
    return f"{'-' if amount < 0 else '+'}${abs(amount):,.2f}"


def percent(fraction: Decimal | None) -> str:
    return "—" if fraction is None else f"{fraction * 100:+.2f}%"


def plural(n: int, noun: str) -> str:
    """`1 revision`, `2 revisions`, with thousands separators."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


#: Words that read as abbreviations in column labels.
_ACRONYMS = {
    "asc": "ASC",
    "betos": "BETOS",
    "cim": "CIM",
    "cpt": "CPT",
    "hcpcs": "HCPCS",
    "mcm": "MCM",
    "mog": "MOG",
    "mp": "MP",
    "mue": "MUE",
    "na": "NA",
    "ncci": "NCCI",
    "opps": "OPPS",
    "pctc": "PCTC",
    "pe": "PE",
    "ptp": "PTP",
    "rvu": "RVU",
    "rvus": "RVUs",
}


def label(name: str) -> str:
    """`long_description` -> `Long description`; `work_rvu` -> `Work RVU`."""
    words = [_ACRONYMS.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def markdown_escape(text: Any) -> str:
    """Neutralise Markdown and raw HTML in data, so a descriptor can never become markup."""
    s = value(text) if not isinstance(text, str) else text
    s = s.replace("\r", " ").replace("\n", " ")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    for char, entity in _MD_ENTITIES.items():
        s = s.replace(char, entity)
    # GitHub turns bare URLs, www. names and e-mail addresses into links: a zero-width
    # space keeps them text.
    return _MD_AUTOLINK.sub(lambda m: m.group(0)[:-1] + "\u200b" + m.group(0)[-1], s)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("pipeline.report"),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(
        value=value,
        number=number,
        plural=plural,
        label=label,
        md=markdown_escape,
        money=money,
        signed_money=signed_money,
        percent=percent,
    )
    return env


#: Rows per section of an HTML report besides the clinic's own (about 0.5 KB each).
HTML_ROWS = 2000
#: GitHub's limit for a job summary is 1 MiB; a pull-request comment takes 65,536 characters.
MARKDOWN_LIMIT = 1_000_000
_MARKDOWN_ROWS = 500


def _view(cs: ChangeSet, sections: Mapping[str, Section]) -> dict[str, Any]:
    """What the cycle templates need, computed once here rather than in the templates."""
    shown = list(cs.key) + [d for d in cs.display if d not in cs.key]
    return {
        "cs": cs,
        "counts": cs.counts,
        "shown": shown,
        "sec": sections,
        "uniform": cs.uniform_changes(),
        "termination": cs.termination,
        "key_text": cs.key_label,
    }


def render_cycle(
    analysis: Analysis,
    markdown_limit: int = MARKDOWN_LIMIT,
    html_rows: int = HTML_ROWS,
    audit: Audit | None = None,
    sections: Mapping[str, Section] | None = None,
) -> dict[str, str]:
    """The three reports of one cycle, keyed by file extension.

    Long sections are capped (the clinic's codes always shown); the Markdown report is
    made to fit `markdown_limit` bytes by showing fewer rows per section. `sections`
    are the HTML report's, if the caller built them already.
    """
    env = environment()
    cs = analysis.changes
    stem = cycle_stem(cs.old.version, cs.new.version)
    common: dict[str, Any] = {"a": analysis, "verification": analysis.verification}
    common |= {"audit": audit, "audit_titles": AUDIT_PHRASES, "statuses": STATUS_CODES}
    common |= {"reasons": REASONS, "agreeing": AGREEING}
    if sections is None:
        sections = build_sections(cs, analysis.watched, html_rows, stem)
    html_view = {**_view(cs, sections), **common}
    return {
        "html": env.get_template("cycle.html").render(html_view),
        "md": _fitting_markdown(analysis, markdown_limit, stem, common),
        "json": cycle_json(analysis),
    }


def _fitting_markdown(analysis: Analysis, limit: int, stem: str, common: Mapping[str, Any]) -> str:
    """The Markdown report with as many rows per section as fit in `limit` bytes."""
    template = environment().get_template("cycle.md")
    cs = analysis.changes
    rows = _MARKDOWN_ROWS
    while True:
        sections = build_sections(cs, analysis.watched, rows, stem)
        text = template.render({**_view(cs, sections), **common, "limit": limit})
        if len(text.encode("utf-8")) <= limit or rows == 0:
            break
        rows //= 2
    if len(text.encode("utf-8")) > limit:  # even the summaries are too long: cut, and say so
        note = f"\n\n_Cut at {limit:,} bytes: the HTML and JSON reports have everything._\n"
        text = text.encode("utf-8")[: limit - len(note.encode())].decode("utf-8", "ignore")
        text = text[: text.rfind("\n")] + note
    return text


def cycle_json(analysis: Analysis) -> str:
    return json.dumps(analysis.to_dict(), indent=2, ensure_ascii=False, default=jsonable) + "\n"


def write_cycle(
    analysis: Analysis,
    out_dir: Path,
    markdown_limit: int = MARKDOWN_LIMIT,
    audit: Audit | None = None,
) -> list[Path]:
    """Write a cycle's reports under `out_dir/<codeset>/`, with the full lists of capped
    sections beside them; return the files that changed."""
    cs = analysis.changes
    stem = cycle_stem(cs.old.version, cs.new.version)
    folder = out_dir / cs.codeset
    sections = build_sections(cs, analysis.watched, HTML_ROWS, stem)
    reports = render_cycle(analysis, markdown_limit, audit=audit, sections=sections)
    files = {f"{stem}.{ext}": text.encode("utf-8") for ext, text in reports.items()}
    files |= full_lists(cs, sections)
    written = []
    for name, data in files.items():
        if write_atomically(folder / name, data):
            written.append(folder / name)
    return written


def read_cycle_entries(out_dir: Path) -> list[CycleEntry]:
    """Every cycle report under `out_dir`, newest first (by the new edition's date)."""
    entries = []
    for path in sorted(out_dir.glob("*/*_to_*.json")):
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entries.append(
                CycleEntry(
                    codeset=raw["codeset"],
                    title=raw["title"],
                    old_version=raw["from"]["version"],
                    new_version=raw["to"]["version"],
                    old_date=date.fromisoformat(raw["from"]["effective_date"]),
                    new_date=date.fromisoformat(raw["to"]["effective_date"]),
                    counts=raw["counts"],
                    severity=raw.get("impact", {}).get("counts", {}),
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a cycle report of ours
    return sorted(
        entries, key=lambda e: (e.new_date, e.old_date, e.codeset, e.new_version), reverse=True
    )


def _audit_counts(path: Path) -> dict[str, int] | None:
    try:
        counts: dict[str, int] = json.loads(path.read_text(encoding="utf-8"))["counts"]
    except (OSError, ValueError, KeyError):
        return None
    return counts


def render_index(
    entries: Sequence[CycleEntry],
    histories: Sequence[str] = (),
    audit: Mapping[str, int] | None = None,
) -> dict[str, str]:
    """The front page (HTML, Markdown) and the Atom feed of every cycle."""
    env = environment()
    groups = _group(entries)
    charts = {cid: chart(items) for cid, _, items in groups}
    return {
        "html": env.get_template("index.html").render(
            entries=entries,
            groups=groups,
            charts=charts,
            histories=histories,
            audit=audit,
            audit_titles=AUDIT_PHRASES,
        ),
        "md": env.get_template("index.md").render(entries=entries, groups=groups),
        "xml": env.get_template("feed.xml").render(
            entries=entries,
            feed_id=_urn("feed"),
            entry_id=lambda e: _urn(f"{e.codeset}/{e.stem}"),
        ),
    }


def _urn(name: str) -> str:
    """A stable Atom id: the same cycle always has the same id, wherever it is published."""
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_URL, f"codeset-pipeline:{name}").urn


@dataclass(frozen=True)
class Bar:
    """One cycle's stacked bar: added, deleted and changed, bottom up, in pixels."""

    entry: CycleEntry
    x: int
    heights: tuple[tuple[str, int, int], ...]  # (kind, count, height)


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    bar_width: int
    peak: int


CHART_KINDS = ("added", "deleted", "changed")


def chart(items: Sequence[CycleEntry], height: int = 120, bar_width: int = 28) -> Chart:
    """Changes per cycle, oldest on the left, scaled to the busiest cycle of the code set."""
    ordered = list(reversed(items))
    bar_width = max(bar_width, 7 * max((len(e.new_version) for e in ordered), default=0))
    peak = max((sum(e.counts.get(k, 0) for k in CHART_KINDS) for e in ordered), default=0)
    gap = bar_width // 2
    bars = []
    for i, entry in enumerate(ordered):
        parts = []
        for kind in CHART_KINDS:
            count = entry.counts.get(kind, 0)
            pixels = round(count / peak * height) if peak else 0
            parts.append((kind, count, max(pixels, 1) if count else 0))
        bars.append(Bar(entry=entry, x=gap + i * (bar_width + gap), heights=tuple(parts)))
    return Chart(
        bars=tuple(bars),
        width=gap + len(bars) * (bar_width + gap),
        height=height,
        bar_width=bar_width,
        peak=peak,
    )


def _group(entries: Iterable[CycleEntry]) -> list[tuple[str, str, list[CycleEntry]]]:
    """Entries per code set, code sets in order of their newest cycle."""
    groups: dict[str, list[CycleEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.codeset, []).append(entry)
    return [(cid, items[0].title, items) for cid, items in groups.items()]


def index_json(entries: Sequence[CycleEntry]) -> str:
    """The index for machines (and `codeset verify`): every cycle and its report files."""
    cycles = [
        {
            "codeset": e.codeset,
            "title": e.title,
            "from": {"version": e.old_version, "effective_date": e.old_date.isoformat()},
            "to": {"version": e.new_version, "effective_date": e.new_date.isoformat()},
            "counts": dict(e.counts),
            "severity": dict(e.severity),
            "reports": {ext: f"{e.codeset}/{e.stem}.{ext}" for ext in FORMATS},
        }
        for e in entries
    ]
    return json.dumps({"schema_version": 1, "cycles": cycles}, indent=2, ensure_ascii=False) + "\n"


def write_index(out_dir: Path) -> list[Path]:
    """Rebuild the index (HTML, Markdown, JSON) and `feed.xml` from the cycle reports present."""
    written = []
    entries = read_cycle_entries(out_dir)
    histories = sorted(p.stem for p in (out_dir / "history").glob("*.html"))
    audit = _audit_counts(out_dir / "audit.json")
    rendered = {**render_index(entries, histories, audit), "json": index_json(entries)}
    for ext, text in rendered.items():
        path = out_dir / ("feed.xml" if ext == "xml" else f"index.{ext}")
        if write_atomically(path, text.encode("utf-8")):
            written.append(path)
    return written


def remove_stale_report_temporaries(out_dir: Path) -> list[Path]:
    """Delete half-written report files left by an interrupted run."""
    if not out_dir.is_dir():
        return []
    stale = [p for p in out_dir.rglob(f"{TMP_PREFIX}*") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def write_histories(
    timelines: Mapping[str, Sequence[Any]], labels: Mapping[str, str], out_dir: Path
) -> list[Path]:
    """One page per watched code under `out_dir/history/`, which cycle reports link to."""
    env = environment()
    template = env.get_template("history.html")
    written = []
    for code in sorted(labels):
        html = template.render(code=code, label=labels[code], timelines=timelines.get(code, []))
        path = out_dir / "history" / f"{code}.html"
        if write_atomically(path, html.encode("utf-8")):
            written.append(path)
    return written


AUDIT_TITLES = {
    "not-a-code": ("Not a code", "In no code set's newest edition: probably mistyped."),
    "not-payable": (
        "Not paid by Medicare under this code",
        "The fee schedule's status says Medicare pays nothing for the code itself.",
    ),
    "discontinued": ("Discontinued", "Terminated by the publisher: claims will be denied."),
    "duplicate": ("Listed more than once", "The same code on several lines of the watchlist."),
    "label-mismatch": (
        "Label does not match the code",
        "The clinic's words and the code's descriptor share no distinctive word.",
    ),
    "note": ("Notes", "Information, nothing to correct."),
}


#: The kinds as they read inside a sentence ("1 not a code · 2 not paid by Medicare").
AUDIT_PHRASES = {
    "not-a-code": "not a code",
    "not-payable": "not paid by Medicare",
    "discontinued": "discontinued",
    "duplicate": "listed more than once",
    "label-mismatch": "label not matching the code",
    "note": "note",
}


def render_audit(audit: Audit) -> dict[str, str]:
    """The watchlist audit as HTML, Markdown and JSON."""
    env = environment()
    groups = [(k, AUDIT_TITLES[k][0], audit.of_kind(k)) for k in KINDS]
    explain = {k: v[1] for k, v in AUDIT_TITLES.items()}
    view = {"audit": audit, "groups": groups, "explain": explain}
    return {
        "html": env.get_template("audit.html").render(view),
        "md": env.get_template("audit.md").render(view),
        "json": json.dumps(audit.to_dict(), indent=2, ensure_ascii=False, default=jsonable) + "\n",
    }


def write_audit(audit: Audit, out_dir: Path) -> list[Path]:
    written = []
    for ext, text in render_audit(audit).items():
        path = out_dir / f"audit.{ext}"
        if write_atomically(path, text.encode("utf-8")):
            written.append(path)
    return written
