"""ICD-10-CM-scale editions in CDC's order-file layout, with a known set of differences.

About 75,000 billable codes under some 1,900 three-character categories (headers, as in
the real file); the newer edition adds 400 codes, deletes 100 and rewords the titles of
300 (long title, short title or both), which is the size of a busy fiscal-year update.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

SEED = 20241001
CODES = 75_000
ADDED, DELETED, REWORDED = 400, 100, 300
OLD_DATE, NEW_DATE = date(2023, 10, 1), date(2024, 10, 1)
OLD_NAME, NEW_NAME = "icd10cm_order_2024.txt", "icd10cm_order_2025.txt"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTVZ"
_ALNUM = "0123456789ABCDEFGHJKXYZ"
_VOCABULARY = """
acute chronic unspecified other specified left right bilateral initial subsequent
encounter sequela fracture displaced nondisplaced closed open infection disorder
syndrome neoplasm malignant benign lesion injury burn corrosion degree upper lower
limb arm leg hand foot ankle wrist shoulder hip knee eye ear lung heart kidney liver
with without complication due to of and in the by stage type diabetes mellitus
hypertensive pressure ulcer contusion laceration sprain strain dislocation poisoning
adverse effect underdosing intentional accidental self-harm assault
"""
_WORDS = _VOCABULARY.split()


@dataclass(frozen=True)
class IcdEditions:
    old: Path
    new: Path
    old_date: date
    new_date: date
    added: frozenset[str]
    deleted: frozenset[str]
    reworded: frozenset[str]


def generate(directory: Path, codes: int = CODES, seed: int = SEED) -> IcdEditions:
    """Write the two order files into `directory`; return their paths and the changes."""
    rng = random.Random(seed)
    categories = sorted(rng.sample([f"{a}{n:02d}" for a in _LETTERS for n in range(100)], 1_900))
    found: set[str] = set()
    while len(found) < codes + ADDED:
        category = rng.choice(categories)
        found.add(category + rng.choice("0123456789") + _suffix(rng, rng.randint(0, 3)))
    billable = sorted(found)
    added = set(rng.sample(billable, ADDED))
    old_codes = [c for c in billable if c not in added]
    deleted = set(rng.sample(old_codes, DELETED))
    titles = {c: _title(rng) for c in [*categories, *billable]}
    reworded = set(rng.sample([c for c in old_codes if c not in deleted], REWORDED))
    new_titles = dict(titles)
    for code in sorted(reworded):
        short, long = titles[code]
        which = rng.randrange(3)  # 0: long title, 1: short title, 2: both
        new_titles[code] = (
            _reword(rng, short) if which else short,
            _reword(rng, long) if which != 1 else long,
        )
    old_path, new_path = directory / OLD_NAME, directory / NEW_NAME
    _write(old_path, categories, old_codes, titles)
    _write(new_path, categories, [c for c in billable if c not in deleted], new_titles)
    return IcdEditions(
        old_path,
        new_path,
        OLD_DATE,
        NEW_DATE,
        frozenset(added),
        frozenset(deleted),
        frozenset(reworded),
    )


def _suffix(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(length))


def _title(rng: random.Random) -> tuple[str, str]:
    """A short title of at most 60 characters and a long title that may be longer."""
    words = [rng.choice(_WORDS) for _ in range(rng.randint(3, 14))]
    long = " ".join(words).capitalize()
    short = long if len(long) <= 60 else long[:57].rstrip() + "..."
    return short, long


def _reword(rng: random.Random, text: str) -> str:
    """The title with one word replaced and one appended (a short title stays short)."""
    while True:
        words = text.split()
        words[rng.randrange(len(words))] = rng.choice(_WORDS)
        reworded = " ".join([*words, rng.choice(_WORDS)])
        reworded = reworded[:60].rstrip() if len(text) <= 60 else reworded
        if reworded != text:
            return reworded


def _write(
    path: Path, categories: list[str], codes: list[str], titles: dict[str, tuple[str, str]]
) -> None:
    """One line per code in code order, each category as a header (flag 0) before its codes."""
    rows = sorted([(c, 0) for c in categories] + [(c, 1) for c in codes])
    lines = [
        f"{number:05d} {code:<7} {flag} {titles[code][0]:<60} {titles[code][1]}"
        for number, (code, flag) in enumerate(rows, 1)
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("ascii"))


def keys(frame: pl.DataFrame) -> frozenset[str]:
    return frozenset(frame["code"].to_list())
