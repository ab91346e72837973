"""Claims reports: a `ClaimsCheck` (and a `Replay`) in, HTML / Markdown / JSON / CSV out.

The HTML and Markdown reports open with the summary by rule (counts and dollars at risk),
then the findings grouped by rule and by code or code pair, each group with one finding in
full; the CSV holds every finding, for a billing system. Every cell of the CSV that a
spreadsheet could read as a formula (leading `=`, `+`, `-`, `@`, tab or carriage return)
gets a leading apostrophe.
"""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl

from pipeline.claims import OUTCOMES, RULES, ClaimsCheck, Replay
from pipeline.diff.changeset import jsonable
from pipeline.report.render import environment

#: Groups shown per rule in the HTML and Markdown reports (the CSV has every finding).
GROUPS_SHOWN = 50
#: Changed lines listed per direction in a replay section.
REPLAY_ROWS = 200
#: Leading characters that make a spreadsheet evaluate a cell (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell that starts like a formula, prefixed with an apostrophe: what
    `pipeline.report.escape.csv_cell` does to one value, as one expression per column."""
    risky = "^[" + "".join("\\" + c if c in "+-" else c for c in FORMULA_START) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(risky)).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, t in frame.schema.items()
        if t == pl.String
    )


def findings_csv(check: ClaimsCheck) -> bytes:
    out = io.BytesIO()
    neutralise_csv(check.csv_frame()).write_csv(out)
    return out.getvalue()


def _view(check: ClaimsCheck, replay: Replay | None) -> dict[str, Any]:
    groups = check.groups()
    for group in groups:
        group["shown"] = group["groups"][:GROUPS_SHOWN]
        group["omitted"] = len(group["groups"]) - len(group["shown"])
    return {
        "check": check,
        "summary": check.summary,
        "groups": groups,
        "rules": RULES,
        "outcomes": OUTCOMES,
        "editions": check.editions.describe(),
        "replay": replay_view(replay) if replay else None,
    }


def replay_view(replay: Replay) -> dict[str, Any]:
    """What a replay section needs: the summary by rule and the changed lines each way."""
    fail = replay.rows("pass", "fail")
    passed = replay.rows("fail", "pass")
    return {
        "summary": [d for d in replay.summary if d.would_fail or d.would_pass or d.other],
        "editions": [e for e in replay.after.editions.describe() if e["pinned"]],
        "would_fail": fail.head(REPLAY_ROWS).to_dicts(),
        "would_fail_total": fail.height,
        "would_pass": passed.head(REPLAY_ROWS).to_dicts(),
        "would_pass_total": passed.height,
        "source": replay.before.source,
        "lines": replay.before.lines,
    }


def render_check(check: ClaimsCheck, replay: Replay | None = None) -> dict[str, str]:
    """The three reports of one claims check, keyed by file extension."""
    view = _view(check, replay)
    body = check.to_dict()
    if replay is not None:
        body["replay"] = replay.to_dict()
    return {
        "html": environment("html").get_template("claims.html").render(view),
        "md": environment("md").get_template("claims.md").render(view),
        "json": json.dumps(body, indent=2, ensure_ascii=False, default=jsonable) + "\n",
    }


def check_files(
    check: ClaimsCheck, stem: str, replay: Replay | None = None
) -> dict[str, str | bytes]:
    """The files of one claims check: `<stem>.html`, `.md`, `.json` and `.findings.csv`
    (every finding), for the publisher to write under `<reports>/claims/`."""
    files: dict[str, str | bytes] = {
        f"{stem}.{ext}": text for ext, text in render_check(check, replay).items()
    }
    files[f"{stem}.findings.csv"] = findings_csv(check)
    return files
