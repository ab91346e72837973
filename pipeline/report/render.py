"""Reports: one `ChangeSet` in, HTML / Markdown / JSON text out; plus the cycle index.

One Jinja environment, autoescaped for HTML; formatting lives in filters.
Output is deterministic: the same snapshots give byte-identical reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from pipeline.analysis.audit import KINDS, Audit
from pipeline.analysis.cycle import Analysis
from pipeline.codesets import kinds
from pipeline.codesets.hcpcs.reconcile import AGREEING, REASONS
from pipeline.diff.changeset import ChangeSet, jsonable
from pipeline.report.escape import markdown_code, markdown_escape, markdown_url, terminal_text
from pipeline.report.escape import text as value
from pipeline.report.sections import Section, build_sections
from pipeline.store.snapshots import Manifest

FORMATS = ("html", "md", "json")


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


def _markdown_finalize(v: Any) -> Any:
    return v if isinstance(v, Markup) else markdown_escape(v)


def _terminal_finalize(v: Any) -> Any:
    return terminal_text(v)


#: Target -> how every `{{ ... }}` of its templates is escaped (see `escape.py`).
_FINALIZE = {"html": None, "md": _markdown_finalize, "text": _terminal_finalize}


@cache
def environment(target: str = "html") -> Environment:
    """The Jinja environment of one target: `html` (also the Atom feed), `md` or `text`.

    HTML is autoescaped; Markdown is autoescaped too (so macros return markup) and every
    value is first Markdown-escaped by `finalize`; terminal text has control characters
    stripped. Templates are named for their target (`cycle.html`, `cycle.md`), and the
    target-neutral sentence macros (`_sentences.txt`) compile once per target.
    """
    env = Environment(
        loader=PackageLoader("pipeline.report"),
        autoescape=target in ("html", "md"),
        finalize=_FINALIZE[target],
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
        code=markdown_code,
        url=markdown_url,
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
        "uniform": cs.uniform,
        "termination": cs.termination,
        "key_text": cs.key_label,
    }


def render_cycle(
    analysis: Analysis,
    markdown_limit: int = MARKDOWN_LIMIT,
    html_rows: int = HTML_ROWS,
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
    common |= {"statuses": kinds()[analysis.kind].statuses}
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
    template = environment("md").get_template("cycle.md")
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
        "md": environment("md").get_template("index.md").render(entries=entries, groups=groups),
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


def render_histories(
    timelines: Mapping[str, Sequence[Any]], labels: Mapping[str, str]
) -> dict[str, str]:
    """One page per watched code (`<CODE>.html`), which cycle reports link to."""
    template = environment().get_template("history.html")
    return {
        f"{code}.html": template.render(
            code=code, label=labels[code], timelines=timelines.get(code, [])
        )
        for code in sorted(labels)
    }


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
        "md": environment("md").get_template("audit.md").render(view),
        "json": json.dumps(audit.to_dict(), indent=2, ensure_ascii=False, default=jsonable) + "\n",
    }


def render_summary(
    cycles: Sequence[Analysis],
    stored: Sequence[Manifest],
    checked: Sequence[str],
    when: str,
    base: str = "reports/",
    origins: Mapping[str, str] | None = None,
) -> str:
    """What one run brought, for the job summary and the pull request: only the editions it
    stored and the cycles it produced (or "no new edition", with what was checked and when).
    `origins` gives the URL an edition came from (`"hcpcs 2026Q3"` -> URL), for those a
    release feed found."""
    return (
        environment("md")
        .get_template("summary.md")
        .render(
            cycles=cycles,
            stored=stored,
            checked=checked,
            when=when,
            base=base,
            stem=lambda cs: cycle_stem(cs.old.version, cs.new.version),
            origins=origins or {},
        )
    )


def item_sentences(item: Any) -> tuple[str, str]:
    """An impact item's "what changed" and "what to do", as terminal text."""
    module = environment("text").get_template("_sentences.txt").module
    return str(module.what(item)), str(module.todo(item))  # type: ignore[attr-defined]


def event_sentence(event: Any) -> str:
    """A history event in words, as terminal text."""
    module = environment("text").get_template("_sentences.txt").module
    return str(module.event(event))  # type: ignore[attr-defined]
