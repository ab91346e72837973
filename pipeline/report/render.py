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
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from pipeline.analysis.audit import KINDS, Audit
from pipeline.analysis.cycle import Analysis
from pipeline.claims import Replay
from pipeline.codesets import kinds
from pipeline.codesets.hcpcs.reconcile import AGREEING, REASONS
from pipeline.diff.changeset import KINDS as RECORD_KINDS
from pipeline.diff.changeset import ChangeSet, jsonable, records_placeholder
from pipeline.diff.names import FIELD_NAMES
from pipeline.impact.watchlist import dotted
from pipeline.report.escape import markdown_code, markdown_escape, markdown_url, terminal_text
from pipeline.report.escape import text as value
from pipeline.report.glossary import glossary
from pipeline.report.groups import by_codeset, group_items
from pipeline.report.records_json import fields_table, records_json
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
    #: Critical and warning items in the report's Action required (other code sets'
    #: items of the same period included): the count every page shows for the cycle.
    severity: Mapping[str, int] = field(default_factory=dict)
    #: This code set's own critical and warning items, read back from the JSON report.
    items: tuple[Any, ...] = ()

    @property
    def stem(self) -> str:
        return cycle_stem(self.old_version, self.new_version)


def cycle_stem(old_version: str, new_version: str) -> str:
    return f"{old_version}_to_{new_version}"


def number(n: int) -> str:
    return f"{n:,}"


def _decimal(amount: Decimal | str | None) -> Decimal | None:
    """An amount as a decimal: values read back from a JSON report are strings."""
    return Decimal(amount) if isinstance(amount, str) else amount


def units(amount: Decimal | int | None) -> str:
    """A count of units with thousands separators: `5,500`, `1,234.5`."""
    if amount is None:
        return "—"
    if isinstance(amount, Decimal) and amount != amount.to_integral_value():
        return f"{amount:,}"
    return f"{int(amount):,}"


def money(amount: Decimal | str | None) -> str:
    amount = _decimal(amount)
    return "—" if amount is None else f"${amount:,.2f}"


def signed_money(amount: Decimal | str | None) -> str:
    amount = _decimal(amount)
    if amount is None:
        return "—"
    return f"{'-' if amount < 0 else '+'}${abs(amount):,.2f}"


def percent(fraction: Decimal | str | None) -> str:
    fraction = _decimal(fraction)
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
    """A field name in words: `non_facility_pe_rvu` -> `Non-facility practice expense RVU`."""
    if name in FIELD_NAMES:
        return FIELD_NAMES[name]
    words = [_ACRONYMS.get(w, w) for w in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip


def edition(version: str, effective: date | None) -> str:
    """An edition in words with its short label: `January 2025 release (RVU25A)`."""
    if effective is None:
        return version
    return f"{_MONTHS[effective.month - 1]} {effective.year} release ({version})"


def edition_of(info: Any) -> str:
    """`edition` of an object with `version` and `effective_date` (a change set's side)."""
    return edition(info.version, info.effective_date)


def code_of(code: Any, kind: str = "generic") -> str:
    """A code as its publisher prints it: diagnoses (ICD-10-CM) with the dot (`M54.50`)."""
    shown = value(code)
    if kind in kinds() and kinds()[kind].diagnosis and "." not in shown:
        return dotted(shown)
    return shown


def status_words(code: str | None, statuses: Mapping[str, str]) -> str:
    """A status with its meaning, never a bare letter: `A: active code: paid ...`."""
    if not code:
        return "—"
    meaning = statuses.get(code)
    return f"{code}: {meaning[0].lower()}{meaning[1:]}" if meaning else code


def status_meaning(column: str | None, code: Any) -> str | None:
    """What a status code in `column` means, lower-cased, if some kind's status column is
    `column` and knows the code ("non-covered service: not covered by Medicare")."""
    for kind in kinds().values():
        roles = kind.catalogue_columns(kind.spec) if kind.spec and kind.statuses else None
        if roles and roles.get("status") == column and str(code) in kind.statuses:
            meaning = kind.statuses[str(code)]
            return meaning[0].lower() + meaning[1:]
    return None


def cause(sentence: str, group: Any) -> str:
    """A group's shared sentence: the code replaced by "each code" ("New codes ...")."""
    if group.count == 1:
        return sentence
    code = str(group.first.code)
    text = sentence.replace(f"New code {code}", "New codes").replace(code, "each code")
    out = text[:1].upper() + text[1:]
    return Markup(out) if isinstance(sentence, Markup) else out


_URL = re.compile(r"https://[^\s<>\"')]+[^\s<>\"').,;:]")


def html_links(text: str | None) -> Markup:
    """Text for HTML with its public URLs as links (everything else escaped)."""
    raw, out, last = terminal_text(text or ""), [], 0
    for match in _URL.finditer(raw):
        out.append(escape(raw[last : match.start()]))
        url = escape(match[0])
        out.append(Markup(f'<a href="{url}">{url}</a>'))
        last = match.end()
    out.append(escape(raw[last:]))
    return Markup("").join(out)


def md_links(text: str | None) -> Markup:
    """Text for Markdown with its public URLs as autolinks (everything else escaped)."""
    raw, out, last = terminal_text(text or ""), [], 0
    for match in _URL.finditer(raw):
        out.append(markdown_escape(raw[last : match.start()]))
        out.append(Markup(f"<{match[0]}>"))
        last = match.end()
    out.append(markdown_escape(raw[last:]))
    return Markup("").join(out)


def _markdown_finalize(v: Any) -> Any:
    return v if isinstance(v, Markup) else markdown_escape(v)


def _terminal_finalize(v: Any) -> Any:
    return terminal_text(v)


def _html_finalize(v: Any) -> Any:
    """Autoescape does the rest; control characters (a terminal escape sequence in a
    descriptor or a member name) are no text a page should carry."""
    if isinstance(v, Markup):
        return v
    return terminal_text(v) if isinstance(v, str) else v


#: Target -> how every `{{ ... }}` of its templates is escaped (see `escape.py`).
_FINALIZE = {"html": _html_finalize, "md": _markdown_finalize, "text": _terminal_finalize}


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
        # Compiled templates are kept between runs (in a private temporary directory,
        # keyed by each template's source): compiling them costs more than a small cycle.
        bytecode_cache=FileSystemBytecodeCache(),
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
        units=units,
        edition=edition_of,
        status=status_words,
        code_of=code_of,
        cause=cause,
        grouped=group_items,
        groupby_codeset=by_codeset,
        links=html_links,
        md_links=md_links,
    )
    env.globals.update(edition_name=edition, status_meaning=status_meaning)
    return env


#: Largest report file written (a cycle's JSON report of a whole NCCI edition is under
#: 200 MB): past it, a cycle's reports are refused, not written.
MAX_REPORT_BYTES = 512 * 1024**2
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
    shown: dict[str, Section] | None = None,
    claims: Replay | None = None,
) -> dict[str, str]:
    """The three reports of one cycle, keyed by file extension.

    `shown`, if given, receives the sections the Markdown report shows: it may show fewer
    rows than the HTML report, and link full lists the HTML report does not need.
    `claims` (a configured claims file replayed under this cycle's new edition) adds the
    section "Your last quarter's claims under this cycle's editions" (`_claims_replay`).

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
    common |= claims_context(claims)
    if sections is None:
        sections = build_sections(cs, analysis.watched, html_rows, stem)
    html_view = {**_view(cs, sections), **common}
    return {
        "html": env.get_template("cycle.html").render(html_view),
        "md": _fitting_markdown(analysis, markdown_limit, stem, common, shown),
        "json": cycle_json(analysis, claims),
    }


def _fitting_markdown(
    analysis: Analysis,
    limit: int,
    stem: str,
    common: Mapping[str, Any],
    shown: dict[str, Section] | None = None,
) -> str:
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
    if shown is not None:
        shown.update(sections)
    return text


def cycle_json(analysis: Analysis, claims: Replay | None = None) -> str:
    """The JSON report: `json.dumps` of the analysis (and the claims replay) with indent 2,
    the record lists written by polars (`records_json`) where their column types allow."""
    cs = analysis.changes
    lists: dict[str, str] = {}
    fields = fields_table(cs.key, cs.added.schema, cs.fields, depth=1)
    for kind in RECORD_KINDS:
        text = records_json(getattr(cs, kind), cs.key, fields, depth=1)
        if text is None:
            break
        lists[kind] = text
    body = analysis.to_dict(records=len(lists) < len(RECORD_KINDS))
    if claims is not None:
        body["claims_replay"] = claims.to_dict()
    text = json.dumps(body, indent=2, ensure_ascii=False, default=jsonable)
    if len(lists) < len(RECORD_KINDS):
        return text + "\n"
    # One pass over the document, each placeholder swapped for its list.
    holders = {json.dumps(records_placeholder(kind)): records for kind, records in lists.items()}
    pattern = "|".join(re.escape(h) for h in holders)
    return re.sub(pattern, lambda m: holders[m[0]], text) + "\n"


def claims_context(claims: Replay | None) -> dict[str, Any]:
    """What the `_claims_replay` partials need in a cycle report (nothing shown if None)."""
    from pipeline.claims.cycle import TITLE
    from pipeline.report.claims import replay_view

    return {"replay": replay_view(claims) if claims else None, "replay_title": TITLE}


@dataclass(frozen=True)
class AuditSummary:
    """What the index says of the audit, read back from `audit.json`."""

    counts: Mapping[str, int]
    to_correct: int

    def items(self) -> Iterable[tuple[str, int]]:
        return self.counts.items()


_RANK = {"critical": 0, "warning": 1}


def open_items(entries: Sequence[CycleEntry]) -> list[tuple[CycleEntry, Any]]:
    """The critical and warning items of the newest cycle of each code set, grouped by
    cause: critical first, then warnings, newest cycle first within each."""
    newest: dict[str, CycleEntry] = {}
    for entry in entries:  # newest first
        newest.setdefault(entry.codeset, entry)
    order = {e.codeset: n for n, e in enumerate(newest.values())}
    found = [(e, g) for e in newest.values() for g in group_items(e.items)]
    return sorted(found, key=lambda p: (_RANK.get(p[1].first.severity, 2), order[p[0].codeset]))


def render_index(
    entries: Sequence[CycleEntry],
    histories: Sequence[str] = (),
    audit: AuditSummary | None = None,
) -> dict[str, str]:
    """The front page (HTML, Markdown) and the Atom feed of every cycle.

    The front page opens with what needs the reader now: the open critical and warning
    items of the newest cycle of each code set; then the audit; then every cycle."""
    env = environment()
    groups = _group(entries)
    charts = {cid: chart(items) for cid, _, items in groups}
    view = {
        "entries": entries,
        "groups": groups,
        "charts": charts,
        "histories": histories,
        "audit": audit,
        "audit_titles": AUDIT_PHRASES,
        "now": open_items(entries),
    }
    return {
        "html": env.get_template("index.html").render(view),
        "md": environment("md").get_template("index.md").render(view),
        "xml": env.get_template("feed.xml").render(
            entries=entries,
            feed_id=_urn("feed"),
            entry_id=lambda e: _urn(f"{e.codeset}/{e.stem}"),
        ),
    }


def render_glossary(audit: bool = True) -> dict[str, str]:
    """The glossary page every report links to (HTML and Markdown); `audit`: whether
    there is a watchlist audit page to link."""
    view = {"sections": glossary(), "audit": audit}
    return {
        "html": environment().get_template("glossary.html").render(view),
        "md": environment("md").get_template("glossary.md").render(view),
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


#: History events in words, as a heading of their row.
EVENTS = {
    "added": "Added",
    "present": "Listed",
    "changed": "Changed",
    "unchanged": "Unchanged",
    "discontinued": "Discontinued",
    "reactivated": "Reactivated",
    "dropped": "Dropped from the file",
}


def render_histories(
    timelines: Mapping[str, Sequence[Any]], labels: Mapping[str, str]
) -> dict[str, str]:
    """One page per watched code (`<CODE>.html`), which cycle reports link to."""
    template = environment().get_template("history.html")
    pages = {}
    for code in sorted(labels):
        found = timelines.get(code, [])
        shown = next((code_of(code, t.kind) for t in found), code)
        pages[f"{code}.html"] = template.render(
            code=code,
            shown=shown,
            label=labels[code],
            timelines=found,
            events=EVENTS,
            statuses={k: v for kind in kinds().values() for k, v in kind.statuses.items()},
        )
    return pages


AUDIT_TITLES = {
    "not-a-code": (
        "Probably mistyped",
        "Not a code's shape, or one character from a real code whose description matches "
        "the label.",
    ),
    "not-found": (
        "Not in the code sets checked",
        "Well-formed codes that none of the code sets checked carries. Those hold only part "
        "of all codes (the fee schedule only its PT/OT rows): check these elsewhere.",
    ),
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
    "not-a-code": "probably mistyped",
    "not-found": "not in the code sets checked",
    "not-payable": "not paid by Medicare",
    "discontinued": "discontinued",
    "duplicate": "listed more than once",
    "label-mismatch": "label not matching the code",
    "note": "note",
}


@dataclass(frozen=True)
class FindingGroup:
    """Findings of one kind that say the same thing of several codes (18 G-codes ended
    on the same day, with the same advice): one row naming the codes."""

    findings: tuple[Any, ...]

    @property
    def first(self) -> Any:
        return self.findings[0]

    @property
    def count(self) -> int:
        return len(self.findings)

    @property
    def span(self) -> str:
        codes = sorted(f.code for f in self.findings)
        return codes[0] if len(codes) == 1 else f"{codes[0]}–{codes[-1]}"

    @property
    def lines(self) -> list[int]:
        return sorted(n for f in self.findings for n in f.lines)

    @property
    def message(self) -> str:
        """The shared sentence, the code replaced by "each code" for a group."""
        first = self.first
        if self.count == 1:
            return str(first.message)
        text = str(first.message).replace(first.code, "each code")
        return text[:1].upper() + text[1:]


def group_findings(findings: Sequence[Any]) -> list[FindingGroup]:
    """Findings with the same sentence (but for the code), suggestions and citation."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for f in findings:
        key = (f.message.replace(f.code, "\0"), f.suggestions, f.citation, f.reference)
        groups.setdefault(key, []).append(f)
    return [FindingGroup(tuple(found)) for found in groups.values()]


def render_audit(audit: Audit) -> dict[str, str]:
    """The watchlist audit as HTML, Markdown and JSON."""
    env = environment()
    groups = [(k, AUDIT_TITLES[k][0], group_findings(audit.of_kind(k))) for k in KINDS]
    explain = {k: v[1] for k, v in AUDIT_TITLES.items()}
    histories = {f.code for f in audit.findings}
    view = {"audit": audit, "groups": groups, "explain": explain, "histories": histories}
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
