"""NCCI's rules for the clinic: new edit pairs among its codes, and tightened modifiers."""

from __future__ import annotations

import polars as pl

from pipeline.impact.rules import Finder

#: The modifier indicator: 0 no modifier bypasses the edit, 1 an appropriate one does.
MODIFIER_ALLOWED = "1"


def pairs(finder: Finder) -> None:
    cs, watchlist = finder.cs, finder.watchlist
    either = watchlist.matches(pl.col("column1")) | watchlist.matches(pl.col("column2"))
    for record in cs.records_of(cs.added.filter(either)):
        one, two = record["column1"], record["column2"]
        watched = [c for c in (one, two) if watchlist.is_watched(c)]
        allowed = record.get("modifier_indicator") == MODIFIER_ALLOWED
        if len(watched) == 2:
            finder.add(
                "ncci-pair-watched",
                f"{one} {two}",
                column1=one,
                column2=two,
                modifier_allowed=allowed,
            )
        elif watched:
            finder.add(
                "ncci-pair-one-watched",
                f"{one} {two}",
                column1=one,
                column2=two,
                watched=watched[0],
            )
    both = watchlist.matches(pl.col("column1")) & watchlist.matches(pl.col("column2"))
    for record in cs.records_of(cs.changed.filter(both)):
        one, two = record["column1"], record["column2"]
        for change in record.get("fields", ()):
            if (
                change.name == "modifier_indicator"
                and (change.old, change.new) == (MODIFIER_ALLOWED, "0")
                and watchlist.is_watched(one)
                and watchlist.is_watched(two)
            ):
                finder.add("ncci-modifier-tightened", f"{one} {two}", column1=one, column2=two)
