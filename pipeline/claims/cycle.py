"""The hook a scheduled run uses: the configured claims file (`[claims] path = ...`, the
clinic's last quarter) re-judged under each code set's newest edition, for the section
"Your last quarter's claims under this cycle's editions" of that newest cycle's report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipeline.claims.editions import KINDS, in_force, kind_of
from pipeline.claims.input import read_claims
from pipeline.claims.result import Replay, check_claims, replay

if TYPE_CHECKING:
    from pipeline.config import Config
    from pipeline.store import Store

#: The section's title in the cycle reports.
TITLE = "Your last quarter's claims under this cycle's editions"


def cycle_replays(
    config: Config, store: Store, cycles: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Replay]:
    """For each code set's newest cycle among `cycles` ((code set, new version) pairs) whose
    kind the check uses, the configured claims replayed with that edition pinned: the other
    kinds stay the editions in force on each date, so the difference is the cycle's alone.
    Empty when no claims file is configured."""
    if config.claims is None:
        return {}
    newest: dict[str, str] = {}
    for codeset, version in cycles:
        newest[codeset] = version  # cycles come oldest first within a code set
    editions = in_force(store, config)
    used = {e.codeset for k in KINDS for e in editions.of(k)}
    wanted = {(c, v) for c, v in newest.items() if c in used and kind_of(config.codeset(c))}
    if not wanted:
        return {}
    lines = read_claims(config.claims)
    before = check_claims(config.claims, editions, lines=lines)
    return {(c, v): replay(before, editions, f"{c}={v}", lines) for c, v in sorted(wanted)}
