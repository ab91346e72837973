"""A seeded mutation fuzzer over the bundled real release files.

Each seed picks one real source (a slice of an HCPCS ANWEB file, a fee-schedule CSV or
fixed-width file, a slice of an ICD-10-CM order file, an excerpt of the ICD-10-CM tabular
XML, the NCCI and MUE fixtures of the reader tests), applies one to three mutations the
way downloads and hand edits break files (truncation, flipped bytes, stray delimiters,
quotes, line breaks and NULs, a re-encoding, a doubled or lost line, a zip around it, a
cut zip), and ingests the result into a fresh store with the code set's built-in spec.

The pipeline's promise is checked on every outcome:

- `stored`: a snapshot was written, no temporary directory left, and its data reads
  back into Python values (as diff and render need: a year-0 date would not);
- `error`: a clean `PipelineError` whose message is one line naming the file, and the
  store directory untouched (nothing created);
- anything else is a *finding*: another exception type (with its traceback), an error
  that left files behind, or an error message without the file's name or on several lines.

`python -m tests.fuzzing --seconds 300 --start-seed 0` runs a campaign (two thirds of the
time on release files, a third on watchlists, configurations and names: see "the parsers"
below) and prints a summary (exit code 1 if there are findings); `--replay SEED` shows one
seed's mutations and outcome, and `--dump DIR` writes its mutated file there. The same seed
always gives the same mutations and the same bytes.
"""

from __future__ import annotations

import argparse
import io
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "sources"
#: A fixed timestamp for the zips we build, so that a seed always gives the same bytes.
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Source:
    """A real file to mutate, and how to ingest it."""

    name: str
    codeset: str
    filename: str
    version: str
    effective: date
    data: bytes


@dataclass
class Mutant:
    """A seed's mutated file: where it came from and what was done to it."""

    seed: int
    source: Source
    steps: list[str]
    data: bytes
    filename: str


@dataclass(frozen=True)
class Finding:
    seed: int
    source: str
    steps: tuple[str, ...]
    problem: str
    detail: str
    #: What findings of one cause share: the exception type and where it was raised.
    signature: str = ""

    def __str__(self) -> str:
        return (
            f"seed {self.seed} ({self.source}: {'; '.join(self.steps)}): {self.problem}\n"
            + self.detail
        )


@dataclass
class FuzzReport:
    """Counts per outcome (`stored`, `error`, `finding`), the findings, and a little timing."""

    outcomes: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    per_source: Counter[str] = field(default_factory=Counter)
    messages: Counter[str] = field(default_factory=Counter)
    first_seed: int | None = None
    last_seed: int | None = None
    elapsed: float = 0.0
    slowest: tuple[float, int] = (0.0, -1)

    @property
    def cases(self) -> int:
        return sum(self.outcomes.values())

    def summary(self, top: int = 12) -> str:
        seeds = f"seeds {self.first_seed}-{self.last_seed}" if self.cases else "no seeds"
        lines = [
            f"{self.cases:,} cases ({seeds}) in {self.elapsed:.1f} s: "
            + ", ".join(f"{k} {self.outcomes[k]:,}" for k in ("stored", "error", "finding")),
            "by source: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.per_source.items())),
            f"slowest case: seed {self.slowest[1]} ({self.slowest[0]:.2f} s)",
            f"most frequent errors (of {len(self.messages):,} kinds):",
            *(f"  {n:6,}  {m}" for m, n in self.messages.most_common(top)),
        ]
        if not self.findings:
            lines.append("no findings")
            return "\n".join(lines)
        groups: dict[str, list[Finding]] = {}
        for found in self.findings:
            groups.setdefault(found.signature or found.problem, []).append(found)
        lines.append(f"FINDINGS: {len(self.findings):,} in {len(groups)} group(s)")
        for signature, members in groups.items():
            seeds = ", ".join(str(f.seed) for f in members[:10])
            more = f" and {len(members) - 10} more" if len(members) > 10 else ""
            lines.append(f"- {len(members):,} x {signature}: seeds {seeds}{more}")
            lines.append("  first: " + str(members[0]).replace("\n", "\n    "))
        return "\n".join(lines)


# --- the real files --------------------------------------------------------------------------


def _member_head(archive: Path, member: str, lines: int) -> bytes:
    """The first `lines` lines of a zip member, line ends as they are."""
    out = []
    with zipfile.ZipFile(archive) as z, z.open(member) as handle:
        for line in handle:
            out.append(line)
            if len(out) == lines:
                break
    return b"".join(out)


def _tabular_excerpt() -> bytes:
    """CDC's 2021 tabular XML up to the end of its first section, closed: well-formed."""
    archive = SOURCES / "icd10cm" / "icd10cm_tabular_2021.zip"
    with zipfile.ZipFile(archive) as z, z.open("icd10cm_tabular_2021.xml") as handle:
        head = handle.read(200_000)
    end = head.index(b"</section>") + len(b"</section>")
    return head[:end] + b"\n  </chapter>\n</ICD10CM.tabular>\n"


@cache
def sources() -> tuple[Source, ...]:
    hcpcs = SOURCES / "hcpcs"
    pfs = SOURCES / "pfs-rvu"
    found = [
        Source(
            "anweb-2019",
            "hcpcs",
            "HCPC2019_CONTR_ANWEB.txt",
            "2019",
            date(2019, 1, 1),
            _member_head(
                hcpcs / "2019-Alpha-Numeric-HCPCS-File.zip", "HCPC2019_CONTR_ANWEB.txt", 300
            ),
        ),
        Source(
            "anweb-2020",
            "hcpcs",
            "HCPC2020_ANWEB_w_disclaimer.txt",
            "2020",
            date(2020, 1, 1),
            _member_head(
                hcpcs / "2020-Alpha-Numeric-HCPCS-File.zip", "HCPC2020_ANWEB_w_disclaimer.txt", 200
            ),
        ),
        Source(
            "pfs-csv",
            "pfs-rvu",
            "RVU25D-PPRRVU2025_Oct-ptot.csv",
            "RVU25D",
            date(2025, 10, 1),
            (pfs / "RVU25D-PPRRVU2025_Oct-ptot.csv").read_bytes(),
        ),
        Source(
            "pfs-txt",
            "pfs-rvu",
            "RVU25D-PPRRVU2025_Oct-ptot.txt",
            "RVU25D",
            date(2025, 10, 1),
            (pfs / "RVU25D-PPRRVU2025_Oct-ptot.txt").read_bytes(),
        ),
        Source(
            "icd-order",
            "icd10cm",
            "icd10cm-order-Jan-2021.txt",
            "FY2021",
            date(2020, 10, 1),
            _member_head(
                SOURCES / "icd10cm" / "icd10cm-order-Jan-2021.zip",
                "icd10cm-order-Jan-2021.txt",
                300,
            ),
        ),
        Source(
            "hcpcs-quarterly",
            "hcpcs",
            "hcpcs_2026q3.csv",
            "2026Q3",
            date(2026, 7, 1),
            _member_head(SOURCES / "hcpcs-quarterly" / "hcpcs_2026q3.zip", "hcpcs_2026q3.csv", 300),
        ),
        Source(
            "icd-codes",
            "icd10cm",
            "icd10cm_codes_2027.txt",
            "FY2027",
            date(2026, 10, 1),
            _member_head(
                SOURCES / "icd10cm" / "icd10cm_codes_2027.zip", "icd10cm_codes_2027.txt", 300
            ),
        ),
        Source(
            "icd-xml",
            "icd10cm",
            "icd10cm_tabular_2021.xml",
            "FY2021",
            date(2020, 10, 1),
            _tabular_excerpt(),
        ),
    ]
    found.extend(_reader_fixtures())
    return tuple(found)


def _reader_fixtures() -> list[Source]:
    """The NCCI and MUE files of the reader tests (CMS's layout, real records), if present."""
    out = []
    try:
        from pipeline.sources import mue, ncci  # noqa: F401  (the readers must exist)
        from tests.sources.test_mue import MUE_BYTES
        from tests.sources.test_ncci import PRIOR_1996, RECORDS, ptp_bytes
    except ImportError:
        return out
    out.append(
        Source(
            "ncci",
            "ncci-ptp",
            "ccipra-v322r0-f1.txt",
            "v322r0",
            date(2025, 7, 1),
            ptp_bytes([*RECORDS, PRIOR_1996]),
        )
    )
    out.append(
        Source(
            "mue",
            "mue",
            "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv",
            "2026Q4",
            date(2026, 10, 1),
            MUE_BYTES,
        )
    )
    return out


# --- mutations ---------------------------------------------------------------------------


@dataclass
class _State:
    data: bytes
    filename: str
    zipped: bool = False


Mutation = Callable[[random.Random, _State], str]
TOKENS = (b",", b"\t", b'"', b"\n", b"\r\n", b"\r", b"\x00", b"|", b"\x1a", b" ")
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le", "latin-1")


def _truncate(rng: random.Random, s: _State) -> str:
    at = rng.randrange(len(s.data) + 1)
    s.data = s.data[:at]
    return f"truncate(at={at})"


def _flip(rng: random.Random, s: _State) -> str:
    if not s.data:
        return "flip(empty)"
    data = bytearray(s.data)
    spots = sorted(rng.randrange(len(data)) for _ in range(rng.randint(1, 8)))
    for at in spots:
        data[at] ^= rng.randrange(1, 256)
    s.data = bytes(data)
    return f"flip(at={spots})"


def _insert(rng: random.Random, s: _State) -> str:
    token = rng.choice(TOKENS)
    spots = sorted((rng.randrange(len(s.data) + 1) for _ in range(rng.randint(1, 5))), reverse=True)
    for at in spots:
        s.data = s.data[:at] + token + s.data[at:]
    return f"insert({token!r}, at={sorted(spots)})"


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def _reencode(rng: random.Random, s: _State) -> str:
    text, was = _decode(s.data)
    target = rng.choice(ENCODINGS)
    s.data = text.encode(target, errors="replace")
    return f"reencode({was}->{target})"


def _lines(s: _State) -> list[bytes]:
    return s.data.splitlines(keepends=True) or [b""]


def _dup_line(rng: random.Random, s: _State) -> str:
    lines = _lines(s)
    at = rng.randrange(len(lines))
    lines.insert(at, lines[at])
    s.data = b"".join(lines)
    return f"dup_line({at + 1})"


def _del_line(rng: random.Random, s: _State) -> str:
    lines = _lines(s)
    at = rng.randrange(len(lines))
    del lines[at]
    s.data = b"".join(lines)
    return f"del_line({at + 1})"


def _swap_lines(rng: random.Random, s: _State) -> str:
    lines = _lines(s)
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    s.data = b"".join(lines)
    return f"swap_lines({a + 1}, {b + 1})"


def _zip(rng: random.Random, s: _State) -> str:
    buf = io.BytesIO()
    extra = rng.random() < 0.5
    with zipfile.ZipFile(buf, "w") as z:
        if extra:
            z.writestr(_info("README.txt"), b"Release notes.\r\n")
        z.writestr(_info(s.filename), s.data)
    s.data = buf.getvalue()
    member, s.filename, s.zipped = s.filename, Path(s.filename).stem + ".zip", True
    return f"zip({member}{', +README.txt' if extra else ''})"


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _truncate_zip(rng: random.Random, s: _State) -> str:
    done = "" if s.zipped else _zip(rng, s) + ", "
    at = rng.randrange(len(s.data))
    s.data = s.data[:at]
    return f"{done}truncate_zip(at={at})"


MUTATIONS: tuple[Mutation, ...] = (
    _truncate,
    _flip,
    _flip,
    _insert,
    _insert,
    _insert,
    _reencode,
    _dup_line,
    _del_line,
    _swap_lines,
    _zip,
    _truncate_zip,
)


def mutant(seed: int) -> Mutant:
    """The seed's source and mutations: the same seed always gives the same bytes."""
    rng = random.Random(seed)
    source = rng.choice(sources())
    state = _State(source.data, source.filename)
    steps = [rng.choice(MUTATIONS)(rng, state) for _ in range(rng.randint(1, 3))]
    return Mutant(seed, source, steps, state.data, state.filename)


# --- running --------------------------------------------------------------------------------


def _message_kind(message: str) -> str:
    """An error message without its specifics, to count errors by kind."""
    text = message.split(": ", 1)[-1] if ": " in message else message
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"\d[\d,]*", "N", text)
    return text[:90]


def _signature(exc: BaseException) -> str:
    """`zlib.error raised in zipfile.py:_read1, from pipeline/sources/base.py:_read_zip_member`."""
    frames = traceback.extract_tb(exc.__traceback__)
    kind = type(exc).__module__ + "." + type(exc).__qualname__
    kind = kind.removeprefix("builtins.")
    if not frames:
        return kind
    last = frames[-1]
    ours = [f for f in frames if "/pipeline/" in f.filename]
    where = f"{Path(last.filename).name}:{last.name}"
    if ours and ours[-1] is not last:
        mine = ours[-1]
        where += f", from {mine.filename.split('/pipeline/')[-1]}:{mine.name}"
    return f"{kind} raised in {where}"


def run_one(seed: int, workdir: Path) -> tuple[str, Mutant, Finding | None, str | None]:
    """Ingest one seed's mutant into a fresh store under `workdir`: (outcome, mutant, finding,
    error message)."""
    from pipeline.codesets import builtin
    from pipeline.errors import PipelineError
    from pipeline.project.ingest import ingest
    from pipeline.store.snapshots import TMP_PREFIX, Store

    m = mutant(seed)
    case = Path(tempfile.mkdtemp(prefix=f"seed{seed}-", dir=workdir))
    try:
        path = case / "in" / m.filename
        path.parent.mkdir()
        path.write_bytes(m.data)
        root = case / "store"
        src = m.source

        def finding(
            problem: str, detail: str, signature: str = ""
        ) -> tuple[str, Mutant, Finding, None]:
            found = Finding(seed, src.name, tuple(m.steps), problem, detail, signature or problem)
            return "finding", m, found, None

        try:
            result = ingest(
                Store(root),
                builtin()[src.codeset],
                path,
                src.version,
                src.effective,
                allow_mass_change=True,
            )
        except PipelineError as exc:
            left = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
            if root.exists():
                return finding(
                    f"{type(exc).__name__} left the store changed: {left or ['(store dir)']}",
                    str(exc),
                )
            message = str(exc)
            if m.filename not in message:
                return finding(f"the error does not name the file {m.filename!r}", message)
            if "\n" in message or "\r" in message:
                return finding("the error message spans several lines", message)
            return "error", m, None, message
        except Exception as exc:
            return finding(
                f"{type(exc).__name__}: {str(exc)[:200]}",
                traceback.format_exc(),
                _signature(exc),
            )
        stored = result.snapshot.path
        temporaries = [p.name for p in root.rglob(f"{TMP_PREFIX}*")]
        if result.status != "stored" or not (stored / "manifest.json").is_file() or temporaries:
            return finding(
                f"ingest returned {result.status!r} but the store holds "
                f"{sorted(p.name for p in stored.glob('*'))}, temporaries {temporaries}",
                "",
            )
        try:  # what diff and render do with it: every value as a Python object
            result.snapshot.frame().rows()
        except Exception as exc:
            return finding(
                f"stored a snapshot that cannot be read back: {type(exc).__name__}: {exc}",
                traceback.format_exc(),
                "unreadable snapshot: " + _signature(exc),
            )
        return "stored", m, None, None
    finally:
        shutil.rmtree(case, ignore_errors=True)


def run_fuzz(seeds: range | int, time_budget: float) -> FuzzReport:
    """Run the seeds in order (an int n means range(n)) until done or `time_budget` seconds
    have passed; print nothing, return the report."""
    seeds = range(seeds) if isinstance(seeds, int) else seeds
    report = FuzzReport()
    start = time.monotonic()
    sources()  # load the real files before the clock matters
    with tempfile.TemporaryDirectory(prefix="codeset-fuzz-") as tmp:
        for seed in seeds:
            if time.monotonic() - start >= time_budget:
                break
            began = time.monotonic()
            outcome, m, found, message = run_one(seed, Path(tmp))
            took = time.monotonic() - began
            report.outcomes[outcome] += 1
            report.per_source[m.source.name] += 1
            if found is not None:
                report.findings.append(found)
            if message is not None:
                report.messages[_message_kind(message)] += 1
            if took > report.slowest[0]:
                report.slowest = (took, seed)
            if report.first_seed is None:
                report.first_seed = seed
            report.last_seed = seed
    report.elapsed = time.monotonic() - start
    return report


# --- the parsers of what people write, and names from the data -------------------------------
#
# A second campaign over what is not a release file: the clinic's watchlist CSV, the
# configuration (TOML), and the names the data brings along (zip member names, a payer's
# column headers, version labels). Hostile values are spliced into the real bundled
# watchlist and configuration; names are used in a two-edition generic code set whose
# reports are rendered. The promise: a value or a clean one-line error naming the file,
# promptly (no hang on `1e9999999`); in every output, no raw HTML, link, formula or
# control character from a name.

#: Values a person, a spreadsheet or an attacker puts where a number or a name goes.
HOSTILE = (
    "NaN",
    "nan",
    "-nan",
    "Infinity",
    "-inf",
    "inf",
    "1e5000",
    "1e9999999",
    "9" * 400,
    "-0",
    "0x10",
    "1_000",
    "١٢٣",
    "1,2,3",
    "1.5e3",
    "+7",
    " 12 ",
    "",
    '"',
    "'",
    "\x00",
    "<img src=x onerror=alert(1)>",
    "[x](http://evil.example/)",
    "`code`",
    "|",
    "*_~",
    "\x1b[31mred\x1b]0;title\x07",
    '=HYPERLINK("http://e.x")',
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "../../etc/passwd",
    "a/b",
    "C:\\x",
    "\u202eevil",
    "www.evil.example",
    "bob@evil.example",
    "0000",
    "FY0000",
    "9999Q4",
    "RVU99D",
    "2020.1",
    "x" * 300,
    "javascript:alert(1)",
)


def _hostile(rng: random.Random) -> str:
    """One hostile value, sometimes two glued together."""
    value = rng.choice(HOSTILE)
    return value + rng.choice(HOSTILE) if rng.random() < 0.3 else value


@dataclass
class ParserCase:
    seed: int
    target: str
    text: str


def parser_case(seed: int) -> ParserCase:
    """A watchlist or configuration with hostile values spliced in, or a set of names."""
    rng = random.Random(seed)
    target = rng.choice(("watchlist", "config", "names"))
    if target == "watchlist":
        rows = (REPO / "watchlists" / "pt-ot-clinic.csv").read_text(encoding="utf-8").splitlines()
        rows = rows[: rng.randint(2, len(rows))]
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(1, len(rows))
            cells = rows[i].split(",")
            cells[rng.randrange(len(cells))] = _hostile(rng).replace(",", "")
            rows[i] = ",".join(cells)
        return ParserCase(seed, target, "\n".join(rows) + "\n")
    if target == "config":
        text = (REPO / "codesets.toml").read_text(encoding="utf-8")
        text += (
            "\n[severity]\npayment_threshold = "
            + rng.choice(
                (
                    "nan",
                    "inf",
                    "-inf",
                    "1e400",
                    "-0.0",
                    "0.02",
                    '"0.02"',
                    "1e-400",
                    "+nan",
                    "10",
                    "11",
                )
            )
            + "\n"
        )
        for _ in range(rng.randint(0, 2)):
            quoted = _hostile(rng).replace("\\", "\\\\").replace('"', '\\"')
            field = rng.choice(("version", "effective", "source", "note"))
            text = re.sub(rf"(?m)^{field} = .*$", f'{field} = "{quoted}"', text, count=1)
        return ParserCase(seed, target, text)
    return ParserCase(seed, target, "\x1f".join(_hostile(rng) for _ in range(4)))


def run_parser_one(seed: int, workdir: Path) -> tuple[str, Finding | None]:
    """One parser case: (`ok` | `error` | `finding`, the finding)."""
    case = parser_case(seed)
    folder = Path(tempfile.mkdtemp(prefix=f"parse{seed}-", dir=workdir))
    started = time.monotonic()
    try:
        outcome, problem = _parse(case, folder)
    except Exception as exc:
        outcome = "finding"
        problem = f"{type(exc).__name__}: {str(exc)[:200]}\n{traceback.format_exc()}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    took = time.monotonic() - started
    if outcome != "finding" and took > 10:
        outcome, problem = "finding", f"took {took:.1f} s"
    if outcome == "finding":
        first = problem.splitlines()[0] if problem else "?"
        return outcome, Finding(seed, case.target, (repr(case.text[:120]),), first, problem, first)
    return outcome, None


def _clean_error(exc: Exception, name: str) -> str | None:
    """What is wrong with an error message (None: one line, naming `name`)."""
    message = str(exc)
    if name not in message:
        return f"the error does not name {name!r}: {message[:200]}"
    if "\n" in message or "\r" in message:
        return f"the error message spans several lines: {message[:200]!r}"
    return None


def _parse(case: ParserCase, folder: Path) -> tuple[str, str]:
    from pipeline.config.load import load_config
    from pipeline.errors import PipelineError
    from pipeline.impact.watchlist import load_watchlist

    if case.target in ("watchlist", "config"):
        path = folder / ("watch.csv" if case.target == "watchlist" else "codesets.toml")
        path.write_text(case.text, encoding="utf-8")
        try:
            if case.target == "watchlist":
                watchlist = load_watchlist(path)
                for entry in watchlist.entries:  # what the impact computes with
                    for number in (entry.annual_units, entry.units_per_day):
                        if number is not None and not 0 <= number <= 10**9:
                            return "finding", f"accepted {number!r} units"
            else:
                config = load_config(path)
                threshold = config.severity.payment_threshold
                if not threshold.is_finite() or threshold < 0:
                    return "finding", f"accepted payment_threshold {threshold!r}"
        except PipelineError as exc:
            wrong = _clean_error(exc, path.name)
            return ("finding", wrong) if wrong else ("error", "")
        return "ok", ""
    return _names(case.text.split("\x1f"), folder)


_FORMULA_CELL = re.compile(r"^[=+\-@\t\r](?![0-9.]*$)")
_RAW_LINK = re.compile(r"(?<!\\)\]\((?:https?:|www\.|javascript:)|(?<![\u200b])https?://")


def _names(names: list[str], folder: Path) -> tuple[str, str]:
    """Hostile names as a zip member name, a column name and a version label."""
    import csv as csvlib

    from pipeline.cli.terminal import change_summary
    from pipeline.errors import PipelineError
    from pipeline.project.project import Project
    from pipeline.report.render import render_cycle
    from pipeline.report.sections import build_sections, full_lists

    member, column, label, value = names
    config = folder / "codesets.toml"
    config.write_text(
        '[codesets.fees]\ntitle = "Fees"\npublisher = "Payer"\nkey = ["code"]\n'
        f'descriptors = ["description"]\ndisplay = ["description", {json_string(column)}]\n'
        'reader = { format = "delimited" }\n',
        encoding="utf-8",
    )
    try:
        project = Project.open(config, str(folder / "store"), folder / "out")
    except PipelineError as exc:  # a column name the configuration refuses, said so
        wrong = _clean_error(exc, config.name)
        return ("finding", wrong) if wrong else ("error", "")
    for version, rows in (
        ("v1", [["97110", "Exercise", "1"], ["97140", "Manual", "2"]]),
        ("v2", [["97110", value, "1"], ["97530", value, "3"]]),
    ):
        text = io.StringIO()
        csvlib.writer(text).writerows([["code", "description", column], *rows])
        source = folder / f"fees-{version}.zip"
        with zipfile.ZipFile(source, "w") as archive:
            archive.writestr(_info(member or "m"), text.getvalue())
        try:
            project.ingest("fees", source, version, date(2024 + int(version[1]), 1, 1))
        except PipelineError as exc:
            wrong = _clean_error(exc, source.name)
            return ("finding", wrong) if wrong else ("error", "")
    try:
        project.effective_date("fees", label, "", None)
    except PipelineError as exc:
        if "\n" in str(exc):
            return "finding", f"version label error spans lines: {exc!s:.200}"
    analysis = project.cycle("fees", "v1", "v2")
    reports = render_cycle(analysis, markdown_limit=4096)
    md, html = reports["md"], reports["html"]
    for text, where in ((md, "Markdown"), (html, "HTML")):
        if re.search(r"<(?:img|script)", text, re.IGNORECASE) or re.search(
            r"[\x00-\x08\x0b-\x1f\x7f]", text
        ):
            return "finding", f"raw markup or a control character in the {where} report"
    if _RAW_LINK.search(md.split("## Sources")[0]):
        return "finding", "a link from the data in the Markdown report"
    sections = build_sections(analysis.changes, analysis.watched, 1, "c")
    for name, data in full_lists(analysis.changes, sections).items():
        if name.endswith(".csv"):
            for row in csvlib.reader(io.StringIO(data.decode("utf-8"))):
                if any(_FORMULA_CELL.match(cell) for cell in row):
                    return "finding", f"a formula cell in {name}: {row}"
    shown = change_summary(analysis.changes, True)
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", shown):
        return "finding", "a control character in the terminal output"
    return "ok", ""


def json_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    import json

    return json.dumps(value)


def run_parser_fuzz(seeds: range | int, time_budget: float) -> FuzzReport:
    """The parser campaign, reported like the readers' one (outcomes ok / error / finding)."""
    seeds = range(seeds) if isinstance(seeds, int) else seeds
    report = FuzzReport()
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="codeset-fuzz-parse-") as tmp:
        for seed in seeds:
            if time.monotonic() - start >= time_budget:
                break
            began = time.monotonic()
            outcome, found = run_parser_one(seed, Path(tmp))
            took = time.monotonic() - began
            report.outcomes["stored" if outcome == "ok" else outcome] += 1
            report.per_source[parser_case(seed).target] += 1
            if found is not None:
                report.findings.append(found)
            if took > report.slowest[0]:
                report.slowest = (took, seed)
            if report.first_seed is None:
                report.first_seed = seed
            report.last_seed = seed
    report.elapsed = time.monotonic() - start
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzzing", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=300.0, help="time budget (default 300)")
    parser.add_argument("--start-seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--seeds", type=int, default=None, help="at most this many seeds")
    parser.add_argument("--replay", type=int, default=None, help="run one seed and explain it")
    parser.add_argument("--dump", type=Path, default=None, help="with --replay: write the file")
    args = parser.parse_args(argv)
    if args.replay is not None:
        return _replay(args.replay, args.dump)
    count = args.seeds if args.seeds is not None else 1 << 62
    seeds = range(args.start_seed, args.start_seed + count)
    # Two thirds of the time for the release files, a third for the parsers and names.
    report = run_fuzz(seeds, args.seconds * 2 / 3)
    print("release files:\n" + report.summary())
    parsers = run_parser_fuzz(seeds, args.seconds / 3)
    print("\nwatchlists, configurations and names:\n" + parsers.summary())
    return 1 if report.findings or parsers.findings else 0


def _replay(seed: int, dump: Path | None) -> int:
    m = mutant(seed)
    print(
        f"seed {seed}: {m.source.name} ({m.source.codeset}) -> {m.filename}, {len(m.data):,} bytes"
    )
    for step in m.steps:
        print(f"  {step}")
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        (dump / m.filename).write_bytes(m.data)
        print(f"wrote {dump / m.filename}")
    with tempfile.TemporaryDirectory(prefix="codeset-fuzz-") as tmp:
        outcome, _, found, message = run_one(seed, Path(tmp))
    print(f"outcome: {outcome}" + (f": {message}" if message else ""))
    if found is not None:
        print(found)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
