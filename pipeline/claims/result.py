"""What a claims check returns: the findings, their summary by rule, and a replay's difference.

Values, not words: frames and counts that the reports, the CSV and the terminal lay out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.claims.check import OUTCOMES, RULES, check_lines
from pipeline.claims.editions import EditionSet, pinned
from pipeline.claims.input import read_claims
from pipeline.sources.coerce import LINE

#: The CSV of every finding: these columns, in this order.
CSV_COLUMNS = (
    "line",
    "claim_id",
    "date_of_service",
    "code",
    "modifiers",
    "units",
    "rule",
    "outcome",
    "edition",
    "other_code",
    "other_line",
    "limit",
    "payment",
    "message",
)


@dataclass(frozen=True)
class RuleCount:
    """One rule's findings: counts by outcome and the dollars at risk of its failing lines."""

    rule: str
    meaning: str
    failed: int
    bypassed: int
    no_data: int
    #: National payment of the failing lines (each line once), from the fee-schedule
    #: edition of its date; lines without a fee-schedule row count nothing.
    at_risk: Decimal

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "meaning": self.meaning,
            "fail": self.failed,
            "bypassed": self.bypassed,
            "no_data": self.no_data,
            "dollars_at_risk": str(self.at_risk),
        }


@dataclass(frozen=True)
class ClaimsCheck:
    """Every finding for one claims file, judged by `editions`."""

    source: str
    lines: int
    claims: int
    first_date: date
    last_date: date
    findings: pl.DataFrame
    editions: EditionSet

    @property
    def summary(self) -> tuple[RuleCount, ...]:
        return summarise(self.findings)

    @property
    def at_risk(self) -> Decimal:
        """Dollars at risk over every rule: each failing line counted once."""
        return _dollars(self.findings.filter(pl.col("outcome") == "fail").unique(LINE))

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            r.rule: {"fail": r.failed, "bypassed": r.bypassed, "no_data": r.no_data}
            for r in self.summary
        }

    def failing(self, level: str) -> int:
        """Findings at `level` (`fail`, or `no_data` which also counts failures)."""
        wanted = ("fail",) if level == "fail" else ("fail", "no_data")
        return self.findings.filter(pl.col("outcome").is_in(wanted)).height

    def groups(self) -> list[dict[str, Any]]:
        """Findings grouped by rule, then by code (or code pair), largest groups first."""
        if not self.findings.height:
            return []
        keyed = self.findings.with_columns(
            pl.when(pl.col("other_code").is_not_null() & (pl.col("rule") == "ncci-ptp"))
            .then(pl.format("{} + {}", pl.col("other_code"), pl.col("code")))
            .otherwise(pl.col("code"))
            .alias("_group")
        )
        out = []
        for rule in RULES:
            part = keyed.filter(pl.col("rule") == rule)
            if not part.height:
                continue
            sizes = (
                part.group_by("_group", "outcome")
                .agg(pl.len().alias("n"), pl.col("payment").sum().alias("dollars"))
                .sort(["n", "_group", "outcome"], descending=[True, False, False])
            )
            out.append(
                {
                    "rule": rule,
                    "meaning": RULES[rule],
                    "groups": [
                        {
                            "key": row["_group"],
                            "outcome": row["outcome"],
                            "count": row["n"],
                            "dollars": row["dollars"] or Decimal("0.00"),
                            "example": part.filter(
                                (pl.col("_group") == row["_group"])
                                & (pl.col("outcome") == row["outcome"])
                            ).row(0, named=True),
                        }
                        for row in sizes.iter_rows(named=True)
                    ],
                }
            )
        return out

    def csv_frame(self) -> pl.DataFrame:
        """The findings as the CSV carries them (cells not yet neutralised)."""
        return self.findings.rename({LINE: "line"}).select(CSV_COLUMNS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "lines": self.lines,
            "claims": self.claims,
            "dates": {"first": self.first_date.isoformat(), "last": self.last_date.isoformat()},
            "editions": self.editions.describe(),
            "pinned": self.editions.pinned,
            "summary": [r.to_dict() for r in self.summary],
            "dollars_at_risk": str(self.at_risk),
            "findings": self.csv_frame().to_dicts(),
        }


def summarise(findings: pl.DataFrame) -> tuple[RuleCount, ...]:
    out = []
    for rule, meaning in RULES.items():
        part = findings.filter(pl.col("rule") == rule)
        counts = {o: part.filter(pl.col("outcome") == o).height for o in OUTCOMES}
        failed_lines = part.filter(pl.col("outcome") == "fail").unique(LINE)
        out.append(
            RuleCount(
                rule,
                meaning,
                counts["fail"],
                counts["bypassed"],
                counts["no_data"],
                _dollars(failed_lines),
            )
        )
    return tuple(out)


def _dollars(frame: pl.DataFrame) -> Decimal:
    total = frame["payment"].sum() if frame.height else None
    return Decimal(str(total)).quantize(Decimal("0.01")) if total is not None else Decimal("0.00")


def check_claims(
    path: Path,
    editions: EditionSet,
    status: Callable[[str], None] | None = None,
    lines: pl.DataFrame | None = None,
) -> ClaimsCheck:
    """Read `path` (unless its `lines` are given) and judge every line by `editions`."""
    if lines is None:
        if status:
            status(f"reading {path.name} ...")
        lines = read_claims(path)
    findings = check_lines(lines, editions, status)
    return ClaimsCheck(
        source=path.name,
        lines=lines.height,
        claims=lines["claim_id"].n_unique(),
        first_date=lines["date_of_service"].min(),  # type: ignore[arg-type]
        last_date=lines["date_of_service"].max(),  # type: ignore[arg-type]
        findings=findings,
        editions=editions,
    )


# --- Replay: the same claims under other editions ---------------------------------------


@dataclass(frozen=True)
class RuleDelta:
    """One rule's difference between the editions in force and the replayed ones."""

    rule: str
    meaning: str
    would_fail: int
    would_fail_dollars: Decimal
    would_pass: int
    would_pass_dollars: Decimal
    #: Lines one side could not judge (no edition) and the other could.
    other: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "meaning": self.meaning,
            "would_fail": self.would_fail,
            "would_fail_dollars": str(self.would_fail_dollars),
            "would_pass": self.would_pass,
            "would_pass_dollars": str(self.would_pass_dollars),
            "other": self.other,
        }


@dataclass(frozen=True)
class Replay:
    """The claims judged by the editions in force (`before`) and by `after`'s, and each
    (line, rule) whose state differs: `pass`, `fail` or `no_data` before and after."""

    before: ClaimsCheck
    after: ClaimsCheck
    changes: pl.DataFrame

    @property
    def summary(self) -> tuple[RuleDelta, ...]:
        out = []
        for rule, meaning in RULES.items():
            part = self.changes.filter(pl.col("rule") == rule)
            fail = part.filter((pl.col("before") == "pass") & (pl.col("after") == "fail"))
            passed = part.filter((pl.col("before") == "fail") & (pl.col("after") == "pass"))
            other = part.height - fail.height - passed.height
            out.append(
                RuleDelta(
                    rule,
                    meaning,
                    fail.height,
                    _dollars(fail),
                    passed.height,
                    _dollars(passed),
                    other,
                )
            )
        return tuple(out)

    def rows(self, before: str, after: str) -> pl.DataFrame:
        return self.changes.filter((pl.col("before") == before) & (pl.col("after") == after))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.before.source,
            "editions": self.after.editions.describe(),
            "summary": [d.to_dict() for d in self.summary],
            "changes": self.changes.rename({LINE: "line"}).to_dicts(),
        }


def _states(findings: pl.DataFrame) -> pl.DataFrame:
    """One state per (line, rule): fail beats no_data beats pass (a bypass is a pass)."""
    rank = pl.col("outcome").replace_strict(
        {"fail": 2, "no_data": 1, "bypassed": 0}, return_dtype=pl.Int8
    )
    return (
        findings.with_columns(rank.alias("_rank"))
        .sort("_rank", descending=True, maintain_order=True)
        .group_by(LINE, "rule", maintain_order=True)
        .first()
        .select(
            LINE,
            "rule",
            pl.col("outcome").replace({"bypassed": "pass"}).alias("state"),
            "edition",
            "message",
            "payment",
        )
    )


def replay(
    check: ClaimsCheck,
    editions: EditionSet,
    choice: str,
    lines: pl.DataFrame,
    status: Callable[[str], None] | None = None,
) -> Replay:
    """`check`'s claims judged again, every line by the editions `choice` names."""
    after_set = pinned(editions, choice)
    after = check_claims(Path(check.source), after_set, status, lines=lines)
    before_s, after_s = _states(check.findings), _states(after.findings)
    joined = before_s.join(after_s, on=[LINE, "rule"], how="full", coalesce=True, suffix="_after")
    base = lines.select(
        LINE, "claim_id", "date_of_service", "code", pl.col("modifiers").list.join(" "), "units"
    )
    changes = (
        joined.with_columns(
            pl.col("state").fill_null("pass").alias("before"),
            pl.col("state_after").fill_null("pass").alias("after"),
        )
        .filter(pl.col("before") != pl.col("after"))
        .join(base, on=LINE, how="left")
        .select(
            LINE,
            "claim_id",
            "date_of_service",
            "code",
            "modifiers",
            "units",
            "rule",
            "before",
            "after",
            pl.col("edition").alias("edition_before"),
            pl.col("edition_after"),
            pl.coalesce("payment", "payment_after").alias("payment"),
            pl.coalesce("message_after", "message").alias("message"),
        )
        .sort(LINE, "rule")
    )
    return Replay(before=check, after=after, changes=changes)
