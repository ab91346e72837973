"""Text for a person at a terminal, and plain text for a pipe.

Tables are aligned with a rule under the header on a terminal and tab-separated
when piped, so `codeset list | cut -f2` works. Progress goes to stderr, and
only when stderr is a terminal: a CI log never fills with carriage returns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

from pipeline.report.escape import terminal_text

if TYPE_CHECKING:
    from pipeline.analysis.audit import Audit
    from pipeline.analysis.history import Timeline
    from pipeline.claims import ClaimsCheck, Replay
    from pipeline.diff.changeset import ChangeSet
    from pipeline.project.discover import Discovery, Found


def is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def clean(text: str) -> str:
    """Text from the data, safe to print: no escape sequence or control character reaches
    the terminal (or a pipe that ends in one, such as `less -R`)."""
    return terminal_text(text)


def _cell(text: str) -> str:
    """A table cell: clean, and on one line (a tab or line break would shift the columns)."""
    return clean(text).replace("\t", " ").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], tty: bool) -> str:
    """An aligned table on a terminal; tab-separated values (with the header) when piped."""
    header = [_cell(h) for h in header]
    rows = [[_cell(c) for c in r] for r in rows]
    if not tty:
        return "\n".join("\t".join(r) for r in (header, *rows))
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    rule = "  ".join("-" * w for w in widths)
    return "\n".join(
        [line.format(*header).rstrip(), rule, *(line.format(*r).rstrip() for r in rows)]
    )


def counts_line(cs: ChangeSet) -> str:
    c = cs.counts
    return (
        f"{cs.codeset} {cs.old.version} -> {cs.new.version}: {c['added']:,} added, "
        f"{c['deleted']:,} deleted, {c['changed']:,} changed, {c['reactivated']:,} reactivated, "
        f"{c['unchanged']:,} unchanged"
    )


def change_summary(cs: ChangeSet, tty: bool) -> str:
    """The counts, then one table per kind of change: key, description, what changed."""
    parts = [clean(counts_line(cs))]
    for kind in ("added", "deleted", "reactivated", "changed"):
        records = cs.records(kind)
        if not records:
            continue
        rows = []
        for r in records:
            text = next((str(r[c]) for c in cs.display if r.get(c) is not None), "")
            if kind == "deleted":
                detail = r["reason"]
            elif kind == "changed":
                detail = ", ".join(f.name for f in r.get("fields", ()))
            else:
                detail = ""
            rows.append((cs.key_label(r), _cut(text, 60) if tty else text, detail))
        heading = f"{kind} ({len(records):,})"
        parts.append(f"\n{heading}\n" + table(("key", "description", "detail"), rows, tty))
    return "\n".join(parts)


def timeline_text(code: str, timelines: Sequence[Timeline]) -> str:
    """`codeset history`: each timeline, edition by edition."""
    from pipeline.codesets import kinds
    from pipeline.impact.watchlist import dotted
    from pipeline.report.render import event_sentence

    if not timelines:
        return f"{code}: not in any stored edition"
    lines = []
    for t in timelines:
        key = dotted(t.key) if kinds()[t.kind].diagnosis else t.key
        lines.append(f"{key} in {t.title} ({t.codeset})")
        for e in t.events:
            when = e.version or (e.effective_date.isoformat() if e.effective_date else "")
            lines.append(f"  {when:<10} {event_sentence(e)}")
    return clean("\n".join(lines))


def audit_text(audit: Audit) -> str:
    """`codeset audit`: each finding, and what to bill instead."""
    editions = ", ".join(f"{cs} {v}" for cs, v in audit.editions.items())
    notes = len(audit.findings) - audit.to_correct
    lines = [
        f"{audit.watchlist}: {audit.to_correct} finding(s) to correct"
        + (f" and {notes} note(s)" if notes else "")
        + f", against {editions}"
    ]
    for f in audit.findings:
        code = f.display
        where = ", ".join(map(str, f.lines))
        lines.append(f"\n{f.kind:<15} {code} (line {where}): {f.message}")
        for s in f.suggestions:
            source = "a guess" if s.source == "guess" else s.source
            lines.append(f"  -> {s.code} {s.label or ''} [{source}]".rstrip())
    return clean("\n".join(lines))


def claims_text(check: ClaimsCheck, replay: Replay | None, tty: bool) -> str:
    """`codeset check`: the counts by rule, then the replay's difference by rule."""
    head = (
        f"{check.source}: {check.lines:,} line(s) on {check.claims:,} claim(s), "
        f"{check.first_date} to {check.last_date}"
    )
    rows = [
        (r.rule, f"{r.failed:,}", f"{r.bypassed:,}", f"{r.no_data:,}", f"${r.at_risk:,.2f}")
        for r in check.summary
    ]
    parts = [head, table(("rule", "fail", "bypassed", "no_data", "at_risk"), rows, tty)]
    parts.append(f"dollars at risk, each failing line once: ${check.at_risk:,.2f}")
    if replay is not None:
        pinned = ", ".join(
            f"{e['codeset']} {e['version']}"
            for e in replay.after.editions.describe()
            if e["pinned"]
        )
        deltas = [
            (
                d.rule,
                f"{d.would_fail:,}",
                f"${d.would_fail_dollars:,.2f}",
                f"{d.would_pass:,}",
                f"${d.would_pass_dollars:,.2f}",
                f"{d.other:,}",
            )
            for d in replay.summary
        ]
        parts.append(f"\nreplayed under {pinned}:")
        header = ("rule", "would_fail", "dollars", "would_pass", "dollars", "other")
        parts.append(table(header, deltas, tty))
    return "\n".join(parts)


def found_line(found: Found) -> str:
    """One edition a release feed listed, as the run's output and the job log say it."""
    rel = found.release
    what = f"{found.codeset} {rel.version}"
    sha = found.file.sha256 if found.file else ""
    if found.status == "new":
        return f"new: {what} from {rel.url}, sha256 {sha}"
    if found.status in ("reissue", "repost"):
        old = found.replaces
        was = (
            f"replaces sha256 {old.sha256} from {old.url} (first seen {old.first_seen})"
            if old
            else ""
        )
        tail = (
            f"stored as {found.label}"
            if found.status == "reissue"
            else "same records as the stored issue, nothing to store"
        )
        return f"re-issue: {what} from {rel.url}, sha256 {sha}, {was}; {tail}"
    if found.status == "parts":
        return (
            f"found: {what} in {len(rel.urls)} files ({', '.join(rel.urls)}): not ingested, "
            "an edition published in several files is ingested by hand"
        )
    reason = {
        "known": "already stored from this file",
        "configured": "configured by hand",
        "stored": "already stored",
        "skipped": "skipped by the configuration",
    }[found.status]
    return f"listed: {what} (effective {rel.effective.isoformat()}): {reason}"


def discovery_lines(discovery: Discovery) -> tuple[list[str], list[str]]:
    """(news lines, quiet lines): what each feed found, then each feed that found nothing."""
    news = [found_line(f) for f in discovery.news]
    news += [found_line(f) for c in discovery.checks for f in c.found if f.status == "parts"]
    quiet = []
    for check in discovery.checks:
        if not any(f.is_news for f in check.found):
            latest = check.latest
            newest = f" (newest listed: {latest.release.version})" if latest else ""
            quiet.append(
                f"{check.codeset}: no new edition on {', '.join(check.pages)}{newest}, "
                f"checked {discovery.checked_at}"
            )
    return news, quiet


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class Progress:
    """A one-line progress indicator on stderr, drawn only on a terminal, at most 10 times a
    second."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = is_terminal(self.stream)
        self._last = 0.0
        self._label = ""

    def __call__(self, label: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        finished = total is not None and done >= total
        if now - self._last < 0.1 and not finished and label == self._label:
            return
        self._last, self._label = now, label
        mb = done / 1e6
        if total:
            bar = "#" * int(24 * done / total)
            text = f"{label}  [{bar:<24}] {mb:,.1f} / {total / 1e6:,.1f} MB"
        else:
            text = f"{label}  {mb:,.1f} MB"
        self.stream.write(f"\r{text[:78]:<78}")
        if finished:
            self.stream.write("\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A transient status line (e.g. which edition is being read)."""
        if self.enabled:
            self.stream.write(f"\r{text[:78]:<78}\r")
            self.stream.flush()
