"""A configured claims file adds "Your last quarter's claims under this cycle's editions"
to the newest cycle's report; without one the reports are unchanged."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from pipeline.analysis.cycle import analyse
from pipeline.claims.cycle import TITLE, cycle_replays
from pipeline.config import load_config
from pipeline.report.render import render_cycle
from pipeline.store import Store
from tests.claims.fixtures import DATA

REPO = Path(__file__).resolve().parent.parent.parent


def test_newest_hcpcs_cycle_gains_the_claims_section(claims_store: Store) -> None:
    config = load_config(REPO / "codesets.toml")
    configured = dataclasses.replace(config, claims=DATA / "claims-2019Q4.csv")
    cycles = [("hcpcs", "2018"), ("hcpcs", "2019"), ("hcpcs", "2020"), ("icd10cm", "FY2025")]
    replays = cycle_replays(configured, claims_store, cycles)
    assert set(replays) == {("hcpcs", "2020"), ("icd10cm", "FY2025")}
    hcpcs = replays[("hcpcs", "2020")]
    assert set(hcpcs.rows("pass", "fail")["code"]) == {"G8978", "G8979"}
    analysis = analyse(
        config.codeset("hcpcs"),
        claims_store.get("hcpcs", "2019"),
        claims_store.get("hcpcs", "2020"),
    )
    plain = render_cycle(analysis)
    assert TITLE not in plain["md"] and TITLE not in plain["html"]
    assert "claims_replay" not in json.loads(plain["json"])
    shown = render_cycle(analysis, claims=hcpcs)
    assert f"## {TITLE}" in shown["md"] and "| hcpcs-code | 90 |" in shown["md"]
    assert TITLE.replace("'", "&#39;") in shown["html"]
    body = json.loads(shown["json"])
    assert body["claims_replay"]["summary"][0]["would_fail"] == 90


def test_no_claims_file_no_replays(claims_store: Store) -> None:
    config = load_config(REPO / "codesets.toml")
    assert cycle_replays(config, claims_store, [("hcpcs", "2020")]) == {}
