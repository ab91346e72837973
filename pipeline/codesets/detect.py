"""Which reader fits a file: asked of each format's `sniff`, over a zip's members too.

Publishers ship one zip holding the data in several forms (text and
spreadsheet) next to notes and change reports; the first candidate format in
the code set's order that recognises exactly one member wins, so that the
choice is deterministic and explainable.
"""

from __future__ import annotations

import importlib
import io
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.codesets import formats as all_formats
from pipeline.errors import InputError
from pipeline.sources.base import RawSource, is_archive, open_source

Sniffer = Callable[[RawSource], bool]


def sniffer(fmt: str) -> Sniffer:
    module, _, name = str(all_formats()[fmt].sniffer).partition(":")
    func: Sniffer = getattr(importlib.import_module(module), name)
    return func


def detect(path: Path, member: str | None, candidates: Sequence[str]) -> tuple[str, RawSource]:
    """Open `path` (or the right member of it) and name the reader that recognises it."""
    detectable = sorted(name for name, f in all_formats().items() if f.sniffer)
    formats = [f for f in candidates if f in detectable] or detectable
    if member is not None or not _is_zip(path):
        raw = open_source(path, member)
        for fmt in formats:
            if _sniff(fmt, raw):
                return fmt, raw
        raise InputError(raw.name, f"no reader recognises this file (tried {', '.join(formats)})")
    names = _member_names(path)
    for fmt in formats:
        hits = [n for n in names if _sniff(fmt, open_source(path, _exact(n)))]
        if len(hits) == 1:
            return fmt, open_source(path, _exact(hits[0]))
        if len(hits) > 1:
            raise InputError(
                path.name,
                f"several members look like {fmt}: {', '.join(hits)}; choose one with a "
                "member pattern",
            )
    raise InputError(
        path.name,
        f"no reader recognises any member (tried {', '.join(formats)} on "
        f"{', '.join(names) or 'no files'})",
    )


def _sniff(fmt: str, raw: RawSource) -> bool:
    try:
        return sniffer(fmt)(raw)
    except (ValueError, UnicodeDecodeError, InputError):
        return False


def _is_zip(path: Path) -> bool:
    """A zip archive to look into (a spreadsheet is a zip too, but a document)."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
        if magic != b"PK\x03\x04" and path.suffix.lower() != ".zip":
            return False  # a large text file is not read twice just to say so
        return is_archive(path, path.read_bytes())
    except OSError:
        return False


def _member_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
            return [i.filename for i in archive.infolist() if not i.is_dir()]
    except zipfile.BadZipFile:
        raise InputError(path.name, "not a valid zip archive (truncated or corrupt)") from None


def _exact(name: str) -> str:
    """A member pattern matching exactly `name` (glob metacharacters escaped)."""
    base = name.rsplit("/", 1)[-1]
    return "".join(f"[{c}]" if c in "*?[]" else c for c in base)
