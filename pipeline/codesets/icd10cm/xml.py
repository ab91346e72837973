"""CDC's ICD-10-CM tabular list as XML (icd10cm_tabular_YYYY.xml), expanded to billable codes.

The tabular nests chapters > sections > `<diag>` (name, desc, child diags). The file
lists billable codes only implicitly:
- a leaf `<diag>` is a billable code;
- a `<sevenChrDef>` gives 7th characters to every code below the `<diag>` holding it
  (the nearest definition wins); such a leaf is then a header, and its billable codes
  are the leaf padded with the placeholder `X` to six characters, plus each 7th character;
- a few 7th characters are withdrawn only in prose, e.g. category S06's note "7th
  characters D and S do not apply to codes in category S06 with 6th character 7 ... or
  8 ...". Such notes are parsed (`EXCEPTION_NOTE`); a note that speaks of 7th characters
  not applying but cannot be parsed is an error, rather than a silently wrong code set.
  With these, the 2021 file yields exactly the 72,621 billable codes of the 2021 order file.

Parsing goes through `defusedxml`, so entity declarations (entity expansion, "billion
laughs") and external entities (XXE) are refused. Titles: a 7th-character code's long
title is its parent's description, ", ", and the 7th character's description (as the
order file builds most of them); the XML has no short titles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from pipeline.codesets.icd10cm.order import SCHEMA, headers_option
from pipeline.errors import InputError
from pipeline.sources.base import RawSource
from pipeline.sources.coerce import LINE

if TYPE_CHECKING:
    from pipeline.spec import ReaderSpec

ROOT = "ICD10CM.tabular"
#: A tabular code as written in `<name>`: category, then an optional dot and up to 4 more.
NAME = re.compile(r"[A-Z][0-9A-Z]{2}(?:\.[0-9A-Z]{1,4})?")
#: The prose form of a 7th-character exception (category S06 in 2021-2025).
EXCEPTION_NOTE = re.compile(
    r"7th characters? (?P<seventh>[0-9A-Z](?:(?:,? and |,? or |, )[0-9A-Z])*) "
    r"(?:do|does) not apply to codes in (?:sub)?category (?P<prefix>[A-Z][0-9A-Z.]*) "
    r"with 6th characters? (?P<sixth>.+)",
    re.DOTALL,
)
#: The 6th characters an exception lists: "7 - death due to ..., or 8 - death due to ...".
SIXTH = re.compile(r"(?:^|,? or |,? and |, )([0-9A-Z])(?= -|,|\.| or | and |$)")


@dataclass(eq=False, slots=True)
class _Diag:
    line: int
    parent: _Diag | None
    seven: list[tuple[str, str]] | None
    name: str = ""
    desc: str = ""
    leaf: bool = True


@dataclass(frozen=True)
class _Withdrawal:
    """7th characters `seventh` do not apply to codes starting `prefix` with a 6th in `sixth`."""

    prefix: str
    sixth: frozenset[str]
    seventh: frozenset[str]


class _Collector:
    """Parser target keeping, for each `<diag>`, its line, name, desc and 7th characters."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.expat: Any = None  # set once the parser exists: it knows the current line
        self.tags: list[str] = []
        self.text: list[str] = []
        self.current: _Diag | None = None
        self.diags: list[_Diag] = []
        self.withdrawals: list[_Withdrawal] = []
        self.char: str | None = None

    def _error(self, message: str) -> InputError:
        return InputError(self.file, message, line=self.expat.CurrentLineNumber)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if not self.tags and tag != ROOT:
            raise self._error(f"root element is <{tag}>, expected <{ROOT}> (not a tabular file)")
        self.tags.append(tag)
        self.text = []
        if tag == "diag":
            parent = self.current
            seven = parent.seven if parent else None
            if parent:
                parent.leaf = False
            self.current = _Diag(self.expat.CurrentLineNumber, parent, seven)
            self.diags.append(self.current)
        elif tag == "sevenChrDef":
            if self.current is None:
                raise self._error("<sevenChrDef> outside a <diag>")
            self.current.seven = []
        elif tag == "extension":
            self.char = attrib.get("char")

    def data(self, text: str) -> None:
        self.text.append(text)

    def end(self, tag: str) -> None:
        self.tags.pop()
        parent = self.tags[-1] if self.tags else ""
        node = self.current
        if tag == "diag" and node is not None:
            if not node.name or not node.desc:
                raise InputError(self.file, "<diag> without <name> or <desc>", line=node.line)
            self.current = node.parent
        elif parent == "diag" and node is not None and tag in ("name", "desc"):
            setattr(node, tag, " ".join("".join(self.text).split()))
        elif tag == "extension" and parent == "sevenChrDef" and node and node.seven is not None:
            if self.char is None or not re.fullmatch(r"[0-9A-Z]", self.char):
                raise self._error(f"7th character {self.char!r} is not one letter or digit")
            node.seven.append((self.char, " ".join("".join(self.text).split())))
        elif tag == "sevenChrDef" and node is not None and not node.seven:
            raise self._error("<sevenChrDef> without any <extension>")
        elif tag == "note":
            self._note(" ".join("".join(self.text).split()))
        self.text = []

    def _note(self, note: str) -> None:
        if "not apply" not in note or "7th character" not in note:
            return
        match = EXCEPTION_NOTE.search(note)
        sixth = SIXTH.findall(match["sixth"]) if match else []
        if not match or not sixth:
            raise self._error(f"cannot interpret this 7th-character exception note: {note!r}")
        self.withdrawals.append(
            _Withdrawal(
                prefix=match["prefix"].replace(".", ""),
                sixth=frozenset(sixth),
                seventh=frozenset(re.findall(r"\b[0-9A-Z]\b", match["seventh"])),
            )
        )

    def close(self) -> None:
        if not self.diags:
            raise InputError(self.file, "no <diag> codes found (empty or truncated file?)")


def parse(raw: RawSource, encoding: str = "auto") -> _Collector:
    """Parse the XML safely, keeping only what code expansion needs."""
    collector = _Collector(raw.name)
    parser = DefusedXMLParser(
        target=collector,
        encoding=None if encoding == "auto" else encoding,
        forbid_dtd=False,
        forbid_entities=True,
        forbid_external=True,
    )
    collector.expat = parser.parser
    try:
        parser.feed(raw.data)
        parser.close()
    except ParseError as exc:
        line, column = getattr(exc, "position", (None, -1))
        message = str(exc).split(": line", 1)[0]
        raise InputError(
            raw.name, f"malformed XML: {message}", line=line, column=column + 1
        ) from None
    except DefusedXmlException as exc:
        line = collector.expat.CurrentLineNumber
        raise InputError(raw.name, _refusal(exc), line=line) from None
    except LookupError as exc:
        name = str(exc).rsplit(": ", 1)[-1] if encoding == "auto" else encoding
        raise InputError(raw.name, f"unknown encoding {name!r}") from None
    return collector


def _refusal(exc: DefusedXmlException) -> str:
    if isinstance(exc, EntitiesForbidden):
        what = f"declares the entity {exc.name!r}"
    elif isinstance(exc, DTDForbidden):
        what = "has a DTD"
    else:
        what = "refers to an external entity"
    return (
        f"refused: the document {what}; entities are not allowed "
        "(they enable entity-expansion and external-entity attacks)"
    )


def read(raw: RawSource, reader: ReaderSpec) -> pl.DataFrame:
    """Read a tabular XML into one row per code (billable only unless `headers = true`)."""
    headers = headers_option(reader.options)
    parsed = parse(raw, reader.encoding)
    rows: dict[str, list[Any]] = {name: [] for name in SCHEMA}

    def add(line: int, code: str, billable: bool, title: str) -> None:
        rows[LINE].append(line)
        rows["code"].append(code)
        rows["billable"].append(billable)
        rows["short_title"].append(None)
        rows["long_title"].append(title)

    for diag in parsed.diags:
        if not NAME.fullmatch(diag.name):
            raise InputError(raw.name, f"{diag.name!r} is not an ICD-10-CM code", line=diag.line)
        code = diag.name.replace(".", "")
        billable = diag.leaf and not diag.seven
        if billable or headers:
            add(diag.line, code, billable, diag.desc)
        if not diag.leaf or not diag.seven:
            continue
        if len(code) > 6:
            raise InputError(
                raw.name, f"{diag.name} has 7 characters and cannot take a 7th", line=diag.line
            )
        base = code.ljust(6, "X")
        for char, title in diag.seven:
            if not _withdrawn(base, char, parsed.withdrawals):
                add(diag.line, base + char, True, f"{diag.desc}, {title}")
    return pl.DataFrame(rows, schema=SCHEMA)


def _withdrawn(base: str, char: str, withdrawals: list[_Withdrawal]) -> bool:
    return any(
        base.startswith(e.prefix) and base[5] in e.sixth and char in e.seventh for e in withdrawals
    )


def sniff(raw: RawSource) -> bool:
    """A tabular XML file's root element is <ICD10CM.tabular>."""
    return re.search(rb"<ICD10CM\.tabular[\s>]", raw.data[:4096]) is not None
