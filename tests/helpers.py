"""Small builders shared by the config, store and CLI tests.

`anweb_records` / `write_anweb` produce CMS's ANWEB fixed-width HCPCS layout
(320 columns, CRLF line ends). 1-based columns, as in CMS's record layout:

    1-5     code (a 2-character modifier sits in 4-5, with 1-3 blank)
    6-10    sequence number (5 digits)
    11      record id: 3 procedure, 4 its continuation, 7 modifier, 8 its continuation
    12-91   long description (continued on records 4 / 8)
    92-119  short description
    269-276 add date (YYYYMMDD)
    277-284 action effective date
    285-292 termination date (blank if active)
    293     action code (one of ABCDFNPRST)
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

WIDTH = 320
LONG_WIDTH = 80

#: The configuration of the HCPCS code set the CLI tests use; `{editions}` is filled in.
HCPCS_CONFIG = """\
[codesets.hcpcs]
title = "HCPCS Level II"
publisher = "Centers for Medicare & Medicaid Services (CMS)"
key = ["code"]
descriptors = ["long_description", "short_description"]
ignore = ["action_code", "action_effective_date"]
termination = "termination_date"
reader = {{ format = "hcpcs-anweb" }}
{editions}"""


@dataclass(frozen=True)
class Hcpcs:
    """One HCPCS code or modifier as the ANWEB file lists it."""

    code: str
    long: str
    short: str
    add: str = "20030101"
    action_effective: str = "20030101"
    termination: str = ""
    action: str = "N"

    @property
    def is_modifier(self) -> bool:
        return len(self.code) == 2


def _put(line: list[str], first: int, value: str) -> None:
    """Write `value` into the 1-based column `first` onwards."""
    line[first - 1 : first - 1 + len(value)] = list(value)


def anweb_records(item: Hcpcs) -> list[str]:
    """The fixed-width records of one code: its first record, then its continuations."""
    chunks = textwrap.wrap(item.long, LONG_WIDTH, break_on_hyphens=False) or [""]
    code = item.code.rjust(5) if item.is_modifier else item.code
    head_id, cont_id = ("7", "8") if item.is_modifier else ("3", "4")
    lines = []
    for i, chunk in enumerate(chunks):
        seq = f"{(i + 1) * 100:05d}"
        line = list(" " * WIDTH)
        _put(line, 1, code)
        _put(line, 6, seq)
        _put(line, 11, head_id if i == 0 else cont_id)
        _put(line, 12, chunk)
        if i == 0:
            _put(line, 92, item.short[:28])
            _put(line, 269, item.add)
            _put(line, 277, item.action_effective)
            _put(line, 285, item.termination)
            _put(line, 293, item.action)
            lines.append("".join(line))
        else:
            lines.append("".join(line[:91]))  # CMS does not pad continuation records
    return lines


def anweb_text(items: Iterable[Hcpcs], preamble: str = "") -> str:
    lines = [rec for item in items for rec in anweb_records(item)]
    return preamble + "".join(f"{line}\r\n" for line in lines)


def write_anweb(path: Path, items: Iterable[Hcpcs], preamble: str = "") -> Path:
    """Write an ANWEB file (Windows-1252, CRLF, as CMS publishes it) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(anweb_text(items, preamble).encode("cp1252"))
    return path


# Two tiny editions whose differences are known exactly.

G0283_2019 = (
    "Electrical stimulation (unattended), to one or more areas for indications other than "
    "wound care, as part of a therapy plan of care"
)
G0283_2020 = (
    "Electrical stimulation (unattended), to one or more areas for indication(s) other than "
    "wound care, as part of a therapy plan of care"
)

GO = Hcpcs(
    "GO",
    "Services delivered under an outpatient occupational therapy plan of care",
    "Op occupational therapy serv",
    add="19990101",
    action_effective="20030101",
)
GP = Hcpcs(
    "GP",
    "Services delivered under an outpatient physical therapy plan of care",
    "Op pt services",
    add="19990101",
    action_effective="20030101",
)
CQ = Hcpcs(
    "CQ",
    "Outpatient physical therapy services furnished in whole or in part by a physical "
    "therapist assistant",
    "Outpatient pt service by pta",
    add="20190101",
    action_effective="20190101",
    action="A",
)
CO = Hcpcs(
    "CO",
    "Outpatient occupational therapy services furnished in whole or in part by an "
    "occupational therapy assistant",
    "Outpatient ot service by ota",
    add="20200101",
    action_effective="20200101",
    action="A",
)
G8978_ACTIVE = Hcpcs(
    "G8978",
    "Mobility: walking & moving around functional limitation, current status, at therapy "
    "episode outset and at reporting intervals",
    "Mobility current status",
    add="20130101",
    action_effective="20130101",
)


def hcpcs_2019() -> list[Hcpcs]:
    """Edition 2019: G0283 (old wording), G8978 active, modifiers CQ, GO, GP."""
    return [
        CQ,
        GO,
        GP,
        Hcpcs("G0283", G0283_2019, "Elec stim other than wound"),
        G8978_ACTIVE,
    ]


def hcpcs_2020() -> list[Hcpcs]:
    """Against 2019: CO added; G8978 terminated 20191231 (discontinued, still listed);
    G0283's long description reworded ("indications" -> "indication(s)") with action
    code R; CQ's action code and date differ (ignored columns only, so unchanged);
    GO and GP identical."""
    return [
        CO,
        Hcpcs(
            "CQ",
            CQ.long,
            CQ.short,
            add=CQ.add,
            action_effective="20200101",
            action="N",
        ),
        GO,
        GP,
        Hcpcs(
            "G0283",
            G0283_2020,
            "Elec stim other than wound",
            action_effective="20200101",
            action="R",
        ),
        Hcpcs(
            "G8978",
            G8978_ACTIVE.long,
            G8978_ACTIVE.short,
            add=G8978_ACTIVE.add,
            action_effective="20200101",
            termination="20191231",
            action="D",
        ),
    ]


def hcpcs_config(path: Path, editions: Iterable[tuple[str, str, str]] = ()) -> Path:
    """Write the HCPCS configuration to `path`, with (version, effective, source) editions."""
    blocks = "".join(
        f'\n[[codesets.hcpcs.editions]]\nversion = "{v}"\neffective = {e}\nsource = "{s}"\n'
        for v, e, s in editions
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HCPCS_CONFIG.format(editions=blocks), encoding="utf-8")
    return path
