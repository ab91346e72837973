"""What every reader shares: opening a source (plain file or zip member) and decoding its text.

Readers receive a `RawSource` (bytes plus a name to put in error messages) and
return a polars frame with canonical column names. Nothing here writes to disk:
zip members are read into memory, never extracted by their own path.
"""

from __future__ import annotations

import codecs
import fnmatch
import hashlib
import io
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError

#: Largest decompressed member we accept; a real release file is well below this.
MAX_MEMBER_BYTES = 2 * 1024**3
#: Longest line of a text source. The longest in any release we know is 829 bytes (ICD-10-CM
#: tabular XML); a line past this is a damaged or hostile file, not data.
MAX_LINE_BYTES = 1024**2
#: Longest text field (characters): a spreadsheet cell's limit. Real descriptors stay
#: under 2,000.
MAX_FIELD_CHARS = 32_767
#: Decompressed / compressed ratio above which a member is treated as a zip bomb.
MAX_COMPRESSION_RATIO = 200


@dataclass(frozen=True)
class RawSource:
    """The bytes of one data file, and where they came from."""

    data: bytes
    path: Path
    member: str | None
    sha256: str
    size: int

    @property
    def name(self) -> str:
        """How error messages and manifests name the file: `a.zip!member.txt` inside a zip."""
        return f"{self.path.name}!{self.member}" if self.member else self.path.name


def regular_file(path: Path, what: str = "file") -> os.stat_result:
    """`path`'s status, if it is a regular file (or a link to one); anything else (a
    directory, a FIFO that would block a read forever, a device) is refused at once."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        raise InputError(str(path), f"{what} not found") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror}") from None
    if stat.S_ISDIR(status.st_mode):
        raise InputError(str(path), f"is a directory, expected a {what}")
    if not stat.S_ISREG(status.st_mode):
        raise InputError(
            str(path), f"is not a regular file (a pipe, socket or device): give a {what}"
        )
    return status


def read_file(path: Path, what: str = "file") -> bytes:
    """All of a regular file's bytes, refused if the file changed while it was read.

    A file still being downloaded or copied grows under the reader: its size or
    modification time differs after the read, and half a file must never be taken
    for a complete one.
    """
    before = regular_file(path, what)
    try:
        with open(path, "rb") as handle:
            data = _read(handle)
            after = os.fstat(handle.fileno())
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    if (
        after.st_size != before.st_size
        or after.st_mtime_ns != before.st_mtime_ns
        or len(data) != after.st_size
    ):
        raise InputError(
            str(path),
            f"changed while it was read ({before.st_size:,} bytes, then {after.st_size:,}, "
            f"{len(data):,} read): is it still being written? Run again once it is complete",
        )
    return data


def _read(handle: io.BufferedReader) -> bytes:
    return handle.read()


def open_source(path: Path, member: str | None = None) -> RawSource:
    """Read `path`; if it is a zip, read the single member matching the glob `member`."""
    blob = read_file(path, "release file")
    digest = hashlib.sha256(blob).hexdigest()
    if not blob:
        raise InputError(str(path), "file is empty")
    if is_archive(path, blob):
        name, data = _read_zip_member(path, blob, member)
        return RawSource(data=data, path=path, member=name, sha256=digest, size=len(blob))
    return RawSource(data=blob, path=path, member=None, sha256=digest, size=len(blob))


def is_archive(path: Path, blob: bytes) -> bool:
    """A zip to open for its members (not a spreadsheet, which is a zip too)."""
    if path.suffix.lower() == ".zip":
        return True
    return blob[:4] == b"PK\x03\x04" and not _is_document(blob)


def _is_document(blob: bytes) -> bool:
    """A spreadsheet (.xlsx) is a zip too; it is a document to read, not an archive to open."""
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            return "[Content_Types].xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _read_zip_member(path: Path, blob: bytes, pattern: str | None) -> tuple[str, bytes]:
    import io

    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
    except zipfile.BadZipFile:
        raise InputError(path.name, "not a valid zip archive (truncated or corrupt)") from None
    with archive:
        # A member without a name (zipfile's is_dir() fails on it) is no file to read.
        members = [i for i in archive.infolist() if i.filename and not i.filename.endswith("/")]
        names = [i.filename for i in members]
        if pattern is None:
            if len(members) != 1:
                raise InputError(
                    path.name,
                    f"zip holds {len(members)} files; name the one to read with a member "
                    f"pattern (members: {', '.join(names) or 'none'})",
                )
            chosen = members
        else:
            chosen = [i for i in members if _member_matches(i.filename, pattern)]
            if not chosen:
                raise InputError(
                    path.name,
                    f"no member matches {pattern!r} (members: {', '.join(names) or 'none'})",
                )
            if len(chosen) > 1:
                matched = ", ".join(i.filename for i in chosen)
                raise InputError(
                    path.name, f"member pattern {pattern!r} matches several files: {matched}"
                )
        info = chosen[0]
        if info.file_size > MAX_MEMBER_BYTES or (
            info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
        ):
            raise InputError(
                f"{path.name}!{info.filename}",
                f"refusing to decompress {info.file_size:,} bytes from {info.compress_size:,} "
                "(over the size or ratio cap: a zip bomb?)",
            )
        try:
            with archive.open(info) as handle:
                data = handle.read(MAX_MEMBER_BYTES + 1)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, zlib.error) as exc:
            raise InputError(
                f"{path.name}!{info.filename}", f"corrupt zip member ({exc})"
            ) from None
        if len(data) > MAX_MEMBER_BYTES:
            raise InputError(f"{path.name}!{info.filename}", "decompressed size over the cap")
        return info.filename, data


def _member_matches(filename: str, pattern: str) -> bool:
    """Match a glob against the member's base name, case-insensitively (CMS varies case)."""
    base = filename.rsplit("/", 1)[-1]
    return fnmatch.fnmatch(base.lower(), pattern.lower())


def check_line_lengths(raw: RawSource, limit: int = MAX_LINE_BYTES) -> None:
    """Refuse a text whose longest line is over `limit` bytes, without splitting it.

    Any line longer than `limit` fills a whole `limit // 2`-byte window aligned to that
    size, so looking for a line break in each window (a `find` each, no copy) finds it.
    """
    data, step = raw.data, max(1, limit // 2)
    for start in range(0, len(data) - step + 1, step):
        if data.find(b"\n", start, start + step) != -1:
            continue
        begin = data.rfind(b"\n", 0, start) + 1
        end = data.find(b"\n", start)
        end = len(data) if end == -1 else end
        if end - begin > limit:
            raise InputError(
                raw.name,
                f"line of {end - begin:,} bytes, over the {limit:,}-byte limit (no release "
                "comes near it: a damaged file?)",
                line=data.count(b"\n", 0, begin) + 1,
            )


def check_complete(raw: RawSource) -> None:
    """For a format whose every line ends with a line break: refuse a file whose last line
    has none. It was cut short, most often by a partial download or copy."""
    data = raw.data.rstrip(b"\x1a")  # a DOS end-of-file mark after the last line is fine
    if data and not data.endswith(b"\n"):
        tail = data[data.rfind(b"\n") + 1 :]
        raise InputError(
            raw.name,
            f"the last line ({len(tail):,} bytes) does not end with a line break: the file is "
            "cut off (truncated by an interrupted download or copy?); fetch it again",
            line=data.count(b"\n") + 1,
        )


def decode_text(raw: RawSource, encoding: str = "auto") -> str:
    """Decode a text file to `str`, with LF line endings.

    `auto` accepts UTF-8 (with or without BOM) and falls back to Windows-1252,
    the encoding CMS's older files use. A NUL byte means the file is not text; a line
    over `MAX_LINE_BYTES` means it is not a release.
    """
    data = raw.data
    check_line_lengths(raw)
    nul = data.find(b"\x00")
    if nul != -1:
        raise InputError(raw.name, "binary data where text was expected", offset=nul)
    if encoding == "auto":
        if data.startswith(codecs.BOM_UTF8):
            text = _decode(raw, data[len(codecs.BOM_UTF8) :], "utf-8", len(codecs.BOM_UTF8))
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = _decode(raw, data, "cp1252", 0)
    else:
        start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        if not encoding.lower().replace("_", "-").startswith("utf-8"):
            start = 0
        text = _decode(raw, data[start:], encoding, start)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _decode(raw: RawSource, data: bytes, encoding: str, base: int) -> str:
    try:
        return data.decode(encoding)
    except LookupError:
        raise InputError(raw.name, f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            raw.name,
            f"byte 0x{data[exc.start]:02x} is not valid {encoding} text"
            + (" (expected UTF-8 or Windows-1252)" if encoding == "cp1252" else ""),
            offset=base + exc.start,
        ) from None
