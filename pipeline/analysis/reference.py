"""Reviewed reference data shipped in the package (`analysis/data/`), and how labels compare.

The stored code sets say which codes exist; they cannot say what a billing lead should do
about a code Medicare will not pay, name a CPT code in words (the AMA's descriptors are
never stored), or know that 59 is a modifier. Three small hand-reviewed files do:

- `crosswalk.csv`: what to bill instead of a code, each row with a citation;
- `cpt_labels.csv`: the project's own plain-language labels for the PT/OT CPT codes;
- `cpt_modifiers.csv`: CPT (Level I) modifiers, which CMS's HCPCS file does not list.

`pipeline/analysis/data/README.md` documents the columns and the closed set of relations. The
files are validated on loading, so a bad row fails loudly instead of becoming advice.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pipeline.errors import InputError

Relation = Literal["successor", "medicare-substitute", "more-specific", "no-replacement"]
#: The closed set of relations and what each means (as in `pipeline/analysis/data/README.md`).
RELATIONS: dict[Relation, str] = {
    "successor": "the code was deleted; the replacement took over its service",
    "medicare-substitute": "Medicare does not pay the code and pays the replacement instead",
    "more-specific": "Medicare prefers the more specific replacement where it applies",
    "no-replacement": "the code ended or is not paid, and nothing takes its place",
}
_CODE = re.compile(r"[A-Z0-9]{2,7}")
_RANGE = re.compile(r"([A-Z0-9]{5})-([A-Z0-9]{5})")


@dataclass(frozen=True)
class CrosswalkRow:
    """One reviewed statement: `code` (or the range `code`-`range_end`) -> `replacement`."""

    code: str
    replacement: str | None
    relation: Relation
    note: str
    source: str
    range_end: str | None = None

    def covers(self, code: str) -> bool:
        if self.range_end is None:
            return code == self.code
        return len(code) == len(self.code) and self.code <= code <= self.range_end


@dataclass(frozen=True)
class Reference:
    """The three reference files, validated."""

    crosswalk: tuple[CrosswalkRow, ...]
    cpt_labels: Mapping[str, str]
    modifiers: Mapping[str, str]

    def rows(self, code: str) -> tuple[CrosswalkRow, ...]:
        """The crosswalk rows for `code`, in file order (the order to suggest them in)."""
        return tuple(r for r in self.crosswalk if r.covers(code))

    def advice(self, code: str) -> str | None:
        """What to do instead of `code`, in a sentence, from the reviewed crosswalk."""
        rows = self.rows(code)
        if not rows:
            return None
        instead = [r.replacement for r in rows if r.replacement]
        if instead:
            return f"Bill {' or '.join(dict.fromkeys(instead))} instead: {rows[0].note}."
        return f"Stop billing it: {rows[0].note}."


def load_reference(directory: Path | None = None) -> Reference:
    """Read the reference files from `directory` (default: the package's own, cached)."""
    if directory is None:
        return _packaged()
    return _load(lambda name: (directory / name).read_text(encoding="utf-8"))


@functools.cache
def _packaged() -> Reference:
    root = resources.files("pipeline.analysis") / "data"
    return _load(lambda name: (root / name).read_text(encoding="utf-8"))


def _load(read: Callable[[str], str]) -> Reference:
    return Reference(
        crosswalk=tuple(_crosswalk(read("crosswalk.csv"))),
        cpt_labels=_labels(read("cpt_labels.csv"), "cpt_labels.csv", 5),
        modifiers=_labels(read("cpt_modifiers.csv"), "cpt_modifiers.csv", 2),
    )


def _records(
    text: str, name: str, columns: tuple[str, ...]
) -> Iterable[tuple[int, dict[str, str]]]:
    """Rows as dicts with their line numbers; `#` lines are comments."""
    lines = [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.startswith("#")
    ]
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in lines))))
    if not rows or tuple(h.strip() for h in rows[0]) != columns:
        raise InputError(name, f"expected the header {','.join(columns)}")
    for (number, _), row in zip(lines[1:], rows[1:], strict=False):
        if len(row) != len(columns):
            raise InputError(name, f"expected {len(columns)} cells, got {len(row)}", line=number)
        yield number, {c: v.strip() for c, v in zip(columns, row, strict=True)}


def _crosswalk(text: str) -> Iterable[CrosswalkRow]:
    name = "crosswalk.csv"
    for line, row in _records(text, name, ("code", "replacement", "relation", "note", "source")):
        start, end = row["code"], None
        if match := _RANGE.fullmatch(start):
            start, end = match[1], match[2]
        elif not _CODE.fullmatch(start):
            raise InputError(name, f"{start!r} is not a code or a range", line=line)
        relation = row["relation"]
        if relation not in RELATIONS:
            known = ", ".join(RELATIONS)
            raise InputError(name, f"unknown relation {relation!r} (use {known})", line=line)
        replacement = row["replacement"] or None
        if (replacement is None) != (relation == "no-replacement"):
            raise InputError(
                name, "no-replacement rows take no replacement; other rows need one", line=line
            )
        if replacement is not None and not _CODE.fullmatch(replacement):
            raise InputError(name, f"{replacement!r} is not a code", line=line)
        if not row["note"] or not row["source"]:
            raise InputError(name, "every row needs a note and a source", line=line)
        yield CrosswalkRow(
            code=start,
            range_end=end,
            replacement=replacement,
            relation=relation,
            note=row["note"],
            source=row["source"],
        )


def _labels(text: str, name: str, width: int) -> dict[str, str]:
    labels: dict[str, str] = {}
    for line, row in _records(text, name, ("code", "label")):
        code = row["code"]
        if len(code) != width or not _CODE.fullmatch(code) or not row["label"]:
            raise InputError(
                name, f"{code!r}: expected a {width}-character code and a label", line=line
            )
        if code in labels:
            raise InputError(name, f"{code} is listed twice", line=line)
        labels[code] = row["label"]
    return labels


# --- Comparing labels: content words, normalised, so that a person can check the match. ---

_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an and any are as at be by each for from has have in into is it its no not of on or "
        "other per than that the their this to under up use used using when where which who with "
        "one two more whole part only also all",
    )
)
_SYNONYMS = {
    "pt": "physical",
    "ot": "occupational",
    "mod": "moderate",
    "eval": "evaluation",
    "ex": "exercise",
    "estim": "electrical stimulation",
    "orthotic": "orthosis",
    "orthotics": "orthosis",
    "orthoses": "orthosis",
    "prosthetic": "prosthesis",
    "prosthetics": "prosthesis",
    "prostheses": "prosthesis",
}
_SUFFIXES = (
    "ational", "ations", "ation", "ative", "ities", "ity", "ments", "ment", "ions", "ion",
    "ives", "ive", "ings", "ing", "ally", "ly", "ies", "ied", "es", "ed", "al", "s",
)  # fmt: skip


@functools.cache
def stem(word: str) -> str:
    """A crude, predictable stemmer: strip one common suffix, then a final `e`."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    return word[:-1] if word.endswith("e") and len(word) > 5 else word


#: Stems that do not tell one therapy service from another: shared, they prove nothing.
GENERIC = frozenset(
    stem(word)
    for word in re.findall(
        r"\w+",
        "therapy therapeutic therapist service procedure treatment technique code patient "
        "minute session medicare provider visit",
    )
)


def content_words(text: str) -> list[tuple[str, str]]:
    """(word as written, stem) for each content word: hyphenated words joined
    ("re-education" = "reeducation"), numbers and stop words dropped."""
    joined = re.sub(r"(?<=[a-z])-(?=[a-z])", "", text.lower())
    out: list[tuple[str, str]] = []
    for word in re.findall(r"[a-z][a-z0-9]*", joined):
        for part in _SYNONYMS.get(word, word).split():
            if part not in _STOP:
                out.append((word, stem(part)))
    return out


def stems(text: str | None) -> frozenset[str]:
    return frozenset(s for _, s in content_words(text or ""))


def distinctive(text: str | None) -> frozenset[str]:
    """The stems that name a particular service (not `therapy`, `procedure`...)."""
    return stems(text) - GENERIC


def same_meaning(label: str | None, text: str | None) -> bool:
    """Whether `text` shares the meaning of `label`: at least two thirds of the label's
    distinctive words (one word of a one-word label). A guess that shares less, such as
    "management" alone for "Orthotic management", is worse than none."""
    mine = distinctive(label)
    if not mine:
        return False
    return 3 * len(mine & stems(text)) >= 2 * len(mine)


def shared_words(text: str, other: frozenset[str]) -> list[str]:
    """The words of `text` whose stems are in `other`, as written, first occurrence each."""
    seen: dict[str, None] = {}
    for word, s in content_words(text):
        if s in other and s not in GENERIC:
            seen.setdefault(word, None)
    return list(seen)


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def neighbours(code: str) -> list[tuple[str, str]]:
    """Codes one substitution or one adjacent swap away from `code`, with how they differ."""
    out: list[tuple[str, str]] = []
    for i, old in enumerate(code):
        for new in _ALPHABET:
            if new == old:
                continue
            kind = "character"
            if old.isdigit() and new.isdigit():
                kind = "digit"
            elif old.isalpha() and new.isalpha():
                kind = "letter"
            out.append((code[:i] + new + code[i + 1 :], f"one {kind} off"))
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            out.append((code[:i] + code[i + 1] + code[i] + code[i + 2 :], "two characters swapped"))
    return out
