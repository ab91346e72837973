"""MUE's rule for the clinic: a unit limit below what it usually bills a day."""

from __future__ import annotations

from pipeline.impact.rules import Finder


def limits(finder: Finder) -> None:
    if "mue_value" not in finder.cs.compared:
        return
    for kind in ("added", "changed"):
        for record in finder.rows(kind):
            code = finder.code_of(record)
            usual = finder.watchlist.units_per_day(code)
            limit = record.get("mue_value")
            if usual is not None and limit is not None and limit < usual:
                finder.add("mue-below-usage", code, limit=limit, usual=usual)
